/* contrast — blend the image with its mean grey level:
 * out = f x + (1 - f) mean, f uniform in [max(0, 1 - factor), 1 + factor]
 * (torchvision ColorJitter contrast; the mean is that of the luma for RGB,
 * of all values otherwise), then clip to [0, 1] unless clip = false. */
#include "aug_ops.h"

typedef struct contrast_state {
    double factor;
    int clip;
} contrast_state;

static const cf_param_def contrast_params[] = {
    {"factor", CF_PT_FLOAT, "0.2", 0, 10, NULL,
     "strength c: the blend factor is drawn from [max(0, 1 - c), 1 + c]",
     CF_PARAM_AT(contrast_state, factor)},
    {"clip", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL, "clip the result to [0, 1]",
     CF_PARAM_AT(contrast_state, clip)},
    CF_PARAM_TABLE_END};

static cf_status contrast_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                                cf_error *err)
{
    const contrast_state *s = state;
    const double lo = s->factor < 1 ? 1 - s->factor : 0;
    const float f = (float)cf_rng_range(rng, lo, 1 + s->factor);
    aug_op_contrast(in, out, f, s->clip);
    return CF_OK;
}

static const cf_augmentation_vtable contrast_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, contrast_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "contrast", "1.0.0", "random contrast: blend with the mean grey level",
    contrast_params, &contrast_vtable, sizeof(contrast_state));
