/* equalize — with probability p, equalise each channel's histogram of
 * 8-bit values (torchvision RandomEqualize, PIL's lookup table). */
#include "aug_ops.h"

typedef struct equalize_state {
    double p;
} equalize_state;

static const cf_param_def equalize_params[] = {
    {"p", CF_PT_FLOAT, "0.5", 0, 1, NULL, "probability of equalising", CF_PARAM_AT(equalize_state, p)},
    CF_PARAM_TABLE_END};

static cf_status equalize_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng, cf_error *err)
{
    const equalize_state *s = state;
    (void)err;
    if (cf_rng_uniform(rng) < s->p) aug_op_equalize(in, out);
    else aug_copy(in, out);
    return CF_OK;
}

static const cf_augmentation_vtable equalize_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, equalize_apply, NULL};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "equalize", "1.0.0", "equalise each channel's histogram with probability p",
    equalize_params, &equalize_vtable, sizeof(equalize_state));
