/* scale — zoom about the centre by a factor uniform in [min, max]
 * (torchvision RandomAffine scale); with `aspect` > 0 the width and height
 * factors also differ by a ratio r uniform in [1 - aspect, 1 + aspect]
 * (x factor s sqrt r, y factor s / sqrt r: SageMaker's "aspect-ratio change"). */
#include "aug_image.h"

typedef struct scale_state {
    double lo, hi, aspect;
    float fill;
} scale_state;

static const cf_param_def scale_params[] = {
    {"min", CF_PT_FLOAT, "0.9", 0.01, 100, NULL, "smallest zoom factor (< 1 shrinks)",
     CF_PARAM_AT(scale_state, lo)},
    {"max", CF_PT_FLOAT, "1.1", 0.01, 100, NULL, "largest zoom factor (> 1 enlarges)",
     CF_PARAM_AT(scale_state, hi)},
    {"aspect", CF_PT_FLOAT, "0", 0, 0.9, NULL,
     "maximum relative change of the aspect ratio (0 = keep it)", CF_PARAM_AT(scale_state, aspect)},
    {"fill", CF_PT_FLOAT, "0", -1e6, 1e6, NULL, "value of pixels brought in from outside",
     CF_PARAM_AT(scale_state, fill)},
    CF_PARAM_TABLE_END};

static cf_status scale_init(void *state, const cf_params *hp, cf_error *err)
{
    scale_state *s = state;
    if (s->lo > s->hi)
        return cf_error_set(err, CF_ERR_INVALID, "scale: min (%g) is larger than max (%g)",
                            cf_params_num(hp, "min"), cf_params_num(hp, "max"));
    return CF_OK;
}

static cf_status scale_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                             cf_error *err)
{
    const scale_state *s = state;
    const double k = cf_rng_range(rng, s->lo, s->hi);
    const double r = cf_rng_range(rng, 1 - s->aspect, 1 + s->aspect);
    const double sx = k * sqrt(r), sy = k / sqrt(r);
    const double m[4] = {1 / sx, 0, 0, 1 / sy};
    aug_warp(in, out, m, 0, 0, s->fill);
    return CF_OK;
}

static const cf_augmentation_vtable scale_vtable = {
    sizeof(cf_augmentation_vtable), scale_init, NULL, NULL, NULL, scale_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_AUGMENTATION, "scale", "1.0.0",
                              "random zoom in [min, max] about the centre, optional aspect change",
                              scale_params, &scale_vtable, sizeof(scale_state));
