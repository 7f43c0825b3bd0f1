/* adadelta — ADADELTA (Zeiler 2012; torch.optim.Adadelta). The step size
 * comes from the ratio of two running averages, so the learning rate is just
 * a multiplier (default 1.0):
 *
 *   g     = grad + wd p                      (weights only)
 *   v     = rho v + (1 - rho) g^2
 *   delta = sqrt((u + eps) / (v + eps)) g
 *   u     = rho u + (1 - rho) delta^2
 *   p     = p - lr delta
 *
 * Slots: 0 v, 1 u, 2 and 3 scratch, 4 decayed gradient (weight_decay > 0). */
#include <clforge/plugin.h>

typedef struct adadelta_state {
    double rho, eps, weight_decay;
} adadelta_state;

static const cf_param_def adadelta_params[] = {
    {"learning_rate", CF_PT_FLOAT, "1.0", 0, 10, NULL,
     "multiplier on the computed step (1.0 = the paper's rule, no rate needed)"},
    {"rho", CF_PT_FLOAT, "0.9", 0, 1, NULL, "decay of both running averages",
     CF_PARAM_AT(adadelta_state, rho)},
    {"eps", CF_PT_FLOAT, "1e-6", 0, 1, NULL, "added inside both square roots",
     CF_PARAM_AT(adadelta_state, eps)},
    {"weight_decay", CF_PT_FLOAT, "0", 0, 1, NULL,
     "L2 penalty added to the gradient (wd * p), weight tensors only",
     CF_PARAM_AT(adadelta_state, weight_decay)},
    CF_PARAM_TABLE_END};

static int adadelta_n_slots(void *state)
{
    return ((const adadelta_state *)state)->weight_decay != 0 ? 5 : 4;
}

#define TRY(e)                                                                                     \
    do {                                                                                           \
        cf_status st_ = (e);                                                                       \
        if (st_ != CF_OK) {                                                                        \
            cf_error_prefix(err, "adadelta: %s", q->name ? q->name : "parameter");                 \
            return st_;                                                                            \
        }                                                                                          \
    } while (0)

static cf_status adadelta_step(void *state, const cf_optim_step *st, cf_error *err)
{
    const adadelta_state *s = state;
    const cf_compute *cx = st->cx;
    /* 1 - rho in double: 1.0f - 0.9f would carry the rounding of rho. */
    const float rho = (float)s->rho, rho1 = (float)(1.0 - s->rho), eps = (float)s->eps;
    for (int i = 0; i < st->n_params; i++) {
        const cf_optim_param *q = &st->params[i];
        cf_tensor *v = q->slots[0], *u = q->slots[1], *a = q->slots[2], *b = q->slots[3];
        cf_tensor *g = q->grad;
        const float wd = q->is_weight ? (float)s->weight_decay : 0.0f;
        if (wd != 0) {
            g = q->slots[4];
            TRY(cf_vec_axpby(cx, g, 1.0f, q->grad, 0.0f, err));
            TRY(cf_vec_axpby(cx, g, wd, q->value, 1.0f, err));
        }
        TRY(cf_vec_mul(cx, v, rho1, g, g, rho, err));
        TRY(cf_vec_fill(cx, a, eps, err));
        TRY(cf_vec_axpby(cx, a, 1.0f, u, 1.0f, err));          /* a = u + eps */
        TRY(cf_vec_div(cx, b, 1.0f, a, v, eps, 0.0f, err));    /* b = a / (v + eps) */
        TRY(cf_vec_sqrt(cx, a, 1.0f, b, 0.0f, err));           /* a = sqrt(b) */
        TRY(cf_vec_mul(cx, b, 1.0f, a, g, 0.0f, err));         /* b = delta */
        TRY(cf_vec_mul(cx, u, rho1, b, b, rho, err));
        TRY(cf_vec_axpby(cx, q->value, (float)-st->lr, b, 1.0f, err));
    }
    return CF_OK;
}

static const cf_optimizer_vtable adadelta_vtable = {
    sizeof(cf_optimizer_vtable), NULL, NULL, NULL, adadelta_n_slots, adadelta_step};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_OPTIMIZER, "adadelta", "1.0.0",
    "ADADELTA: per-coordinate steps without a tuned rate (torch.optim.Adadelta)", adadelta_params,
    &adadelta_vtable, sizeof(adadelta_state));
