/* vflip — mirror top-bottom with probability p. */
#include "aug_image.h"

typedef struct vflip_state {
    double p;
} vflip_state;

static const cf_param_def vflip_params[] = {
    {"p", CF_PT_FLOAT, "0.5", 0, 1, NULL, "probability of flipping", CF_PARAM_AT(vflip_state, p)},
    CF_PARAM_TABLE_END};

static cf_status vflip_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                             cf_error *err)
{
    if (cf_rng_uniform(rng) >= ((const vflip_state *)state)->p) {
        aug_copy(in, out);
        return CF_OK;
    }
    for (int c = 0; c < in->c; c++)
        for (int i = 0; i < in->h; i++)
            memcpy(out->data + ((size_t)c * in->h + i) * in->w,
                   in->data + ((size_t)c * in->h + (in->h - 1 - i)) * in->w,
                   (size_t)in->w * sizeof(float));
    return CF_OK;
}

static const cf_augmentation_vtable vflip_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, vflip_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "vflip", "1.0.0", "vertical (top-bottom) flip with probability p",
    vflip_params, &vflip_vtable, sizeof(vflip_state));
