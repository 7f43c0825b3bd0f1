/* CIFAR binaries. CIFAR-10: data_batch_1..5.bin (training) and test_batch.bin,
 * records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32).
 * CIFAR-100: train.bin / test.bin, records of a coarse and a fine label byte
 * + 3072 pixels (data.cifar_label chooses). A directory supplies the part
 * asked for (train or test); a single .bin file is read as it is. Items are
 * read with pread, so the decode workers share the open files. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "data/reader.h"

#define PIX 3072
static const char *const cifar10_names[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                              "dog", "frog", "horse", "ship", "truck"};

typedef struct cifar_state {
    int fd[6], nf;
    long first[7]; /* item index where file i starts */
    int rec;       /* record size: 3073 or 3074 */
    char files[6][1024];
    float *labels;
    char **classes;
    int k;
} cifar_state;

static long file_size(const char *p)
{
    struct stat sb;
    return stat(p, &sb) || !S_ISREG(sb.st_mode) ? -1 : (long)sb.st_size;
}

static int cifar_detect(const char *path, int is_dir, const unsigned char *h, size_t n)
{
    (void)h;
    (void)n;
    char p[1100];
    if (is_dir) {
        static const char *const probe[] = {"data_batch_1.bin", "test_batch.bin", "train.bin", "test.bin"};
        for (int i = 0; i < 4; i++) {
            snprintf(p, sizeof p, "%s/%s", path, probe[i]);
            if (file_size(p) > 0) return 90;
        }
        return 0;
    }
    size_t l = strlen(path);
    long sz = file_size(path);
    if (l < 4 || strcmp(path + l - 4, ".bin") || sz <= 0) return 0;
    return sz % 3073 == 0 || sz % 3074 == 0 ? 70 : 0;
}

static void cifar_close(void *state)
{
    cifar_state *s = state;
    if (!s) return;
    for (int i = 0; i < s->nf; i++) close(s->fd[i]);
    free(s->labels);
    for (int i = 0; s->classes && i < s->k; i++) free(s->classes[i]);
    free(s->classes);
    free(s);
}

/* Class names from batches.meta.txt / fine_label_names.txt when present. */
static char **names_file(const char *dir, const char *file, int k)
{
    char p[1100], line[256];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *fp = fopen(p, "r");
    if (!fp) return NULL;
    char **v = cf_calloc((size_t)k, sizeof *v);
    int n = 0;
    while (v && n < k && fgets(line, sizeof line, fp)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' ')) line[--l] = 0;
        if (l) v[n++] = cf_strdup(line);
    }
    fclose(fp);
    return v;
}

