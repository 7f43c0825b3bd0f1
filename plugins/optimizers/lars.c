/* lars — layer-wise adaptive rate scaling (You, Gitman & Ginsburg 2017,
 * "Large Batch Training of Convolutional Networks"), with momentum and
 * weight decay. Per parameter tensor, with eta the trust coefficient:
 *
 *   trust = eta ||p|| / (||grad|| + wd ||p|| + eps)   (1 when ||p|| or ||grad|| is 0)
 *   d     = trust (grad + wd p)
 *   b     = d at step 1, else  b = mu b + (1 - tau) d
 *   p     = p - lr (d + mu b)  (nesterov)   or   p = p - lr b
 *
 * This is the paper's Algorithm 1 with the global rate outside the momentum
 * buffer (as timm's and NVIDIA's LARC implementations write it): with a
 * constant rate the two are the same update. Biases and normalisation
 * parameters (is_weight = 0) are excluded from the adaptation and the decay
 * (exclude_bias_bn, as the common implementations do): they take the plain
 * momentum step. Unlike timm, the adaptation runs whether or not wd > 0, as
 * in the paper. Slots: 0 scratch (the norms, then d), 1 the buffer b. */
#include <math.h>

#include <clforge/clforge.h>

typedef struct lars_state {
    double momentum, dampening, weight_decay, eta, eps;
    int nesterov, exclude;
} lars_state;

static const cf_param_def lars_params[] = {
    {"learning_rate", CF_PT_FLOAT, "0.1", 0, 100, NULL, "global rate lr (the schedule scales it)"},
    {"momentum", CF_PT_FLOAT, "0.9", 0, 1, NULL, "momentum mu", CF_PARAM_AT(lars_state, momentum)},
    {"dampening", CF_PT_FLOAT, "0", 0, 1, NULL, "dampening tau of the buffer (not at step 1)",
     CF_PARAM_AT(lars_state, dampening)},
    {"weight_decay", CF_PT_FLOAT, "0", 0, 1, NULL, "wd: decay beta of the paper, inside the trust ratio",
     CF_PARAM_AT(lars_state, weight_decay)},
    {"trust_coefficient", CF_PT_FLOAT, "0.001", 0, 100, NULL, "eta: the layer's rate is eta ||p|| / ||d||",
     CF_PARAM_AT(lars_state, eta)},
    {"eps", CF_PT_FLOAT, "1e-8", 0, 1, NULL, "added to the trust ratio's denominator", CF_PARAM_AT(lars_state, eps)},
    {"nesterov", CF_PT_BOOL, "false", CF_PARAM_NO_RANGE, NULL, "Nesterov momentum (needs momentum > 0, dampening 0)",
     CF_PARAM_AT(lars_state, nesterov)},
    {"exclude_bias_bn", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL,
     "biases and batch-norm parameters skip the adaptation and the decay", CF_PARAM_AT(lars_state, exclude)},
    CF_PARAM_TABLE_END};

static cf_status lars_init(void *state, const cf_params *hp, cf_error *err)
{
    const lars_state *s = state;
    (void)hp;
    if (s->nesterov && (s->momentum <= 0 || s->dampening != 0))
        return cf_error_set(err, CF_ERR_INVALID, "lars: nesterov = true needs momentum > 0 and dampening = 0");
    return CF_OK;
}

static int lars_n_slots(void *state)
{
    const lars_state *s = state;
    return s->momentum != 0 ? 2 : 1;
}

#define TRY(e)                                                                                     \
    do {                                                                                           \
        cf_status st_ = (e);                                                                       \
        if (st_ != CF_OK) return cf_error_prefix(err, "lars: %s", q->name ? q->name : "parameter"); \
    } while (0)

static cf_status lars_step(void *state, const cf_optim_step *st, cf_error *err)
{
    const lars_state *s = state;
    const cf_compute *cx = st->cx;
    const float lr = (float)st->lr, mu = (float)s->momentum;
    for (int i = 0; i < st->n_params; i++) {
        const cf_optim_param *q = &st->params[i];
        cf_tensor *d = q->grad;
        if (q->is_weight || !s->exclude) {
            double wss, gss;
            TRY(cf_compute_sumsq(cx, q->value, q->slots[0], &wss, err));
            TRY(cf_compute_sumsq(cx, q->grad, q->slots[0], &gss, err));
            double wn = sqrt(wss), gn = sqrt(gss), wd = s->weight_decay;
            double trust = wn > 0 && gn > 0 ? s->eta * wn / (gn + wd * wn + s->eps) : 1.0;
            d = q->slots[0];
            TRY(cf_vec_axpby(cx, d, (float)trust, q->grad, 0.0f, err));
            if (wd != 0) TRY(cf_vec_axpby(cx, d, (float)(trust * wd), q->value, 1.0f, err));
        }
        if (s->momentum == 0) {
            TRY(cf_vec_axpby(cx, q->value, -lr, d, 1.0f, err));
            continue;
        }
        cf_tensor *b = q->slots[1];
        const float keep = st->step <= 1 ? 0.0f : mu;
        const float in = st->step <= 1 ? 1.0f : (float)(1.0 - s->dampening);
        TRY(cf_vec_axpby(cx, b, in, d, keep, err));
        if (s->nesterov) {
            TRY(cf_vec_axpby(cx, q->value, -lr, d, 1.0f, err));
            TRY(cf_vec_axpby(cx, q->value, -lr * mu, b, 1.0f, err));
        } else {
            TRY(cf_vec_axpby(cx, q->value, -lr, b, 1.0f, err));
        }
    }
    return CF_OK;
}

static const cf_optimizer_vtable lars_vtable = {
    sizeof(cf_optimizer_vtable), lars_init, NULL, NULL, lars_n_slots, lars_step};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_OPTIMIZER, "lars", "1.0.0",
                              "LARS: SGD with momentum and a layer-wise trust ratio eta ||p|| / ||grad + wd p|| "
                              "(You et al. 2017), for large batches",
                              lars_params, &lars_vtable, sizeof(lars_state));
