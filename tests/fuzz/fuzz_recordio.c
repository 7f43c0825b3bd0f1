/* Fuzz target: MXNet RecordIO (data/recordio.c: framing, split records,
 * the .idx; reader_recordio.c: IRHeaders, labels). Input: the .rec,
 * optionally "\n====\n" and its .idx (without one the reader scans). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "data/recordio.h"
#include "fuzz.h"
#include "reader_items.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *b;
    size_t al, bl;
    cf_fuzz_split(data, size, &b, &al, &bl);
    const char *rec = cf_fuzz_file("f.rec", data, al);
    if (!rec) return 0;
    char idx[600];
    snprintf(idx, sizeof idx, "%s/f.idx", cf_fuzz_dir());
    if (b) cf_fuzz_file("f.idx", b, bl);
    else unlink(idx);
    cf_reader_opts o = {0};
    cf_fuzz_read_items(rec, "recordio", &o);
    /* The forced scan, and the records read directly. */
    cf_recordio r;
    cf_error err = {0};
    cf_status st = cf_recordio_open(rec, "", &r, &err);
    cf_fuzz_note("recordio scan", st, &err);
    if (st == CF_OK) {
        unsigned char *buf = NULL;
        size_t cap = 0, len;
        for (long i = 0; i < r.n && i < 32; i++) {
            cf_irecord ir;
            if (cf_recordio_read_head(&r, i, 64, &buf, &cap, &len, &err) == CF_OK &&
                cf_recordio_read(&r, i, &buf, &cap, &len, &err) == CF_OK &&
                cf_irecord_parse(buf, len, "fuzz", &ir, &err) == CF_OK)
                (void)cf_irecord_label(&ir, ir.n_labels - 1);
        }
        free(buf);
        cf_recordio_close(&r);
    }
    return 0;
}
