/* brightness — multiply every value by a factor uniform in
 * [max(0, 1 - factor), 1 + factor] (torchvision ColorJitter brightness),
 * then clip to [0, 1] unless clip = false (place before `normalize`). */
#include "aug_ops.h"

typedef struct brightness_state {
    double factor;
    int clip;
} brightness_state;

static const cf_param_def brightness_params[] = {
    {"factor", CF_PT_FLOAT, "0.2", 0, 10, NULL,
     "strength b: the multiplier is drawn from [max(0, 1 - b), 1 + b]",
     CF_PARAM_AT(brightness_state, factor)},
    {"clip", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL, "clip the result to [0, 1]",
     CF_PARAM_AT(brightness_state, clip)},
    CF_PARAM_TABLE_END};

static cf_status brightness_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                                  cf_error *err)
{
    const brightness_state *s = state;
    const double lo = s->factor < 1 ? 1 - s->factor : 0;
    const float f = (float)cf_rng_range(rng, lo, 1 + s->factor);
    aug_op_brightness(in, out, f, s->clip);
    return CF_OK;
}

static const cf_augmentation_vtable brightness_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, brightness_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_AUGMENTATION, "brightness", "1.0.0",
                              "random brightness: scale values by a factor near 1",
                              brightness_params, &brightness_vtable, sizeof(brightness_state));
