/* nag — SGD with Nesterov momentum: the `sgd` update with nesterov = true and
 * momentum 0.9 by default (SageMaker's optimizer = "nag"). Its own module
 * rather than an alias of sgd because an alias cannot change defaults. */
#include "sgd_rule.h"

static const cf_param_def nag_params[] = {
    {"learning_rate", CF_PT_FLOAT, "0.1", 0, 10, NULL,
     "base step size (the schedule scales it; SageMaker default 0.1)"},
    {"momentum", CF_PT_FLOAT, "0.9", 0, 1, NULL, "momentum factor mu (must be > 0)",
     SGD_PARAM_MOMENTUM},
    {"dampening", CF_PT_FLOAT, "0", 0, 0, NULL, "must be 0 with Nesterov momentum",
     SGD_PARAM_DAMPENING},
    {"weight_decay", CF_PT_FLOAT, "0", 0, 1, NULL,
     "L2 penalty added to the gradient (wd * p), weight tensors only", SGD_PARAM_WEIGHT_DECAY},
    {"nesterov", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL,
     "Nesterov momentum (false turns nag into plain momentum SGD)", SGD_PARAM_NESTEROV},
    CF_PARAM_TABLE_END};

static cf_status nag_init(void *state, const cf_params *hp, cf_error *err)
{
    return sgd_init_named("nag", state, err);
}

static const cf_optimizer_vtable nag_vtable = {
    sizeof(cf_optimizer_vtable), nag_init, NULL, NULL, sgd_n_slots, sgd_step};

CF_EXPORT const cf_plugin_desc clforge_plugin = {
    CF_ABI_MAJOR,
    CF_ABI_MINOR,
    (uint32_t)sizeof(cf_plugin_desc),
    CF_PLUGIN_OPTIMIZER,
    "nag",
    "1.0.0",
    "SGD with Nesterov momentum (sgd with nesterov = true, momentum = 0.9)",
    nag_params,
    &nag_vtable,
    "nesterov",
    sizeof(sgd_state),
    {0}};
