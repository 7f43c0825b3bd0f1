/* clforge — image decoding (JPEG, PNG, PGM/PPM) and fitting to a model's input. */
#ifndef CLFORGE_IMAGE_H
#define CLFORGE_IMAGE_H

#include <stddef.h>

#include "clforge/clforge.h"
#include "core/util.h"

typedef struct cf_image_u8 {
    unsigned char *data; /* interleaved HWC, 8-bit */
    int w, h, c;         /* c = 1 or 3 */
} cf_image_u8;

/* Decode a JPEG, PNG or PGM/PPM held in memory; name is for messages. A JPEG
 * may come out smaller (DCT scaling) but never under min_h x min_w (0: full
 * size). Corrupt, truncated, empty or unknown data is an error naming name. */
cf_status cf_image_decode(const char *name, const unsigned char *data, size_t len, int min_h, int min_w,
                          cf_image_u8 *out, cf_error *err);
cf_status cf_png_decode(const char *name, const unsigned char *data, size_t len, cf_image_u8 *out,
                        cf_error *err);
/* The same from a file. */
cf_status cf_image_read(const char *path, cf_image_u8 *out, cf_error *err);
void cf_image_u8_free(cf_image_u8 *im);
/* Resize (bilinear) and convert channels into CHW floats in [0, 1]. */
void cf_image_to_input(const cf_image_u8 *im, int c, int h, int w, float *out);
/* Fit an image to a c x h x w input (CHW floats in [0, 1]): resize > 0 scales
 * the shorter side to resize first; then a centre crop to h x w. Without
 * resize an image smaller than h x w is an error naming name. Gray <-> RGB
 * converts to c channels. A same-size image maps exactly (v / 255). */
cf_status cf_image_fit(const char *name, const cf_image_u8 *im, int c, int h, int w, int resize, float *out,
                       cf_error *err);

#endif
