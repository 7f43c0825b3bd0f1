/* `clforge im2rec PREFIX ROOT`: im2rec.py's read_list + image_encode +
 * write_worker. Workers encode a window of items in parallel; the records are
 * written in .lst order, so the output does not depend on --num-thread. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/util.h"
#include "data/im2rec.h"
#include "data/image_encode.h"
#include "data/recordio.h"

typedef struct litem {
    long index;
    char *path;
    float *labels;
    int n_labels;
    long line;
} litem;

/* Python's str.strip() */
static char *strip(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '\v' || *s == '\f') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n' ||
                 s[n - 1] == '\v' || s[n - 1] == '\f'))
        s[--n] = 0;
    return s;
}

/* One .lst line: "index\tlabel[\tlabel…]\tpath"; 0 when it does not parse
 * (im2rec.py prints it and goes on). */
static int parse_line(char *line, litem *it, const char *lst, long lineno, FILE *log)
{
    char *f[4096];
    int n = 0;
    char *s = strip(line), *p = s;
    for (;;) {
        char *t = strchr(p, '\t');
        if (n == (int)(sizeof f / sizeof *f)) break;
        if (t) *t = 0;
        f[n++] = strip(p);
        if (!t) break;
        p = t + 1;
    }
    if (n < 3) {
        if (log) fprintf(log, "%s:%ld: skipped: a .lst line has at least 3 tab-separated parts, this has %d\n", lst, lineno, n);
        return 0;
    }
    char *end;
    errno = 0;
    long long idx = strtoll(f[0], &end, 10);
    if (!*f[0] || *end || errno || idx < 0) {
        if (log) fprintf(log, "%s:%ld: skipped: index '%s' is not a whole number >= 0\n", lst, lineno, f[0]);
        return 0;
    }
    it->index = (long)idx;
    it->n_labels = n - 2;
    it->labels = malloc(sizeof(float) * (size_t)it->n_labels);
    it->path = cf_strdup(f[n - 1]);
    it->line = lineno;
    if (!it->labels || !it->path) return -1;
    for (int j = 0; j < it->n_labels; j++) {
        double v = strtod(f[1 + j], &end);
        if (!*f[1 + j] || *end) {
            if (log) fprintf(log, "%s:%ld: skipped: label '%s' is not a number\n", lst, lineno, f[1 + j]);
            free(it->labels);
            free(it->path);
            return 0;
        }
        it->labels[j] = (float)v;
    }
    return 1;
}

typedef struct job {
    const cf_im2rec_opts *o;
    const char *root;
    const litem *items;
    long from, to;
    atomic_long next;
    unsigned char **out;
    size_t *out_len;
    char (*msg)[512];
} job;

static cf_status encode_one(const cf_im2rec_opts *o, const char *root, const litem *it,
                            unsigned char **rec, size_t *rec_len, cf_error *err)
{
    char full[4096];
    if (it->path[0] == '/') snprintf(full, sizeof full, "%s", it->path);
    else snprintf(full, sizeof full, "%s/%s", root, it->path);
    int multi = it->n_labels > 1 && o->pack_label;
    const float *labels = multi ? it->labels : NULL;
    int nl = multi ? it->n_labels : 0;
    cf_status s;
    if (o->pass_through) {
        char *data;
        size_t len;
        CF_TRY(cf_read_file(full, &data, &len, err));
        s = cf_irecord_pack(it->labels[0], labels, nl, (uint64_t)it->index, 0, data, len, rec, rec_len, err);
        free(data);
        return s;
    }
    cf_image_u8 im;
    CF_TRY(cf_image_read(full, &im, err));
    s = cf_im2rec_color(&im, o->color, err);
    if (s == CF_OK && o->center_crop) s = cf_im2rec_center_crop(&im, err);
    if (s == CF_OK && o->resize) s = cf_im2rec_resize(&im, o->resize, err);
    unsigned char *enc = NULL;
    size_t enc_len = 0;
    if (s == CF_OK) {
        if (!strcasecmp(o->encoding, ".png")) s = cf_encode_png(&im, o->quality, &enc, &enc_len, err);
        else s = cf_encode_jpeg(&im, o->quality, &enc, &enc_len, err);
        if (s != CF_OK) cf_error_prefix(err, "%s", full);
    }
    if (s == CF_OK)
        s = cf_irecord_pack(it->labels[0], labels, nl, (uint64_t)it->index, 0, enc, enc_len, rec, rec_len, err);
    free(enc);
    cf_image_u8_free(&im);
    return s;
}

static void *worker(void *arg)
{
    job *j = arg;
    for (;;) {
        long i = atomic_fetch_add(&j->next, 1);
        if (i >= j->to) break;
        long k = i - j->from;
        cf_error e = {0};
        if (encode_one(j->o, j->root, &j->items[i], &j->out[k], &j->out_len[k], &e) != CF_OK) {
            j->out[k] = NULL;
            snprintf(j->msg[k], sizeof j->msg[k], "%s", e.msg);
        }
    }
    return NULL;
}

static void free_items(litem *v, long n)
{
    for (long i = 0; i < n; i++) {
        free(v[i].path);
        free(v[i].labels);
    }
    free(v);
}

