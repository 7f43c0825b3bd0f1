/* sharpness — with probability p, blend with the image smoothed by
 * [[1,1,1],[1,5,1],[1,1,1]] / 13 at `factor` (torchvision
 * RandomAdjustSharpness: 0 = smoothed, 1 = unchanged, 2 = sharper). */
#include "aug_ops.h"

typedef struct sharpness_state {
    float factor;
    double p;
} sharpness_state;

static const cf_param_def sharpness_params[] = {
    {"factor", CF_PT_FLOAT, "2", 0, 100, NULL, "sharpness factor: 0 smooth, 1 unchanged, > 1 sharper",
     CF_PARAM_AT(sharpness_state, factor)},
    {"p", CF_PT_FLOAT, "0.5", 0, 1, NULL, "probability of the adjustment", CF_PARAM_AT(sharpness_state, p)},
    CF_PARAM_TABLE_END};

static cf_status sharpness_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng, cf_error *err)
{
    const sharpness_state *s = state;
    (void)err;
    if (cf_rng_uniform(rng) < s->p) aug_op_sharpness(in, out, s->factor);
    else aug_copy(in, out);
    return CF_OK;
}

static const cf_augmentation_vtable sharpness_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, sharpness_apply, NULL};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "sharpness", "1.0.0", "sharpen or soften by a fixed factor with probability p",
    sharpness_params, &sharpness_vtable, sizeof(sharpness_state));
