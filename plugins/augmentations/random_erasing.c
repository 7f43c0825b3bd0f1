/* random_erasing — with probability p, overwrite a random rectangle in every
 * channel with `value` (Zhong et al. 2020, torchvision RandomErasing): its
 * area is a fraction uniform in `scale` of the image, its aspect h/w
 * log-uniform in `ratio`; after 10 draws that do not fit, nothing is erased. */
#include "aug_image.h"

typedef struct erase_state {
    double p, smin, smax, rmin, rmax;
    float value;
} erase_state;

static const cf_param_def erase_params[] = {
    {"p", CF_PT_FLOAT, "0.5", 0, 1, NULL, "probability of erasing", CF_PARAM_AT(erase_state, p)},
    {"scale", CF_PT_FLOAT_LIST, "0.02,0.33", 0, 1, NULL,
     "[min, max] fraction of the image area erased"},
    {"ratio", CF_PT_FLOAT_LIST, "0.3,3.3", 0, 100, NULL,
     "[min, max] aspect ratio h/w of the rectangle (log-uniform)"},
    {"value", CF_PT_FLOAT, "0", -1e6, 1e6, NULL, "value written into the rectangle",
     CF_PARAM_AT(erase_state, value)},
    CF_PARAM_TABLE_END};

static cf_status erase_init(void *state, const cf_params *hp, cf_error *err)
{
    erase_state *s = state;
    const char *bad = NULL;
    if (aug_read_range(hp, "scale", &s->smin, &s->smax) < 0 || s->smin <= 0 || s->smax > 1)
        bad = "scale must be [min, max] with 0 < min <= max <= 1";
    else if (aug_read_range(hp, "ratio", &s->rmin, &s->rmax) < 0 || s->rmin <= 0)
        bad = "ratio must be [min, max] with 0 < min <= max";
    if (bad)
        return cf_error_set(err, CF_ERR_INVALID, "random_erasing: %s", bad);
    return CF_OK;
}

static cf_status erase_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                             cf_error *err)
{
    const erase_state *s = state;
    aug_copy(in, out);
    if (cf_rng_uniform(rng) >= s->p) return CF_OK;
    const double area = (double)in->h * in->w, lr0 = log(s->rmin), lr1 = log(s->rmax);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * cf_rng_range(rng, s->smin, s->smax);
        double aspect = exp(cf_rng_range(rng, lr0, lr1));
        int h = (int)lround(sqrt(target * aspect)), w = (int)lround(sqrt(target / aspect));
        if (!(h > 0 && h < in->h && w > 0 && w < in->w)) continue;
        int top = (int)cf_rng_below(rng, (uint32_t)(in->h - h + 1));
        int left = (int)cf_rng_below(rng, (uint32_t)(in->w - w + 1));
        for (int c = 0; c < in->c; c++)
            for (int i = top; i < top + h; i++)
                for (int j = left; j < left + w; j++)
                    out->data[((size_t)c * in->h + i) * in->w + j] = s->value;
        return CF_OK;
    }
    return CF_OK;
}

static const cf_augmentation_vtable erase_vtable = {
    sizeof(cf_augmentation_vtable), erase_init, NULL, NULL, NULL, erase_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_AUGMENTATION, "random_erasing", "1.0.0",
                              "erase a random rectangle with probability p (cutout)", erase_params,
                              &erase_vtable, sizeof(erase_state));
