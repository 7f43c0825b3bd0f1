/* mixup_cutmix — timm's Mixup switch: with probability p a batch is mixed,
 * by cutmix (cutmix_alpha) with probability switch_prob, else by mixup
 * (mixup_alpha). Batch-level; the mixes are those of mixup and cutmix. */
#include "aug_mix.h"

typedef struct mc_state {
    double mixup_alpha, cutmix_alpha, p, switch_prob;
} mc_state;

static const cf_param_def mc_params[] = {
    {"mixup_alpha", CF_PT_FLOAT, "0.8", 1e-3, 100, NULL, "mixup's lam ~ Beta(mixup_alpha, mixup_alpha)",
     CF_PARAM_AT(mc_state, mixup_alpha)},
    {"cutmix_alpha", CF_PT_FLOAT, "1.0", 1e-3, 100, NULL, "cutmix's lam ~ Beta(cutmix_alpha, cutmix_alpha)",
     CF_PARAM_AT(mc_state, cutmix_alpha)},
    {"p", CF_PT_FLOAT, "1.0", 0, 1, NULL, "probability that a batch is mixed", CF_PARAM_AT(mc_state, p)},
    {"switch_prob", CF_PT_FLOAT, "0.5", 0, 1, NULL, "probability of cutmix rather than mixup",
     CF_PARAM_AT(mc_state, switch_prob)},
    CF_PARAM_TABLE_END};

static cf_status mc_batch(void *state, cf_image_batch *b, cf_rng *rng, cf_error *err)
{
    const mc_state *s = state;
    if (b->n < 2 || cf_rng_uniform(rng) >= s->p) return CF_OK;
    if (cf_rng_uniform(rng) < s->switch_prob) return aug_cutmix(b, s->cutmix_alpha, rng, err);
    return aug_mixup(b, s->mixup_alpha, rng, err);
}

static const cf_augmentation_vtable mc_vtable = {
    .struct_size = sizeof(cf_augmentation_vtable), .apply_batch = mc_batch};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "mixup_cutmix", "1.0.0", "batch-level: mixup or cutmix per batch (timm's switch)",
    mc_params, &mc_vtable, sizeof(mc_state));
