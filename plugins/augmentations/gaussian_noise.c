/* gaussian_noise — with probability p, add independent N(mean, std^2) noise
 * to every value, then clip to `range` unless clip = false
 * (torchvision.transforms.v2.GaussianNoise; place before `normalize`). */
#include "aug_image.h"

typedef struct noise_state {
    double mean, std, p;
    int clip;
    double lo, hi;
} noise_state;

static const cf_param_def noise_params[] = {
    {"std", CF_PT_FLOAT, "0.1", 0, 1e6, NULL, "standard deviation of the noise", CF_PARAM_AT(noise_state, std)},
    {"mean", CF_PT_FLOAT, "0", -1e6, 1e6, NULL, "mean of the noise", CF_PARAM_AT(noise_state, mean)},
    {"p", CF_PT_FLOAT, "1.0", 0, 1, NULL, "probability that an image gets noise", CF_PARAM_AT(noise_state, p)},
    {"clip", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL, "clip the result to `range`",
     CF_PARAM_AT(noise_state, clip)},
    {"range", CF_PT_FLOAT_LIST, "0,1", -1e6, 1e6, NULL, "[lo, hi] of the clip (values as decoded: 0..1)",
     CF_PARAM_UNBOUND},
    CF_PARAM_TABLE_END};

static cf_status noise_init(void *state, const cf_params *hp, cf_error *err)
{
    noise_state *s = state;
    if (aug_read_range(hp, "range", &s->lo, &s->hi) < 0)
        return cf_error_set(err, CF_ERR_INVALID, "gaussian_noise: range must be [lo, hi] with lo <= hi");
    return CF_OK;
}

static cf_status noise_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng, cf_error *err)
{
    const noise_state *s = state;
    if (cf_rng_uniform(rng) >= s->p) {
        aug_copy(in, out);
        return CF_OK;
    }
    const size_t n = aug_numel(in);
    for (size_t k = 0; k < n; k++) {
        double v = in->data[k] + s->mean + s->std * cf_rng_normal(rng);
        if (s->clip) v = v < s->lo ? s->lo : v > s->hi ? s->hi : v;
        out->data[k] = (float)v;
    }
    return CF_OK;
}

static const cf_augmentation_vtable noise_vtable = {
    sizeof(cf_augmentation_vtable), noise_init, NULL, NULL, NULL, noise_apply, NULL};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "gaussian_noise", "1.0.0", "add Gaussian noise to every value",
    noise_params, &noise_vtable, sizeof(noise_state));
