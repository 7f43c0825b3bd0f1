/* hue — rotate the hue of an RGB image by a random shift uniform in
 * [-delta, delta] turns (torchvision ColorJitter hue; 0.1 turn = 36
 * degrees, SageMaker's crop_color setting). Values are taken as lying in
 * [0, 1] (place before `normalize`). A 1-channel image has no hue: apply()
 * refuses it. */
#include "aug_image.h"

typedef struct hue_state {
    double delta;
} hue_state;

static const cf_param_def hue_params[] = {
    {"delta", CF_PT_FLOAT, "0.1", 0, 0.5, NULL,
     "maximum hue shift in turns (0.5 = 180 degrees), either way", CF_PARAM_AT(hue_state, delta)},
    CF_PARAM_TABLE_END};

static void hue_shift_pixel(float *r, float *g, float *b, double shift)
{
    double R = *r, G = *g, B = *b;
    double mx = fmax(R, fmax(G, B)), mn = fmin(R, fmin(G, B)), d = mx - mn;
    if (d <= 0) return; /* grey: hue undefined, nothing to rotate */
    double h;
    if (mx == R)
        h = (G - B) / d;
    else if (mx == G)
        h = 2 + (B - R) / d;
    else
        h = 4 + (R - G) / d;
    h = h / 6 + shift;
    h -= floor(h);
    /* back from (h, s = d / mx, v = mx) */
    double v = mx, s = d / mx, hh = h * 6;
    int sector = (int)hh % 6;
    double f = hh - floor(hh);
    double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    double o[3];
    switch (sector) {
    case 0: o[0] = v; o[1] = t; o[2] = p; break;
    case 1: o[0] = q; o[1] = v; o[2] = p; break;
    case 2: o[0] = p; o[1] = v; o[2] = t; break;
    case 3: o[0] = p; o[1] = q; o[2] = v; break;
    case 4: o[0] = t; o[1] = p; o[2] = v; break;
    default: o[0] = v; o[1] = p; o[2] = q; break;
    }
    *r = (float)o[0];
    *g = (float)o[1];
    *b = (float)o[2];
}

static cf_status hue_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                           cf_error *err)
{
    const double delta = ((const hue_state *)state)->delta;
    CF_TRY(aug_need_rgb("hue", in, err));
    const double shift = cf_rng_range(rng, -delta, delta);
    const size_t plane = (size_t)in->h * in->w;
    aug_copy(in, out);
    for (size_t k = 0; k < plane; k++)
        hue_shift_pixel(&out->data[k], &out->data[plane + k], &out->data[2 * plane + k], shift);
    return CF_OK;
}

static const cf_augmentation_vtable hue_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, hue_apply};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "hue", "1.0.0", "random hue rotation of RGB images (HSV)", hue_params,
    &hue_vtable, sizeof(hue_state));
