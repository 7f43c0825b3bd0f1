/* clforge — keep a fraction of each class's training images
 * (data.class_fraction): makes an imbalanced problem out of a balanced
 * dataset. Which images stay is a seeded shuffle of each class's members, so
 * a seed picks the same ones every run; the kept ones keep their order. */
#include <math.h>
#include <stdlib.h>

#include "data/dataset.h"

cf_status cf_dataset_class_fraction(const cf_dataset *d, int *idx, int *n, const double *frac, int n_frac,
                                    uint64_t seed, cf_error *err)
{
    int k = d->k;
    for (int c = 0; c < n_frac; c++)
        if (!(frac[c] >= 0 && frac[c] <= 1))
            return cf_error_set(err, CF_ERR_INVALID, "data.class_fraction[%d] = %g: must be in [0, 1]", c, frac[c]);
    if (n_frac > k)
        return cf_error_set(err, CF_ERR_INVALID, "data.class_fraction has %d entries; the data has %d classes", n_frac, k);
    int *members = malloc((size_t)(*n > 0 ? *n : 1) * sizeof *members);
    char *keep = calloc((size_t)(*n > 0 ? *n : 1), 1);
    if (!members || !keep) {
        free(members);
        free(keep);
        return cf_error_set(err, CF_ERR_NOMEM, "data.class_fraction: out of memory");
    }
    for (int i = 0; i < *n; i++) keep[i] = 1;
    for (int c = 0; c < n_frac; c++) {
        if (frac[c] >= 1) continue;
        int m = 0;
        for (int i = 0; i < *n; i++)
            if (d->y[idx[i]] == c) members[m++] = i;
        /* a class cut to a fraction keeps at least one image */
        int kept = (int)floor(frac[c] * m + 0.5);
        if (kept < 1 && frac[c] > 0 && m > 0) kept = 1;
        cf_shuffle(members, m, seed, 0xC1A55F00ULL + (uint64_t)c);
        for (int j = kept; j < m; j++) keep[members[j]] = 0;
    }
    int o = 0;
    for (int i = 0; i < *n; i++)
        if (keep[i]) idx[o++] = idx[i];
    *n = o;
    free(members);
    free(keep);
    return CF_OK;
}
