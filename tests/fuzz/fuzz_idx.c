/* Fuzz target: IDX files (data/idx.c), plain or gzip'ed (zlib reads either;
 * the gzip CRC and length are checked). Input: the images file, "\n====\n",
 * the labels file (no separator: the same bytes serve as both). */
#include "data/dataset.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *b;
    size_t al, bl;
    cf_fuzz_split(data, size, &b, &al, &bl);
    const char *img = cf_fuzz_file("images-idx3-ubyte", data, al);
    const char *lab = b ? cf_fuzz_file("labels-idx1-ubyte", b, bl) : img;
    if (!img || !lab) return 0;
    cf_error err = {0};
    for (int limit = 0; limit <= 2; limit += 2) {
        cf_dataset d;
        cf_status st = cf_idx_load(img, lab, limit, &d, &err);
        cf_fuzz_note("idx", st, &err);
        if (st == CF_OK) cf_dataset_free(&d);
    }
    return 0;
}
