/* clforge — encoding 8-bit images as JPEG (libjpeg) or PNG (libpng), for im2rec. */
#ifndef CLFORGE_DATA_IMAGE_ENCODE_H
#define CLFORGE_DATA_IMAGE_ENCODE_H

#include <stddef.h>

#include "data/image.h"

/* JPEG at quality 1..100 (libjpeg defaults otherwise: baseline, 4:2:0 for
 * colour, as OpenCV's imencode). c = 1 gives a grayscale JPEG, 3 a colour one
 * (RGB), 4 drops alpha. *out is malloc'd. */
cf_status cf_encode_jpeg(const cf_image_u8 *im, int quality, unsigned char **out, size_t *len,
                         cf_error *err);
/* PNG at zlib level 0..9 (larger values are clamped to 9, as OpenCV does);
 * c = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
cf_status cf_encode_png(const cf_image_u8 *im, int level, unsigned char **out, size_t *len,
                        cf_error *err);

#endif
