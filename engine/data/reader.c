/* The reader registry: built-in formats, run-time registrations, detection
 * (each format scores how sure it is; the best wins) and the helpers the
 * readers share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/util.h"
#include "data/reader.h"

#define MAX_FORMATS 16
static const cf_reader_vtable *extra[MAX_FORMATS];
static int n_extra;

cf_status cf_reader_register(const cf_reader_vtable *v, cf_error *err)
{
    if (n_extra == MAX_FORMATS) return cf_error_set(err, CF_ERR_INVALID, "too many dataset formats");
    extra[n_extra++] = v;
    return CF_OK;
}

/* Built-ins then registrations; RecordIO only when recordio.c is linked. */
static int formats(const cf_reader_vtable **out)
{
    int n = 0;
    out[n++] = &cf_reader_idx;
    out[n++] = &cf_reader_folder;
    out[n++] = &cf_reader_lst;
    out[n++] = &cf_reader_cifar;
    out[n++] = &cf_reader_manifest;
    if (&cf_reader_recordio) out[n++] = &cf_reader_recordio;
    for (int i = 0; i < n_extra; i++) out[n++] = extra[i];
    return n;
}

const cf_reader_vtable *cf_reader_find(const char *name)
{
    const cf_reader_vtable *f[MAX_FORMATS + 8];
    const cf_reader_vtable *hit = NULL;
    int n = formats(f);
    for (int i = 0; i < n; i++)
        if (!strcmp(f[i]->name, name)) hit = f[i];
    return hit;
}

cf_status cf_reader_detect(const char *path, const char *format, const cf_reader_vtable **out,
                           cf_error *err)
{
    const cf_reader_vtable *f[MAX_FORMATS + 8];
    int n = formats(f);
    if (format && *format && strcmp(format, "auto")) {
        if (!(*out = cf_reader_find(format))) {
            cf_sbuf b = {0};
            for (int i = 0; i < n; i++) cf_sbuf_printf(&b, "%s%s", i ? ", " : "", f[i]->name);
            cf_status st = cf_error_set(err, CF_ERR_INVALID, "data.format \"%s\" is not a known format (%s)",
                                        format, b.s ? b.s : "");
            cf_sbuf_free(&b);
            return st;
        }
        return CF_OK;
    }
    struct stat sb;
    if (stat(path, &sb)) return cf_error_set(err, CF_ERR_IO, "%s: no such file or folder", path);
    int is_dir = S_ISDIR(sb.st_mode);
    unsigned char head[64];
    size_t hn = 0;
    if (!is_dir) {
        FILE *fp = fopen(path, "rb");
        if (!fp) return cf_error_set(err, CF_ERR_IO, "%s: cannot open", path);
        hn = fread(head, 1, sizeof head, fp);
        fclose(fp);
    }
    int best = 0;
    *out = NULL;
    for (int i = 0; i < n; i++) {
        int sc = f[i]->detect ? f[i]->detect(path, is_dir, is_dir ? NULL : head, hn) : 0;
        if (sc > best || (sc == best && sc > 0)) best = sc, *out = f[i];
    }
    if (!*out)
        return cf_error_set(err, CF_ERR_INVALID,
                            "%s: not a dataset clforge knows (a folder of class folders, a .lst, a .rec, "
                            "CIFAR binaries or IDX); set data.format to say which", path);
    return CF_OK;
}

cf_status cf_reader_open(const char *path, const char *format, const cf_reader_opts *o,
                         cf_reader **out, cf_error *err)
{
    const cf_reader_vtable *v;
    CF_TRY(cf_reader_detect(path, format, &v, err));
    cf_reader *r = cf_calloc(1, sizeof *r);
    if (!r) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    static const cf_reader_opts none;
    r->v = v;
    snprintf(r->path, sizeof r->path, "%s", path);
    cf_status st = v->open(path, o ? o : &none, &r->state, &r->info, err);
    if (st) {
        free(r);
        return st;
    }
    *out = r;
    return CF_OK;
}

cf_status cf_reader_read(cf_reader *r, long i, cf_item *it, cf_error *err)
{
    if (i < 0 || i >= r->info.n)
        return cf_error_set(err, CF_ERR_INVALID, "%s: item %ld of %ld", r->path, i, r->info.n);
    it->name[0] = 0;
    return r->v->read(r->state, i, it, err);
}

void cf_reader_close(cf_reader *r)
{
    if (!r) return;
    if (r->v && r->v->close) r->v->close(r->state);
    free(r);
}

void cf_item_free(cf_item *it)
{
    free(it->buf);
    it->buf = NULL;
    it->cap = 0;
}

cf_status cf_item_reserve(cf_item *it, size_t n, cf_error *err)
{
    if (n <= it->cap) return CF_OK;
    size_t cap = it->cap ? it->cap : 4096;
    while (cap < n) cap *= 2;
    unsigned char *b = realloc(it->buf, cap);
    if (!b) return cf_error_set(err, CF_ERR_NOMEM, "out of memory (%zu bytes)", n);
    it->buf = b;
    it->cap = cap;
    return CF_OK;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void cf_sort_names(char **names, int n)
{
    if (n > 1) qsort(names, (size_t)n, sizeof *names, name_cmp);
}

void cf_list_root(const char *list_path, const char *root, char *out, size_t n)
{
    if (root && *root) snprintf(out, n, "%s", root);
    else {
        const char *sl = strrchr(list_path, '/');
        snprintf(out, n, "%.*s", sl ? (int)(sl - list_path) : 1, sl ? list_path : ".");
    }
}

char *cf_list_image_path(const char *root, const char *rel)
{
    char full[2048];
    if (rel[0] == '/') snprintf(full, sizeof full, "%s", rel);
    else snprintf(full, sizeof full, "%s/%s", root, rel);
    return cf_strdup(full);
}

cf_status cf_item_read_file(cf_item *it, const char *path, cf_error *err)
{
    snprintf(it->name, sizeof it->name, "%s", path);
    FILE *fp = fopen(path, "rb");
    if (!fp) return cf_error_set(err, CF_ERR_IO, "%s: cannot open", path);
    size_t len = 0;
    for (;;) {
        cf_status st = cf_item_reserve(it, len + 65536, err);
        if (st) {
            fclose(fp);
            return st;
        }
        size_t got = fread(it->buf + len, 1, it->cap - len, fp);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) return cf_error_set(err, CF_ERR_IO, "%s: read error", path);
    it->kind = CF_ITEM_ENCODED;
    it->data = it->buf;
    it->len = len;
    return CF_OK;
}

int cf_is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    static const char *const ext[] = {".jpg", ".jpeg", ".png", ".pgm", ".ppm"};
    for (int i = 0; i < 5; i++)
        if (!strcasecmp(dot, ext[i])) return 1;
    return 0;
}