static cf_status read_list(const char *lst, litem **out, long *n_out, const cf_im2rec_opts *o,
                           cf_error *err)
{
    FILE *f = fopen(lst, "r");
    if (!f) return cf_error_set(err, CF_ERR_IO, "%s: cannot open: %s", lst, strerror(errno));
    litem *v = NULL;
    long n = 0, cap = 0, lineno = 0;
    char *line = NULL;
    size_t lcap = 0;
    cf_status s = CF_OK;
    while (getline(&line, &lcap, f) >= 0) {
        lineno++;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            litem *q = realloc(v, (size_t)cap * sizeof *q);
            if (!q) {
                s = cf_error_set(err, CF_ERR_NOMEM, "out of memory reading %s", lst);
                break;
            }
            v = q;
        }
        memset(&v[n], 0, sizeof v[n]);
        int r = parse_line(line, &v[n], lst, lineno, o->log);
        if (r < 0) {
            s = cf_error_set(err, CF_ERR_NOMEM, "out of memory reading %s", lst);
            n++;
            break;
        }
        n += r;
    }
    free(line);
    fclose(f);
    if (s != CF_OK) {
        free_items(v, n);
        return s;
    }
    *out = v;
    *n_out = n;
    return CF_OK;
}

cf_status cf_im2rec_pack_list(const char *lst, const char *root, const char *rec_path,
                              const char *idx_path, const cf_im2rec_opts *o, long *written,
                              long *skipped, cf_error *err)
{
    litem *items = NULL;
    long n = 0;
    *written = *skipped = 0;
    CF_TRY(read_list(lst, &items, &n, o, err));
    cf_recordio_writer w;
    cf_status s = cf_recordio_writer_open(rec_path, idx_path, &w, err);
    if (s != CF_OK) {
        free_items(items, n);
        return s;
    }
    int nt = o->num_thread < 1 ? 1 : o->num_thread > 256 ? 256 : o->num_thread;
    long win = 64L * nt;
    job j = {.o = o, .root = root, .items = items};
    j.out = calloc((size_t)win, sizeof *j.out);
    j.out_len = calloc((size_t)win, sizeof *j.out_len);
    j.msg = calloc((size_t)win, sizeof *j.msg);
    pthread_t *th = calloc((size_t)nt, sizeof *th);
    if (!j.out || !j.out_len || !j.msg || !th) s = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    for (long from = 0; s == CF_OK && from < n; from += win) {
        j.from = from;
        j.to = from + win < n ? from + win : n;
        atomic_store(&j.next, from);
        int started = 0;
        for (int t = 1; t < nt; t++)
            if (pthread_create(&th[t], NULL, worker, &j) == 0) started = t;
            else break;
        worker(&j);
        for (int t = 1; t <= started; t++) pthread_join(th[t], NULL);
        for (long i = j.from; i < j.to; i++) {
            long k = i - j.from;
            if (!j.out[k]) {
                (*skipped)++;
                if (o->log) fprintf(o->log, "%s:%ld: skipped: %s\n", lst, items[i].line, j.msg[k]);
                continue;
            }
            if (s == CF_OK) s = cf_recordio_write(&w, items[i].index, j.out[k], j.out_len[k], err);
            if (s == CF_OK) (*written)++;
            free(j.out[k]);
            j.out[k] = NULL;
        }
        if (o->log && s == CF_OK && (j.to / 1000 != j.from / 1000 || j.to == n))
            fprintf(o->log, "%s: %ld of %ld\n", rec_path, j.to, n);
    }
    cf_status cs = cf_recordio_writer_close(&w, s == CF_OK ? err : NULL);
    if (s == CF_OK) s = cs;
    free(j.out);
    free(j.out_len);
    free(j.msg);
    free(th);
    free_items(items, n);
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

cf_status cf_im2rec_pack(const char *prefix, const char *root, const cf_im2rec_opts *o,
                         cf_error *err)
{
    /* im2rec.py: working_dir = prefix if it is a folder, else its folder; every
     * file there whose path starts with prefix and ends with .lst */
    char dir[4096], base[1024];
    struct stat st;
    if (stat(prefix, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(dir, sizeof dir, "%s", prefix);
        base[0] = 0;
    } else {
        const char *sl = strrchr(prefix, '/');
        if (sl) snprintf(dir, sizeof dir, "%.*s", (int)(sl - prefix ? sl - prefix : 1), prefix);
        else snprintf(dir, sizeof dir, ".");
        snprintf(base, sizeof base, "%s", sl ? sl + 1 : prefix);
    }
    DIR *d = opendir(dir);
    if (!d) return cf_error_set(err, CF_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    cf_status s = CF_OK;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name), bl = strlen(base);
        if (l < 4 || strcmp(e->d_name + l - 4, ".lst") || strncmp(e->d_name, base, bl)) continue;
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            char **q = realloc(names, (size_t)cap * sizeof *q);
            if (!q) {
                s = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
                break;
            }
            names = q;
        }
        names[n++] = cf_strdup(e->d_name);
    }
    closedir(d);
    if (s == CF_OK && n == 0)
        s = cf_error_set(err, CF_ERR_IO, "no .lst file with prefix %s (make one with: clforge im2rec --list %s ROOT)",
                         prefix, prefix);
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n && s == CF_OK; i++) {
        char lst[8192], rec[8192], idx[8192];
        size_t l = strlen(names[i]);
        snprintf(lst, sizeof lst, "%s/%s", dir, names[i]);
        snprintf(rec, sizeof rec, "%s/%.*s.rec", dir, (int)(l - 4), names[i]);
        snprintf(idx, sizeof idx, "%s/%.*s.idx", dir, (int)(l - 4), names[i]);
        if (o->log) fprintf(o->log, "Creating .rec file from %s in %s\n", lst, dir);
        long written, skipped;
        s = cf_im2rec_pack_list(lst, root, rec, idx, o, &written, &skipped, err);
        if (s == CF_OK && o->log)
            fprintf(o->log, "wrote %s and %s: %ld records, %ld skipped\n", rec, idx, written, skipped);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return s;
}
