/* l2 — the L2 penalty of the course notes, (lambda / 2m) sum w^2 over the
 * chosen parameters, with m the mini-batch size. Its gradient is added to the
 * (batch-mean) gradient before the optimizer runs:
 *
 *   grad += (lambda / m) w
 *
 * which is plain weight decay with wd = lambda / m. By default only weight
 * tensors (is_weight: dense/conv kernels) are penalised, not biases or
 * batchnorm gamma/beta. */
#include <string.h>

#include <clforge/plugin.h>

typedef struct l2_state {
    double lambda;
    const char *params; /* "weights" or "all" */
    int all;
} l2_state;

static const cf_param_def l2_params[] = {
    {"lambda", CF_PT_FLOAT, "0.01", 0, 1e6, NULL,
     "penalty strength: adds (lambda / 2m) sum w^2 to the loss (m = mini-batch size)",
     CF_PARAM_AT(l2_state, lambda)},
    {"params", CF_PT_STRING, "weights", CF_PARAM_NO_RANGE, "weights|all",
     "which parameters: weight tensors only, or all (biases and normalisation too)",
     CF_PARAM_AT(l2_state, params)},
    CF_PARAM_TABLE_END};

static cf_status l2_init(void *state, const cf_params *hp, cf_error *err)
{
    l2_state *s = state;
    s->all = s->params && strcmp(s->params, "all") == 0;
    return CF_OK;
}

static cf_status l2_apply_grads(void *state, const cf_optim_step *st, int batch, cf_error *err)
{
    const l2_state *s = state;
    if (batch <= 0) return cf_error_set(err, CF_ERR_INVALID, "l2: mini-batch size %d", batch);
    const float k = (float)(s->lambda / batch);
    if (k == 0) return CF_OK;
    for (int i = 0; i < st->n_params; i++) {
        const cf_optim_param *q = &st->params[i];
        if (!s->all && !q->is_weight) continue;
        cf_status r = cf_vec_axpby(st->cx, q->grad, k, q->value, 1.0f, err);
        if (r != CF_OK) {
            cf_error_prefix(err, "l2: %s", q->name ? q->name : "parameter");
            return r;
        }
    }
    return CF_OK;
}

static const cf_regularizer_vtable l2_vtable = {
    sizeof(cf_regularizer_vtable), l2_init, NULL, NULL, NULL, l2_apply_grads};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_REGULARIZER, "l2", "1.0.0",
                              "L2 penalty (lambda/2m) sum w^2, i.e. weight decay lambda/m",
                              l2_params, &l2_vtable, sizeof(l2_state));
