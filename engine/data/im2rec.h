/* clforge — `clforge im2rec`: MXNet's tools/im2rec.py in C. Same options, same
 * .lst text (index\tlabel%f[\tlabel…]\tpath), same file names, same shuffle
 * (Python's random.seed(100); random.shuffle), so a .lst made here equals
 * im2rec.py's byte for byte; .rec/.idx hold the same records (IRHeader,
 * labels, JPEG/PNG payload) in the same order whatever --num-thread says. */
#ifndef CLFORGE_DATA_IM2REC_H
#define CLFORGE_DATA_IM2REC_H

#include <stdint.h>
#include <stdio.h>

#include "clforge/clforge.h"
#include "data/image.h"

#define CF_IM2REC_MAX_EXTS 16

typedef struct cf_im2rec_opts {
    /* --list */
    int recursive;
    int shuffle;            /* default 1 (im2rec.py shuffles unless --no-shuffle) */
    int chunks;             /* default 1 */
    double train_ratio;     /* default 1.0 */
    double test_ratio;      /* default 0 */
    const char *exts[CF_IM2REC_MAX_EXTS]; /* default .jpeg .jpg .png (lower case) */
    int n_exts;
    /* making the .rec */
    int pass_through, center_crop, pack_label;
    int resize;             /* shorter side; 0: keep */
    int quality;            /* JPEG 1..100 or PNG level 0..9; default 95 */
    int num_thread;         /* default 1 */
    int color;              /* 1 colour, 0 gray, -1 as stored */
    const char *encoding;   /* ".jpg" or ".png" */
    FILE *log;              /* progress and skipped-item messages (NULL: none) */
} cf_im2rec_opts;

void cf_im2rec_defaults(cf_im2rec_opts *o);

/* --list: PREFIX.lst, or PREFIX_train/_val/_test.lst (and _N for chunks). */
cf_status cf_im2rec_list(const char *prefix, const char *root, const cf_im2rec_opts *o,
                         cf_error *err);
/* Every PREFIX*.lst in PREFIX's folder (sorted) → its .rec and .idx. */
cf_status cf_im2rec_pack(const char *prefix, const char *root, const cf_im2rec_opts *o,
                         cf_error *err);
/* One .lst → rec_path and idx_path; items that cannot be read are skipped and
 * counted (named in o->log), as im2rec.py does. */
cf_status cf_im2rec_pack_list(const char *lst, const char *root, const char *rec_path,
                              const char *idx_path, const cf_im2rec_opts *o, long *written,
                              long *skipped, cf_error *err);

/* ---- im2rec_image.c: one image as im2rec.py's cv2 calls treat it --------- */
/* cv2.imread's colour flag: 1 → 3 channels, 0 → 1, -1 → unchanged. */
cf_status cf_im2rec_color(cf_image_u8 *im, int color, cf_error *err);
/* --center-crop: the centred square. */
cf_status cf_im2rec_center_crop(cf_image_u8 *im, cf_error *err);
/* --resize N: shorter side N (im2rec.py's integer arithmetic), bilinear as
 * cv2.resize's INTER_LINEAR. */
cf_status cf_im2rec_resize(cf_image_u8 *im, int shorter, cf_error *err);

/* ---- im2rec_shuffle.c ----------------------------------------------------- */
/* Python 3's random.seed(seed) followed by random.shuffle(v): MT19937 seeded
 * by init_by_array, j = _randbelow(i + 1) for i = n-1 … 1. */
void cf_py_shuffle(long *v, long n, uint32_t seed);

#endif
