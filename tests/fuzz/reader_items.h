/* Read every item of an opened reader (at most 32) and decode the encoded
 * ones, as training's first pass does: shared by the reader fuzz targets. */
#ifndef CF_FUZZ_READER_ITEMS_H
#define CF_FUZZ_READER_ITEMS_H

#include "data/image.h"
#include "data/reader.h"

static inline void cf_fuzz_read_items(const char *path, const char *format, const cf_reader_opts *o)
{
    cf_reader *r = NULL;
    cf_error err = {0};
    cf_status st = cf_reader_open(path, format, o, &r, &err);
    cf_fuzz_note(format, st, &err);
    if (st != CF_OK) return;
    cf_item it = {0};
    for (long i = 0; i < r->info.n && i < 32; i++) {
        st = cf_reader_read(r, i, &it, &err);
        cf_fuzz_note(it.name, st, &err);
        if (st != CF_OK) continue;
        (void)cf_reader_labels(r, i)[r->info.label_width - 1];
        cf_image_u8 im = {0};
        if (it.kind != CF_ITEM_ENCODED) continue;
        st = cf_image_decode(it.name, it.data, it.len, 0, 0, &im, &err);
        cf_fuzz_note(it.name, st, &err);
        if (st == CF_OK) cf_image_u8_free(&im);
    }
    cf_item_free(&it);
    cf_reader_close(r);
}

#endif
