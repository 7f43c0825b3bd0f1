/* Deterministic image ops with a given magnitude, shared by the single-op
 * plugins (brightness, contrast, saturation, translate) and the policies
 * (trivial_augment, rand_augment), which draw the op and its magnitude.
 * Photometric ops follow torchvision.transforms.functional on [0, 1]
 * images; in and out have the same shape and never alias. */
#ifndef CF_PLUGIN_AUG_OPS_H
#define CF_PLUGIN_AUG_OPS_H

#include "aug_image.h"

/* out = f x, clipped to [0, 1] when clip (adjust_brightness). */
static inline void aug_op_brightness(const cf_image *in, cf_image *out, float f, int clip)
{
    const size_t n = aug_numel(in);
    for (size_t k = 0; k < n; k++) {
        float v = in->data[k] * f;
        out->data[k] = clip ? aug_clip01(v) : v;
    }
}

/* Mean grey level: of the luma for RGB, of all values otherwise. */
static inline double aug_mean_grey(const cf_image *in)
{
    const size_t plane = (size_t)in->h * in->w, n = aug_numel(in);
    double mean = 0;
    if (in->c == 3) {
        for (size_t k = 0; k < plane; k++)
            mean += aug_luma(in->data[k], in->data[plane + k], in->data[2 * plane + k]);
        return mean / (double)plane;
    }
    for (size_t k = 0; k < n; k++) mean += in->data[k];
    return mean / (double)n;
}

/* out = f x + (1 - f) mean grey (adjust_contrast). */
static inline void aug_op_contrast(const cf_image *in, cf_image *out, float f, int clip)
{
    const size_t n = aug_numel(in);
    const float add = (float)((1 - f) * aug_mean_grey(in));
    for (size_t k = 0; k < n; k++) {
        float v = f * in->data[k] + add;
        out->data[k] = clip ? aug_clip01(v) : v;
    }
}

/* RGB: out = f x + (1 - f) luma (adjust_saturation); other images have no
 * colour to change and are copied. */
static inline void aug_op_saturation(const cf_image *in, cf_image *out, float f, int clip)
{
    if (in->c != 3) {
        aug_copy(in, out);
        return;
    }
    const size_t plane = (size_t)in->h * in->w;
    for (size_t k = 0; k < plane; k++) {
        const float y = aug_luma(in->data[k], in->data[plane + k], in->data[2 * plane + k]);
        for (int c = 0; c < 3; c++) {
            float v = f * in->data[c * plane + k] + (1 - f) * y;
            out->data[c * plane + k] = clip ? aug_clip01(v) : v;
        }
    }
}

/* Blend with the image smoothed by [[1,1,1],[1,5,1],[1,1,1]] / 13, border
 * pixels unsmoothed: out = f x + (1 - f) smooth, clipped (adjust_sharpness). */
static inline void aug_op_sharpness(const cf_image *in, cf_image *out, float f)
{
    const int H = in->h, W = in->w;
    for (int c = 0; c < in->c; c++) {
        const float *s = in->data + (size_t)c * H * W;
        float *d = out->data + (size_t)c * H * W;
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                const float x = s[(size_t)i * W + j];
                float sm = x;
                if (i > 0 && j > 0 && i < H - 1 && j < W - 1) {
                    float sum = 0;
                    for (int a = -1; a <= 1; a++)
                        for (int b = -1; b <= 1; b++) sum += s[(size_t)(i + a) * W + j + b];
                    sm = (sum + 4 * x) / 13.0f;
                }
                d[(size_t)i * W + j] = aug_clip01(f * x + (1 - f) * sm);
            }
    }
}

/* The 8-bit value of v, as converting a float image to uint8 does. */
static inline int aug_u8(float v) { return (int)(aug_clip01(v) * 255.0f + 0.5f); }

/* Keep the top `bits` bits of each 8-bit value (posterize). */
static inline void aug_op_posterize(const cf_image *in, cf_image *out, int bits)
{
    const int mask = ~((1 << (8 - bits)) - 1) & 255;
    const size_t n = aug_numel(in);
    for (size_t k = 0; k < n; k++) out->data[k] = (float)(aug_u8(in->data[k]) & mask) / 255.0f;
}

