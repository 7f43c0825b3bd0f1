/* cutmix — with probability p per batch, a box of each image (area about
 * 1 - lam, lam ~ Beta(alpha, alpha) once per batch, centre uniform, clipped
 * at the borders) is replaced by the same box of its partner in a random
 * permutation of the batch; targets mix with lam corrected to the area kept
 * (Yun et al. 2019, torchvision.transforms.v2.CutMix). Batch-level. */
#include "aug_mix.h"

typedef struct cutmix_state {
    double alpha, p;
} cutmix_state;

static const cf_param_def cutmix_params[] = {
    {"alpha", CF_PT_FLOAT, "1.0", 1e-3, 100, NULL, "lam ~ Beta(alpha, alpha): the kept area, before clipping",
     CF_PARAM_AT(cutmix_state, alpha)},
    {"p", CF_PT_FLOAT, "1.0", 0, 1, NULL, "probability that a batch is mixed", CF_PARAM_AT(cutmix_state, p)},
    CF_PARAM_TABLE_END};

static cf_status cutmix_batch(void *state, cf_image_batch *b, cf_rng *rng, cf_error *err)
{
    const cutmix_state *s = state;
    if (b->n < 2 || cf_rng_uniform(rng) >= s->p) return CF_OK;
    return aug_cutmix(b, s->alpha, rng, err);
}

static const cf_augmentation_vtable cutmix_vtable = {
    .struct_size = sizeof(cf_augmentation_vtable), .apply_batch = cutmix_batch};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "cutmix", "1.0.0", "batch-level: paste a box of a partner image, labels by area",
    cutmix_params, &cutmix_vtable, sizeof(cutmix_state));
