/* lion — the Lion optimizer (Chen et al. 2023, "Symbolic Discovery of
 * Optimization Algorithms"), written as an out-of-tree clforge plugin.
 *
 *   c = beta_1 m + (1 - beta_1) g          interpolate momentum and gradient
 *   p = p - lr (sign(c) + wd p)            a step of the same size everywhere
 *   m = beta_2 m + (1 - beta_2) g          then update the momentum
 *
 * Build it against an installed clforge:
 *   cc $(pkg-config --cflags clforge) -shared -fPIC -o cf_optimizer_lion.so lion.c
 * and let clforge find it (plugin_path = ["dir"] in the config, or
 * CLFORGE_PLUGIN_PATH=dir). docs/plugins.md walks through every line. */
#include <stdlib.h>

#include <clforge/plugin.h>

/* 1. The parameters: name, type, default, range, choices, doc. clforge
 *    validates the user's config against this table, fills in defaults and
 *    prints it for `clforge plugins lion`. `learning_rate` is read by the
 *    engine as the base rate of the schedule. */
static const cf_param_def lion_params[] = {
    {"learning_rate", CF_PT_FLOAT, "1e-4", 0, 1, NULL,
     "base step size (Lion wants 3-10x less than AdamW)"},
    {"beta_1", CF_PT_FLOAT, "0.9", 0, 1, NULL, "interpolation for the update direction"},
    {"beta_2", CF_PT_FLOAT, "0.99", 0, 1, NULL, "decay of the momentum m"},
    {"weight_decay", CF_PT_FLOAT, "0", 0, 10, NULL,
     "decoupled decay: p -= lr wd p, weight tensors only"},
    CF_PARAM_TABLE_END};

/* 2. Per-run state: the validated hyperparameters. */
typedef struct lion {
    double beta1, beta2, wd;
} lion;

static cf_status lion_create(const cf_params *hp, void **state, cf_error *err)
{
    lion *s = malloc(sizeof *s);
    if (!s) return cf_error_set(err, CF_ERR_NOMEM, "lion: out of memory");
    s->beta1 = cf_params_num(hp, "beta_1");
    s->beta2 = cf_params_num(hp, "beta_2");
    s->wd = cf_params_num(hp, "weight_decay");
    *state = s;
    return CF_OK;
}

static void lion_destroy(void *state) { free(state); }

/* 3. Slots: tensors shaped like each parameter, zeroed at the start and saved
 *    in checkpoints by the engine. Slot 0 is the momentum m, slot 1 scratch
 *    for c. */
static int lion_n_slots(void *state)
{
    (void)state;
    return 2;
}

/* 4. One update of every parameter. Only cf_vec_* calls touch tensors, so the
 *    same code runs on the reference, cpu and OpenCL backends. */
static cf_status lion_step(void *state, const cf_optim_step *st, cf_error *err)
{
    const lion *s = state;
    /* Coefficients are formed in double and rounded once: 1.0f - 0.99f
     * would carry the float rounding of 0.99 into a small number. */
    const float lr = (float)st->lr; /* the rate in force, after the schedule */
    const float b1 = (float)s->beta1, b1c = (float)(1 - s->beta1);
    const float b2 = (float)s->beta2, b2c = (float)(1 - s->beta2);
    for (int i = 0; i < st->n_params; i++) {
        const cf_optim_param *q = &st->params[i];
        cf_tensor *m = q->slots[0], *c = q->slots[1];
        const double wd = q->is_weight ? s->wd : 0.0; /* no decay on biases */
        /* c = (1 - b1) g + b1 m  (b = 0 in the first call: c is not read) */
        CF_TRY(cf_vec_axpby(st->cx, c, b1c, q->grad, 0.0f, err));
        CF_TRY(cf_vec_axpby(st->cx, c, b1, m, 1.0f, err));
        /* p = -lr sign(c) + (1 - lr wd) p */
        CF_TRY(cf_vec_sign(st->cx, q->value, -lr, c, (float)(1 - st->lr * wd), err));
        /* m = (1 - b2) g + b2 m */
        CF_TRY(cf_vec_axpby(st->cx, m, b2c, q->grad, b2, err));
    }
    return CF_OK;
}

static const cf_optimizer_vtable lion_vtable = {sizeof(cf_optimizer_vtable), lion_create,
                                                lion_destroy, lion_n_slots, lion_step};

/* 5. The one exported symbol. The loader checks the ABI version and struct
 *    sizes before it calls anything. */
CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT(CF_PLUGIN_OPTIMIZER, "lion", "1.0.0",
                        "Lion: sign of interpolated momentum (Chen et al. 2023), out-of-tree example",
                        lion_params, &lion_vtable);
