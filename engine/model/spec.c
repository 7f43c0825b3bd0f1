/* The model spec as a container: layers appended or inserted with their
 * type's defaults, found by name, and the plugin-facing view (plugin.h)
 * regularizers rewrite the model through. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/params.h"
#include "model/model.h"

cf_model_spec *cf_model_spec_new(void)
{
    cf_model_spec *m = cf_calloc(1, sizeof *m);
    if (m) snprintf(m->init, sizeof m->init, "he");
    return m;
}

void cf_model_spec_free(cf_model_spec *m)
{
    if (!m) return;
    free(m->layers);
    free(m);
}

int cf_model_spec_find(const cf_model_spec *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->layers[i].name, name)) return i;
    return -1;
}

static void auto_name(const cf_model_spec *m, cf_layer_type t, char *out)
{
    for (int k = 1;; k++) {
        char cand[CF_NAME_MAX];
        snprintf(cand, sizeof cand, "%s%d", cf_layer_type_name(t), k);
        if (cf_model_spec_find(m, cand) < 0) {
            strcpy(out, cand);
            return;
        }
    }
}

static cf_layer_spec *insert_at(cf_model_spec *m, int pos, cf_layer_type t, const char *name)
{
    if (m->n == m->cap) {
        int nc = m->cap ? m->cap * 2 : 16;
        cf_layer_spec *nl = realloc(m->layers, (size_t)nc * sizeof *nl);
        if (!nl) return NULL;
        m->layers = nl;
        m->cap = nc;
    }
    memmove(&m->layers[pos + 1], &m->layers[pos], (size_t)(m->n - pos) * sizeof *m->layers);
    m->n++;
    cf_layer_spec *l = &m->layers[pos];
    memset(l, 0, sizeof *l);
    l->type = t;
    l->alpha = -1;
    const cf_layer_type_def *d = cf_layer_def(t);
    if (d && d->defaults) d->defaults(l);
    if (name && *name) snprintf(l->name, sizeof l->name, "%s", name);
    else auto_name(m, t, l->name);
    return l;
}

cf_layer_spec *cf_model_spec_append(cf_model_spec *m, cf_layer_type t, const char *name)
{
    return insert_at(m, m->n, t, name);
}

/* ---- plugin-facing API (plugin.h) ---------------------------------------- */
int cf_model_spec_count(const cf_model_spec *m) { return m->n; }
const char *cf_model_spec_type(const cf_model_spec *m, int i)
{
    return i >= 0 && i < m->n ? cf_layer_type_name(m->layers[i].type) : NULL;
}
const char *cf_model_spec_name(const cf_model_spec *m, int i)
{
    return i >= 0 && i < m->n ? m->layers[i].name : NULL;
}

int cf_model_spec_insert_after(cf_model_spec *m, int i, const char *type, const char *name,
                               const cf_params *params, cf_error *err)
{
    if (i < 0 || i >= m->n) {
        cf_error_set(err, CF_ERR_INVALID, "insert after layer %d: no such layer", i);
        return -1;
    }
    cf_layer_type t = cf_layer_type_from_name(type);
    const cf_layer_type_def *d = cf_layer_def(t);
    if (!d || !(d->flags & CF_LAYER_INSERTABLE)) {
        cf_error_set(err, CF_ERR_INVALID, "insert after '%s': layer type '%s' cannot be inserted",
                     m->layers[i].name, type);
        return -1;
    }
    if (name && *name && cf_model_spec_find(m, name) >= 0) {
        cf_error_set(err, CF_ERR_INVALID, "insert after '%s': a layer named '%s' exists already",
                     m->layers[i].name, name);
        return -1;
    }
    char prev[CF_NAME_MAX];
    snprintf(prev, sizeof prev, "%s", m->layers[i].name);
    cf_layer_spec *l = insert_at(m, i + 1, t, name);
    if (!l) {
        cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        return -1;
    }
    l->n_inputs = 1;
    snprintf(l->inputs[0], CF_NAME_MAX, "%s", prev);
    if (d->inserted) d->inserted(l, &m->layers[i], params);
    /* Every consumer of the previous layer now reads the inserted one. */
    for (int j = i + 2; j < m->n; j++)
        for (int k = 0; k < m->layers[j].n_inputs; k++)
            if (!strcmp(m->layers[j].inputs[k], prev))
                snprintf(m->layers[j].inputs[k], CF_NAME_MAX, "%s", l->name);
    return i + 1;
}