/* Invert values at or above the threshold (solarize; 1 = the 8-bit 255). */
static inline void aug_op_solarize(const cf_image *in, cf_image *out, float threshold)
{
    const size_t n = aug_numel(in);
    for (size_t k = 0; k < n; k++) out->data[k] = in->data[k] >= threshold ? 1.0f - in->data[k] : in->data[k];
}

/* Stretch each channel to [0, 1]; a flat channel is kept (autocontrast). */
static inline void aug_op_autocontrast(const cf_image *in, cf_image *out)
{
    const size_t plane = (size_t)in->h * in->w;
    for (int c = 0; c < in->c; c++) {
        const float *s = in->data + c * plane;
        float *d = out->data + c * plane, lo = s[0], hi = s[0];
        for (size_t k = 1; k < plane; k++) lo = s[k] < lo ? s[k] : lo, hi = s[k] > hi ? s[k] : hi;
        const float scale = hi > lo ? 1.0f / (hi - lo) : 1.0f, off = hi > lo ? lo : 0.0f;
        for (size_t k = 0; k < plane; k++) d[k] = aug_clip01((s[k] - off) * scale);
    }
}

/* Histogram equalisation of each channel's 8-bit values (torchvision's
 * equalize: PIL's lookup table, a channel with one value is kept). */
static inline void aug_op_equalize(const cf_image *in, cf_image *out)
{
    const size_t plane = (size_t)in->h * in->w;
    for (int c = 0; c < in->c; c++) {
        const float *s = in->data + c * plane;
        float *d = out->data + c * plane;
        long hist[256] = {0}, lut[256];
        for (size_t k = 0; k < plane; k++) hist[aug_u8(s[k])]++;
        long last = 0, total = 0; /* the step leaves the last non-empty bin out */
        for (int v = 0; v < 256; v++)
            if (hist[v]) last = hist[v], total += hist[v];
        const long step = (total - last) / 255;
        if (step == 0) {
            aug_copy(&(cf_image){(float *)s, 1, in->h, in->w}, &(cf_image){d, 1, in->h, in->w});
            continue;
        }
        long cum = step / 2;
        for (int v = 0; v < 256; v++) {
            long l = cum / step;
            lut[v] = l > 255 ? 255 : l; /* lut[v]: the cumulative count below v */
            cum += hist[v];
        }
        for (size_t k = 0; k < plane; k++) d[k] = (float)lut[aug_u8(s[k])] / 255.0f;
    }
}

/* Shift by whole pixels (tx right, ty down); vacated pixels get fill. */
static inline void aug_op_translate(const cf_image *in, cf_image *out, int tx, int ty, float fill)
{
    for (int c = 0; c < in->c; c++)
        for (int i = 0; i < in->h; i++) {
            float *d = out->data + ((size_t)c * in->h + i) * in->w;
            const int y = i - ty;
            for (int j = 0; j < in->w; j++) {
                const int x = j - tx;
                d[j] = (y >= 0 && y < in->h && x >= 0 && x < in->w) ? in->data[((size_t)c * in->h + y) * in->w + x]
                                                                     : fill;
            }
        }
}

/* Rotate about the centre by `degrees` (counter-clockwise on screen). */
static inline void aug_op_rotate(const cf_image *in, cf_image *out, double degrees, float fill)
{
    const double th = degrees * (M_PI / 180.0);
    /* y grows downwards, so a counter-clockwise turn on screen maps an output
     * pixel back with this matrix. */
    const double m[4] = {cos(th), -sin(th), sin(th), cos(th)};
    aug_warp(in, out, m, 0, 0, fill);
}

/* x' = x + sx y (or y' = y + sy x) about the top-left corner, as
 * torchvision's policies shear (center = [0, 0]). */
static inline void aug_op_shear_origin(const cf_image *in, cf_image *out, double sx, double sy, float fill)
{
    const double cy = (in->h - 1) * 0.5, cx = (in->w - 1) * 0.5;
    const double m[4] = {1, -sx, -sy, 1};
    aug_warp(in, out, m, -sx * cy, -sy * cx, fill);
}

#endif
