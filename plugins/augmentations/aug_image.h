/* Pixel helpers shared by the augmentation modules (each module compiles its
 * own static copy; nothing here is exported). Images are CHW float planes.
 * Geometry convention: pixel (i, j) has its centre at (y, x) = (i, j);
 * affine warps map each output pixel back into the input (inverse mapping)
 * about the image centre and sample bilinearly, reading `fill` outside. */
#ifndef CF_PLUGIN_AUG_IMAGE_H
#define CF_PLUGIN_AUG_IMAGE_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <clforge/plugin.h>

static inline size_t aug_numel(const cf_image *im)
{
    return (size_t)im->c * (size_t)im->h * (size_t)im->w;
}

static inline void aug_copy(const cf_image *in, cf_image *out)
{
    memcpy(out->data, in->data, aug_numel(in) * sizeof(float));
}

static inline float aug_clip01(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

/* Read a `size` parameter: none or 0 -> keep (returns 0); one number n ->
 * *h = *w = n (returns 1); two numbers -> h, w (returns 2). -1 on a bad value. */
static inline int aug_read_size(const cf_params *hp, const char *name, int *h, int *w)
{
    int n = cf_params_list_len(hp, name);
    if (n <= 0) return 0;
    if (n > 2) return -1;
    double a = cf_params_list_num(hp, name, 0), b = n == 2 ? cf_params_list_num(hp, name, 1) : a;
    if (a == 0 && b == 0) return 0;
    if (!(a >= 1 && b >= 1) || a != floor(a) || b != floor(b) || a > 1e5 || b > 1e5) return -1;
    *h = (int)a;
    *w = (int)b;
    return n;
}

/* Read a [lo, hi] pair (one number means [x, x]); -1 when lo > hi. */
static inline int aug_read_range(const cf_params *hp, const char *name, double *lo, double *hi)
{
    int n = cf_params_list_len(hp, name);
    if (n < 1 || n > 2) return -1;
    *lo = cf_params_list_num(hp, name, 0);
    *hi = n == 2 ? cf_params_list_num(hp, name, 1) : *lo;
    return *lo <= *hi ? 0 : -1;
}

/* Bilinear sample of one plane at (y, x); neighbours outside read `fill`. */
static inline float aug_sample(const float *p, int h, int w, double y, double x, float fill)
{
    double fy = floor(y), fx = floor(x);
    int y0 = (int)fy, x0 = (int)fx;
    double dy = y - fy, dx = x - fx;
    float v[2][2];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            int yy = y0 + a, xx = x0 + b;
            v[a][b] = (yy >= 0 && yy < h && xx >= 0 && xx < w) ? p[(size_t)yy * w + xx] : fill;
        }
    if (dy == 0 && dx == 0) return v[0][0]; /* exact on pixel centres */
    return (float)((1 - dy) * ((1 - dx) * v[0][0] + dx * v[0][1]) +
                   dy * ((1 - dx) * v[1][0] + dx * v[1][1]));
}

/* out = in warped by the inverse map [xi; yi] = M [xo; yo] + t, both about
 * the image centre. out has in's shape. */
static inline void aug_warp(const cf_image *in, cf_image *out, const double m[4], double tx,
                            double ty, float fill)
{
    const double cy = (in->h - 1) * 0.5, cx = (in->w - 1) * 0.5;
    for (int c = 0; c < in->c; c++) {
        const float *src = in->data + (size_t)c * in->h * in->w;
        float *dst = out->data + (size_t)c * out->h * out->w;
        for (int i = 0; i < out->h; i++)
            for (int j = 0; j < out->w; j++) {
                double xo = j - cx, yo = i - cy;
                double xi = m[0] * xo + m[1] * yo + tx + cx;
                double yi = m[2] * xo + m[3] * yo + ty + cy;
                dst[(size_t)i * out->w + j] = aug_sample(src, in->h, in->w, yi, xi, fill);
            }
    }
}

/* Bilinear resize of the window (top, left, wh, ww) of `in` to out's h, w
 * (half-pixel centres like PyTorch's align_corners = false, edges clamped,
 * no antialiasing). */
static inline void aug_resize_window(const cf_image *in, int top, int left, int wh, int ww,
                                     cf_image *out)
{
    const double sy = (double)wh / out->h, sx = (double)ww / out->w;
    for (int c = 0; c < in->c; c++) {
        const float *src = in->data + (size_t)c * in->h * in->w;
        float *dst = out->data + (size_t)c * out->h * out->w;
        for (int i = 0; i < out->h; i++) {
            double y = (i + 0.5) * sy - 0.5;
            if (y < 0) y = 0;
            if (y > wh - 1) y = wh - 1;
            for (int j = 0; j < out->w; j++) {
                double x = (j + 0.5) * sx - 0.5;
                if (x < 0) x = 0;
                if (x > ww - 1) x = ww - 1;
                dst[(size_t)i * out->w + j] =
                    aug_sample(src, in->h, in->w, y + top, x + left, 0.0f);
            }
        }
    }
}

/* ITU-R 601-2 luma, as PIL and torchvision use. */
static inline float aug_luma(float r, float g, float b)
{
    return 0.299f * r + 0.587f * g + 0.114f * b;
}

/* Colour ops need exactly three channels; the message names the plugin. */
static inline cf_status aug_need_rgb(const char *who, const cf_image *in, cf_error *err)
{
    if (in->c == 3) return CF_OK;
    return cf_error_set(err, CF_ERR_INVALID,
                        "%s: needs a 3-channel (RGB) image, got %d channel%s; remove it for "
                        "grayscale data",
                        who, in->c, in->c == 1 ? "" : "s");
}

#endif
