/* Read every item of an opened reader (at most 32) and decode the encoded
 * ones, as training's first pass does: shared by the reader fuzz targets. */
#ifndef CF_FUZZ_READER_ITEMS_H
#define CF_FUZZ_READER_ITEMS_H

#include "data/image.h"
#include "data/reader.h"
#include "fuzz.h"

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

/* The list formats (.lst, manifests): a.pgm and b.ppm in the scratch
 * directory for the list to name, then the list read as it is (paths from
 * its folder) and with data.root and a limit. */
static inline void cf_fuzz_list_images(void)
{
    static const char pgm[] = "P5 2 2 255\n\x01\x02\x03\x04";
    static const char ppm[] = "P3 1 1 255\n1 2 3\n";
    cf_fuzz_file("a.pgm", pgm, sizeof pgm - 1);
    cf_fuzz_file("b.ppm", ppm, sizeof ppm - 1);
}

static inline void cf_fuzz_read_list(const uint8_t *data, size_t size, const char *name, const char *format)
{
    const char *p = cf_fuzz_file(name, data, size);
    if (!p) return;
    cf_reader_opts o = {0};
    cf_fuzz_read_items(p, format, &o);
    o.limit = 2;
    o.root = cf_fuzz_dir();
    cf_fuzz_read_items(p, format, &o);
}

#endif
