/* center_crop — cut the central window of `size` (torchvision CenterCrop;
 * SageMaker centre-crops images larger than image_shape). An image smaller
 * than `size` is an error, as in SageMaker. */
#include "aug_image.h"

typedef struct cc_state {
    int h, w;
} cc_state;

static const cf_param_def cc_params[] = {
    {"size", CF_PT_FLOAT_LIST, NULL, 1, 100000, NULL, "output size: n (square) or [h, w]"},
    CF_PARAM_TABLE_END};

static cf_status cc_init(void *state, const cf_params *hp, cf_error *err)
{
    cc_state *s = state;
    if (aug_read_size(hp, "size", &s->h, &s->w) <= 0)
        return cf_error_set(err, CF_ERR_INVALID,
                            "center_crop: size must be a positive integer or [h, w]");
    return CF_OK;
}

static void cc_out_shape(void *state, int c, int h, int w, int *oc, int *oh, int *ow)
{
    const cc_state *s = state;
    *oc = c;
    *oh = s->h;
    *ow = s->w;
}

static cf_status cc_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                          cf_error *err)
{
    if (out->h > in->h || out->w > in->w)
        return cf_error_set(err, CF_ERR_INVALID,
                            "center_crop: image %dx%d is smaller than the crop %dx%d", in->h,
                            in->w, out->h, out->w);
    const int top = (in->h - out->h) / 2, left = (in->w - out->w) / 2;
    for (int c = 0; c < in->c; c++)
        for (int i = 0; i < out->h; i++)
            memcpy(out->data + ((size_t)c * out->h + i) * out->w,
                   in->data + ((size_t)c * in->h + top + i) * in->w + left,
                   (size_t)out->w * sizeof(float));
    return CF_OK;
}

static const cf_augmentation_vtable cc_vtable = {
    sizeof(cf_augmentation_vtable), cc_init, NULL, NULL, cc_out_shape, cc_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "center_crop", "1.0.0", "cut the central window of `size`", cc_params,
    &cc_vtable, sizeof(cc_state));