static cf_status cifar_open(const char *path, const cf_reader_opts *o, void **state, cf_reader_info *info,
                            cf_error *err)
{
    cifar_state *s = cf_calloc(1, sizeof *s);
    if (!s) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    int test = o->part && !strcmp(o->part, "test");
    long sz0 = file_size(path);
    char dir[1024];
    if (sz0 >= 0) { /* one file */
        snprintf(s->files[s->nf++], sizeof s->files[0], "%s", path);
        const char *sl = strrchr(path, '/');
        snprintf(dir, sizeof dir, "%.*s", sl ? (int)(sl - path) : 1, sl ? path : ".");
        const char *base = sl ? sl + 1 : path;
        s->rec = (!strcmp(base, "train.bin") || !strcmp(base, "test.bin") || sz0 % 3073) ? 3074 : 3073;
    } else {
        snprintf(dir, sizeof dir, "%s", path);
        char p[1100];
        snprintf(p, sizeof p, "%s/%s", path, test ? "test.bin" : "train.bin");
        if (file_size(p) > 0) {
            s->rec = 3074;
            snprintf(s->files[s->nf++], sizeof s->files[0], "%s", p);
        } else if (test) {
            s->rec = 3073;
            snprintf(s->files[s->nf++], sizeof s->files[0], "%s/test_batch.bin", path);
        } else {
            s->rec = 3073;
            for (int b = 1; b <= 5; b++) {
                snprintf(p, sizeof p, "%s/data_batch_%d.bin", path, b);
                if (file_size(p) >= 0) snprintf(s->files[s->nf++], sizeof s->files[0], "%s", p);
            }
            if (!s->nf) snprintf(s->files[s->nf++], sizeof s->files[0], "%s/data_batch_1.bin", path);
        }
    }
    int coarse = o->cifar_label && !strcmp(o->cifar_label, "coarse");
    long n = 0, cap = 0;
    int maxl = -1, nf = s->nf;
    cf_status st = CF_OK;
    s->nf = 0;
    for (int f = 0; f < nf && !st; f++) {
        long sz = file_size(s->files[f]);
        if (sz < 0) { st = cf_error_set(err, CF_ERR_IO, "%s: not found (a CIFAR directory holds data_batch_1..5.bin "
                                                       "and test_batch.bin, or train.bin and test.bin)", s->files[f]); break; }
        if (sz == 0 || sz % s->rec) {
            st = cf_error_set(err, CF_ERR_IO, "%s: %ld bytes is not a whole number of %d-byte CIFAR-%s records",
                              s->files[f], sz, s->rec, s->rec == 3073 ? "10" : "100");
            break;
        }
        s->fd[f] = open(s->files[f], O_RDONLY);
        if (s->fd[f] < 0) { st = cf_error_set(err, CF_ERR_IO, "%s: cannot open", s->files[f]); break; }
        s->nf++;
        s->first[f] = n;
        long m = sz / s->rec;
        if (o->limit && n + m > o->limit) m = o->limit - n;
        if (n + m > cap) {
            cap = (n + m) * 2;
            float *nl = realloc(s->labels, (size_t)cap * sizeof *nl);
            if (!nl) { st = cf_error_set(err, CF_ERR_NOMEM, "out of memory"); break; }
            s->labels = nl;
        }
        unsigned char hdr[2];
        for (long r = 0; r < m; r++) {
            if (pread(s->fd[f], hdr, 2, (off_t)r * s->rec) != 2) {
                st = cf_error_set(err, CF_ERR_IO, "%s: read error at record %ld", s->files[f], r);
                break;
            }
            int l = s->rec == 3073 ? hdr[0] : coarse ? hdr[0] : hdr[1];
            int lim = s->rec == 3073 ? 10 : coarse ? 20 : 100;
            if (l >= lim) {
                st = cf_error_set(err, CF_ERR_INVALID, "%s: record %ld has label %d, out of range for CIFAR-%s (0..%d)",
                                  s->files[f], r, l, s->rec == 3073 ? "10" : "100", lim - 1);
                break;
            }
            s->labels[n + r] = (float)l;
            if (l > maxl) maxl = l;
        }
        n += m;
        if (o->limit && n >= o->limit) break;
    }
    s->first[s->nf] = n;
    if (st) {
        cifar_close(s);
        return st;
    }
    s->k = s->rec == 3073 ? 10 : coarse ? 20 : 100;
    if (s->rec == 3073) {
        s->classes = names_file(dir, "batches.meta.txt", 10);
        if (!s->classes) {
            s->classes = cf_calloc(10, sizeof *s->classes);
            for (int i = 0; s->classes && i < 10; i++) s->classes[i] = cf_strdup(cifar10_names[i]);
        }
    } else
        s->classes = names_file(dir, coarse ? "coarse_label_names.txt" : "fine_label_names.txt", s->k);
    for (int i = 0; s->classes && i < s->k; i++)
        if (!s->classes[i]) {
            char b[16];
            snprintf(b, sizeof b, "%d", i);
            s->classes[i] = cf_strdup(b);
        }
    info->n = n;
    info->k = s->k;
    info->class_names = s->classes;
    info->label_width = 1;
    info->labels = s->labels;
    info->c = 3;
    info->h = 32;
    info->w = 32;
    *state = s;
    return CF_OK;
}

static cf_status cifar_read(void *state, long i, cf_item *it, cf_error *err)
{
    cifar_state *s = state;
    int f = 0;
    while (f + 1 < s->nf && i >= s->first[f + 1]) f++;
    long r = i - s->first[f];
    unsigned char planes[PIX];
    snprintf(it->name, sizeof it->name, "%s#%ld", s->files[f], r);
    if (pread(s->fd[f], planes, PIX, (off_t)r * s->rec + (s->rec - PIX)) != PIX)
        return cf_error_set(err, CF_ERR_IO, "%s: read error", it->name);
    CF_TRY(cf_item_reserve(it, PIX, err));
    for (int p = 0; p < 1024; p++) /* R, G, B planes -> interleaved */
        for (int c = 0; c < 3; c++) it->buf[p * 3 + c] = planes[c * 1024 + p];
    it->kind = CF_ITEM_PIXELS;
    it->data = it->buf;
    it->len = PIX;
    it->c = 3;
    it->h = 32;
    it->w = 32;
    return CF_OK;
}

const cf_reader_vtable cf_reader_cifar = {"cifar", cifar_detect, cifar_open, cifar_read, cifar_close};
