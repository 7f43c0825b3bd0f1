/* lamb — layer-wise adaptive moments (You et al. 2019, "Large Batch
 * Optimization for Deep Learning: Training BERT in 76 Minutes", Algorithm 2
 * with the identity scaling phi). Per parameter tensor, step t:
 *
 *   m = b1 m + (1 - b1) grad;   v = b2 v + (1 - b2) grad^2
 *   r = (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)    (bias_correction; else m / (sqrt(v) + eps))
 *   u = r + wd p
 *   trust = ||p|| / ||u||                                  (1 when either is 0)
 *   p = p - lr trust u
 *
 * Biases and normalisation parameters (is_weight = 0) take neither the decay
 * nor the trust ratio (exclude_bias_bn, as BERT's and NVIDIA's LAMB exclude
 * them from layer adaptation): their step is Adam's r. Defaults are timm's
 * Lamb. Slots: 0 m, 1 v, 2 the denominator (then the norms' scratch), 3 u. */
#include <math.h>

#include <clforge/clforge.h>

typedef struct lamb_state {
    double beta1, beta2, eps, weight_decay;
    int bias_correction, exclude;
} lamb_state;

static const cf_param_def lamb_params[] = {
    {"learning_rate", CF_PT_FLOAT, "0.001", 0, 100, NULL, "global rate lr (the schedule scales it)"},
    {"beta_1", CF_PT_FLOAT, "0.9", 0, 1, NULL, "decay of the first moment m (< 1)", CF_PARAM_AT(lamb_state, beta1)},
    {"beta_2", CF_PT_FLOAT, "0.999", 0, 1, NULL, "decay of the second moment v (< 1)", CF_PARAM_AT(lamb_state, beta2)},
    {"eps", CF_PT_FLOAT, "1e-6", 0, 1, NULL, "added to sqrt(v_hat)", CF_PARAM_AT(lamb_state, eps)},
    {"weight_decay", CF_PT_FLOAT, "0.01", 0, 1, NULL, "decoupled decay wd p added to the update before the trust ratio",
     CF_PARAM_AT(lamb_state, weight_decay)},
    {"bias_correction", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL, "divide m and v by 1 - beta^t",
     CF_PARAM_AT(lamb_state, bias_correction)},
    {"exclude_bias_bn", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL,
     "biases and batch-norm parameters skip the decay and the trust ratio", CF_PARAM_AT(lamb_state, exclude)},
    CF_PARAM_TABLE_END};

static cf_status lamb_init(void *state, const cf_params *hp, cf_error *err)
{
    const lamb_state *s = state;
    (void)hp;
    if (s->beta1 >= 1 || s->beta2 >= 1)
        return cf_error_set(err, CF_ERR_INVALID, "lamb: beta_1 and beta_2 must be < 1 (got %g, %g)", s->beta1, s->beta2);
    return CF_OK;
}

static int lamb_n_slots(void *state)
{
    (void)state;
    return 4;
}

#define TRY(e)                                                                                     \
    do {                                                                                           \
        cf_status st_ = (e);                                                                       \
        if (st_ != CF_OK) return cf_error_prefix(err, "lamb: %s", q->name ? q->name : "parameter"); \
    } while (0)

static cf_status lamb_step(void *state, const cf_optim_step *st, cf_error *err)
{
    const lamb_state *s = state;
    const cf_compute *cx = st->cx;
    const double t = (double)(st->step < 1 ? 1 : st->step);
    const double bc1 = s->bias_correction ? 1.0 - pow(s->beta1, t) : 1.0;
    const double bc2 = s->bias_correction ? 1.0 - pow(s->beta2, t) : 1.0;
    for (int i = 0; i < st->n_params; i++) {
        const cf_optim_param *q = &st->params[i];
        cf_tensor *m = q->slots[0], *v = q->slots[1], *den = q->slots[2], *u = q->slots[3];
        int adapt = q->is_weight || !s->exclude;
        TRY(cf_vec_axpby(cx, m, (float)(1.0 - s->beta1), q->grad, (float)s->beta1, err));
        TRY(cf_vec_mul(cx, v, (float)(1.0 - s->beta2), q->grad, q->grad, (float)s->beta2, err));
        TRY(cf_vec_sqrt(cx, den, (float)(1.0 / bc2), v, (float)s->eps, err));
        TRY(cf_vec_div(cx, u, (float)(1.0 / bc1), m, den, 0.0f, 0.0f, err));
        double trust = 1.0;
        if (adapt) {
            if (s->weight_decay != 0) TRY(cf_vec_axpby(cx, u, (float)s->weight_decay, q->value, 1.0f, err));
            double wss, uss;
            TRY(cf_compute_sumsq(cx, q->value, den, &wss, err));
            TRY(cf_compute_sumsq(cx, u, den, &uss, err));
            if (wss > 0 && uss > 0) trust = sqrt(wss) / sqrt(uss);
        }
        TRY(cf_vec_axpby(cx, q->value, (float)(-st->lr * trust), u, 1.0f, err));
    }
    return CF_OK;
}

static const cf_optimizer_vtable lamb_vtable = {
    sizeof(cf_optimizer_vtable), lamb_init, NULL, NULL, lamb_n_slots, lamb_step};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_OPTIMIZER, "lamb", "1.0.0",
                              "LAMB: Adam moments with a layer-wise trust ratio ||p|| / ||update|| (You et al. "
                              "2019), for large batches",
                              lamb_params, &lamb_vtable, sizeof(lamb_state));
