/* The RecordIO dataset reader (data/reader.h) over data/recordio.c: items in
 * .idx order (or file order without one), labels from each IRHeader (flag > 0:
 * that many labels; every record must carry the same number), payloads handed
 * on encoded (JPEG/PNG) for data/image.c to decode. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/reader.h"
#include "data/recordio.h"

typedef struct rec_state {
    cf_recordio r;
    float *labels;
} rec_state;

static int rec_detect(const char *path, int is_dir, const unsigned char *h, size_t n)
{
    if (is_dir) return 0;
    size_t l = strlen(path);
    int named = l >= 4 && !strcmp(path + l - 4, ".rec");
    if (n >= 8 && h[0] == 0x0A && h[1] == 0x23 && h[2] == 0xD7 && h[3] == 0xCE && (h[7] >> 5) <= 1)
        return 100;
    return named ? 60 : 0; /* a .rec that is not RecordIO: open says what is wrong */
}

static void rec_close(void *state)
{
    rec_state *s = state;
    if (!s) return;
    cf_recordio_close(&s->r);
    free(s->labels);
    free(s);
}

static cf_status rec_open(const char *path, const cf_reader_opts *o, void **state,
                          cf_reader_info *info, cf_error *err)
{
    rec_state *s = calloc(1, sizeof *s);
    if (!s) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    cf_status st = cf_recordio_open(path, NULL, &s->r, err);
    if (st) {
        free(s);
        return st;
    }
    long n = s->r.n;
    if (o && o->limit > 0 && o->limit < n) n = o->limit;
    unsigned char *buf = NULL;
    size_t cap = 0, len;
    int width = 0;
    float maxl = -1;
    for (long i = 0; i < n && !st; i++) {
        /* the header and up to 64 labels in one read; more: read again */
        st = cf_recordio_read_head(&s->r, i, CF_IRHEADER_SIZE + 64 * 4, &buf, &cap, &len, err);
        char where[1200];
        snprintf(where, sizeof where, "%s: record %ld (offset %llu)", path, i,
                 (unsigned long long)s->r.offset[i]);
        cf_irecord ir;
        if (!st && len >= 4) {
            uint32_t flag = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 24;
            if (flag > 64)
                st = cf_recordio_read_head(&s->r, i, CF_IRHEADER_SIZE + (size_t)flag * 4, &buf, &cap, &len, err);
        }
        if (!st) st = cf_irecord_parse(buf, len, where, &ir, err);
        if (st) break;
        if (i == 0) {
            width = ir.n_labels;
            s->labels = malloc(sizeof(float) * (size_t)n * (size_t)width);
            if (!s->labels) {
                st = cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory for %ld labels", path, n);
                break;
            }
        } else if (ir.n_labels != width) {
            st = cf_error_set(err, CF_ERR_INVALID, "%s: %d label(s), but record 0 has %d", where,
                              ir.n_labels, width);
            break;
        }
        for (int j = 0; j < width; j++) {
            float v = cf_irecord_label(&ir, j);
            if (!isfinite(v) || v < 0 || v > 1e6f || (width == 1 && v != floorf(v))) {
                st = cf_error_set(err, CF_ERR_INVALID, "%s: label %g is not a class index (a whole number >= 0)",
                                  where, v);
                break;
            }
            s->labels[(size_t)i * width + j] = v;
            if (v > maxl) maxl = v;
        }
    }
    free(buf);
    if (st) {
        rec_close(s);
        return st;
    }
    memset(info, 0, sizeof *info);
    info->n = n;
    info->k = (int)maxl + 1;
    info->class_names = NULL;
    info->label_width = width;
    info->labels = s->labels;
    *state = s;
    return CF_OK;
}

static cf_status rec_read(void *state, long i, cf_item *it, cf_error *err)
{
    rec_state *s = state;
    size_t len;
    snprintf(it->name, sizeof it->name, "%s#%lld", s->r.path, (long long)s->r.key[i]);
    CF_TRY(cf_recordio_read(&s->r, i, &it->buf, &it->cap, &len, err));
    cf_irecord ir;
    CF_TRY(cf_irecord_parse(it->buf, len, it->name, &ir, err));
    it->kind = CF_ITEM_ENCODED;
    it->data = ir.image;
    it->len = ir.image_len;
    it->c = it->h = it->w = 0;
    return CF_OK;
}

const cf_reader_vtable cf_reader_recordio = {"recordio", rec_detect, rec_open, rec_read, rec_close};
