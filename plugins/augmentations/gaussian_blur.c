/* gaussian_blur — with probability p, blur with a Gaussian of sigma uniform
 * in [sigma_lo, sigma_hi] over a kernel_size window (torchvision
 * GaussianBlur: taps at -(k-1)/2 .. (k-1)/2, normalised, separable, edges
 * reflected without repeating the border pixel). */
#include "aug_image.h"

typedef struct blur_state {
    int kh, kw;
    double lo, hi, p;
} blur_state;

static const cf_param_def blur_params[] = {
    {"kernel_size", CF_PT_FLOAT_LIST, "3", 1, 1001, NULL, "odd window size: n or [h, w]", CF_PARAM_UNBOUND},
    {"sigma", CF_PT_FLOAT_LIST, "0.1,2.0", 1e-6, 1e6, NULL, "[lo, hi] of the uniform sigma (one number: fixed)",
     CF_PARAM_UNBOUND},
    {"p", CF_PT_FLOAT, "1.0", 0, 1, NULL, "probability that an image is blurred", CF_PARAM_AT(blur_state, p)},
    CF_PARAM_TABLE_END};

static cf_status blur_init(void *state, const cf_params *hp, cf_error *err)
{
    blur_state *s = state;
    if (aug_read_size(hp, "kernel_size", &s->kh, &s->kw) <= 0 || s->kh % 2 == 0 || s->kw % 2 == 0)
        return cf_error_set(err, CF_ERR_INVALID, "gaussian_blur: kernel_size must be odd and positive (n or [h, w])");
    if (aug_read_range(hp, "sigma", &s->lo, &s->hi) < 0 || !(s->lo > 0))
        return cf_error_set(err, CF_ERR_INVALID, "gaussian_blur: sigma must be [lo, hi] with 0 < lo <= hi");
    return CF_OK;
}

/* Reflection as torch's "reflect" padding: -1 -> 1, n -> n - 2 (any distance). */
static int reflect(int i, int n)
{
    if (n == 1) return 0;
    const int period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
}

static void kernel1d(int k, double sigma, double *g)
{
    double sum = 0;
    for (int i = 0; i < k; i++) {
        const double x = i - (k - 1) * 0.5;
        sum += g[i] = exp(-0.5 * (x / sigma) * (x / sigma));
    }
    for (int i = 0; i < k; i++) g[i] /= sum;
}

static cf_status blur_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng, cf_error *err)
{
    const blur_state *s = state;
    if (cf_rng_uniform(rng) >= s->p) {
        aug_copy(in, out);
        return CF_OK;
    }
    const double sigma = cf_rng_range(rng, s->lo, s->hi);
    const int H = in->h, W = in->w, rh = s->kh / 2, rw = s->kw / 2;
    double *gy = malloc((size_t)(s->kh + s->kw) * sizeof *gy), *gx = gy + s->kh;
    float *tmp = malloc((size_t)H * W * sizeof *tmp);
    if (!gy || !tmp) {
        free(gy);
        free(tmp);
        return cf_error_set(err, CF_ERR_NOMEM, "gaussian_blur: out of memory");
    }
    kernel1d(s->kh, sigma, gy);
    kernel1d(s->kw, sigma, gx);
    for (int c = 0; c < in->c; c++) {
        const float *src = in->data + (size_t)c * H * W;
        float *dst = out->data + (size_t)c * H * W;
        for (int i = 0; i < H; i++) /* along x */
            for (int j = 0; j < W; j++) {
                double v = 0;
                for (int t = -rw; t <= rw; t++) v += gx[t + rw] * src[(size_t)i * W + reflect(j + t, W)];
                tmp[(size_t)i * W + j] = (float)v;
            }
        for (int i = 0; i < H; i++) /* along y */
            for (int j = 0; j < W; j++) {
                double v = 0;
                for (int t = -rh; t <= rh; t++) v += gy[t + rh] * tmp[(size_t)reflect(i + t, H) * W + j];
                dst[(size_t)i * W + j] = (float)v;
            }
    }
    free(gy);
    free(tmp);
    return CF_OK;
}

static const cf_augmentation_vtable blur_vtable = {
    sizeof(cf_augmentation_vtable), blur_init, NULL, NULL, NULL, blur_apply, NULL};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "gaussian_blur", "1.0.0", "Gaussian blur with a random sigma",
    blur_params, &blur_vtable, sizeof(blur_state));
