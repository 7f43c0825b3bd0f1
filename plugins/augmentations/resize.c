/* resize — bilinear resize (half-pixel centres, as PyTorch's
 * align_corners = false, no antialiasing). size = n resizes the shorter side
 * to n keeping the aspect ratio (SageMaker's `resize`, torchvision
 * Resize(int)); size = [h, w] resizes to exactly that. */
#include "aug_image.h"

typedef struct resize_state {
    int h, w, n; /* n: 1 = shorter side, 2 = exact */
} resize_state;

static const cf_param_def resize_params[] = {
    {"size", CF_PT_FLOAT_LIST, NULL, 1, 100000, NULL,
     "n: shorter side becomes n (aspect kept); [h, w]: exact output size"},
    CF_PARAM_TABLE_END};

static cf_status resize_init(void *state, const cf_params *hp, cf_error *err)
{
    resize_state *s = state;
    s->n = aug_read_size(hp, "size", &s->h, &s->w);
    if (s->n <= 0)
        return cf_error_set(err, CF_ERR_INVALID,
                            "resize: size must be a positive integer or [h, w]");
    return CF_OK;
}

static void resize_out_shape(void *state, int c, int h, int w, int *oc, int *oh, int *ow)
{
    const resize_state *s = state;
    *oc = c;
    if (s->n == 2) {
        *oh = s->h;
        *ow = s->w;
    } else if (h <= w) { /* torchvision truncates the longer side */
        *oh = s->h;
        *ow = (int)((long)s->h * w / h);
    } else {
        *ow = s->h;
        *oh = (int)((long)s->h * h / w);
    }
}

static cf_status resize_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                              cf_error *err)
{
    if (out->h < 1 || out->w < 1)
        return cf_error_set(err, CF_ERR_INVALID, "resize: output %dx%d is empty", out->h, out->w);
    aug_resize_window(in, 0, 0, in->h, in->w, out);
    return CF_OK;
}

static const cf_augmentation_vtable resize_vtable = {
    sizeof(cf_augmentation_vtable), resize_init, NULL, NULL, resize_out_shape, resize_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "resize", "1.0.0", "bilinear resize (shorter side to n, or to [h, w])",
    resize_params, &resize_vtable, sizeof(resize_state));
