/* normalize — per channel, out = (x - mean[c]) / std[c] (torchvision
 * Normalize). One number applies to every channel. Place it last: the colour
 * augmentations expect values in [0, 1]. */
#include "aug_image.h"

#define NORM_MAX_C 64

typedef struct norm_state {
    int n_mean, n_std;
    float mean[NORM_MAX_C], inv_std[NORM_MAX_C];
} norm_state;

static const cf_param_def norm_params[] = {
    {"mean", CF_PT_FLOAT_LIST, NULL, CF_PARAM_NO_RANGE, NULL,
     "per-channel mean to subtract (one number for all channels)"},
    {"std", CF_PT_FLOAT_LIST, NULL, 0, 1e6, NULL,
     "per-channel standard deviation to divide by, > 0 (one number for all channels)"},
    CF_PARAM_TABLE_END};

static cf_status norm_init(void *state, const cf_params *hp, cf_error *err)
{
    norm_state *s = state;
    s->n_mean = cf_params_list_len(hp, "mean");
    s->n_std = cf_params_list_len(hp, "std");
    const char *bad = NULL;
    if (s->n_mean < 1 || s->n_mean > NORM_MAX_C || s->n_std < 1 || s->n_std > NORM_MAX_C)
        bad = "mean and std need 1 to 64 numbers";
    for (int i = 0; !bad && i < s->n_mean; i++)
        s->mean[i] = (float)cf_params_list_num(hp, "mean", i);
    for (int i = 0; !bad && i < s->n_std; i++) {
        double sd = cf_params_list_num(hp, "std", i);
        if (!(sd > 0))
            bad = "every std must be > 0";
        else
            s->inv_std[i] = (float)(1.0 / sd);
    }
    if (bad)
        return cf_error_set(err, CF_ERR_INVALID, "normalize: %s", bad);
    return CF_OK;
}

static cf_status norm_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                            cf_error *err)
{
    const norm_state *s = state;
    if ((s->n_mean != 1 && s->n_mean != in->c) || (s->n_std != 1 && s->n_std != in->c))
        return cf_error_set(err, CF_ERR_INVALID,
                            "normalize: %d mean and %d std values for a %d-channel image "
                            "(give 1 or %d of each)",
                            s->n_mean, s->n_std, in->c, in->c);
    const size_t plane = (size_t)in->h * in->w;
    for (int c = 0; c < in->c; c++) {
        const float m = s->mean[s->n_mean == 1 ? 0 : c], k = s->inv_std[s->n_std == 1 ? 0 : c];
        const float *src = in->data + c * plane;
        float *dst = out->data + c * plane;
        for (size_t i = 0; i < plane; i++) dst[i] = (src[i] - m) * k;
    }
    return CF_OK;
}

static const cf_augmentation_vtable norm_vtable = {
    sizeof(cf_augmentation_vtable), norm_init, NULL, NULL, NULL, norm_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "normalize", "1.0.0", "per-channel (x - mean) / std", norm_params,
    &norm_vtable, sizeof(norm_state));
