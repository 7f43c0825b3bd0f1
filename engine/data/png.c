/* PNG decoding (libpng) from memory into 8-bit gray or RGB. libpng reports
 * errors by longjmp; we catch them and return an error naming the file, so a
 * corrupt or truncated PNG is skipped, never a crash. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"

typedef struct mem_src {
    const unsigned char *p;
    size_t len, off;
} mem_src;

static void mem_read(png_structp png, png_bytep out, png_size_t n)
{
    mem_src *m = png_get_io_ptr(png);
    if (m->len - m->off < n) png_error(png, "truncated file");
    memcpy(out, m->p + m->off, n);
    m->off += n;
}

static void on_error(png_structp png, png_const_charp msg)
{
    char *buf = png_get_error_ptr(png);
    snprintf(buf, 200, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* e.g. a bad gamma chunk: the pixels are still right */
}

cf_status cf_png_decode(const char *name, const unsigned char *data, size_t len, cf_image_u8 *out,
                        cf_error *err)
{
    char msg[200] = "unknown error";
    mem_src m = {data, len, 0};
    unsigned char *volatile pix = NULL;
    png_bytep *volatile rows = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, msg, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pix);
        free(rows);
        return cf_error_set(err, CF_ERR_IO, "%s: corrupt PNG: %s", name, msg);
    }
    png_set_read_fn(png, &m, mem_read);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (w == 0 || h == 0 || w > 16384 || h > 16384) {
        snprintf(msg, sizeof msg, "%u x %u pixels (at most 16384 a side)", (unsigned)w, (unsigned)h);
        png_longjmp(png, 1);
    }
    /* Everything to 8-bit gray or RGB: palettes expanded, 16-bit stripped,
     * alpha dropped (composited on black, as MXNet/OpenCV's default read). */
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_strip_16(png);
    if (type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png), png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    if (ch != 1 && ch != 3) {
        snprintf(msg, sizeof msg, "%d channels after conversion", ch);
        png_longjmp(png, 1);
    }
    pix = malloc((size_t)w * h * ch);
    rows = malloc(h * sizeof *rows);
    if (!pix || !rows) {
        snprintf(msg, sizeof msg, "out of memory");
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pix + (size_t)y * w * ch;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    out->data = pix;
    out->w = (int)w;
    out->h = (int)h;
    out->c = ch;
    return CF_OK;
}
