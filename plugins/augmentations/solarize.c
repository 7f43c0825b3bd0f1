/* solarize — with probability p, invert every value at or above
 * `threshold` (torchvision RandomSolarize; 1.0 = the 8-bit 255). */
#include "aug_ops.h"

typedef struct solarize_state {
    float threshold;
    double p;
} solarize_state;

static const cf_param_def solarize_params[] = {
    {"threshold", CF_PT_FLOAT, "0.5", 0, 1, NULL, "values >= threshold become 1 - value",
     CF_PARAM_AT(solarize_state, threshold)},
    {"p", CF_PT_FLOAT, "0.5", 0, 1, NULL, "probability of solarizing", CF_PARAM_AT(solarize_state, p)},
    CF_PARAM_TABLE_END};

static cf_status solarize_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng, cf_error *err)
{
    const solarize_state *s = state;
    (void)err;
    if (cf_rng_uniform(rng) < s->p) aug_op_solarize(in, out, s->threshold);
    else aug_copy(in, out);
    return CF_OK;
}

static const cf_augmentation_vtable solarize_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, solarize_apply, NULL};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "solarize", "1.0.0", "invert values above a threshold with probability p",
    solarize_params, &solarize_vtable, sizeof(solarize_state));
