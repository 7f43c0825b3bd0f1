/* rotate — rotate about the centre by an angle uniform in [-degrees,
 * degrees] (positive = counter-clockwise on screen), bilinear, corners
 * filled with `fill` (torchvision RandomRotation). */
#include "aug_ops.h"

typedef struct rotate_state {
    double degrees;
    float fill;
} rotate_state;

static const cf_param_def rotate_params[] = {
    {"degrees", CF_PT_FLOAT, "10", 0, 180, NULL, "maximum rotation in degrees, either way",
     CF_PARAM_AT(rotate_state, degrees)},
    {"fill", CF_PT_FLOAT, "0", -1e6, 1e6, NULL, "value of pixels rotated in from outside",
     CF_PARAM_AT(rotate_state, fill)},
    CF_PARAM_TABLE_END};

static cf_status rotate_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                              cf_error *err)
{
    const rotate_state *s = state;
    aug_op_rotate(in, out, cf_rng_range(rng, -s->degrees, s->degrees), s->fill);
    return CF_OK;
}

static const cf_augmentation_vtable rotate_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, rotate_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "rotate", "1.0.0", "random rotation within +-degrees about the centre",
    rotate_params, &rotate_vtable, sizeof(rotate_state));
