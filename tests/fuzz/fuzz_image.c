/* Fuzz target: image decoding (data/image.c, png.c): JPEG (at full size and
 * with DCT scaling towards 8 x 8), PNG, PGM/PPM (binary and ASCII), then the
 * fit to a model input (fit.c). */
#include <stdlib.h>

#include "data/image.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_error err = {0};
    for (int min = 0; min <= 8; min += 8) {
        cf_image_u8 im = {0};
        cf_status st = cf_image_decode("fuzz.img", data, size, min, min, &im, &err);
        cf_fuzz_note("image", st, &err);
        if (st != CF_OK) continue;
        float out[3 * 8 * 8];
        cf_image_fit("fuzz.img", &im, 3, 8, 8, 8, out, &err);
        cf_image_fit("fuzz.img", &im, 1, 4, 4, 0, out, &err);
        cf_image_u8_free(&im);
    }
    return 0;
}
