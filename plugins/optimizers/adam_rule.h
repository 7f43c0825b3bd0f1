/* The Adam update shared by `adam` (L2 decay coupled into the gradient) and
 * `adamw` (decoupled decay, Loshchilov & Hutter). torch.optim.Adam / AdamW:
 *
 *   g = grad + wd p                         (adam only; weights only)
 *   m = b1 m + (1 - b1) g
 *   v = b2 v + (1 - b2) g^2
 *   vmax = max(vmax, v)                     (amsgrad; then v := vmax below)
 *   d = sqrt(v / (1 - b2^t)) + eps
 *   p = (1 - lr wd) p - lr / (1 - b1^t) * m / d      (the (1 - lr wd) for adamw)
 *
 * Slots: 0 m, 1 v, 2 scratch (decayed gradient, then d), 3 vmax (amsgrad). */
#ifndef CF_PLUGIN_ADAM_RULE_H
#define CF_PLUGIN_ADAM_RULE_H

#include <math.h>
#include <stdlib.h>

#include <clforge/plugin.h>

typedef struct adam_state {
    const char *name;
    int decoupled;
    double beta1, beta2, eps, weight_decay;
    int amsgrad;
} adam_state;

/* Bindings of the shared table rows into adam_state. */
#define ADAM_PARAM_BETA1 CF_PARAM_AT(adam_state, beta1)
#define ADAM_PARAM_BETA2 CF_PARAM_AT(adam_state, beta2)
#define ADAM_PARAM_EPS CF_PARAM_AT(adam_state, eps)
#define ADAM_PARAM_WEIGHT_DECAY CF_PARAM_AT(adam_state, weight_decay)
#define ADAM_PARAM_AMSGRAD CF_PARAM_AT(adam_state, amsgrad)

static cf_status adam_init_named(const char *name, int decoupled, adam_state *s, cf_error *err)
{
    s->name = name;
    s->decoupled = decoupled;
    /* beta = 1 would make the bias correction 1 - beta^t zero. */
    if (s->beta1 >= 1 || s->beta2 >= 1)
        return cf_error_set(err, CF_ERR_INVALID, "%s: beta_1 and beta_2 must be < 1 (got %g, %g)",
                            name, s->beta1, s->beta2);
    return CF_OK;
}

static int adam_n_slots(void *state)
{
    const adam_state *s = state;
    return s->amsgrad ? 4 : 3;
}

#define ADAM_TRY(e)                                                                                \
    do {                                                                                           \
        cf_status st_ = (e);                                                                       \
        if (st_ != CF_OK) {                                                                        \
            cf_error_prefix(err, "%s: %s", s->name, q->name ? q->name : "parameter");              \
            return st_;                                                                            \
        }                                                                                          \
    } while (0)

static cf_status adam_step(void *state, const cf_optim_step *st, cf_error *err)
{
    const adam_state *s = state;
    const cf_compute *cx = st->cx;
    const double t = (double)(st->step < 1 ? 1 : st->step);
    const double bc1 = 1.0 - pow(s->beta1, t), bc2 = 1.0 - pow(s->beta2, t);
    /* 1 - beta in double: 1.0f - 0.999f is off by 1.3e-5 relative. */
    const float b1 = (float)s->beta1, b2 = (float)s->beta2;
    const float b1c = (float)(1.0 - s->beta1), b2c = (float)(1.0 - s->beta2);
    for (int i = 0; i < st->n_params; i++) {
        const cf_optim_param *q = &st->params[i];
        cf_tensor *m = q->slots[0], *v = q->slots[1], *tmp = q->slots[2];
        const float wd = q->is_weight ? (float)s->weight_decay : 0.0f;
        cf_tensor *g = q->grad;
        if (!s->decoupled && wd != 0) {
            ADAM_TRY(cf_vec_axpby(cx, tmp, 1.0f, q->grad, 0.0f, err));
            ADAM_TRY(cf_vec_axpby(cx, tmp, wd, q->value, 1.0f, err));
            g = tmp;
        }
        ADAM_TRY(cf_vec_axpby(cx, m, b1c, g, b1, err));
        ADAM_TRY(cf_vec_mul(cx, v, b2c, g, g, b2, err));
        cf_tensor *vv = v;
        if (s->amsgrad) {
            cf_tensor *vmax = q->slots[3];
            /* vmax = max(vmax, v) through tmp: outputs never alias inputs. */
            ADAM_TRY(cf_vec_max(cx, tmp, vmax, v, err));
            ADAM_TRY(cf_vec_axpby(cx, vmax, 1.0f, tmp, 0.0f, err));
            vv = vmax;
        }
        ADAM_TRY(cf_vec_sqrt(cx, tmp, (float)(1.0 / bc2), vv, (float)s->eps, err));
        const float keep = s->decoupled ? (float)(1.0 - st->lr * wd) : 1.0f;
        ADAM_TRY(cf_vec_div(cx, q->value, (float)(-st->lr / bc1), m, tmp, 0.0f, keep, err));
    }
    return CF_OK;
}

#endif
