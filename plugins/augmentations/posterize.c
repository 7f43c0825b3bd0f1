/* posterize — with probability p, keep the top `bits` bits of each 8-bit
 * value (torchvision RandomPosterize). */
#include "aug_ops.h"

typedef struct posterize_state {
    int bits;
    double p;
} posterize_state;

static const cf_param_def posterize_params[] = {
    {"bits", CF_PT_INT, "4", 1, 8, NULL, "bits kept of each 8-bit value", CF_PARAM_AT(posterize_state, bits)},
    {"p", CF_PT_FLOAT, "0.5", 0, 1, NULL, "probability of posterizing", CF_PARAM_AT(posterize_state, p)},
    CF_PARAM_TABLE_END};

static cf_status posterize_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng, cf_error *err)
{
    const posterize_state *s = state;
    (void)err;
    if (cf_rng_uniform(rng) < s->p) aug_op_posterize(in, out, s->bits);
    else aug_copy(in, out);
    return CF_OK;
}

static const cf_augmentation_vtable posterize_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, posterize_apply, NULL};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "posterize", "1.0.0", "reduce each value to `bits` bits with probability p",
    posterize_params, &posterize_vtable, sizeof(posterize_state));
