/* shear — horizontal shear by an angle uniform in [-degrees, degrees] about
 * the centre row (torchvision RandomAffine shear along x): a pixel at height
 * y moves by tan(angle) * y. SageMaker's "shear ratio 0.1" is
 * atan(0.1) = 5.71 degrees. */
#include "aug_image.h"

typedef struct shear_state {
    double degrees;
    float fill;
} shear_state;

static const cf_param_def shear_params[] = {
    {"degrees", CF_PT_FLOAT, "10", 0, 80, NULL, "maximum shear angle in degrees, either way",
     CF_PARAM_AT(shear_state, degrees)},
    {"fill", CF_PT_FLOAT, "0", -1e6, 1e6, NULL, "value of pixels brought in from outside",
     CF_PARAM_AT(shear_state, fill)},
    CF_PARAM_TABLE_END};

static cf_status shear_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                             cf_error *err)
{
    const shear_state *s = state;
    const double t = tan(cf_rng_range(rng, -s->degrees, s->degrees) * (M_PI / 180.0));
    const double m[4] = {1, -t, 0, 1}; /* inverse of x' = x + t y */
    aug_warp(in, out, m, 0, 0, s->fill);
    return CF_OK;
}

static const cf_augmentation_vtable shear_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, shear_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "shear", "1.0.0", "random horizontal shear within +-degrees",
    shear_params, &shear_vtable, sizeof(shear_state));
