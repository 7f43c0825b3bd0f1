/* grayscale — replace an RGB image by its luma 0.299 R + 0.587 G + 0.114 B
 * (torchvision RandomGrayscale / Grayscale). channels = 3 (default) keeps
 * three identical planes, so the image keeps its shape and p < 1 is fine;
 * channels = 1 outputs one plane (then p must be 1, since a batch needs one
 * shape). A 1-channel input is copied unchanged. */
#include "aug_image.h"

typedef struct gray_state {
    double p;
    int channels;
} gray_state;

static const cf_param_def gray_params[] = {
    {"p", CF_PT_FLOAT, "1", 0, 1, NULL, "probability of converting (needs channels = 3 if < 1)",
     CF_PARAM_AT(gray_state, p)},
    {"channels", CF_PT_INT, "3", 1, 3, NULL,
     "output channels: 3 identical planes (keeps the model's input shape), or 1",
     CF_PARAM_AT(gray_state, channels)},
    CF_PARAM_TABLE_END};

static cf_status gray_init(void *state, const cf_params *hp, cf_error *err)
{
    gray_state *s = state;
    const char *bad = NULL;
    if (s->channels == 2)
        bad = "channels must be 1 or 3";
    else if (s->channels == 1 && s->p < 1)
        bad = "p < 1 needs channels = 3 (every image of a batch must have the same shape)";
    if (bad)
        return cf_error_set(err, CF_ERR_INVALID, "grayscale: %s", bad);
    return CF_OK;
}

static void gray_out_shape(void *state, int c, int h, int w, int *oc, int *oh, int *ow)
{
    const gray_state *s = state;
    *oc = c == 3 ? s->channels : c;
    *oh = h;
    *ow = w;
}

static cf_status gray_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                            cf_error *err)
{
    const gray_state *s = state;
    const int go = cf_rng_uniform(rng) < s->p;
    if (in->c == 1) {
        aug_copy(in, out);
        return CF_OK;
    }
    CF_TRY(aug_need_rgb("grayscale", in, err));
    const size_t plane = (size_t)in->h * in->w;
    if (!go) { /* only reachable with channels = 3 */
        aug_copy(in, out);
        return CF_OK;
    }
    for (size_t k = 0; k < plane; k++) {
        const float y = aug_luma(in->data[k], in->data[plane + k], in->data[2 * plane + k]);
        for (int c = 0; c < out->c; c++) out->data[c * plane + k] = y;
    }
    return CF_OK;
}

static const cf_augmentation_vtable gray_vtable = {
    sizeof(cf_augmentation_vtable), gray_init, NULL, NULL, gray_out_shape, gray_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_AUGMENTATION, "grayscale", "1.0.0",
                              "convert RGB to luma (1 plane, or 3 equal planes with probability p)",
                              gray_params, &gray_vtable, sizeof(gray_state));
