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
    {"degrees", CF_PT_FLOAT, "10", 0, 80, NULL, "maximum shear angle in degrees, either way"},
    {"fill", CF_PT_FLOAT, "0", -1e6, 1e6, NULL, "value of pixels brought in from outside"},
    CF_PARAM_TABLE_END};

static cf_status shear_create(const cf_params *hp, void **state, cf_error *err)
{
    shear_state *s = calloc(1, sizeof *s);
    if (!s) return cf_error_set(err, CF_ERR_NOMEM, "shear: out of memory");
    s->degrees = cf_params_num(hp, "degrees");
    s->fill = (float)cf_params_num(hp, "fill");
    *state = s;
    return CF_OK;
}

static void shear_destroy(void *state) { free(state); }

static cf_status shear_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                             cf_error *err)
{
    const shear_state *s = state;
    const double t = tan(cf_rng_range(rng, -s->degrees, s->degrees) * (M_PI / 180.0));
    const double m[4] = {1, -t, 0, 1}; /* inverse of x' = x + t y */
    aug_warp(in, out, m, 0, 0, s->fill);
    return CF_OK;
}

static const cf_augmentation_vtable shear_vtable = {sizeof(cf_augmentation_vtable), shear_create,
                                                    shear_destroy, NULL, shear_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT(CF_PLUGIN_AUGMENTATION, "shear", "1.0.0",
                        "random horizontal shear within +-degrees", shear_params, &shear_vtable);
