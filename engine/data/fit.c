/* Fitting a decoded image to the model's input: shorter side to data.resize
 * (bilinear), centre crop to data.image_shape, gray <-> RGB. Pixels that are
 * only copied map as IDX does (v * (1/255)), so a PNG/PGM of an IDX image
 * gives the very same floats. */
#include <math.h>
#include <stdlib.h>

#include "data/image.h"

static float chan(const unsigned char *p, int src_c, int c, int k)
{
    if (src_c == c) return p[k] * (1.0f / 255.0f);
    if (src_c == 1) return p[0] * (1.0f / 255.0f);                        /* gray -> RGB */
    return (float)((0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) / 255.0); /* RGB -> gray (Rec. 601) */
}

cf_status cf_image_fit(const char *name, const cf_image_u8 *im, int c, int h, int w, int resize, float *out,
                       cf_error *err)
{
    size_t plane = (size_t)h * w;
    if (resize <= 0) {
        if (im->h < h || im->w < w)
            return cf_error_set(err, CF_ERR_INVALID,
                                "%s: the image is %dx%d, smaller than data.image_shape %dx%d (set data.resize "
                                "to scale images)", name, im->w, im->h, w, h);
        int oy = (im->h - h) / 2, ox = (im->w - w) / 2;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const unsigned char *p = im->data + ((size_t)(y + oy) * im->w + (x + ox)) * im->c;
                for (int k = 0; k < c; k++) out[k * plane + (size_t)y * w + x] = chan(p, im->c, c, k);
            }
        return CF_OK;
    }
    /* Scaled size with the shorter side = resize; then crop the centre. */
    double s = (double)resize / (im->h < im->w ? im->h : im->w);
    int sh = (int)lround(im->h * s), sw = (int)lround(im->w * s);
    if (sh < h) sh = h;
    if (sw < w) sw = w;
    int oy = (sh - h) / 2, ox = (sw - w) / 2;
    for (int y = 0; y < h; y++) {
        double fy = (y + oy + 0.5) * im->h / sh - 0.5;
        if (fy < 0) fy = 0;
        int y0 = (int)fy, y1 = y0 + 1 < im->h ? y0 + 1 : y0;
        double wy = fy - y0;
        for (int x = 0; x < w; x++) {
            double fx = (x + ox + 0.5) * im->w / sw - 0.5;
            if (fx < 0) fx = 0;
            int x0 = (int)fx, x1 = x0 + 1 < im->w ? x0 + 1 : x0;
            double wx = fx - x0;
            unsigned char px[3];
            for (int k = 0; k < im->c; k++) {
                const unsigned char *d = im->data;
                double a = d[((size_t)y0 * im->w + x0) * im->c + k], b = d[((size_t)y0 * im->w + x1) * im->c + k];
                double e = d[((size_t)y1 * im->w + x0) * im->c + k], f = d[((size_t)y1 * im->w + x1) * im->c + k];
                double v = (a * (1 - wx) + b * wx) * (1 - wy) + (e * (1 - wx) + f * wx) * wy;
                px[k] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
            }
            for (int k = 0; k < c; k++) out[k * plane + (size_t)y * w + x] = chan(px, im->c, c, k);
        }
    }
    return CF_OK;
}
