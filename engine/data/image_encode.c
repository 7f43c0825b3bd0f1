/* JPEG and PNG encoding into memory. libjpeg's and libpng's error exits
 * longjmp back here, so a failure is an error, never an exit(). */
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t first */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "data/image_encode.h"
#include "data/jpeg_error.h"

static cf_status bad_shape(const cf_image_u8 *im, const char *fmt, cf_error *err)
{
    return cf_error_set(err, CF_ERR_INVALID, "cannot encode a %d x %d x %d image as %s", im->w, im->h,
                        im->c, fmt);
}

cf_status cf_encode_jpeg(const cf_image_u8 *im, int quality, unsigned char **out, size_t *len,
                         cf_error *err)
{
    if (im->w <= 0 || im->h <= 0 || im->w > 65500 || im->h > 65500 || im->c < 1 || im->c > 4 ||
        im->c == 2)
        return bad_shape(im, "JPEG", err);
    struct jpeg_compress_struct c;
    cf_jpeg_error e;
    unsigned char *volatile mem = NULL;
    unsigned long size = 0;
    unsigned char *volatile row = NULL;
    c.err = cf_jpeg_error_init(&e, 0);
    if (setjmp(e.jb)) {
        jpeg_destroy_compress(&c);
        free(mem);
        free(row);
        return cf_error_set(err, CF_ERR_IO, "JPEG encoding failed: %s", e.msg);
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, (unsigned char **)&mem, &size);
    c.image_width = (JDIMENSION)im->w;
    c.image_height = (JDIMENSION)im->h;
    c.input_components = im->c == 1 ? 1 : 3;
    c.in_color_space = im->c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality < 1 ? 1 : quality > 100 ? 100 : quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    if (im->c == 4) row = malloc((size_t)im->w * 3);
    while (c.next_scanline < c.image_height) {
        const unsigned char *src = im->data + (size_t)c.next_scanline * im->w * im->c;
        JSAMPROW r = (JSAMPROW)src;
        if (im->c == 4) {
            if (!row) longjmp(e.jb, 1);
            for (int x = 0; x < im->w; x++) memcpy(row + 3 * x, src + 4 * x, 3);
            r = row;
        }
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    *out = mem;
    *len = size;
    return CF_OK;
}

typedef struct pbuf {
    unsigned char *p;
    size_t len, cap;
    int oom;
} pbuf;

static void png_put(png_structp png, png_bytep data, png_size_t n)
{
    pbuf *b = png_get_io_ptr(png);
    if (b->len + n > b->cap) {
        size_t c = b->cap ? b->cap * 2 : 65536;
        while (c < b->len + n) c *= 2;
        unsigned char *q = realloc(b->p, c);
        if (!q) {
            b->oom = 1;
            png_error(png, "out of memory");
        }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void png_flush_none(png_structp png) { (void)png; }

static _Thread_local char png_tmsg[256];
static void png_err(png_structp png, png_const_charp msg)
{
    snprintf(png_tmsg, sizeof png_tmsg, "%s", msg);
    png_longjmp(png, 1);
}
static void png_warn(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

cf_status cf_encode_png(const cf_image_u8 *im, int level, unsigned char **out, size_t *len,
                        cf_error *err)
{
    if (im->w <= 0 || im->h <= 0 || im->c < 1 || im->c > 4) return bad_shape(im, "PNG", err);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_err, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return cf_error_set(err, CF_ERR_NOMEM, "PNG encoding: out of memory");
    }
    pbuf b = {0};
    pbuf *volatile bp = &b;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(bp->p);
        return cf_error_set(err, CF_ERR_IO, "PNG encoding failed: %s", png_tmsg);
    }
    static const int types[] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_write_fn(png, &b, png_put, png_flush_none);
    png_set_compression_level(png, level < 0 ? 0 : level > 9 ? 9 : level);
    png_set_IHDR(png, info, (png_uint_32)im->w, (png_uint_32)im->h, 8, types[im->c],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < im->h; y++)
        png_write_row(png, (png_const_bytep)(im->data + (size_t)y * im->w * im->c));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = b.p;
    *len = b.len;
    return CF_OK;
}
