/* Where dropout/batchnorm layers go: `after` lists layer names and/or layer
 * types. A name matches that one layer; a type matches every layer of it,
 * except that the last dense-like layer (the classifier producing the logits)
 * is skipped, since neither dropout nor batchnorm belongs on the logits. An
 * entry that matches nothing is an error, so typos do not pass silently.
 * Layers are inserted from the back so earlier indices stay valid. */
#ifndef CF_PLUGIN_PLACEMENT_H
#define CF_PLUGIN_PLACEMENT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clforge/plugin.h>

/* The engine's canonical layer type for a name a user may write in `after`. */
static const char *placement_canon(const char *type)
{
    static const char *const alias[][2] = {{"fc", "dense"},           {"linear", "dense"},
                                           {"fully_connected", "dense"}, {"conv2d", "conv"},
                                           {"convolution", "conv"},     {"batch_norm", "batchnorm"}};
    for (size_t k = 0; type && k < sizeof alias / sizeof alias[0]; k++)
        if (strcmp(type, alias[k][0]) == 0) return alias[k][1];
    return type;
}

static int placement_is_dense(const char *type)
{
    return type && strcmp(placement_canon(type), "dense") == 0;
}

static int placement_eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* Insert a layer of `new_type` (named "<layer>_<suffix>") after every layer
 * that `after` selects; hp is handed to the new layers as their parameters. */
static cf_status placement_insert(cf_model_spec *m, const cf_params *hp, const char *who,
                                  const char *new_type, const char *suffix, cf_error *err)
{
    const int n = cf_model_spec_count(m), n_after = cf_params_list_len(hp, "after");
    if (n_after <= 0)
        return cf_error_set(err, CF_ERR_INVALID, "%s: `after` names no layer or layer type", who);
    char *pick = calloc((size_t)n + 1, 1);
    if (!pick) return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", who);
    cf_status st = CF_OK;
    for (int e = 0; e < n_after && st == CF_OK; e++) {
        const char *want = cf_params_list_str(hp, "after", e);
        const char *want_type = placement_canon(want);
        int found = 0, last_dense = -1;
        for (int i = 0; i < n; i++) {
            const char *type = cf_model_spec_type(m, i);
            if (placement_eq(type, want_type) && placement_is_dense(type)) last_dense = i;
        }
        for (int i = 0; i < n; i++) {
            const char *type = cf_model_spec_type(m, i), *name = cf_model_spec_name(m, i);
            if (placement_eq(name, want) ||
                (placement_eq(type, want_type) && !placement_eq(type, new_type) &&
                 i != last_dense)) {
                pick[i] = 1;
                found = 1;
            }
        }
        if (!found) {
            char known[512] = "";
            size_t len = 0;
            for (int i = 0; i < n && len + 1 < sizeof known; i++) {
                int w = snprintf(known + len, sizeof known - len, "%s%s (%s)", i ? ", " : "",
                                 cf_model_spec_name(m, i), cf_model_spec_type(m, i));
                if (w < 0) break;
                len += (size_t)w;
            }
            if (last_dense >= 0)
                st = cf_error_set(err, CF_ERR_INVALID,
                                  "%s: after = \"%s\" matches only the output layer; name it "
                                  "explicitly to place %s after the logits (layers: %s)",
                                  who, want, new_type, known);
            else
                st = cf_error_set(err, CF_ERR_INVALID,
                                  "%s: after = \"%s\" matches no layer name or type (layers: %s)",
                                  who, want, known);
        }
    }
    for (int i = n - 1; i >= 0 && st == CF_OK; i--) {
        if (!pick[i]) continue;
        const char *base = cf_model_spec_name(m, i);
        char name[256];
        if (base)
            snprintf(name, sizeof name, "%s_%s", base, suffix);
        else
            snprintf(name, sizeof name, "layer%d_%s", i, suffix);
        if (cf_model_spec_insert_after(m, i, new_type, name, hp, err) < 0) {
            cf_error_prefix(err, "%s", who);
            st = err ? err->status : CF_ERR_INVALID;
            if (st == CF_OK) st = CF_ERR_INVALID;
        }
    }
    free(pick);
    return st;
}

#endif
