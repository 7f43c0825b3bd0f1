/* adam — Adam (Kingma & Ba) with coupled L2 weight decay and AMSGrad
 * (torch.optim.Adam). Update rule: adam_rule.h and docs/optimizers.md. */
#include "adam_rule.h"

static const cf_param_def adam_params[] = {
    {"learning_rate", CF_PT_FLOAT, "0.001", 0, 10, NULL, "base step size"},
    {"beta_1", CF_PT_FLOAT, "0.9", 0, 1, NULL, "decay of the first-moment estimate m (< 1)",
     ADAM_PARAM_BETA1},
    {"beta_2", CF_PT_FLOAT, "0.999", 0, 1, NULL, "decay of the second-moment estimate v (< 1)",
     ADAM_PARAM_BETA2},
    {"eps", CF_PT_FLOAT, "1e-8", 0, 1, NULL, "added to sqrt(v_hat) in the denominator",
     ADAM_PARAM_EPS},
    {"weight_decay", CF_PT_FLOAT, "0", 0, 1, NULL,
     "L2 penalty added to the gradient (wd * p) before the moments, weight tensors only",
     ADAM_PARAM_WEIGHT_DECAY},
    {"amsgrad", CF_PT_BOOL, "false", CF_PARAM_NO_RANGE, NULL,
     "use the running maximum of v (Reddi et al. 2018)", ADAM_PARAM_AMSGRAD},
    CF_PARAM_TABLE_END};

static cf_status adam_init(void *state, const cf_params *hp, cf_error *err)
{
    return adam_init_named("adam", 0, state, err);
}

static const cf_optimizer_vtable adam_vtable = {
    sizeof(cf_optimizer_vtable), adam_init, NULL, NULL, adam_n_slots, adam_step};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_OPTIMIZER, "adam", "1.0.0",
                              "Adam with optional L2 weight decay and AMSGrad (torch.optim.Adam)",
                              adam_params, &adam_vtable, sizeof(adam_state));
