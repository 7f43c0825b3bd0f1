/* Datasets: IDX (MNIST format, optionally gzip'ed) reading with every
 * malformation reported by path, stratified seeded splits, per-channel
 * statistics and seeded shuffling. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/util.h"
#include "data/dataset.h"
#include "data/reader.h"

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
const char *const *cf_fashion_mnist_classes(void) { return fashion_names; }

/* zlib's message for f, without the path it prefixes (ours names it). */
static const char *gz_msg(gzFile f, const char *path, int *zerr)
{
    const char *m = gzerror(f, zerr);
    size_t n = strlen(path);
    return strncmp(m, path, n) == 0 && m[n] == ':' && m[n + 1] == ' ' ? m + n + 2 : m;
}

/* Read an IDX file: dims and the raw ubyte payload (up to `limit` items). */
static cf_status idx_read(const char *path, int want_dims, int limit, int *dims,
                          unsigned char **data, size_t *count, cf_error *err)
{
    if (!cf_file_exists(path))
        return cf_error_set(err, CF_ERR_IO, "%s: data file not found (install dataset-fashion-mnist "
                                            "or set data.* paths)", path);
    gzFile f = gzopen(path, "rb");
    if (!f) return cf_error_set(err, CF_ERR_IO, "%s: cannot open", path);
    unsigned char hdr[4];
    cf_status s = CF_OK;
    unsigned char *buf = NULL;
    if (gzread(f, hdr, 4) != 4 || hdr[0] || hdr[1]) {
        s = cf_error_set(err, CF_ERR_IO, "%s: not an IDX file (bad magic)", path);
        goto out;
    }
    if (hdr[2] != 0x08) {
        s = cf_error_set(err, CF_ERR_IO, "%s: IDX element type 0x%02x unsupported (need unsigned byte)",
                         path, hdr[2]);
        goto out;
    }
    if (hdr[3] != want_dims) {
        s = cf_error_set(err, CF_ERR_IO, "%s: IDX has %d dimensions, expected %d", path, hdr[3], want_dims);
        goto out;
    }
    size_t item = 1;
    for (int i = 0; i < want_dims; i++) {
        unsigned char d[4];
        if (gzread(f, d, 4) != 4) {
            s = cf_error_set(err, CF_ERR_IO, "%s: truncated IDX header", path);
            goto out;
        }
        dims[i] = (int)((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]);
        /* An image side over 65,536 px or an item over 256 MiB is no dataset
         * clforge can train on; the bounds also keep n * item from wrapping. */
        long lim = i ? 65536 : (1L << 28);
        if (dims[i] <= 0 || dims[i] > lim) {
            s = cf_error_set(err, CF_ERR_IO, "%s: implausible IDX dimension %d = %d (at most %ld)", path,
                             i, dims[i], lim);
            goto out;
        }
        if (i) item *= (size_t)dims[i];
        if (item > ((size_t)1 << 28)) {
            s = cf_error_set(err, CF_ERR_IO, "%s: implausible IDX item of more than 2^28 bytes", path);
            goto out;
        }
    }
    size_t n = (size_t)dims[0];
    if (limit > 0 && (size_t)limit < n) n = (size_t)limit;
    if (n > SIZE_MAX / sizeof(float) / item) { /* the caller converts to float */
        s = cf_error_set(err, CF_ERR_IO, "%s: %zu items of %zu bytes do not fit in memory", path, n, item);
        goto out;
    }
    /* Grow the buffer as data arrives: a header that promises more than the
     * file holds costs no more memory than the file. */
    size_t got = 0, want = n * item, cap = 0;
    while (got < want) {
        if (got == cap) {
            size_t nc = cap ? cap * 2 : (size_t)1 << 20;
            if (nc > want) nc = want;
            unsigned char *nb = realloc(buf, nc);
            if (!nb) {
                s = cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory for %zu bytes", path, nc);
                goto out;
            }
            buf = nb;
            cap = nc;
        }
        size_t room = cap - got;
        unsigned chunk = room > (1u << 30) ? (1u << 30) : (unsigned)room;
        int r = gzread(f, buf + got, chunk);
        if (r <= 0) {
            int zerr;
            const char *m = gz_msg(f, path, &zerr);
            s = cf_error_set(err, CF_ERR_IO, "%s: truncated or corrupt data after %zu of %zu bytes%s%s",
                             path, got, want, zerr ? ": " : "", zerr ? m : "");
            goto out;
        }
        got += (size_t)r;
    }
    /* Read to the end even under a limit: zlib checks the gzip CRC and length
     * only there, and bytes past the header's dims mean a corrupt header. */
    size_t extra = 0, expect_extra = ((size_t)dims[0] - n) * item;
    for (;;) {
        unsigned char scratch[65536];
        int r = gzread(f, scratch, sizeof scratch);
        if (r == 0) break;
        if (r < 0) {
            int zerr;
            s = cf_error_set(err, CF_ERR_IO, "%s: corrupt data: %s", path, gz_msg(f, path, &zerr));
            goto out;
        }
        extra += (size_t)r;
    }
    if (extra != expect_extra) {
        s = cf_error_set(err, CF_ERR_IO, "%s: %s than its header's %d items of %zu bytes", path,
                         extra < expect_extra ? "truncated: less data" : "more data", dims[0], item);
        goto out;
    }
    *data = buf;
    *count = n;
    buf = NULL;
out:
    free(buf);
    {
        int zr = gzclose(f);
        /* gzclose reports a gzip stream cut before its CRC trailer. */
        if (zr != Z_OK && s == CF_OK) {
            free(*data);
            *data = NULL;
            s = cf_error_set(err, CF_ERR_IO, "%s: corrupt or truncated gzip stream (%s)", path,
                             zr == Z_BUF_ERROR ? "unexpected end of file" : "gzclose failed");
        }
    }
    return s;
}

