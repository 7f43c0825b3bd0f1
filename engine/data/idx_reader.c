/* IDX as a reader: the images file with its labels file (data.train's
 * partner: data.train_labels, else the name with images-idx3 -> labels-idx1).
 * Training from IDX keeps using cf_idx_load directly (the floats it makes
 * are what the golden models were trained on); this reader serves data info,
 * eval --data and anything that walks formats generically. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "data/dataset.h"
#include "data/reader.h"

typedef struct idx_state {
    cf_dataset d;
    float *labels;
} idx_state;

static int idx_detect(const char *path, int is_dir, const unsigned char *h, size_t n)
{
    (void)path;
    if (is_dir || n < 4) return 0;
    if (h[0] == 0 && h[1] == 0 && h[2] == 0x08 && (h[3] == 1 || h[3] == 3)) return 90;
    if (h[0] == 0x1f && h[1] == 0x8b && (strstr(path, "idx") || strstr(path, "ubyte"))) return 60;
    return 0;
}

/* The labels file next to an images file, by the MNIST naming convention. */
cf_status cf_idx_labels_for(const char *images, char *out, size_t n, cf_error *err)
{
    const char *p = strstr(images, "images-idx3");
    if (!p)
        return cf_error_set(err, CF_ERR_INVALID, "%s: which labels file goes with these IDX images? (name it "
                                                 "*labels-idx1* or set data.train_labels / data.test_labels)", images);
    snprintf(out, n, "%.*slabels-idx1%s", (int)(p - images), images, p + strlen("images-idx3"));
    return CF_OK;
}

static cf_status idx_open(const char *path, const cf_reader_opts *o, void **state, cf_reader_info *info,
                          cf_error *err)
{
    char lab[1024];
    if (o->labels_path) snprintf(lab, sizeof lab, "%s", o->labels_path);
    else CF_TRY(cf_idx_labels_for(path, lab, sizeof lab, err));
    idx_state *s = cf_calloc(1, sizeof *s);
    if (!s) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    cf_status st = cf_idx_load(path, lab, (int)o->limit, &s->d, err);
    if (!st && !(s->labels = malloc((size_t)s->d.n * sizeof(float) + 1))) st = CF_ERR_NOMEM;
    if (st) {
        cf_dataset_free(&s->d);
        free(s);
        return st;
    }
    for (int i = 0; i < s->d.n; i++) s->labels[i] = (float)s->d.y[i];
    info->n = s->d.n;
    info->k = s->d.k;
    info->class_names = s->d.class_names;
    info->label_width = 1;
    info->labels = s->labels;
    info->c = s->d.c;
    info->h = s->d.h;
    info->w = s->d.w;
    *state = s;
    return CF_OK;
}

static cf_status idx_read_item(void *state, long i, cf_item *it, cf_error *err)
{
    idx_state *s = state;
    size_t px = (size_t)s->d.c * s->d.h * s->d.w;
    CF_TRY(cf_item_reserve(it, px, err));
    const float *x = s->d.x + (size_t)i * px; /* exactly v/255: back to the byte */
    for (size_t j = 0; j < px; j++) it->buf[j] = (unsigned char)(x[j] * 255.0f + 0.5f);
    it->kind = CF_ITEM_PIXELS;
    it->data = it->buf;
    it->len = px;
    it->c = s->d.c;
    it->h = s->d.h;
    it->w = s->d.w;
    snprintf(it->name, sizeof it->name, "image %ld", i);
    return CF_OK;
}

static void idx_close(void *state)
{
    idx_state *s = state;
    if (!s) return;
    cf_dataset_free(&s->d);
    free(s->labels);
    free(s);
}

const cf_reader_vtable cf_reader_idx = {"idx", idx_detect, idx_open, idx_read_item, idx_close};
