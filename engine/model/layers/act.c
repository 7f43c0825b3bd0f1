/* activation: only an activation (`type = "relu"` or `type = "activation";
 * activation = "relu"`). Its input's output is its pre-activation, so the
 * engine's activation step is all it does. */
#include <string.h>

#include "core/params.h"
#include "model/net_impl.h"
#include "model/graph_export.h"

static cf_status parse(cf_layer_spec *l, const cf_params *p, const char *type, const char *where,
                       cf_error *err)
{
    if (strcmp(type, "activation")) l->act = cf_act_from_name(type);
    if (l->act == CF_ACT_NONE)
        return cf_error_set(err, CF_ERR_INVALID, "%s: activation layer needs 'activation'", where);
    return CF_OK;
}

static cf_status infer(const cf_layer_spec *l, const cf_shape3 *in, int n, cf_shape3 *out,
                       cf_error *err)
{
    return CF_OK;
}

static const char *const aliases[] = {"relu", "leaky_relu", "sigmoid", "tanh", "elu",
                                      "gelu", "identity",   "leaky",   NULL};

/* Nothing of its own: the walk emits the activation of its input. */
static cf_status export_graph(const cf_graph_builder *g, cf_net *net, const cf_node *nd, cf_graph_io *io,
                              cf_error *err)
{
    io->out = io->in[0];
    return CF_OK;
}

const cf_layer_type_def cf_layer_act = {
    .name = "activation",
    .aliases = aliases,
    .min_inputs = 1,
    .max_inputs = 1,
    .flags = CF_LAYER_ACT_ONLY | CF_LAYER_INSERTABLE,
    .parse = parse,
    .infer = infer,
    .export = export_graph,
};
