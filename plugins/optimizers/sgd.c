/* sgd — stochastic gradient descent with momentum, dampening, weight decay
 * and optional Nesterov momentum (torch.optim.SGD). Update rule: sgd_rule.h
 * and docs/optimizers.md. */
#include "sgd_rule.h"

static const cf_param_def sgd_params[] = {
    {"learning_rate", CF_PT_FLOAT, "0.1", 0, 10, NULL,
     "base step size (the schedule scales it; SageMaker default 0.1)"},
    {"momentum", CF_PT_FLOAT, "0", 0, 1, NULL, "momentum factor mu (0 = plain SGD)"},
    {"dampening", CF_PT_FLOAT, "0", 0, 1, NULL,
     "dampening tau: new gradient enters the buffer scaled by 1 - tau (not at step 1)"},
    {"weight_decay", CF_PT_FLOAT, "0", 0, 1, NULL,
     "L2 penalty added to the gradient (wd * p), weight tensors only"},
    {"nesterov", CF_PT_BOOL, "false", CF_PARAM_NO_RANGE, NULL,
     "Nesterov momentum (needs momentum > 0 and dampening = 0); see also `nag`"},
    CF_PARAM_TABLE_END};

static cf_status sgd_create(const cf_params *hp, void **state, cf_error *err)
{
    return sgd_create_named("sgd", hp, state, err);
}

static const cf_optimizer_vtable sgd_vtable = {
    sizeof(cf_optimizer_vtable), sgd_create, sgd_destroy, sgd_n_slots, sgd_step};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT(CF_PLUGIN_OPTIMIZER, "sgd", "1.0.0",
                        "SGD with momentum, dampening, weight decay and Nesterov (torch.optim.SGD)",
                        sgd_params, &sgd_vtable);
