/* The training augmentation chain. Per-image plugins run in list order, each
 * on the shape the previous one made (out_shape), so a chain may change the
 * shape on the way (resize 256 -> random_crop 224) as long as it ends at the
 * model's input. Batch-level plugins (apply_batch: mixup, cutmix) run after
 * assembly on the whole batch. Evaluation never augments: its images are
 * fitted to the input by the data layer (data.resize, then a centre crop). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/aug_chain.h"
#include "train/batch.h"
#include "train/session.h"

/* The per-image chain from (c, h, w): its output shape, the largest image
 * on the way, and "name [c, h, w] -> ..." for messages. */
static void chain_shape(const cf_session *s, int c, int h, int w, int *oc, int *oh, int *ow, size_t *max_px,
                        char *trace, size_t tn)
{
    size_t mx = (size_t)c * h * w, used = 0;
    if (trace && tn) used = (size_t)snprintf(trace, tn, "[%d, %d, %d]", c, h, w);
    for (int k = 0; k < s->n_augs; k++) {
        const cf_augmentation_vtable *v = s->augs[k].d->vtable;
        if (!v->apply) continue; /* batch-level only */
        int nc = c, nh = h, nw = w;
        if (v->out_shape) v->out_shape(s->augs[k].state, c, h, w, &nc, &nh, &nw);
        c = nc, h = nh, w = nw;
        if ((size_t)c * h * w > mx) mx = (size_t)c * h * w;
        if (trace && used < tn)
            used += (size_t)snprintf(trace + used, tn - used, " -> %s [%d, %d, %d]", s->augs[k].d->name, c, h, w);
    }
    *oc = c, *oh = h, *ow = w;
    *max_px = mx;
}

/* Image-format training data again at the shape before the chain's crop:
 * the shorter side at data.resize (the model input's aspect), else the
 * images' own size. Same items in the same order, so the split holds. */
static cf_status reopen_train(cf_session *s, cf_error *err)
{
    int r = cf_params_int(s->pd, "resize"), ph = 0, pw = 0;
    if (r > 0) {
        if (s->h <= s->w) ph = r, pw = (int)lround((double)r * s->w / s->h);
        else pw = r, ph = (int)lround((double)r * s->h / s->w);
    }
    if (ph == s->h && pw == s->w) return CF_OK;
    cf_dataset nd;
    CF_TRY(cf_session_open_data(s, cf_params_str(s->pd, "train"), "train", "train_labels",
                                cf_params_int(s->pd, "limit_train"), s->c, ph, pw, &nd, err));
    if (nd.n != s->train.n || nd.c != s->c) {
        cf_dataset_free(&nd);
        return cf_error_set(err, CF_ERR_INVALID, "%s: the training data changed while it was opened again",
                            cf_params_str(s->pd, "train"));
    }
    cf_dataset_free(&s->train);
    s->train = nd;
    return CF_OK;
}

cf_status cf_aug_chain_check(cf_session *s, cf_error *err)
{
    const size_t px = (size_t)s->c * s->h * s->w;
    s->aug_px = 4 * px; /* what a shape-keeping chain has always had */
    if (!s->n_augs || !(s->train.x || s->train.src)) return CF_OK; /* a saved model: nothing to augment */
    int oc, oh, ow;
    size_t mx;
    chain_shape(s, s->c, s->h, s->w, &oc, &oh, &ow, &mx, NULL, 0);
    if (oc == s->c && oh == s->h && ow == s->w) {
        if (mx > s->aug_px) s->aug_px = mx;
        return CF_OK;
    }
    if (s->train.src) CF_TRY(reopen_train(s, err));
    const cf_dataset *t = &s->train;
    char trace[2048];
    chain_shape(s, t->c, t->h, t->w, &oc, &oh, &ow, &mx, trace, sizeof trace);
    if (oc != s->c || oh != s->h || ow != s->w)
        return cf_error_set(err, CF_ERR_INVALID,
                            "augmentations: the training images become %s, but the model's input is "
                            "[%d, %d, %d] (data.image_shape, or the data's own shape); end the chain at "
                            "that size (e.g. random_crop size = [%d, %d])%s",
                            trace, s->c, s->h, s->w, s->h, s->w,
                            t->src ? "" : " (IDX data keeps its own shape: it is not resized)");
    if (s->n_va && !s->valid.n && (t->h < s->h || t->w < s->w))
        return cf_error_set(err, CF_ERR_INVALID,
                            "augmentations: the validation split of images [%d, %d, %d] is smaller than the "
                            "model's input [%d, %d, %d]; set data.resize to at least %d",
                            t->c, t->h, t->w, s->c, s->h, s->w, s->h > s->w ? s->h : s->w);
    if (mx > s->aug_px) s->aug_px = mx;
    return CF_OK;
}

