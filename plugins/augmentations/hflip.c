/* hflip — mirror left-right with probability p. */
#include "aug_image.h"

typedef struct hflip_state {
    double p;
} hflip_state;

static const cf_param_def hflip_params[] = {
    {"p", CF_PT_FLOAT, "0.5", 0, 1, NULL, "probability of flipping", CF_PARAM_AT(hflip_state, p)},
    CF_PARAM_TABLE_END};

static cf_status hflip_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                             cf_error *err)
{
    if (cf_rng_uniform(rng) >= ((const hflip_state *)state)->p) {
        aug_copy(in, out);
        return CF_OK;
    }
    for (int c = 0; c < in->c; c++)
        for (int i = 0; i < in->h; i++) {
            const float *s = in->data + ((size_t)c * in->h + i) * in->w;
            float *d = out->data + ((size_t)c * in->h + i) * in->w;
            for (int j = 0; j < in->w; j++) d[j] = s[in->w - 1 - j];
        }
    return CF_OK;
}

static const cf_augmentation_vtable hflip_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, hflip_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "hflip", "1.0.0", "horizontal (left-right) flip with probability p",
    hflip_params, &hflip_vtable, sizeof(hflip_state));
