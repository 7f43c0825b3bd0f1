/* autocontrast — with probability p, stretch each channel to [0, 1]
 * (torchvision RandomAutocontrast; a flat channel is kept). */
#include "aug_ops.h"

typedef struct autocontrast_state {
    double p;
} autocontrast_state;

static const cf_param_def autocontrast_params[] = {
    {"p", CF_PT_FLOAT, "0.5", 0, 1, NULL, "probability of the stretch", CF_PARAM_AT(autocontrast_state, p)},
    CF_PARAM_TABLE_END};

static cf_status autocontrast_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng, cf_error *err)
{
    const autocontrast_state *s = state;
    (void)err;
    if (cf_rng_uniform(rng) < s->p) aug_op_autocontrast(in, out);
    else aug_copy(in, out);
    return CF_OK;
}

static const cf_augmentation_vtable autocontrast_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, autocontrast_apply, NULL};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "autocontrast", "1.0.0", "stretch each channel to the full range with probability p",
    autocontrast_params, &autocontrast_vtable, sizeof(autocontrast_state));
