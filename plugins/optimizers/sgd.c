/* sgd — stochastic gradient descent with momentum, dampening, weight decay
 * and optional Nesterov momentum (torch.optim.SGD). Update rule: sgd_rule.h
 * and docs/optimizers.md. */
#include "sgd_rule.h"

static const cf_param_def sgd_params[] = {
    {"learning_rate", CF_PT_FLOAT, "0.1", 0, 10, NULL,
     "base step size (the schedule scales it; SageMaker default 0.1)"},
    {"momentum", CF_PT_FLOAT, "0", 0, 1, NULL, "momentum factor mu (0 = plain SGD)",
     SGD_PARAM_MOMENTUM},
    {"dampening", CF_PT_FLOAT, "0", 0, 1, NULL,
     "dampening tau: new gradient enters the buffer scaled by 1 - tau (not at step 1)",
     SGD_PARAM_DAMPENING},
    {"weight_decay", CF_PT_FLOAT, "0", 0, 1, NULL,
     "L2 penalty added to the gradient (wd * p), weight tensors only", SGD_PARAM_WEIGHT_DECAY},
    {"nesterov", CF_PT_BOOL, "false", CF_PARAM_NO_RANGE, NULL,
     "Nesterov momentum (needs momentum > 0 and dampening = 0); see also `nag`",
     SGD_PARAM_NESTEROV},
    CF_PARAM_TABLE_END};

static cf_status sgd_init(void *state, const cf_params *hp, cf_error *err)
{
    return sgd_init_named("sgd", state, err);
}

static const cf_optimizer_vtable sgd_vtable = {
    sizeof(cf_optimizer_vtable), sgd_init, NULL, NULL, sgd_n_slots, sgd_step};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_OPTIMIZER, "sgd", "1.0.0",
                              "SGD with momentum, dampening, weight decay and Nesterov "
                              "(torch.optim.SGD)",
                              sgd_params, &sgd_vtable, sizeof(sgd_state));
