/* translate — shift by a whole number of pixels, up to `fraction` of the
 * width horizontally and of the height vertically (torchvision RandomAffine
 * translate, rounded so no blur is introduced); vacated pixels get `fill`. */
#include "aug_ops.h"

typedef struct translate_state {
    double fraction;
    float fill;
} translate_state;

static const cf_param_def translate_params[] = {
    {"fraction", CF_PT_FLOAT, "0.1", 0, 1, NULL,
     "maximum shift as a fraction of the width (x) and height (y)",
     CF_PARAM_AT(translate_state, fraction)},
    {"fill", CF_PT_FLOAT, "0", -1e6, 1e6, NULL, "value of pixels shifted in from outside",
     CF_PARAM_AT(translate_state, fill)},
    CF_PARAM_TABLE_END};

static cf_status translate_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                                 cf_error *err)
{
    const translate_state *s = state;
    const double mx = s->fraction * in->w, my = s->fraction * in->h;
    const int tx = (int)lround(cf_rng_range(rng, -mx, mx));
    const int ty = (int)lround(cf_rng_range(rng, -my, my));
    aug_op_translate(in, out, tx, ty, s->fill);
    return CF_OK;
}

static const cf_augmentation_vtable translate_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, translate_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_AUGMENTATION, "translate", "1.0.0",
                              "random whole-pixel shift up to `fraction` of the size",
                              translate_params, &translate_vtable, sizeof(translate_state));
