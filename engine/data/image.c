/* Decoding images: JPEG (libjpeg-turbo, scaled in the DCT domain when the
 * target is much smaller), PNG (png.c) and PGM/PPM, from memory or a file. Corrupt or unsupported files
 * are errors naming the file, never a crash (libjpeg's error exit longjmps
 * back here instead of calling exit()). */
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t first */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "data/jpeg_error.h"
#include "data/image.h"

static cf_status read_jpeg(const char *path, const unsigned char *data, size_t len, int min_h,
                           int min_w, cf_image_u8 *out, cf_error *err)
{
    struct jpeg_decompress_struct c;
    cf_jpeg_error e;
    unsigned char *volatile pix = NULL;
    c.err = cf_jpeg_error_init(&e, 1);
    if (setjmp(e.jb)) {
        jpeg_destroy_decompress(&c);
        free(pix);
        return cf_error_set(err, CF_ERR_IO, "%s: corrupt JPEG: %s", path, e.msg);
    }
    jpeg_create_decompress(&c);
    jpeg_mem_src(&c, data, (unsigned long)len);
    jpeg_read_header(&c, TRUE);
    c.out_color_space = c.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    /* DCT-domain scaling: decode at 1/2, 1/4 or 1/8 size when that still
     * covers the target, which skips most of the IDCT work. */
    if (min_h > 0 && min_w > 0) {
        int d = 8;
        while (d > 1 && (long)c.image_height / d < min_h * 2L) d /= 2;
        while (d > 1 && (long)c.image_width / d < min_w * 2L) d /= 2;
        c.scale_num = 1;
        c.scale_denom = (unsigned)d;
    }
    jpeg_start_decompress(&c);
    int w = (int)c.output_width, h = (int)c.output_height, ch = c.output_components;
    if (w <= 0 || h <= 0 || w > 16384 || h > 16384) {
        snprintf(e.msg, sizeof e.msg, "%d x %d pixels (at most 16384 a side)", w, h);
        longjmp(e.jb, 1);
    }
    pix = malloc((size_t)w * h * ch);
    if (!pix) {
        jpeg_destroy_decompress(&c);
        return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
    }
    while (c.output_scanline < c.output_height) {
        JSAMPROW row = pix + (size_t)c.output_scanline * w * ch;
        jpeg_read_scanlines(&c, &row, 1);
    }
    jpeg_finish_decompress(&c);
    jpeg_destroy_decompress(&c);
    out->data = pix;
    out->w = w;
    out->h = h;
    out->c = ch;
    return CF_OK;
}

