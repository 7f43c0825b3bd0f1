/* mixup — with probability p per batch, every sample becomes
 * lam x_i + (1 - lam) x_j and its target lam y_i + (1 - lam) y_j, j a random
 * permutation of the batch, lam ~ Beta(alpha, alpha) once per batch (Zhang et
 * al. 2018, torchvision.transforms.v2.MixUp). Batch-level: it has no
 * per-image apply. Label smoothing composes (the smoothed rows are mixed). */
#include "aug_mix.h"

typedef struct mixup_state {
    double alpha, p;
} mixup_state;

static const cf_param_def mixup_params[] = {
    {"alpha", CF_PT_FLOAT, "1.0", 1e-3, 100, NULL, "lam ~ Beta(alpha, alpha); small alpha: mostly one image",
     CF_PARAM_AT(mixup_state, alpha)},
    {"p", CF_PT_FLOAT, "1.0", 0, 1, NULL, "probability that a batch is mixed", CF_PARAM_AT(mixup_state, p)},
    CF_PARAM_TABLE_END};

static cf_status mixup_batch(void *state, cf_image_batch *b, cf_rng *rng, cf_error *err)
{
    const mixup_state *s = state;
    if (b->n < 2 || cf_rng_uniform(rng) >= s->p) return CF_OK;
    return aug_mixup(b, s->alpha, rng, err);
}

static const cf_augmentation_vtable mixup_vtable = {
    .struct_size = sizeof(cf_augmentation_vtable), .apply_batch = mixup_batch};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "mixup", "1.0.0", "batch-level: blend pairs of images and their labels",
    mixup_params, &mixup_vtable, sizeof(mixup_state));