cf_status cf_aug_chain_sample(cf_session *s, const cf_dataset *d, int si, uint64_t epoch, float *abuf,
                              float *bbuf, const float **out, cf_error *err)
{
    const float *src = *out;
    cf_image a = {abuf, d->c, d->h, d->w}, b = {bbuf, 0, 0, 0};
    int copied = 0;
    for (int k = 0; k < s->n_augs; k++) {
        const cf_augmentation_vtable *v = s->augs[k].d->vtable;
        if (!v->apply) continue;
        if (!copied && src != abuf) memcpy(abuf, src, (size_t)d->c * d->h * d->w * sizeof(float));
        copied = 1;
        cf_rng r = cf_rng_make(s->seed, CF_RNG_AUGMENT, epoch, ((uint64_t)si << 4) | (uint64_t)k);
        b.c = a.c, b.h = a.h, b.w = a.w;
        if (v->out_shape) v->out_shape(s->augs[k].state, a.c, a.h, a.w, &b.c, &b.h, &b.w);
        if (v->apply(s->augs[k].state, &a, &b, &r, err))
            return cf_error_prefix(err, "augmentation %s (sample %d)", s->augs[k].d->name, si);
        cf_image t = a;
        a = b, b = t;
    }
    *out = copied ? a.data : src;
    return CF_OK;
}

void cf_aug_center_crop(const float *src, int c, int sh, int sw, float *dst, int h, int w)
{
    const int top = (sh - h) / 2, left = (sw - w) / 2;
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < h; i++)
            memcpy(dst + ((size_t)ch * h + i) * w, src + ((size_t)ch * sh + top + i) * sw + left,
                   (size_t)w * sizeof(float));
}

int cf_aug_has_batch(const cf_session *s)
{
    for (int k = 0; k < s->n_augs; k++)
        if (((const cf_augmentation_vtable *)s->augs[k].d->vtable)->apply_batch) return 1;
    return 0;
}

cf_status cf_aug_batch(cf_session *s, cf_batch *b, int n, uint64_t epoch, long batch, cf_error *err)
{
    cf_image_batch ib = {b->x, b->t, n, s->c, s->h, s->w, s->k};
    for (int k = 0; k < s->n_augs; k++) {
        const cf_augmentation_vtable *v = s->augs[k].d->vtable;
        if (!v->apply_batch) continue;
        cf_rng r = cf_rng_make(s->seed, CF_RNG_BATCH_AUGMENT, epoch, ((uint64_t)batch << 8) | (uint64_t)k);
        if (v->apply_batch(s->augs[k].state, &ib, &r, err))
            return cf_error_prefix(err, "augmentation %s (epoch %llu, batch %ld)", s->augs[k].d->name,
                                   (unsigned long long)epoch, batch + 1);
    }
    return CF_OK;
}

int cf_aug_target_class(const float *t, int k)
{
    int best = 0;
    for (int j = 1; j < k; j++)
        if (t[j] > t[best]) best = j;
    return best;
}