static int pnm_int(const unsigned char **p, const unsigned char *end)
{
    for (;;) {
        while (*p < end && (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')) (*p)++;
        if (*p < end && **p == '#') {
            while (*p < end && **p != '\n') (*p)++;
            continue;
        }
        break;
    }
    if (*p >= end || **p < '0' || **p > '9') return -1;
    long v = 0;
    while (*p < end && **p >= '0' && **p <= '9') {
        v = v * 10 + (*(*p)++ - '0');
        if (v > 1000000) return -1; /* no PNM field is this large */
    }
    return (int)v;
}

static cf_status read_pnm(const char *path, const unsigned char *data, size_t len, cf_image_u8 *out,
                          cf_error *err)
{
    const unsigned char *p = data + 2, *end = data + len;
    int kind = data[1] - '0';
    int w = pnm_int(&p, end), h = pnm_int(&p, end), maxv = pnm_int(&p, end);
    if (w <= 0 || h <= 0 || w > 16384 || h > 16384 || maxv <= 0 || maxv > 255)
        return cf_error_set(err, CF_ERR_IO, "%s: bad or unsupported PGM/PPM header (8-bit only)", path);
    int ch = (kind == 3 || kind == 6) ? 3 : 1;
    size_t n = (size_t)w * h * ch;
    unsigned char *pix = malloc(n);
    if (!pix) return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
    if (kind == 5 || kind == 6) {
        /* exactly one whitespace byte after maxval, then the pixels */
        if (p >= end || (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')) {
            free(pix);
            return cf_error_set(err, CF_ERR_IO, "%s: truncated PGM/PPM header (no pixel data)", path);
        }
        p++;
        if ((size_t)(end - p) < n) {
            free(pix);
            return cf_error_set(err, CF_ERR_IO, "%s: truncated image data", path);
        }
        memcpy(pix, p, n);
    } else {
        for (size_t i = 0; i < n; i++) {
            int v = pnm_int(&p, end);
            if (v < 0) {
                free(pix);
                return cf_error_set(err, CF_ERR_IO, "%s: truncated image data", path);
            }
            if (v > maxv) {
                free(pix);
                return cf_error_set(err, CF_ERR_IO, "%s: pixel %zu is %d, above the maxval %d", path, i, v,
                                    maxv);
            }
            pix[i] = (unsigned char)v;
        }
    }
    if (maxv != 255)
        for (size_t i = 0; i < n; i++) pix[i] = (unsigned char)(pix[i] * 255 / maxv);
    out->data = pix;
    out->w = w;
    out->h = h;
    out->c = ch;
    return CF_OK;
}

cf_status cf_image_decode(const char *name, const unsigned char *u, size_t len, int min_h, int min_w,
                          cf_image_u8 *out, cf_error *err)
{
    memset(out, 0, sizeof *out);
    if (len == 0) return cf_error_set(err, CF_ERR_IO, "%s: empty file", name);
    if (len >= 3 && u[0] == 0xFF && u[1] == 0xD8) return read_jpeg(name, u, len, min_h, min_w, out, err);
    if (len >= 3 && u[0] == 'P' && u[1] >= '2' && u[1] <= '6' && u[1] != '4')
        return read_pnm(name, u, len, out, err);
    if (len >= 8 && !memcmp(u, "\x89PNG\r\n\x1a\n", 8)) return cf_png_decode(name, u, len, out, err);
    return cf_error_set(err, CF_ERR_IO, "%s: not a JPEG, PNG, PGM or PPM image", name);
}

cf_status cf_image_read(const char *path, cf_image_u8 *out, cf_error *err)
{
    char *data;
    size_t len;
    memset(out, 0, sizeof *out);
    CF_TRY(cf_read_file(path, &data, &len, err));
    cf_status s = cf_image_decode(path, (const unsigned char *)data, len, 0, 0, out, err);
    free(data);
    return s;
}

void cf_image_u8_free(cf_image_u8 *im)
{
    free(im->data);
    memset(im, 0, sizeof *im);
}

void cf_image_to_input(const cf_image_u8 *im, int c, int h, int w, float *out)
{
    /* Bilinear resample to h x w (pixel centres aligned), then channel conversion:
     * RGB -> gray by Rec. 601 luma, gray -> RGB by replication. Values in [0, 1]. */
    for (int y = 0; y < h; y++) {
        double sy = ((y + 0.5) * im->h / h) - 0.5;
        if (sy < 0) sy = 0;
        int y0 = (int)sy, y1 = y0 + 1 < im->h ? y0 + 1 : y0;
        double fy = sy - y0;
        for (int x = 0; x < w; x++) {
            double sx = ((x + 0.5) * im->w / w) - 0.5;
            if (sx < 0) sx = 0;
            int x0 = (int)sx, x1 = x0 + 1 < im->w ? x0 + 1 : x0;
            double fx = sx - x0;
            double px[3];
            for (int k = 0; k < im->c; k++) {
                const unsigned char *d = im->data;
                double a = d[((size_t)y0 * im->w + x0) * im->c + k], b = d[((size_t)y0 * im->w + x1) * im->c + k];
                double cc = d[((size_t)y1 * im->w + x0) * im->c + k], dd = d[((size_t)y1 * im->w + x1) * im->c + k];
                px[k] = ((a * (1 - fx) + b * fx) * (1 - fy) + (cc * (1 - fx) + dd * fx) * fy) / 255.0;
            }
            for (int k = 0; k < c; k++) {
                double v;
                if (c == 1 && im->c == 3) v = 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];
                else if (im->c == 1) v = px[0];
                else v = px[k < im->c ? k : 0];
                out[((size_t)k * h + y) * w + x] = (float)v;
            }
        }
    }
}
