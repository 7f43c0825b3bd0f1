/* random_resized_crop — cut a window whose area is a random fraction
 * (`scale`) of the image and whose aspect ratio w/h is log-uniform in
 * `ratio`, then resize it bilinearly to `size` (torchvision
 * RandomResizedCrop: 10 tries, then a centre crop clamped to `ratio`). */
#include "aug_image.h"

typedef struct rrc_state {
    int h, w, has_size;
    double smin, smax, rmin, rmax;
} rrc_state;

static const cf_param_def rrc_params[] = {
    {"size", CF_PT_FLOAT_LIST, "0", 0, 100000, NULL,
     "output size: n (square) or [h, w]; 0 = the input's size"},
    {"scale", CF_PT_FLOAT_LIST, "0.08,1.0", 0, 1, NULL,
     "[min, max] fraction of the image area kept (0 < min <= max <= 1)"},
    {"ratio", CF_PT_FLOAT_LIST, "0.75,1.3333333", 0, 100, NULL,
     "[min, max] aspect ratio w/h of the window (log-uniform)"},
    CF_PARAM_TABLE_END};

static cf_status rrc_init(void *state, const cf_params *hp, cf_error *err)
{
    rrc_state *s = state;
    s->has_size = aug_read_size(hp, "size", &s->h, &s->w);
    const char *bad = NULL;
    if (s->has_size < 0)
        bad = "size must be 0, a positive integer or [h, w]";
    else if (aug_read_range(hp, "scale", &s->smin, &s->smax) < 0 || s->smin <= 0 || s->smax > 1)
        bad = "scale must be [min, max] with 0 < min <= max <= 1";
    else if (aug_read_range(hp, "ratio", &s->rmin, &s->rmax) < 0 || s->rmin <= 0)
        bad = "ratio must be [min, max] with 0 < min <= max";
    if (bad)
        return cf_error_set(err, CF_ERR_INVALID, "random_resized_crop: %s", bad);
    return CF_OK;
}

static void rrc_out_shape(void *state, int c, int h, int w, int *oc, int *oh, int *ow)
{
    const rrc_state *s = state;
    *oc = c;
    *oh = s->has_size ? s->h : h;
    *ow = s->has_size ? s->w : w;
}

static cf_status rrc_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                           cf_error *err)
{
    const rrc_state *s = state;
    const double area = (double)in->h * in->w;
    const double lr0 = log(s->rmin), lr1 = log(s->rmax);
    int top = 0, left = 0, ch = 0, cw = 0;
    for (int attempt = 0; attempt < 10 && !ch; attempt++) {
        double target = area * cf_rng_range(rng, s->smin, s->smax);
        double aspect = exp(cf_rng_range(rng, lr0, lr1));
        int w = (int)lround(sqrt(target * aspect)), h = (int)lround(sqrt(target / aspect));
        if (w > 0 && w <= in->w && h > 0 && h <= in->h) {
            top = (int)cf_rng_below(rng, (uint32_t)(in->h - h + 1));
            left = (int)cf_rng_below(rng, (uint32_t)(in->w - w + 1));
            ch = h;
            cw = w;
        }
    }
    if (!ch) { /* fallback: the whole image, clamped to the ratio range, centred */
        double r = (double)in->w / in->h;
        cw = in->w;
        ch = in->h;
        if (r < s->rmin)
            ch = (int)lround(cw / s->rmin);
        else if (r > s->rmax)
            cw = (int)lround(ch * s->rmax);
        if (ch < 1) ch = 1;
        if (cw < 1) cw = 1;
        top = (in->h - ch) / 2;
        left = (in->w - cw) / 2;
    }
    aug_resize_window(in, top, left, ch, cw, out);
    return CF_OK;
}

static const cf_augmentation_vtable rrc_vtable = {
    sizeof(cf_augmentation_vtable), rrc_init, NULL, NULL, rrc_out_shape, rrc_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_AUGMENTATION, "random_resized_crop", "1.0.0",
                              "crop a random area/aspect window and resize it to `size`",
                              rrc_params, &rrc_vtable, sizeof(rrc_state));
