/* clforge — multi-label targets from label columns (see multilabel.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "data/multilabel.h"
#include "data/reader.h"

cf_status cf_dataset_multi_hot(cf_dataset *d, const char *fmt, int k, const char *path, cf_error *err)
{
    if (!d->src)
        return cf_error_set(err, CF_ERR_INVALID,
                            "%s: data.multi_label needs label lists: a .lst with several label columns or a "
                            "RecordIO file with multi-label headers (IDX holds one label per image)", path);
    const cf_reader_info *in = &d->src->info;
    int w = in->label_width;
    int binary = 1;
    for (int i = 0; i < d->n && binary; i++) {
        const float *l = cf_reader_labels(d->src, d->map[i]);
        for (int j = 0; j < w; j++)
            if (l[j] != 0.0f && l[j] != 1.0f) binary = 0;
    }
    int hot;
    if (!strcmp(fmt, "multi-hot")) hot = 1;
    else if (!strcmp(fmt, "class-id")) hot = 0;
    else hot = binary && w > 1; /* SageMaker's default; a class-id list of only 0s and 1s must say so */
    if (hot && !binary)
        return cf_error_set(err, CF_ERR_INVALID, "%s: data.label_format = \"multi-hot\" but a label is not 0 or 1", path);
    int K = hot ? w : k;
    if (hot && k > 0 && w != k)
        return cf_error_set(err, CF_ERR_INVALID,
                            "%s: %d multi-hot label columns but %d classes (class indices? set data.label_format = "
                            "\"class-id\")", path, w, k);
    if (!hot && K <= 0)
        for (int i = 0; i < d->n; i++) {
            const float *l = cf_reader_labels(d->src, d->map[i]);
            for (int j = 0; j < w; j++)
                if ((int)l[j] + 1 > K) K = (int)l[j] + 1;
        }
    if (K < 1) return cf_error_set(err, CF_ERR_INVALID, "%s: no labels", path);
    float *m = cf_calloc((size_t)d->n * (size_t)K, sizeof *m);
    char **names = cf_calloc((size_t)K + 1, sizeof *names);
    if (!m || !names) {
        free(m);
        free(names);
        return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory for %d x %d multi-label targets", path, d->n, K);
    }
    for (int i = 0; i < d->n; i++) {
        const float *l = cf_reader_labels(d->src, d->map[i]);
        float *row = m + (size_t)i * K;
        int first = -1;
        for (int j = 0; j < w; j++) {
            int c = hot ? (l[j] != 0.0f ? j : -1) : (int)l[j];
            if (c < 0) continue;
            if (c >= K) {
                free(m);
                free(names);
                return cf_error_set(err, CF_ERR_INVALID, "%s: item %ld: class %d is out of range (%d classes)", path,
                                    d->map[i], c, K);
            }
            row[c] = 1.0f;
            if (first < 0) first = c;
        }
        d->y[i] = first < 0 ? 0 : first;
    }
    for (int c = 0; c < K; c++) {
        char b[16];
        snprintf(b, sizeof b, "%d", c);
        names[c] = cf_strdup(b);
    }
    for (int c = 0; d->class_names && c < d->k; c++) free(d->class_names[c]);
    free(d->class_names);
    free(d->multi);
    d->class_names = names;
    d->k = K;
    d->multi = m;
    return CF_OK;
}
