/* Shape inference over the spec: inputs resolved by name, counts checked
 * against the type's limits, the output shape from the type's infer hook;
 * and the `clforge model` summary built on it. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "model/model.h"

long cf_layer_param_count(const cf_layer_spec *l, cf_shape3 in)
{
    const cf_layer_type_def *d = cf_layer_def(l->type);
    return d && d->param_count ? d->param_count(l, in) : 0;
}

cf_status cf_model_infer(const cf_model_spec *m, cf_shape3 *out, int (*inputs)[CF_MAX_INPUTS],
                         cf_error *err)
{
    cf_shape3 x = {m->in_c, m->in_h, m->in_w};
    if (x.c <= 0 || x.h <= 0 || x.w <= 0)
        return cf_error_set(err, CF_ERR_INVALID, "model: input shape [%d, %d, %d] is invalid", x.c,
                            x.h, x.w);
    if (m->n == 0) return cf_error_set(err, CF_ERR_INVALID, "model: no layers");
    for (int i = 0; i < m->n; i++) {
        const cf_layer_spec *l = &m->layers[i];
        const cf_layer_type_def *d = cf_layer_def(l->type);
        if (!d || !d->infer)
            return cf_error_set(err, CF_ERR_INVALID, "layer '%s': type '%s' cannot be used here",
                                l->name, cf_layer_type_name(l->type));
        cf_shape3 in[CF_MAX_INPUTS];
        int nin = l->n_inputs ? l->n_inputs : 1;
        for (int k = 0; k < nin; k++) {
            int src = i - 1;
            if (l->n_inputs) {
                src = cf_model_spec_find(m, l->inputs[k]);
                if (!strcmp(l->inputs[k], "input")) src = -1;
                else if (src < 0 || src >= i)
                    return cf_error_set(err, CF_ERR_INVALID,
                                        "layer '%s' (line %d): input '%s' is not an earlier layer",
                                        l->name, l->line, l->inputs[k]);
            }
            inputs[i][k] = src;
            in[k] = src < 0 ? x : out[src];
        }
        for (int k = nin; k < CF_MAX_INPUTS; k++) inputs[i][k] = -2;
        if (nin < d->min_inputs || nin > d->max_inputs) {
            if (d->min_inputs == d->max_inputs)
                return cf_error_set(err, CF_ERR_INVALID,
                                    "layer '%s' (%s, line %d): takes %d input%s, has %d", l->name,
                                    d->name, l->line, d->min_inputs, d->min_inputs == 1 ? "" : "s",
                                    nin);
            return cf_error_set(err, CF_ERR_INVALID,
                                "layer '%s' (%s, line %d): takes %d to %d inputs, has %d", l->name,
                                d->name, l->line, d->min_inputs, d->max_inputs, nin);
        }
        cf_shape3 o = in[0];
        CF_TRY(d->infer(l, in, nin, &o, err));
        if (o.c <= 0 || o.h <= 0 || o.w <= 0)
            return cf_error_set(err, CF_ERR_INVALID,
                                "layer '%s' (%s, line %d): output shape [%d, %d, %d] is empty — the "
                                "input [%d, %d, %d] is too small for it",
                                l->name, cf_layer_type_name(l->type), l->line, o.c, o.h, o.w,
                                in[0].c, in[0].h, in[0].w);
        out[i] = o;
    }
    return CF_OK;
}

cf_status cf_model_summary(const cf_model_spec *m, FILE *f, long *n_params, cf_error *err)
{
    cf_shape3 *sh = cf_calloc((size_t)m->n, sizeof *sh);
    int (*in)[CF_MAX_INPUTS] = cf_calloc((size_t)m->n, sizeof *in);
    if (!sh || !in) {
        free(sh);
        free(in);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    }
    cf_status s = cf_model_infer(m, sh, in, err);
    long total = 0;
    if (!s && f) fprintf(f, "%-18s %-16s %-18s %-16s %10s\n", "layer", "type", "inputs", "output", "params");
    if (!s && f) fprintf(f, "%-18s %-16s %-18s [%d, %d, %d]%*s %10d\n", "input", "input", "-", m->in_c, m->in_h, m->in_w, 4, "", 0);
    for (int i = 0; !s && i < m->n; i++) {
        const cf_layer_spec *l = &m->layers[i];
        int src = in[i][0];
        cf_shape3 x = src < 0 ? (cf_shape3){m->in_c, m->in_h, m->in_w} : sh[src];
        long p = cf_layer_param_count(l, x);
        total += p;
        if (f) {
            char ins[CF_MAX_INPUTS * CF_NAME_MAX] = "", shape[48], typ[32];
            for (int k = 0; k < (l->n_inputs ? l->n_inputs : 1); k++) {
                const char *nm = in[i][k] < 0 ? "input" : m->layers[in[i][k]].name;
                size_t used = strlen(ins);
                snprintf(ins + used, sizeof ins - used, "%s%s", k ? "," : "", nm);
            }
            snprintf(shape, sizeof shape, "[%d, %d, %d]", sh[i].c, sh[i].h, sh[i].w);
            snprintf(typ, sizeof typ, "%s%s%s", cf_layer_type_name(l->type), l->act ? "+" : "",
                     l->act ? cf_act_name(l->act) : "");
            fprintf(f, "%-18s %-16s %-18s %-16s %10ld\n", l->name, typ, ins, shape, p);
        }
    }
    if (!s && f) fprintf(f, "total trainable parameters: %ld (%.3f M)\n", total, total / 1e6);
    if (n_params) *n_params = total;
    free(sh);
    free(in);
    return s;
}
