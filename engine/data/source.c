/* Any reader as a dataset. Opening decodes every item once, in parallel, to
 * find what cannot be read (skipped, counted, the first 20 named) and to
 * check shapes before training starts rather than mid-epoch. The decoded
 * pixels are kept when they fit in data.cache_mb; otherwise each use decodes
 * again (memory then depends on the batch, not the dataset). Either way a
 * sample's floats are the same. data.scan = "none" skips that pass: the open
 * costs only the reader's listing (a 100,000-file folder opens in well under
 * a second instead of decoding 100,000 images), data streams, and a bad file
 * is an error when a batch reaches it. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/reader.h"

int cf_data_workers_default(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* Item -> fitted floats. Decode failures are CF_ERR_IO (skippable); a shape
 * that cannot fit is CF_ERR_INVALID (the user's settings: an error). */
static cf_status decode_item(const cf_dataset *d, long item, float *out, cf_item *it, cf_error *err)
{
    CF_TRY(cf_reader_read(d->src, item, it, err));
    cf_image_u8 im = {0};
    if (it->kind == CF_ITEM_PIXELS) {
        im.data = (unsigned char *)it->data;
        im.w = it->w;
        im.h = it->h;
        im.c = it->c;
        return cf_image_fit(it->name, &im, d->c, d->h, d->w, d->resize, out, err);
    }
    int mh = d->resize > 0 ? d->resize : d->h, mw = d->resize > 0 ? d->resize : d->w;
    CF_TRY(cf_image_decode(it->name, it->data, it->len, mh, mw, &im, err));
    cf_status st = cf_image_fit(it->name, &im, d->c, d->h, d->w, d->resize, out, err);
    cf_image_u8_free(&im);
    return st;
}

cf_status cf_dataset_sample(const cf_dataset *d, int i, float *scratch, cf_item *it, const float **px,
                            cf_error *err)
{
    size_t n = (size_t)d->c * d->h * d->w;
    if (d->x) {
        *px = d->x + (size_t)i * n;
        return CF_OK;
    }
    *px = scratch;
    cf_status st = decode_item(d, d->map[i], scratch, it, err);
    if (st)
        cf_error_prefix(err, d->unscanned ? "data.scan = \"none\" (files are not checked when the data is opened)"
                                          : "data changed since it was opened");
    return st;
}

typedef struct scan_job {
    cf_dataset *d;
    long n;                 /* candidates: items pick[0..n) */
    const long *pick;
    long next;              /* next item to claim */
    unsigned char *bad;     /* per item: 1 = skip */
    float *keep;            /* all pixels (cache) or NULL */
    pthread_mutex_t mu;
    cf_status st;           /* first fatal error */
    cf_error err;
    long fatal_item;
} scan_job;

static void *scan_worker(void *arg)
{
    scan_job *j = arg;
    size_t px = (size_t)j->d->c * j->d->h * j->d->w;
    float *tmp = malloc(px * sizeof *tmp);
    cf_item it = {0};
    for (;;) {
        pthread_mutex_lock(&j->mu);
        long i0 = j->next, stop = j->st != CF_OK;
        j->next += 64;
        pthread_mutex_unlock(&j->mu);
        if (stop || i0 >= j->n || !tmp) break;
        long i1 = i0 + 64 < j->n ? i0 + 64 : j->n;
        for (long i = i0; i < i1; i++) {
            cf_error e = {0};
            float *out = j->keep ? j->keep + (size_t)i * px : tmp;
            cf_status st = decode_item(j->d, j->pick[i], out, &it, &e);
            if (st == CF_ERR_IO) j->bad[i] = 1;
            else if (st) {
                pthread_mutex_lock(&j->mu);
                if (!j->st || i < j->fatal_item) j->st = st, j->err = e, j->fatal_item = i;
                pthread_mutex_unlock(&j->mu);
                break;
            }
        }
    }
    if (!tmp) {
        pthread_mutex_lock(&j->mu);
        if (!j->st) j->st = cf_error_set(&j->err, CF_ERR_NOMEM, "out of memory");
        pthread_mutex_unlock(&j->mu);
    }
    cf_item_free(&it);
    free(tmp);
    return NULL;
}

