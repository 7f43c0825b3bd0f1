/* saturation — blend an RGB image with its own greyscale version:
 * out = f x + (1 - f) luma, f uniform in [max(0, 1 - factor), 1 + factor]
 * (torchvision ColorJitter saturation), then clip to [0, 1] unless
 * clip = false. A 1-channel image has no saturation: apply() refuses it. */
#include "aug_ops.h"

typedef struct saturation_state {
    double factor;
    int clip;
} saturation_state;

static const cf_param_def saturation_params[] = {
    {"factor", CF_PT_FLOAT, "0.2", 0, 10, NULL,
     "strength s: the blend factor is drawn from [max(0, 1 - s), 1 + s]",
     CF_PARAM_AT(saturation_state, factor)},
    {"clip", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL, "clip the result to [0, 1]",
     CF_PARAM_AT(saturation_state, clip)},
    CF_PARAM_TABLE_END};

static cf_status saturation_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                                  cf_error *err)
{
    const saturation_state *s = state;
    CF_TRY(aug_need_rgb("saturation", in, err));
    const double lo = s->factor < 1 ? 1 - s->factor : 0;
    const float f = (float)cf_rng_range(rng, lo, 1 + s->factor);
    aug_op_saturation(in, out, f, s->clip);
    return CF_OK;
}

static const cf_augmentation_vtable saturation_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, saturation_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_AUGMENTATION, "saturation", "1.0.0",
                              "random saturation of RGB images: blend with greyscale",
                              saturation_params, &saturation_vtable, sizeof(saturation_state));
