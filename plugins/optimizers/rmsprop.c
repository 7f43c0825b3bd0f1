/* rmsprop — RMSprop (Hinton; torch.optim.RMSprop) with momentum, the
 * centered variant and L2 weight decay:
 *
 *   g  = grad + wd p                         (weights only)
 *   v  = gamma v + (1 - gamma) g^2
 *   ga = gamma ga + (1 - gamma) g            (centered)
 *   d  = sqrt(v - ga^2) + eps  (centered)    or  sqrt(v) + eps
 *   b  = mu b + g / d;  p = p - lr b         (momentum > 0)
 *   p  = p - lr g / d                        (otherwise)
 *
 * `gamma` is PyTorch's `alpha` (SageMaker's name). Slots are laid out at
 * create: v and d always, then the decayed gradient, ga, a second scratch
 * for the centered variance and b only when the options need them. */
#include <clforge/plugin.h>

typedef struct rmsprop_state {
    double gamma, eps, momentum, weight_decay;
    int centered;
    int n_slots;
    int s_gd, s_ga, s_var, s_buf; /* slot indices, -1 when unused */
} rmsprop_state;

static const cf_param_def rmsprop_params[] = {
    {"learning_rate", CF_PT_FLOAT, "0.01", 0, 10, NULL, "base step size"},
    {"gamma", CF_PT_FLOAT, "0.99", 0, 1, NULL,
     "decay of the squared-gradient average (PyTorch's alpha; SageMaker's gamma)",
     CF_PARAM_AT(rmsprop_state, gamma)},
    {"eps", CF_PT_FLOAT, "1e-8", 0, 1, NULL, "added to the root in the denominator",
     CF_PARAM_AT(rmsprop_state, eps)},
    {"momentum", CF_PT_FLOAT, "0", 0, 1, NULL, "momentum factor mu (0 = none)",
     CF_PARAM_AT(rmsprop_state, momentum)},
    {"centered", CF_PT_BOOL, "false", CF_PARAM_NO_RANGE, NULL,
     "divide by the estimated variance v - E[g]^2 instead of v",
     CF_PARAM_AT(rmsprop_state, centered)},
    {"weight_decay", CF_PT_FLOAT, "0", 0, 1, NULL,
     "L2 penalty added to the gradient (wd * p), weight tensors only",
     CF_PARAM_AT(rmsprop_state, weight_decay)},
    CF_PARAM_TABLE_END};

/* The slot layout follows from the bound options. */
static cf_status rmsprop_init(void *state, const cf_params *hp, cf_error *err)
{
    rmsprop_state *s = state;
    int n = 2; /* 0: v, 1: d */
    s->s_gd = s->weight_decay != 0 ? n++ : -1;
    s->s_ga = s->centered ? n++ : -1;
    s->s_var = s->centered ? n++ : -1;
    s->s_buf = s->momentum != 0 ? n++ : -1;
    s->n_slots = n;
    return CF_OK;
}

static int rmsprop_n_slots(void *state) { return ((const rmsprop_state *)state)->n_slots; }

#define TRY(e)                                                                                     \
    do {                                                                                           \
        cf_status st_ = (e);                                                                       \
        if (st_ != CF_OK) {                                                                        \
            cf_error_prefix(err, "rmsprop: %s", q->name ? q->name : "parameter");                  \
            return st_;                                                                            \
        }                                                                                          \
    } while (0)

static cf_status rmsprop_step(void *state, const cf_optim_step *st, cf_error *err)
{
    const rmsprop_state *s = state;
    const cf_compute *cx = st->cx;
    /* 1 - gamma in double: 1.0f - 0.99f would carry the rounding of gamma. */
    const float a = (float)s->gamma, a1 = (float)(1.0 - s->gamma), lr = (float)st->lr;
    for (int i = 0; i < st->n_params; i++) {
        const cf_optim_param *q = &st->params[i];
        cf_tensor *v = q->slots[0], *d = q->slots[1], *g = q->grad;
        const float wd = q->is_weight ? (float)s->weight_decay : 0.0f;
        if (wd != 0) {
            cf_tensor *gd = q->slots[s->s_gd];
            TRY(cf_vec_axpby(cx, gd, 1.0f, q->grad, 0.0f, err));
            TRY(cf_vec_axpby(cx, gd, wd, q->value, 1.0f, err));
            g = gd;
        }
        TRY(cf_vec_mul(cx, v, a1, g, g, a, err));
        if (s->centered) {
            cf_tensor *ga = q->slots[s->s_ga], *var = q->slots[s->s_var];
            TRY(cf_vec_axpby(cx, ga, a1, g, a, err));
            TRY(cf_vec_mul(cx, var, -1.0f, ga, ga, 0.0f, err)); /* var = -ga^2 */
            TRY(cf_vec_axpby(cx, var, 1.0f, v, 1.0f, err));     /* var += v */
            TRY(cf_vec_sqrt(cx, d, 1.0f, var, (float)s->eps, err));
        } else {
            TRY(cf_vec_sqrt(cx, d, 1.0f, v, (float)s->eps, err));
        }
        if (s->momentum != 0) {
            cf_tensor *b = q->slots[s->s_buf];
            TRY(cf_vec_div(cx, b, 1.0f, g, d, 0.0f, (float)s->momentum, err));
            TRY(cf_vec_axpby(cx, q->value, -lr, b, 1.0f, err));
        } else {
            TRY(cf_vec_div(cx, q->value, -lr, g, d, 0.0f, 1.0f, err));
        }
    }
    return CF_OK;
}

static const cf_optimizer_vtable rmsprop_vtable = {
    sizeof(cf_optimizer_vtable), rmsprop_init, NULL, NULL, rmsprop_n_slots, rmsprop_step};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_OPTIMIZER, "rmsprop", "1.0.0",
                              "RMSprop with momentum and centered variant (torch.optim.RMSprop)",
                              rmsprop_params, &rmsprop_vtable, sizeof(rmsprop_state));