/* The shape of the first readable item, for data without image_shape. */
static cf_status first_shape(cf_dataset *d, cf_error *err)
{
    cf_item it = {0};
    cf_status st = CF_ERR_IO;
    for (long i = 0; i < d->src->info.n && st == CF_ERR_IO; i++) {
        cf_image_u8 im = {0};
        if ((st = cf_reader_read(d->src, i, &it, NULL))) continue;
        if (it.kind == CF_ITEM_PIXELS) {
            d->c = it.c, d->h = it.h, d->w = it.w;
            break;
        }
        if ((st = cf_image_decode(it.name, it.data, it.len, 0, 0, &im, NULL))) continue;
        d->c = im.c, d->h = im.h, d->w = im.w;
        cf_image_u8_free(&im);
    }
    cf_item_free(&it);
    if (st) return cf_error_set(err, CF_ERR_IO, "%s: no readable image", d->src->path);
    if (d->resize > 0 && d->h == d->w) d->h = d->w = d->resize; /* square: resize is the side */
    return CF_OK;
}

cf_status cf_dataset_open(const char *path, const cf_source_opts *o, cf_dataset *d, cf_error *err)
{
    memset(d, 0, sizeof *d);
    /* limit: evenly spaced items, so a folder listed class by class keeps every class */
    cf_reader_opts ro = {o->root, o->part, o->cifar_label, o->labels_path, 0};
    CF_TRY(cf_reader_open(path, o->format, &ro, &d->src, err));
    const cf_reader_info *in = &d->src->info;
    cf_status st = CF_OK;
    d->resize = o->resize;
    d->c = o->c, d->h = o->h, d->w = o->w;
    if (in->n == 0) st = cf_error_set(err, CF_ERR_INVALID, "%s: no images", path);
    if (!st && !(d->c && d->h && d->w)) {
        int c = d->c;
        st = first_shape(d, err);
        if (c) d->c = c;
    }
    size_t px = (size_t)d->c * d->h * d->w;
    long total = in->n > 0 && o->limit > 0 && o->limit < in->n ? o->limit : in->n;
    long *pick = malloc((size_t)(total ? total : 1) * sizeof *pick);
    for (long i = 0; pick && i < total; i++) pick[i] = total == in->n ? i : (long)((double)i * in->n / total);
    scan_job j = {.d = d, .n = total, .pick = pick};
    j.bad = cf_calloc((size_t)(total ? total : 1), 1);
    if (!st && !pick) st = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    if (!st && !j.bad) st = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    if (!st && !o->no_scan && o->cache_mb > 0 && (double)total * px * sizeof(float) <= o->cache_mb * 1048576.0) {
        j.keep = malloc((size_t)total * px * sizeof(float));
        /* no room after all: stream */
    }
    if (!st && !o->no_scan) {
        int nw = o->workers > 0 ? o->workers : cf_data_workers_default();
        pthread_t th[64];
        int started = 0;
        if (nw > 64) nw = 64;
        pthread_mutex_init(&j.mu, NULL);
        for (int t = 0; t < nw; t++)
            if (!pthread_create(&th[t], NULL, scan_worker, &j)) started++;
        if (!started) scan_worker(&j);
        for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
        pthread_mutex_destroy(&j.mu);
        if (j.st) {
            st = j.st;
            if (err) *err = j.err;
        }
    }
    long n = 0;
    if (!st) {
        for (long i = 0; i < total; i++) n += !j.bad[i];
        d->map = malloc((size_t)(n ? n : 1) * sizeof *d->map);
        d->y = malloc((size_t)(n ? n : 1) * sizeof *d->y);
        d->skipped = cf_calloc(CF_SKIPPED_NAMED, sizeof *d->skipped);
        if (!d->map || !d->y || !d->skipped) st = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    }
    if (!st) {
        cf_item it = {0};
        long m = 0;
        for (long i = 0; i < total; i++) {
            if (j.bad[i]) {
                cf_error e = {0};
                cf_status rs = cf_reader_read(d->src, pick[i], &it, &e);
                if (!rs) { /* readable bytes: say why they do not decode */
                    cf_image_u8 im = {0};
                    if (!cf_image_decode(it.name, it.data, it.len, 0, 0, &im, &e)) cf_image_u8_free(&im);
                }
                if (o->warn && d->n_skipped < CF_SKIPPED_NAMED) fprintf(o->warn, "warning: skipped %s\n", e.msg);
                if (d->n_named < CF_SKIPPED_NAMED) d->skipped[d->n_named++] = cf_strdup(it.name[0] ? it.name : e.msg);
                d->n_skipped++;
                continue;
            }
            if (j.keep && m != i) memmove(j.keep + (size_t)m * px, j.keep + (size_t)i * px, px * sizeof(float));
            d->map[m] = pick[i];
            d->y[m++] = (int)cf_reader_labels(d->src, pick[i])[0];
        }
        cf_item_free(&it);
        if (o->warn && d->n_skipped > CF_SKIPPED_NAMED)
            fprintf(o->warn, "warning: ... and %ld more unreadable files skipped\n", d->n_skipped - CF_SKIPPED_NAMED);
        if (o->warn && d->n_skipped)
            fprintf(o->warn, "warning: %s: %ld of %ld files skipped (unreadable)\n", path, d->n_skipped, total);
        d->n = (int)n;
        d->k = in->k;
        d->x = j.keep;
        d->unscanned = o->no_scan;
        j.keep = NULL;
        if (n == 0) st = cf_error_set(err, CF_ERR_INVALID, "%s: none of the %ld files is a readable image", path, total);
    }
    if (!st) {
        d->class_names = cf_calloc((size_t)d->k + 1, sizeof *d->class_names);
        if (!d->class_names) st = cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
        for (int c = 0; d->class_names && c < d->k && !st; c++) {
            char b[16];
            snprintf(b, sizeof b, "%d", c);
            d->class_names[c] = cf_strdup(in->class_names && in->class_names[c] ? in->class_names[c] : b);
            if (!d->class_names[c]) st = cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
        }
        /* A class whose every image was skipped cannot be learnt or scored. */
        if (in->class_names && d->n_skipped) {
            long *cnt = cf_calloc((size_t)d->k, sizeof *cnt);
            for (int i = 0; cnt && i < d->n; i++) cnt[d->y[i]]++;
            for (int c = 0; cnt && c < d->k && !st; c++)
                if (!cnt[c]) st = cf_error_set(err, CF_ERR_INVALID, "%s: class \"%s\" has no readable image", path,
                                               d->class_names[c]);
            free(cnt);
        }
    }
    free(j.bad);
    free(j.keep);
    free(pick);
    if (st) cf_dataset_free(d);
    return st;
}

cf_status cf_dataset_stats_sample(const cf_dataset *d, const int *idx, int n, int max, double *mean, double *std,
                                  cf_error *err)
{
    size_t plane = (size_t)d->h * d->w;
    float *tmp = malloc(plane * d->c * sizeof *tmp);
    if (!tmp) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    cf_item it = {0};
    double s1[4] = {0}, s2[4] = {0};
    int m = n < max ? n : max;
    cf_status st = CF_OK;
    for (int j = 0; j < m && !st; j++) { /* evenly spaced: the same sample whatever the order */
        const float *px;
        if ((st = cf_dataset_sample(d, idx[(long)j * n / m], tmp, &it, &px, err))) break;
        for (int c = 0; c < d->c; c++)
            for (size_t p = 0; p < plane; p++) {
                double v = px[c * plane + p];
                s1[c] += v;
                s2[c] += v * v;
            }
    }
    for (int c = 0; c < d->c && !st; c++) {
        double cnt = (double)m * plane, mu = s1[c] / cnt, var = s2[c] / cnt - mu * mu;
        mean[c] = mu;
        std[c] = var > 1e-12 ? sqrt(var) : 1.0;
    }
    cf_item_free(&it);
    free(tmp);
    return st;
}
