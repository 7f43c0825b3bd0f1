/* `clforge im2rec --list`: im2rec.py's list_image + make_list + write_list.
 * Walk order is os.walk's (top-down, sub-folders and files sorted by bytes,
 * symlinks followed); with --recursive each folder that holds an image gets
 * the next label in that order, which for a one-level tree is the sorted
 * class-folder order. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "data/im2rec.h"

void cf_im2rec_defaults(cf_im2rec_opts *o)
{
    memset(o, 0, sizeof *o);
    o->shuffle = 1;
    o->chunks = 1;
    o->train_ratio = 1.0;
    o->exts[0] = ".jpeg";
    o->exts[1] = ".jpg";
    o->exts[2] = ".png";
    o->n_exts = 3;
    o->quality = 95;
    o->num_thread = 1;
    o->color = 1;
    o->encoding = ".jpg";
}

typedef struct entry {
    long index;
    int label;
    char *path; /* relative to root */
} entry;

typedef struct list {
    entry *v;
    long n, cap;
    int n_cats;
    const cf_im2rec_opts *o;
    const char *root;
} list;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* os.path.splitext(name)[1].lower() is one of the extensions. */
static int ext_ok(const char *name, const cf_im2rec_opts *o)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    const char *p = name;
    while (p < dot && *p == '.') p++;
    if (p == dot) return 0; /* only leading dots: no extension */
    char low[32];
    size_t n = strlen(dot);
    if (n >= sizeof low) return 0;
    for (size_t i = 0; i <= n; i++) low[i] = (char)(dot[i] >= 'A' && dot[i] <= 'Z' ? dot[i] + 32 : dot[i]);
    for (int i = 0; i < o->n_exts; i++)
        if (strcmp(low, o->exts[i]) == 0) return 1;
    return 0;
}

static char *join(const char *a, const char *b)
{
    if (!*a) return cf_strdup(b);
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", a, b);
    return s;
}

static void free_names(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

static cf_status add(list *l, const char *rel, int label, cf_error *err)
{
    if (l->n == l->cap) {
        long c = l->cap ? l->cap * 2 : 256;
        entry *v = realloc(l->v, (size_t)c * sizeof *v);
        if (!v) return cf_error_set(err, CF_ERR_NOMEM, "out of memory listing %s", l->root);
        l->v = v;
        l->cap = c;
    }
    char *p = cf_strdup(rel);
    if (!p) return cf_error_set(err, CF_ERR_NOMEM, "out of memory listing %s", l->root);
    l->v[l->n] = (entry){l->n, label, p};
    l->n++;
    return CF_OK;
}

/* One folder (rel to root): its images, then (recursive) its sorted sub-folders. */
static cf_status walk(list *l, const char *rel, int depth, cf_error *err)
{
    char *full = *rel ? join(l->root, rel) : cf_strdup(l->root);
    if (!full) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    DIR *d = opendir(full);
    if (!d) {
        cf_status s = depth == 0 ? cf_error_set(err, CF_ERR_IO, "%s: cannot open folder: %s", full, strerror(errno)) : CF_OK;
        free(full); /* os.walk skips unreadable sub-folders silently */
        return s;
    }
    char **files = NULL, **dirs = NULL;
    int nf = 0, nd = 0, cf = 0, cd = 0;
    cf_status s = CF_OK;
    struct dirent *e;
    while (s == CF_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = join(full, e->d_name);
        struct stat st;
        int is_dir = p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
        int is_file = p && !is_dir && stat(p, &st) == 0 && S_ISREG(st.st_mode);
        free(p);
        char ***v = is_dir ? &dirs : &files;
        int *n = is_dir ? &nd : &nf, *c = is_dir ? &cd : &cf;
        if (!is_dir && !(is_file && ext_ok(e->d_name, l->o))) continue;
        if (!is_dir && !l->o->recursive && depth > 0) continue;
        if (*n == *c) {
            *c = *c ? *c * 2 : 64;
            char **q = realloc(*v, (size_t)*c * sizeof *q);
            if (!q) {
                s = cf_error_set(err, CF_ERR_NOMEM, "out of memory listing %s", full);
                break;
            }
            *v = q;
        }
        if (!((*v)[(*n)++] = cf_strdup(e->d_name))) s = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    }
    closedir(d);
    if (s == CF_OK) {
        if (nf) qsort(files, (size_t)nf, sizeof *files, cmp_str); /* NULL when empty: UB for qsort */
        if (nd) qsort(dirs, (size_t)nd, sizeof *dirs, cmp_str);
        int label = l->o->recursive ? l->n_cats : 0;
        for (int i = 0; i < nf && s == CF_OK; i++) {
            char *r = join(rel, files[i]);
            s = r ? add(l, r, label, err) : cf_error_set(err, CF_ERR_NOMEM, "out of memory");
            free(r);
        }
        if (nf && l->o->recursive) {
            if (l->o->log) fprintf(l->o->log, "%s %d\n", *rel ? rel : ".", label);
            l->n_cats++;
        }
        for (int i = 0; i < nd && s == CF_OK && l->o->recursive; i++) {
            char *r = join(rel, dirs[i]);
            s = r ? walk(l, r, depth + 1, err) : cf_error_set(err, CF_ERR_NOMEM, "out of memory");
            free(r);
        }
    }
    free_names(files, nf);
    free_names(dirs, nd);
    free(full);
    return s;
}

static cf_status write_list(const char *path, const list *l, const long *order, long from, long to,
                            cf_error *err)
{
    cf_sbuf b = {0};
    for (long i = from; i < to; i++) {
        const entry *e = &l->v[order[i]];
        cf_sbuf_printf(&b, "%ld\t%f\t%s\n", e->index, (double)e->label, e->path);
    }
    cf_status s = b.oom ? cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path)
                        : cf_write_file_atomic(path, b.s ? b.s : "", b.len, err);
    cf_sbuf_free(&b);
    if (s == CF_OK && l->o->log) fprintf(l->o->log, "wrote %s (%ld images)\n", path, to - from);
    return s;
}

