/* The folder format (torchvision ImageFolder, MXNet im2rec --recursive): one
 * sub-folder per class, classes numbered in sorted name order, images found
 * recursively below each (.jpg .jpeg .png .pgm .ppm in any case; other files
 * and hidden entries are ignored, as ImageFolder does). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "data/reader.h"

typedef struct folder_state {
    char **paths;
    long n, cap;
    float *labels;
    char **classes;
    int k;
} folder_state;

static int is_dir_path(const char *p)
{
    struct stat sb;
    return !stat(p, &sb) && S_ISDIR(sb.st_mode);
}

/* The sorted non-hidden entries of dir (files and folders). */
static cf_status list_dir(const char *dir, char ***out, int *n, cf_error *err)
{
    DIR *d = opendir(dir);
    if (!d) return cf_error_set(err, CF_ERR_IO, "%s: cannot open the folder", dir);
    char **v = NULL;
    int cnt = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        v[cnt++] = cf_strdup(e->d_name);
    }
    closedir(d);
    cf_sort_names(v, cnt);
    *out = v;
    *n = cnt;
    return CF_OK;
}

static void free_names(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

static int folder_detect(const char *path, int is_dir, const unsigned char *h, size_t n)
{
    (void)h;
    (void)n;
    if (!is_dir) return 0;
    char **v;
    int cnt, sub = 0;
    if (list_dir(path, &v, &cnt, NULL)) return 0;
    for (int i = 0; i < cnt && !sub; i++) {
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", path, v[i]);
        sub = is_dir_path(p);
    }
    free_names(v, cnt);
    return sub ? 50 : 0;
}

static cf_status add_images(folder_state *s, const char *dir, int label, long limit, int depth, cf_error *err)
{
    if (depth > 32) /* a symlink loop, or nothing a dataset needs */
        return cf_error_set(err, CF_ERR_INVALID, "%s: folders nested more than 32 deep (a symlink loop?)", dir);
    char **v;
    int cnt;
    CF_TRY(list_dir(dir, &v, &cnt, err));
    cf_status st = CF_OK;
    for (int i = 0; i < cnt && !st && (!limit || s->n < limit); i++) {
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, v[i]);
        if (is_dir_path(p)) {
            st = add_images(s, p, label, limit, depth + 1, err);
            continue;
        }
        if (!cf_is_image_name(v[i])) continue;
        if (s->n == s->cap) {
            long nc = s->cap ? s->cap * 2 : 1024;
            char **np = realloc(s->paths, (size_t)nc * sizeof *np);
            float *nl = realloc(s->labels, (size_t)nc * sizeof *nl);
            if (np) s->paths = np;
            if (nl) s->labels = nl;
            if (!np || !nl) {
                st = cf_error_set(err, CF_ERR_NOMEM, "out of memory listing %s", dir);
                break;
            }
            s->cap = nc;
        }
        s->paths[s->n] = cf_strdup(p);
        s->labels[s->n++] = (float)label;
    }
    free_names(v, cnt);
    return st;
}

static void folder_close(void *state)
{
    folder_state *s = state;
    if (!s) return;
    free_names(s->paths, (int)s->n);
    free_names(s->classes, s->k);
    free(s->labels);
    free(s);
}

static cf_status folder_open(const char *path, const cf_reader_opts *o, void **state, cf_reader_info *info,
                             cf_error *err)
{
    char **v;
    int cnt;
    CF_TRY(list_dir(path, &v, &cnt, err));
    folder_state *s = cf_calloc(1, sizeof *s);
    if (!s) {
        free_names(v, cnt);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    }
    s->classes = cf_calloc((size_t)cnt + 1, sizeof *s->classes);
    cf_status st = CF_OK;
    for (int i = 0; i < cnt && !st; i++) {
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", path, v[i]);
        if (!is_dir_path(p)) continue; /* loose files beside the class folders */
        long before = s->n;
        s->classes[s->k] = cf_strdup(v[i]);
        st = add_images(s, p, s->k, o->limit, 0, err);
        s->k++;
        if (!st && s->n == before && !(o->limit && s->n >= o->limit))
            st = cf_error_set(err, CF_ERR_INVALID, "%s: class folder \"%s\" holds no images (.jpg .jpeg .png "
                                                   ".pgm .ppm)", path, v[i]);
    }
    free_names(v, cnt);
    if (!st && s->k == 0) st = cf_error_set(err, CF_ERR_INVALID, "%s: no class folders", path);
    if (st) {
        folder_close(s);
        return st;
    }
    info->n = s->n;
    info->k = s->k;
    info->class_names = s->classes;
    info->label_width = 1;
    info->labels = s->labels;
    *state = s;
    return CF_OK;
}

static cf_status folder_read(void *state, long i, cf_item *it, cf_error *err)
{
    folder_state *s = state;
    return cf_item_read_file(it, s->paths[i], err);
}

const cf_reader_vtable cf_reader_folder = {"folder", folder_detect, folder_open, folder_read, folder_close};
