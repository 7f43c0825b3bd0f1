/* SageMaker augmented manifests (JSON Lines): one object per image, e.g.
 *   {"source-ref": "img/1.jpg", "class": "3"}
 *   {"image-ref": "img/2.jpg", "class": [1, 0, 1]}       (multi-label: multi-hot or class ids)
 * The image is the first member whose name ends in "-ref"; the label is the
 * first other member holding a number, a numeric string or an array of them
 * ("-metadata" objects are ignored). Paths are local, relative to data.root
 * (default: the manifest's folder) or absolute; an s3:// reference is an
 * error (download the images first). Label lists of different lengths
 * (class ids) are padded by repeating their first id, so every item has the
 * same number of labels (data/reader.h); an empty list is an error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_parse.h"
#include "core/util.h"
#include "data/reader.h"

typedef struct manifest_state {
    char **paths;
    long n;
    float *labels;
    int k;
} manifest_state;

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

static int manifest_detect(const char *path, int is_dir, const unsigned char *h, size_t n)
{
    if (is_dir) return 0;
    if (ends_with(path, ".manifest")) return 95;
    size_t i = 0;
    while (i < n && (h[i] == ' ' || h[i] == '\n' || h[i] == '\r' || h[i] == '\t')) i++;
    int obj = i < n && h[i] == '{' && memmem(h, n, "-ref\"", 5);
    return obj && (ends_with(path, ".jsonl") || ends_with(path, ".json")) ? 80 : 0;
}

static void manifest_close(void *state)
{
    manifest_state *s = state;
    if (!s) return;
    for (long i = 0; i < s->n; i++) free(s->paths[i]);
    free(s->paths);
    free(s->labels);
    free(s);
}

/* A label value: a number or a numeric string, a whole number >= 0. */
static int label_of(const cf_jval *v, double *out)
{
    char *end;
    if (v->type == CF_JVAL_NUMBER) *out = v->num;
    else if (v->type == CF_JVAL_STRING && v->str[0]) {
        *out = strtod(v->str, &end);
        if (*end) return 0;
    } else
        return 0;
    return isfinite(*out) && *out >= 0 && *out == floor(*out) && *out <= 1e6;
}

static cf_status manifest_open(const char *path, const cf_reader_opts *o, void **state, cf_reader_info *info,
                               cf_error *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return cf_error_set(err, CF_ERR_IO, "%s: cannot open", path);
    char root[1024];
    cf_list_root(path, o->root, root, sizeof root);
    manifest_state *s = cf_calloc(1, sizeof *s);
    double **lab = NULL; /* per item, its list (first entry: the count) */
    long cap = 0;
    int width = 0, lineno = 0, maxl = -1;
    cf_status st = s ? CF_OK : cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while (!st && (len = getline(&line, &lcap, fp)) >= 0 && (!o->limit || s->n < o->limit)) {
        lineno++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len) continue;
        cf_jval *v = NULL;
        char what[1100];
        snprintf(what, sizeof what, "%s:%d", path, lineno);
        if ((st = cf_jval_parse(line, (size_t)len, what, &v, err))) break;
        const char *ref = NULL;
        const cf_jval *lv = NULL;
        for (int i = 0; v->type == CF_JVAL_OBJECT && i < v->n; i++) {
            const char *key = v->keys[i];
            const cf_jval *m = v->items[i];
            if (!ref && ends_with(key, "-ref") && m->type == CF_JVAL_STRING) ref = m->str;
            else if (!lv && !ends_with(key, "-ref") && !ends_with(key, "-metadata") &&
                     (m->type == CF_JVAL_NUMBER || m->type == CF_JVAL_STRING || m->type == CF_JVAL_ARRAY))
                lv = m;
        }
        int nl = lv ? (lv->type == CF_JVAL_ARRAY ? lv->n : 1) : 0;
        if (!ref || !*ref)
            st = cf_error_set(err, CF_ERR_INVALID, "%s:%d: no image reference (a \"source-ref\" member)", path, lineno);
        else if (!strncmp(ref, "s3://", 5))
            st = cf_error_set(err, CF_ERR_INVALID, "%s:%d: %s is an S3 reference: download the images and give "
                              "their local paths (relative to data.root or the manifest's folder)", path, lineno, ref);
        else if (!lv)
            st = cf_error_set(err, CF_ERR_INVALID, "%s:%d: no label member (e.g. \"class\": 3)", path, lineno);
        else if (nl == 0)
            st = cf_error_set(err, CF_ERR_INVALID, "%s:%d: an empty label list", path, lineno);
        double *l = st ? NULL : malloc(((size_t)nl + 1) * sizeof *l);
        if (!st && !l) st = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        for (int j = 0; !st && j < nl; j++) {
            const cf_jval *e = lv->type == CF_JVAL_ARRAY ? lv->items[j] : lv;
            if (!label_of(e, &l[j + 1]))
                st = cf_error_set(err, CF_ERR_INVALID, "%s:%d: label %d is not a class number (0, 1, ...)", path,
                                  lineno, j + 1);
            else if ((int)l[j + 1] > maxl)
                maxl = (int)l[j + 1];
        }
        if (!st && s->n == cap) {
            cap = cap ? cap * 2 : 1024;
            char **np = realloc(s->paths, (size_t)cap * sizeof *np);
            if (np) s->paths = np;
            double **nq = np ? realloc(lab, (size_t)cap * sizeof *nq) : NULL;
            if (nq) lab = nq;
            if (!nq) st = cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
        }
        if (!st) {
            l[0] = nl;
            if (nl > width) width = nl;
            lab[s->n] = l;
            s->paths[s->n++] = cf_list_image_path(root, ref);
        } else
            free(l);
        cf_jval_free(v);
    }
    free(line);
    fclose(fp);
    if (!st && s->n == 0) st = cf_error_set(err, CF_ERR_INVALID, "%s: no entries", path);
    if (!st && !(s->labels = malloc((size_t)s->n * (size_t)width * sizeof *s->labels)))
        st = cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
    for (long i = 0; !st && i < s->n; i++) /* shorter lists repeat their first id */
        for (int j = 0; j < width; j++)
            s->labels[(size_t)i * width + j] = (float)lab[i][j < (int)lab[i][0] ? j + 1 : 1];
    for (long i = 0; lab && i < s->n; i++) free(lab[i]);
    free(lab);
    if (st) {
        manifest_close(s);
        return st;
    }
    s->k = maxl + 1;
    info->n = s->n;
    info->k = s->k;
    info->class_names = NULL;
    info->label_width = width;
    info->labels = s->labels;
    *state = s;
    return CF_OK;
}

static cf_status manifest_read(void *state, long i, cf_item *it, cf_error *err)
{
    manifest_state *s = state;
    return cf_item_read_file(it, s->paths[i], err);
}

const cf_reader_vtable cf_reader_manifest = {"manifest", manifest_detect, manifest_open, manifest_read,
                                             manifest_close};