cf_status cf_im2rec_list(const char *prefix, const char *root, const cf_im2rec_opts *o,
                         cf_error *err)
{
    if (o->chunks < 1) return cf_error_set(err, CF_ERR_INVALID, "--chunks %d: at least 1", o->chunks);
    if (o->train_ratio < 0 || o->train_ratio > 1 || o->test_ratio < 0 || o->test_ratio > 1)
        return cf_error_set(err, CF_ERR_INVALID, "--train-ratio and --test-ratio are fractions from 0 to 1");
    list l = {.o = o, .root = root};
    cf_status s = walk(&l, "", 0, err);
    long *order = s == CF_OK ? malloc(sizeof(long) * (size_t)(l.n ? l.n : 1)) : NULL;
    if (s == CF_OK && !order) s = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    if (s == CF_OK && l.n == 0)
        s = cf_error_set(err, CF_ERR_IO, "%s: no images (%s%s%s%s)", root, o->exts[0],
                         o->n_exts > 1 ? " " : "", o->n_exts > 1 ? o->exts[1] : "",
                         o->n_exts > 2 ? " ..." : "");
    if (s == CF_OK) {
        for (long i = 0; i < l.n; i++) order[i] = i;
        if (o->shuffle) cf_py_shuffle(order, l.n, 100); /* random.seed(100) */
        long chunk = (l.n + o->chunks - 1) / o->chunks;
        char path[4096];
        for (int c = 0; c < o->chunks && s == CF_OK; c++) {
            long from = (long)c * chunk, to = from + chunk;
            if (from > l.n) from = l.n;
            if (to > l.n) to = l.n;
            char sfx[32] = "";
            if (o->chunks > 1) snprintf(sfx, sizeof sfx, "_%d", c);
            long sep = (long)(chunk * o->train_ratio), sep_test = (long)(chunk * o->test_ratio);
            long n = to - from;
#define CLAMP(v) ((v) > n ? n : (v))
            if (o->train_ratio == 1.0) {
                snprintf(path, sizeof path, "%s%s.lst", prefix, sfx);
                s = write_list(path, &l, order, from, to, err);
                continue;
            }
            if (o->test_ratio != 0) {
                snprintf(path, sizeof path, "%s%s_test.lst", prefix, sfx);
                s = write_list(path, &l, order, from, from + CLAMP(sep_test), err);
            }
            if (s == CF_OK && o->train_ratio + o->test_ratio < 1.0) {
                snprintf(path, sizeof path, "%s%s_val.lst", prefix, sfx);
                s = write_list(path, &l, order, from + CLAMP(sep_test + sep), to, err);
            }
            if (s == CF_OK) {
                snprintf(path, sizeof path, "%s%s_train.lst", prefix, sfx);
                s = write_list(path, &l, order, from + CLAMP(sep_test), from + CLAMP(sep_test + sep), err);
            }
#undef CLAMP
        }
    }
    for (long i = 0; i < l.n; i++) free(l.v[i].path);
    free(l.v);
    free(order);
    return s;
}
