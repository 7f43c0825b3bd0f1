/* lion — the Lion optimizer (Chen et al. 2023, "Symbolic Discovery of
 * Optimization Algorithms"), written as an out-of-tree clforge plugin.
 *
 *   c = beta_1 m + (1 - beta_1) g          interpolate momentum and gradient
 *   p = p - lr (sign(c) + wd p)            a step of the same size everywhere
 *   m = beta_2 m + (1 - beta_2) g          then update the momentum
 *
 * Build it against an installed clforge (it links libclforge for cf_error_*):
 *   cc $(pkg-config --cflags clforge) -shared -fPIC -o cf_optimizer_lion.so lion.c \
 *      $(pkg-config --libs clforge)
 * and let clforge find it (plugin_path = ["dir"] in the config, or
 * CLFORGE_PLUGIN_PATH=dir). docs/plugins.md walks through every line. */
#include <clforge/plugin.h>

/* 1. Per-run state: the validated hyperparameters. The engine allocates it
 *    (state_size below), fills it from the table and frees it. */
typedef struct lion {
    double beta1, beta2, wd;
} lion;

/* 2. The parameters: name, type, default, range, choices, doc, and where the
 *    value goes in the state. clforge validates the user's config against
 *    this table, fills in defaults and prints it for `clforge plugins lion`.
 *    `learning_rate` is read by the engine as the base rate of the schedule
 *    (not bound: lion reads the rate in force from each step). */
static const cf_param_def lion_params[] = {
    {"learning_rate", CF_PT_FLOAT, "1e-4", 0, 1, NULL,
     "base step size (Lion wants 3-10x less than AdamW)", CF_PARAM_UNBOUND},
    {"beta_1", CF_PT_FLOAT, "0.9", 0, 1, NULL, "interpolation for the update direction",
     CF_PARAM_AT(lion, beta1)},
    {"beta_2", CF_PT_FLOAT, "0.99", 0, 1, NULL, "decay of the momentum m",
     CF_PARAM_AT(lion, beta2)},
    {"weight_decay", CF_PT_FLOAT, "0", 0, 10, NULL,
     "decoupled decay: p -= lr wd p, weight tensors only", CF_PARAM_AT(lion, wd)},
    CF_PARAM_TABLE_END};

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

/* No init (nothing to derive), create or destroy (the engine owns the state). */
static const cf_optimizer_vtable lion_vtable = {
    .struct_size = sizeof(cf_optimizer_vtable), .n_slots = lion_n_slots, .step = lion_step};

/* 5. The one exported symbol. The loader checks the ABI version, struct
 *    sizes, required members and the bindings before it calls anything. */
CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_OPTIMIZER, "lion", "1.0.0",
    "Lion: sign of interpolated momentum (Chen et al. 2023), out-of-tree example", lion_params,
    &lion_vtable, sizeof(lion));
