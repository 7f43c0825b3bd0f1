/* adagrad — AdaGrad (Duchi et al. 2011; torch.optim.Adagrad):
 *
 *   clr = lr / (1 + (t - 1) lr_decay)
 *   g   = grad + wd p                        (weights only)
 *   sum = sum + g^2                          (sum starts at initial_accumulator_value)
 *   p   = p - clr g / (sqrt(sum) + eps)
 *
 * Slots: 0 sum, 1 denominator scratch, 2 decayed gradient (weight_decay > 0).
 * The engine zero-fills slots, so the initial value is written at step 1;
 * the slot is checkpointed, so a resumed run carries it on. */
#include <clforge/plugin.h>

typedef struct adagrad_state {
    double lr_decay, eps, init, weight_decay;
} adagrad_state;

static const cf_param_def adagrad_params[] = {
    {"learning_rate", CF_PT_FLOAT, "0.01", 0, 10, NULL, "base step size"},
    {"lr_decay", CF_PT_FLOAT, "0", 0, 1, NULL, "rate in force is lr / (1 + (t - 1) lr_decay)",
     CF_PARAM_AT(adagrad_state, lr_decay)},
    {"eps", CF_PT_FLOAT, "1e-10", 0, 1, NULL, "added to sqrt(sum) in the denominator",
     CF_PARAM_AT(adagrad_state, eps)},
    {"initial_accumulator_value", CF_PT_FLOAT, "0", 0, 1e6, NULL,
     "starting value of the squared-gradient sum", CF_PARAM_AT(adagrad_state, init)},
    {"weight_decay", CF_PT_FLOAT, "0", 0, 1, NULL,
     "L2 penalty added to the gradient (wd * p), weight tensors only",
     CF_PARAM_AT(adagrad_state, weight_decay)},
    CF_PARAM_TABLE_END};

static int adagrad_n_slots(void *state)
{
    return ((const adagrad_state *)state)->weight_decay != 0 ? 3 : 2;
}

#define TRY(e)                                                                                     \
    do {                                                                                           \
        cf_status st_ = (e);                                                                       \
        if (st_ != CF_OK) {                                                                        \
            cf_error_prefix(err, "adagrad: %s", q->name ? q->name : "parameter");                  \
            return st_;                                                                            \
        }                                                                                          \
    } while (0)

static cf_status adagrad_step(void *state, const cf_optim_step *st, cf_error *err)
{
    const adagrad_state *s = state;
    const cf_compute *cx = st->cx;
    const long t = st->step < 1 ? 1 : st->step;
    const float clr = (float)(st->lr / (1.0 + (double)(t - 1) * s->lr_decay));
    for (int i = 0; i < st->n_params; i++) {
        const cf_optim_param *q = &st->params[i];
        cf_tensor *sum = q->slots[0], *d = q->slots[1], *g = q->grad;
        const float wd = q->is_weight ? (float)s->weight_decay : 0.0f;
        if (wd != 0) {
            g = q->slots[2];
            TRY(cf_vec_axpby(cx, g, 1.0f, q->grad, 0.0f, err));
            TRY(cf_vec_axpby(cx, g, wd, q->value, 1.0f, err));
        }
        if (t == 1) TRY(cf_vec_fill(cx, sum, (float)s->init, err));
        TRY(cf_vec_mul(cx, sum, 1.0f, g, g, 1.0f, err));
        TRY(cf_vec_sqrt(cx, d, 1.0f, sum, (float)s->eps, err));
        TRY(cf_vec_div(cx, q->value, -clr, g, d, 0.0f, 1.0f, err));
    }
    return CF_OK;
}

static const cf_optimizer_vtable adagrad_vtable = {
    sizeof(cf_optimizer_vtable), NULL, NULL, NULL, adagrad_n_slots, adagrad_step};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_OPTIMIZER, "adagrad", "1.0.0",
    "AdaGrad with learning-rate decay and initial accumulator (torch.optim.Adagrad)",
    adagrad_params, &adagrad_vtable, sizeof(adagrad_state));