cf_status cf_idx_load(const char *images, const char *labels, int limit, cf_dataset *out,
                      cf_error *err)
{
    memset(out, 0, sizeof *out);
    int idims[3], ldims[1];
    unsigned char *img = NULL, *lab = NULL;
    size_t ni, nl;
    CF_TRY(idx_read(images, 3, limit, idims, &img, &ni, err));
    cf_status s = idx_read(labels, 1, limit, ldims, &lab, &nl, err);
    if (s) {
        free(img);
        return s;
    }
    if (idims[0] != ldims[0]) {
        free(img);
        free(lab);
        return cf_error_set(err, CF_ERR_IO, "%s has %d images but %s has %d labels", images, idims[0],
                            labels, ldims[0]);
    }
    int k = 0;
    for (size_t i = 0; i < nl; i++)
        if (lab[i] + 1 > k) k = lab[i] + 1;
    size_t px = (size_t)idims[1] * (size_t)idims[2];
    out->n = (int)ni;
    out->c = 1;
    out->h = idims[1];
    out->w = idims[2];
    out->k = k;
    out->x = malloc(ni * px * sizeof(float));
    out->y = malloc(ni * sizeof(int));
    out->class_names = cf_calloc((size_t)k, sizeof(char *));
    if (!out->x || !out->y || !out->class_names) {
        free(img);
        free(lab);
        cf_dataset_free(out);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory loading %s", images);
    }
    for (size_t i = 0; i < ni * px; i++) out->x[i] = img[i] * (1.0f / 255.0f);
    for (size_t i = 0; i < ni; i++) out->y[i] = lab[i];
    int fashion = strstr(images, "fashion") != NULL && k == 10;
    for (int c = 0; c < k; c++) {
        char nm[32];
        snprintf(nm, sizeof nm, "%d", c);
        if (!(out->class_names[c] = cf_strdup(fashion ? fashion_names[c] : nm))) {
            /* a missing name would be saved into model.clf silently */
            free(img);
            free(lab);
            cf_dataset_free(out);
            return cf_error_set(err, CF_ERR_NOMEM, "out of memory loading %s", images);
        }
    }
    free(img);
    free(lab);
    return CF_OK;
}

void cf_dataset_free(cf_dataset *d)
{
    free(d->x);
    free(d->y);
    free(d->multi);
    for (int i = 0; d->class_names && i < d->k; i++) free(d->class_names[i]);
    free(d->class_names);
    cf_reader_close(d->src);
    free(d->map);
    for (int i = 0; i < d->n_named; i++) free(d->skipped[i]);
    free(d->skipped);
    memset(d, 0, sizeof *d);
}

void cf_shuffle(int *idx, int n, uint64_t seed, uint64_t epoch)
{
    cf_rng r = cf_rng_make(seed, CF_RNG_SHUFFLE, epoch, 0);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)cf_rng_below(&r, (uint32_t)i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

static int cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

cf_status cf_dataset_split(const cf_dataset *d, double ratio, uint64_t seed, int **train_idx,
                           int *n_train, int **val_idx, int *n_val, cf_error *err)
{
    int *tr = malloc((size_t)d->n * sizeof *tr), *va = malloc((size_t)d->n * sizeof *va);
    int *cls = malloc((size_t)d->n * sizeof *cls);
    if (!tr || !va || !cls) {
        free(tr);
        free(va);
        free(cls);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory splitting the dataset");
    }
    int nt = 0, nv = 0;
    /* Per class: shuffle its members, the first round(ratio * count) go to validation. */
    for (int c = 0; c < d->k; c++) {
        int m = 0;
        for (int i = 0; i < d->n; i++)
            if (d->y[i] == c) cls[m++] = i;
        cf_shuffle(cls, m, seed ^ 0x5157u, (uint64_t)CF_RNG_SPLIT << 20 | (uint64_t)c);
        int take = (int)lround(ratio * m);
        for (int i = 0; i < m; i++) {
            if (i < take) va[nv++] = cls[i];
            else tr[nt++] = cls[i];
        }
    }
    free(cls);
    /* Keep dataset order inside each part (stable, readable). */
    qsort(tr, (size_t)nt, sizeof *tr, cmp);
    qsort(va, (size_t)nv, sizeof *va, cmp);
    *train_idx = tr;
    *n_train = nt;
    *val_idx = va;
    *n_val = nv;
    return CF_OK;
}

void cf_dataset_stats(const cf_dataset *d, const int *idx, int n, double *mean, double *std)
{
    size_t px = (size_t)d->h * (size_t)d->w;
    for (int c = 0; c < d->c; c++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < n; i++) {
            const float *p = d->x + ((size_t)idx[i] * d->c + c) * px;
            for (size_t j = 0; j < px; j++) {
                s += p[j];
                s2 += (double)p[j] * p[j];
            }
        }
        double cnt = (double)n * (double)px;
        mean[c] = cnt ? s / cnt : 0;
        double var = cnt ? s2 / cnt - mean[c] * mean[c] : 1;
        std[c] = var > 1e-12 ? sqrt(var) : 1;
    }
}
