/* MXNet .lst files: "index \t label [\t label ...] \t path" per line, paths
 * relative to data.root (default: the .lst's folder). Every line must have
 * the same number of labels; a line that does not parse is an error naming
 * file:line. Class names come from the paths' first folder when each label
 * has exactly one (im2rec --list --recursive writes "class/img.jpg"). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "data/reader.h"

typedef struct lst_state {
    char **paths;
    long n;
    float *labels;
    char **classes;
    int k;
} lst_state;

static int lst_detect(const char *path, int is_dir, const unsigned char *h, size_t n)
{
    (void)h;
    (void)n;
    size_t l = strlen(path);
    return !is_dir && l > 4 && !strcmp(path + l - 4, ".lst") ? 95 : 0;
}

static void lst_close(void *state)
{
    lst_state *s = state;
    if (!s) return;
    for (long i = 0; i < s->n; i++) free(s->paths[i]);
    free(s->paths);
    free(s->labels);
    for (int i = 0; s->classes && i < s->k; i++) free(s->classes[i]);
    free(s->classes);
    free(s);
}

/* Names from "name/..." paths when label <-> first folder is one to one. */
static char **class_names(lst_state *s, const char *const *rel, int width)
{
    if (width != 1 || s->k <= 0) return NULL;
    char **names = cf_calloc((size_t)s->k, sizeof *names);
    if (!names) return NULL;
    int ok = 1;
    for (long i = 0; i < s->n && ok; i++) {
        const char *sl = strchr(rel[i], '/');
        if (!sl) { ok = 0; break; }
        int c = (int)s->labels[i];
        size_t len = (size_t)(sl - rel[i]);
        if (!names[c]) {
            names[c] = malloc(len + 1);
            memcpy(names[c], rel[i], len);
            names[c][len] = 0;
        } else if (strlen(names[c]) != len || strncmp(names[c], rel[i], len)) ok = 0;
    }
    for (int c = 0; c < s->k && ok; c++) {
        if (!names[c]) ok = 0;
        for (int d = 0; d < c && ok; d++) ok = strcmp(names[c], names[d]) != 0;
    }
    if (ok) return names;
    for (int c = 0; c < s->k; c++) free(names[c]);
    free(names);
    return NULL;
}

static cf_status lst_open(const char *path, const cf_reader_opts *o, void **state, cf_reader_info *info,
                          cf_error *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return cf_error_set(err, CF_ERR_IO, "%s: cannot open", path);
    char root[1024];
    cf_list_root(path, o->root, root, sizeof root);
    lst_state *s = cf_calloc(1, sizeof *s);
    char **rel = NULL;
    long cap = 0;
    int width = 0, lineno = 0, maxl = -1;
    cf_status st = CF_OK;
    char line[4096];
    while (!st && fgets(line, sizeof line, fp) && (!o->limit || s->n < o->limit)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            st = cf_error_set(err, CF_ERR_INVALID, "%s:%d: line longer than %zu bytes", path, lineno, sizeof line - 2);
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len) continue;
        char *f[258];
        int nf = 0;
        for (char *p = line; nf < 258;) {
            f[nf++] = p;
            char *t = strchr(p, '\t');
            if (!t) break;
            *t = 0;
            p = t + 1;
        }
        if (nf < 3) {
            st = cf_error_set(err, CF_ERR_INVALID, "%s:%d: expected \"index<TAB>label<TAB>path\", got %d field(s)",
                              path, lineno, nf);
            break;
        }
        if (!width) width = nf - 2;
        if (nf - 2 != width) {
            st = cf_error_set(err, CF_ERR_INVALID, "%s:%d: %d label(s), but earlier lines have %d", path, lineno,
                              nf - 2, width);
            break;
        }
        char *end;
        errno = 0;
        strtod(f[0], &end);
        if (end == f[0] || *end) {
            st = cf_error_set(err, CF_ERR_INVALID, "%s:%d: index \"%s\" is not a number", path, lineno, f[0]);
            break;
        }
        if (s->n == cap) {
            cap = cap ? cap * 2 : 1024;
            char **np = realloc(s->paths, (size_t)cap * sizeof *np), **nr = NULL;
            if (np) s->paths = np;
            if (np) nr = realloc(rel, (size_t)cap * sizeof *nr);
            if (nr) rel = nr;
            float *nl = nr ? realloc(s->labels, (size_t)cap * width * sizeof *nl) : NULL;
            if (nl) s->labels = nl;
            if (!nl) { st = cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path); break; }
        }
        for (int j = 0; j < width && !st; j++) {
            double v = strtod(f[1 + j], &end);
            if (end == f[1 + j] || *end || !isfinite(v) || v < 0 || v != floor(v) || v > 1e6)
                st = cf_error_set(err, CF_ERR_INVALID, "%s:%d: label \"%s\" is not a class number (0, 1, ...)",
                                  path, lineno, f[1 + j]);
            else {
                s->labels[(size_t)s->n * width + j] = (float)v;
                if ((int)v > maxl) maxl = (int)v;
            }
        }
        if (st) break;
        const char *rp = f[nf - 1];
        if (!*rp) { st = cf_error_set(err, CF_ERR_INVALID, "%s:%d: empty path", path, lineno); break; }
        s->paths[s->n] = cf_list_image_path(root, rp);
        rel[s->n] = cf_strdup(rp);
        s->n++;
    }
    fclose(fp);
    if (!st && s->n == 0) st = cf_error_set(err, CF_ERR_INVALID, "%s: no entries", path);
    if (!st) {
        s->k = maxl + 1;
        s->classes = class_names(s, (const char *const *)rel, width);
    }
    for (long i = 0; i < s->n; i++) free(rel[i]);
    free(rel);
    if (st) {
        lst_close(s);
        return st;
    }
    info->n = s->n;
    info->k = s->k;
    info->class_names = s->classes;
    info->label_width = width;
    info->labels = s->labels;
    *state = s;
    return CF_OK;
}

static cf_status lst_read(void *state, long i, cf_item *it, cf_error *err)
{
    lst_state *s = state;
    return cf_item_read_file(it, s->paths[i], err);
}

const cf_reader_vtable cf_reader_lst = {"lst", lst_detect, lst_open, lst_read, lst_close};
