/* recordio_dump REC [IDX]: one line per record of a RecordIO file, read by
 * clforge's reader — key, IRHeader id, labels, payload format and size
 * (JPEG decoded; PNG from its IHDR) — for the MXNet interop check
 * (bench/mxnet_interop.py), and the payload's length and FNV-1a 64 hash.
 * IDX "-" forces the sequential scan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/image.h"
#include "data/recordio.h"

static unsigned long long fnv(const unsigned char *p, size_t n)
{
    unsigned long long h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static unsigned be32(const unsigned char *p) { return (unsigned)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: recordio_dump REC [IDX|-]\n");
        return 2;
    }
    cf_recordio r;
    cf_error err = {0};
    const char *idx = argc > 2 ? (strcmp(argv[2], "-") ? argv[2] : "") : NULL;
    if (cf_recordio_open(argv[1], idx, &r, &err) != CF_OK) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    char tmp[] = "/tmp/recordio_dump_XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0) return 1;
    close(fd);
    unsigned char *buf = NULL;
    size_t cap = 0, len;
    int rc = 0;
    for (long i = 0; i < r.n; i++) {
        cf_irecord ir;
        if (cf_recordio_read(&r, i, &buf, &cap, &len, &err) != CF_OK ||
            cf_irecord_parse(buf, len, argv[1], &ir, &err) != CF_OK) {
            fprintf(stderr, "error: %s\n", err.msg);
            rc = 1;
            break;
        }
        printf("%lld\t%llu\t", (long long)r.key[i], (unsigned long long)ir.id);
        for (int j = 0; j < ir.n_labels; j++) printf("%s%g", j ? "," : "", cf_irecord_label(&ir, j));
        printf("\t%zu\t%016llx", ir.image_len, fnv(ir.image, ir.image_len));
        if (ir.image_len >= 24 && !memcmp(ir.image, "\x89PNG", 4)) {
            static const int ch[] = {1, 0, 3, 1, 2, 0, 4};
            int t = ir.image[25] <= 6 ? ch[ir.image[25]] : 0;
            printf("\tpng\t%ux%ux%d\n", be32(ir.image + 16), be32(ir.image + 20), t);
            continue;
        }
        FILE *f = fopen(tmp, "wb");
        fwrite(ir.image, 1, ir.image_len, f);
        fclose(f);
        cf_image_u8 im;
        if (cf_image_read(tmp, &im, &err) != CF_OK) {
            printf("\tundecodable\t%s\n", err.msg);
            continue;
        }
        printf("\tjpeg\t%dx%dx%d\n", im.w, im.h, im.c);
        cf_image_u8_free(&im);
    }
    printf("records %ld\n", r.n);
    unlink(tmp);
    free(buf);
    cf_recordio_close(&r);
    return rc;
}
