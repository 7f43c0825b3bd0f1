/* random_crop — pad every side by `padding` pixels of `fill`, then cut a
 * window of `size` at a uniformly random position (torchvision RandomCrop).
 * With the default size (the input's) the output keeps the input's shape:
 * the classic "pad 4, crop 32" CIFAR augmentation is padding = 4. */
#include "aug_image.h"

typedef struct crop_state {
    int pad, h, w, has_size;
    float fill;
} crop_state;

static const cf_param_def crop_params[] = {
    {"padding", CF_PT_INT, "0", 0, 1024, NULL, "pixels of `fill` added on every side first",
     CF_PARAM_AT(crop_state, pad)},
    {"size", CF_PT_FLOAT_LIST, "0", 0, 100000, NULL,
     "output size: n (square) or [h, w]; 0 = the input's size"},
    {"fill", CF_PT_FLOAT, "0", -1e6, 1e6, NULL, "value of the padding",
     CF_PARAM_AT(crop_state, fill)},
    CF_PARAM_TABLE_END};

static cf_status crop_init(void *state, const cf_params *hp, cf_error *err)
{
    crop_state *s = state;
    s->has_size = aug_read_size(hp, "size", &s->h, &s->w);
    if (s->has_size < 0)
        return cf_error_set(err, CF_ERR_INVALID,
                            "random_crop: size must be 0, a positive integer or [h, w]");
    return CF_OK;
}

static void crop_out_shape(void *state, int c, int h, int w, int *oc, int *oh, int *ow)
{
    const crop_state *s = state;
    *oc = c;
    *oh = s->has_size ? s->h : h;
    *ow = s->has_size ? s->w : w;
}

static cf_status crop_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                            cf_error *err)
{
    const crop_state *s = state;
    const int ph = in->h + 2 * s->pad, pw = in->w + 2 * s->pad;
    if (out->h > ph || out->w > pw)
        return cf_error_set(err, CF_ERR_INVALID,
                            "random_crop: size %dx%d exceeds the padded image %dx%d", out->h,
                            out->w, ph, pw);
    const int top = (int)cf_rng_below(rng, (uint32_t)(ph - out->h + 1)) - s->pad;
    const int left = (int)cf_rng_below(rng, (uint32_t)(pw - out->w + 1)) - s->pad;
    for (int c = 0; c < in->c; c++)
        for (int i = 0; i < out->h; i++) {
            float *d = out->data + ((size_t)c * out->h + i) * out->w;
            const int y = top + i;
            for (int j = 0; j < out->w; j++) {
                const int x = left + j;
                d[j] = (y >= 0 && y < in->h && x >= 0 && x < in->w)
                           ? in->data[((size_t)c * in->h + y) * in->w + x]
                           : s->fill;
            }
        }
    return CF_OK;
}

static const cf_augmentation_vtable crop_vtable = {
    sizeof(cf_augmentation_vtable), crop_init, NULL, NULL, crop_out_shape, crop_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_AUGMENTATION, "random_crop", "1.0.0",
                              "pad, then crop a window of `size` at a random position", crop_params,
                              &crop_vtable, sizeof(crop_state));
