/* `clforge data info PATH`: what a dataset holds as clforge reads it — the
 * format, classes and their counts, image sizes and channels, and the files
 * that cannot be read (which training would skip). */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/reader.h"

cf_status cf_data_info(const char *path, const char *format, const char *root, const char *part, int json,
                       FILE *out, cf_error *err)
{
    cf_reader *r;
    cf_reader_opts ro = {.root = root, .part = part};
    CF_TRY(cf_reader_open(path, format, &ro, &r, err));
    const cf_reader_info *in = &r->info;
    long *count = cf_calloc((size_t)in->k + 1, sizeof *count);
    char **bad = cf_calloc(CF_SKIPPED_NAMED, sizeof *bad);
    if (!count || !bad) {
        free(count);
        free(bad);
        cf_reader_close(r);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    }
    long n_bad = 0, gray = 0, rgb = 0;
    int wmin = 0, wmax = 0, hmin = 0, hmax = 0;
    cf_item it = {0};
    for (long i = 0; i < in->n; i++) {
        cf_error e = {0};
        cf_image_u8 im = {0};
        int w, h, c;
        cf_status st = cf_reader_read(r, i, &it, &e);
        if (!st && it.kind == CF_ITEM_PIXELS) w = it.w, h = it.h, c = it.c;
        else if (!st && !(st = cf_image_decode(it.name, it.data, it.len, 0, 0, &im, &e)))
            w = im.w, h = im.h, c = im.c;
        cf_image_u8_free(&im);
        if (st) {
            if (n_bad < CF_SKIPPED_NAMED) bad[n_bad] = cf_strdup(e.msg);
            n_bad++;
            continue;
        }
        int l = (int)cf_reader_labels(r, i)[0];
        if (l >= 0 && l < in->k) count[l]++;
        if (c == 1) gray++;
        else rgb++;
        if (!wmax || w < wmin) wmin = w;
        if (!wmax || h < hmin) hmin = h;
        if (w > wmax) wmax = w;
        if (h > hmax) hmax = h;
    }
    cf_item_free(&it);
    if (json) {
        cf_sbuf b = {0};
        cf_sbuf_printf(&b, "{\"path\":");
        cf_json_str(&b, path);
        cf_sbuf_printf(&b, ",\"format\":\"%s\",\"items\":%ld,\"readable\":%ld,\"label_width\":%d,\"classes\":[",
                       r->v->name, in->n, in->n - n_bad, in->label_width);
        for (int c = 0; c < in->k; c++) {
            char nm[16];
            snprintf(nm, sizeof nm, "%d", c);
            cf_sbuf_printf(&b, "%s{\"name\":", c ? "," : "");
            cf_json_str(&b, in->class_names && in->class_names[c] ? in->class_names[c] : nm);
            cf_sbuf_printf(&b, ",\"count\":%ld}", count[c]);
        }
        cf_sbuf_printf(&b, "],\"width\":[%d,%d],\"height\":[%d,%d],\"gray\":%ld,\"rgb\":%ld,"
                       "\"unreadable\":{\"count\":%ld,\"files\":[", wmin, wmax, hmin, hmax, gray, rgb, n_bad);
        for (long i = 0; i < n_bad && i < CF_SKIPPED_NAMED; i++) {
            if (i) cf_sbuf_printf(&b, ",");
            cf_json_str(&b, bad[i]);
        }
        cf_sbuf_printf(&b, "]}}\n");
        fputs(b.s, out);
        cf_sbuf_free(&b);
    } else {
        fprintf(out, "%s: %s, %ld items (%ld readable), %d classes%s\n", path, r->v->name, in->n, in->n - n_bad,
                in->k, in->label_width > 1 ? ", multi-label" : "");
        fprintf(out, "images: %d..%d x %d..%d pixels (w x h); %ld gray, %ld RGB\n", wmin, wmax, hmin, hmax, gray,
                rgb);
        fprintf(out, "%-6s %-24s %8s\n", "label", "class", "images");
        for (int c = 0; c < in->k; c++) {
            char nm[16];
            snprintf(nm, sizeof nm, "%d", c);
            fprintf(out, "%-6d %-24s %8ld\n", c, in->class_names && in->class_names[c] ? in->class_names[c] : nm,
                    count[c]);
        }
        if (n_bad) {
            fprintf(out, "unreadable: %ld (training skips them)\n", n_bad);
            for (long i = 0; i < n_bad && i < CF_SKIPPED_NAMED; i++) fprintf(out, "  %s\n", bad[i]);
            if (n_bad > CF_SKIPPED_NAMED) fprintf(out, "  ... and %ld more\n", n_bad - CF_SKIPPED_NAMED);
        }
    }
    for (long i = 0; i < n_bad && i < CF_SKIPPED_NAMED; i++) free(bad[i]);
    free(bad);
    free(count);
    cf_reader_close(r);
    return CF_OK;
}
