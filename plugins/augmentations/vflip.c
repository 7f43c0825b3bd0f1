/* vflip — mirror top-bottom with probability p. */
#include "aug_image.h"

static const cf_param_def vflip_params[] = {
    {"p", CF_PT_FLOAT, "0.5", 0, 1, NULL, "probability of flipping"},
    CF_PARAM_TABLE_END};

static cf_status vflip_create(const cf_params *hp, void **state, cf_error *err)
{
    double *p = malloc(sizeof *p);
    if (!p) return cf_error_set(err, CF_ERR_NOMEM, "vflip: out of memory");
    *p = cf_params_num(hp, "p");
    *state = p;
    return CF_OK;
}

static void vflip_destroy(void *state) { free(state); }

static cf_status vflip_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                             cf_error *err)
{
    if (cf_rng_uniform(rng) >= *(const double *)state) {
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

static const cf_augmentation_vtable vflip_vtable = {sizeof(cf_augmentation_vtable), vflip_create,
                                                    vflip_destroy, NULL, vflip_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT(CF_PLUGIN_AUGMENTATION, "vflip", "1.0.0",
                        "vertical (top-bottom) flip with probability p", vflip_params,
                        &vflip_vtable);
