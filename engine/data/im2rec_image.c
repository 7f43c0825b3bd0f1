/* im2rec's per-image steps in the order im2rec.py applies them: colour mode
 * (cv2.imread flag), centre crop, shorter-side resize (cv2.resize, bilinear). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/im2rec.h"

cf_status cf_im2rec_color(cf_image_u8 *im, int color, cf_error *err)
{
    int want = color == 1 ? 3 : color == 0 ? 1 : im->c;
    if (want == im->c) return CF_OK;
    size_t n = (size_t)im->w * im->h;
    unsigned char *d = malloc(n * (size_t)want);
    if (!d) return cf_error_set(err, CF_ERR_NOMEM, "out of memory for a %d x %d image", im->w, im->h);
    const unsigned char *s = im->data;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = s + i * (size_t)im->c;
        if (want == 3) { /* gray (and gray+alpha) replicated; alpha dropped */
            if (im->c <= 2) d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = p[0];
            else memcpy(d + 3 * i, p, 3);
        } else { /* Rec. 601 luma, 8.8 fixed point */
            d[i] = im->c <= 2 ? p[0] : (unsigned char)((77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
        }
    }
    free(im->data);
    im->data = d;
    im->c = want;
    return CF_OK;
}

cf_status cf_im2rec_center_crop(cf_image_u8 *im, cf_error *err)
{
    int side = im->h > im->w ? im->w : im->h;
    int y0 = (im->h - side) / 2, x0 = (im->w - side) / 2;
    if (side == im->w && side == im->h) return CF_OK;
    unsigned char *d = malloc((size_t)side * side * im->c);
    if (!d) return cf_error_set(err, CF_ERR_NOMEM, "out of memory for a %d x %d image", side, side);
    for (int y = 0; y < side; y++)
        memcpy(d + (size_t)y * side * im->c, im->data + ((size_t)(y + y0) * im->w + x0) * im->c,
               (size_t)side * im->c);
    free(im->data);
    im->data = d;
    im->w = im->h = side;
    return CF_OK;
}

/* Source coordinate and 11-bit weights of destination pixel i (cv2's rule). */
static void coef(int i, double scale, int src, int *s0, int *s1, int *a0)
{
    double f = (i + 0.5) * scale - 0.5;
    int s = (int)floor(f);
    f -= s;
    if (s < 0) {
        s = 0;
        f = 0;
    }
    if (s >= src - 1) {
        s = src - 1;
        f = 0;
    }
    *s0 = s;
    *s1 = s + 1 < src ? s + 1 : s;
    *a0 = (int)lrint((1.0 - f) * 2048.0);
}

cf_status cf_im2rec_resize(cf_image_u8 *im, int shorter, cf_error *err)
{
    int w, h;
    if (im->h > im->w) { /* im2rec.py: newsize = (resize, h * resize // w) */
        w = shorter;
        h = (int)((long long)im->h * shorter / im->w);
    } else {
        w = (int)((long long)im->w * shorter / im->h);
        h = shorter;
    }
    if (w < 1 || h < 1 || w > 65500 || h > 65500)
        return cf_error_set(err, CF_ERR_INVALID, "--resize %d makes a %d x %d image", shorter, w, h);
    if (w == im->w && h == im->h) return CF_OK;
    int c = im->c;
    unsigned char *d = malloc((size_t)w * h * c);
    int *xs = malloc(sizeof(int) * 3 * (size_t)w);
    if (!d || !xs) {
        free(d);
        free(xs);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory for a %d x %d image", w, h);
    }
    double sx = (double)im->w / w, sy = (double)im->h / h;
    for (int x = 0; x < w; x++) coef(x, sx, im->w, &xs[3 * x], &xs[3 * x + 1], &xs[3 * x + 2]);
    for (int y = 0; y < h; y++) {
        int y0, y1, b0;
        coef(y, sy, im->h, &y0, &y1, &b0);
        const unsigned char *r0 = im->data + (size_t)y0 * im->w * c, *r1 = im->data + (size_t)y1 * im->w * c;
        unsigned char *o = d + (size_t)y * w * c;
        for (int x = 0; x < w; x++) {
            int x0 = xs[3 * x], x1 = xs[3 * x + 1], a0 = xs[3 * x + 2];
            for (int k = 0; k < c; k++) {
                int t = r0[x0 * c + k] * a0 + r0[x1 * c + k] * (2048 - a0);
                int b = r1[x0 * c + k] * a0 + r1[x1 * c + k] * (2048 - a0);
                long v = ((long)t * b0 + (long)b * (2048 - b0) + (1L << 21)) >> 22;
                o[x * c + k] = (unsigned char)(v > 255 ? 255 : v);
            }
        }
    }
    free(xs);
    free(im->data);
    im->data = d;
    im->w = w;
    im->h = h;
    return CF_OK;
}
