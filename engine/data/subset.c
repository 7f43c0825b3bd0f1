/* A class subset of a dataset (data.classes): the samples of the kept
 * classes, relabelled, optionally only the first N of them. In place: the
 * pixels (when cached), labels and the reader items behind the samples
 * move down together. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "data/dataset.h"

cf_status cf_dataset_keep_classes(cf_dataset *d, const int *keep, int k_new, long limit, cf_error *err)
{
    char **names = cf_calloc((size_t)k_new, sizeof *names);
    if (!names) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    size_t px = (size_t)d->c * d->h * d->w;
    int m = 0;
    for (int i = 0; i < d->n; i++) {
        int y = d->y[i];
        if (y < 0 || y >= d->k || keep[y] < 0 || (limit > 0 && m >= limit)) continue;
        if (d->x && m != i) memmove(d->x + (size_t)m * px, d->x + (size_t)i * px, px * sizeof *d->x);
        if (d->map) d->map[m] = d->map[i];
        d->y[m++] = keep[y];
    }
    d->n = m;
    for (int c = 0; c < d->k; c++) {
        char *nm = d->class_names ? d->class_names[c] : NULL;
        if (keep[c] >= 0 && !names[keep[c]]) names[keep[c]] = nm;
        else free(nm);
    }
    for (int c = 0; c < k_new; c++)
        if (!names[c]) names[c] = cf_strdup("?");
    free(d->class_names);
    d->class_names = names;
    d->k = k_new;
    return CF_OK;
}
