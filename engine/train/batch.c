/* Batch assembly: samples -> (decode) -> (augmentation chain) -> normalised
 * inputs, smoothed one-hot targets and class weights, into host buffers. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "train/batch.h"
#include "train/aug_chain.h"
#include "data/reader.h"
#include "train/session.h"

cf_status cf_session_batch_part(cf_session *s, const cf_dataset *d, const int *idx, int n, int augment,
                                uint64_t epoch, cf_batch *bt, cf_batch *sc, int first, int step, cf_error *err)
{
    size_t px = (size_t)s->c * s->h * s->w, plane = (size_t)s->h * s->w;
    float off = s->smoothing / (float)s->k, on = 1.0f - s->smoothing + off;
    for (int i = first; i < n; i += step) {
        int si = idx[i];
        const float *src;
        CF_TRY(cf_dataset_sample(d, si, sc->aug_a, sc->it, &src, err)); /* streamed: decoded into aug_a */
        if (augment && s->n_augs)
            CF_TRY(cf_aug_chain_sample(s, d, si, epoch, sc->aug_a, sc->aug_b, &src, err));
        else if (d->h != s->h || d->w != s->w) { /* larger training images, evaluated: their centre */
            cf_aug_center_crop(src, s->c, d->h, d->w, sc->aug_b, s->h, s->w);
            src = sc->aug_b;
        }
        float *dst = bt->x + (size_t)i * px;
        for (int c = 0; c < s->c; c++) {
            float m = (float)s->mean[c], is = (float)(1.0 / s->std[c]);
            for (size_t j = 0; j < plane; j++) dst[c * plane + j] = (src[c * plane + j] - m) * is;
        }
        int y = d->y[si];
        float *t = bt->t + (size_t)i * s->k;
        if (d->multi) { /* multi-hot; classes are weighted by pos_weight in the loss */
            memcpy(t, d->multi + (size_t)si * s->k, (size_t)s->k * sizeof *t);
            bt->w[i] = 1.0f;
            continue;
        }
        for (int k = 0; k < s->k; k++) t[k] = k == y ? on : off;
        bt->w[i] = s->class_w ? s->class_w[y] : 1.0f;
    }
    return CF_OK;
}

cf_status cf_session_batch_into(cf_session *s, const cf_dataset *d, const int *idx, int n, int augment,
                                uint64_t epoch, cf_batch *bt, cf_error *err)
{
    return cf_session_batch_part(s, d, idx, n, augment, epoch, bt, bt, 0, 1, err);
}

typedef struct part_job {
    cf_session *s;
    const cf_dataset *d;
    const int *idx;
    int n, augment, first, step;
    uint64_t epoch;
    cf_batch *out, scratch;
    cf_status st;
    cf_error err;
} part_job;

static void *part_run(void *arg)
{
    part_job *j = arg;
    j->st = cf_session_batch_part(j->s, j->d, j->idx, j->n, j->augment, j->epoch, j->out, &j->scratch, j->first,
                                  j->step, &j->err);
    return NULL;
}

/* Streamed data (evaluation sets): decode the batch with data.workers threads. */
static cf_status batch_parallel(cf_session *s, const cf_dataset *d, const int *idx, int n, int augment,
                                uint64_t epoch, cf_batch *out, int nw, cf_error *err)
{
    part_job jobs[16];
    pthread_t th[16];
    int started[16] = {0};
    cf_status st = CF_OK;
    for (int t = 0; t < nw; t++) {
        jobs[t] = (part_job){s, d, idx, n, augment, t, nw, epoch, out, {0}, CF_OK, {0}};
        if ((st = cf_batch_alloc_scratch(s, &jobs[t].scratch, err))) break;
    }
    for (int t = 1; t < nw && !st; t++) started[t] = !pthread_create(&th[t], NULL, part_run, &jobs[t]);
    if (!st) part_run(&jobs[0]);
    for (int t = 1; t < nw; t++)
        if (started[t]) pthread_join(th[t], NULL);
        else if (!st) part_run(&jobs[t]); /* no thread: do its share here */
    for (int t = 0; t < nw; t++) {
        if (!st && jobs[t].st) {
            st = jobs[t].st;
            if (err) *err = jobs[t].err;
        }
        cf_batch_free(&jobs[t].scratch);
    }
    return st;
}

cf_status cf_session_batch(cf_session *s, const cf_dataset *d, const int *idx, int n, int augment,
                           uint64_t epoch, cf_error *err)
{
    if (!s->item && !(s->item = cf_calloc(1, sizeof *s->item)))
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    cf_batch b = {s->bx, s->bt, s->bw, s->aug_a, s->aug_b, s->item};
    if (d->src && !d->x && n >= 16) {
        int nw = s->pd ? cf_params_int(s->pd, "workers") : 0;
        if (nw <= 0) nw = cf_data_workers_default();
        if (nw > 16) nw = 16;
        if (nw > 1) return batch_parallel(s, d, idx, n, augment, epoch, &b, nw, err);
    }
    return cf_session_batch_into(s, d, idx, n, augment, epoch, &b, err);
}

cf_status cf_batch_alloc_scratch(const cf_session *s, cf_batch *b, cf_error *err)
{
    /* Augmentations may pass through larger intermediate images (aug_chain.c). */
    size_t px = s->aug_px ? s->aug_px : (size_t)s->c * s->h * s->w * 4;
    b->aug_a = malloc(px * sizeof(float));
    b->aug_b = malloc(px * sizeof(float));
    b->it = cf_calloc(1, sizeof *b->it);
    if (!b->aug_a || !b->aug_b || !b->it) {
        cf_batch_free(b);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory for batch buffers");
    }
    return CF_OK;
}

cf_status cf_batch_alloc(const cf_session *s, int max_batch, cf_batch *b, cf_error *err)
{
    size_t px = (size_t)s->c * s->h * s->w;
    memset(b, 0, sizeof *b);
    b->x = malloc((size_t)max_batch * px * sizeof(float));
    b->t = malloc((size_t)max_batch * s->k * sizeof(float));
    b->w = malloc((size_t)max_batch * sizeof(float));
    if (!b->x || !b->t || !b->w) {
        cf_batch_free(b);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory for batch buffers (%d samples)", max_batch);
    }
    return cf_batch_alloc_scratch(s, b, err);
}

void cf_batch_free(cf_batch *b)
{
    free(b->x);
    free(b->t);
    free(b->w);
    free(b->aug_a);
    free(b->aug_b);
    if (b->it) cf_item_free(b->it);
    free(b->it);
    memset(b, 0, sizeof *b);
}
