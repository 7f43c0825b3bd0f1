/* clforge — single-image input for `clforge predict`. */
#ifndef CLFORGE_IMAGE_H
#define CLFORGE_IMAGE_H

#include "clforge/clforge.h"
#include "core/util.h"

typedef struct cf_image_u8 {
    unsigned char *data; /* interleaved HWC, 8-bit */
    int w, h, c;         /* c = 1 or 3 */
} cf_image_u8;

/* JPEG, PGM or PPM; anything else (PNG, corrupt data) is an error naming path. */
cf_status cf_image_read(const char *path, cf_image_u8 *out, cf_error *err);
void cf_image_u8_free(cf_image_u8 *im);
/* Resize (bilinear) and convert channels into CHW floats in [0, 1]. */
void cf_image_to_input(const cf_image_u8 *im, int c, int h, int w, float *out);

#endif
