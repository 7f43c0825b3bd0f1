/* The SGD update shared by the `sgd` and `nag` modules (they differ only in
 * their parameter defaults). PyTorch's torch.optim.SGD algorithm:
 *
 *   g = grad + wd p                       (weights only, see docs/optimizers.md)
 *   b = g                                 at step 1, else  b = mu b + (1 - tau) g
 *   g = g + mu b  (nesterov)              or  g = b
 *   p = p - lr g
 *
 * The decay term is folded into the vector ops so no scratch tensor is needed. */
#ifndef CF_PLUGIN_SGD_RULE_H
#define CF_PLUGIN_SGD_RULE_H

#include <clforge/plugin.h>

typedef struct sgd_state {
    const char *name; /* "sgd" or "nag", for messages */
    double momentum, dampening, weight_decay;
    int nesterov;
} sgd_state;

/* The table binds momentum, dampening, weight_decay and nesterov into the
 * state (SGD_PARAM_*); init names it and checks the combination. */
#define SGD_PARAM_MOMENTUM CF_PARAM_AT(sgd_state, momentum)
#define SGD_PARAM_DAMPENING CF_PARAM_AT(sgd_state, dampening)
#define SGD_PARAM_WEIGHT_DECAY CF_PARAM_AT(sgd_state, weight_decay)
#define SGD_PARAM_NESTEROV CF_PARAM_AT(sgd_state, nesterov)

static cf_status sgd_init_named(const char *name, sgd_state *s, cf_error *err)
{
    s->name = name;
    /* Same rule as PyTorch: Nesterov momentum is undefined without momentum
     * and with dampening. */
    if (s->nesterov && (s->momentum <= 0 || s->dampening != 0))
        return cf_error_set(err, CF_ERR_INVALID,
                            "%s: nesterov = true needs momentum > 0 and dampening = 0 "
                            "(momentum = %g, dampening = %g)",
                            name, s->momentum, s->dampening);
    return CF_OK;
}

static int sgd_n_slots(void *state)
{
    const sgd_state *s = state;
    return s->momentum != 0 ? 1 : 0; /* the momentum buffer b */
}

#define SGD_TRY(e)                                                                                 \
    do {                                                                                           \
        cf_status st_ = (e);                                                                       \
        if (st_ != CF_OK) {                                                                        \
            cf_error_prefix(err, "%s: %s", s->name, q->name ? q->name : "parameter");              \
            return st_;                                                                            \
        }                                                                                          \
    } while (0)

static cf_status sgd_step(void *state, const cf_optim_step *st, cf_error *err)
{
    const sgd_state *s = state;
    const cf_compute *cx = st->cx;
    const float lr = (float)st->lr, mu = (float)s->momentum;
    for (int i = 0; i < st->n_params; i++) {
        const cf_optim_param *q = &st->params[i];
        const float wd = q->is_weight ? (float)s->weight_decay : 0.0f;
        /* coefficients like 1 - lr wd are formed in double, then rounded once */
        const float shrink = (float)(1.0 - st->lr * (q->is_weight ? s->weight_decay : 0.0));
        if (s->momentum == 0) {
            /* p = (1 - lr wd) p - lr grad */
            SGD_TRY(cf_vec_axpby(cx, q->value, -lr, q->grad, shrink, err));
            continue;
        }
        cf_tensor *b = q->slots[0];
        const float keep = st->step <= 1 ? 0.0f : mu;
        const float in = st->step <= 1 ? 1.0f : (float)(1.0 - s->dampening);
        /* b = keep b + in (grad + wd p) */
        SGD_TRY(cf_vec_axpby(cx, b, in, q->grad, keep, err));
        if (wd != 0) SGD_TRY(cf_vec_axpby(cx, b, in * wd, q->value, 1.0f, err));
        if (s->nesterov) {
            /* p = p - lr (grad + wd p + mu b) */
            SGD_TRY(cf_vec_axpby(cx, q->value, -lr, q->grad, shrink, err));
            SGD_TRY(cf_vec_axpby(cx, q->value, -lr * mu, b, 1.0f, err));
        } else {
            SGD_TRY(cf_vec_axpby(cx, q->value, -lr, b, 1.0f, err));
        }
    }
    return CF_OK;
}

#endif
