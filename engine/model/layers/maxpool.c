/* maxpool: the maximum of each window (the gradient goes to the first maximum). */
#include "model/layers/pool.h"
#include "model/net_impl.h"
#include "model/graph_export.h"

static cf_status forward(cf_net *net, cf_node *nd, int train, uint64_t seed, uint64_t step,
                         cf_error *err)
{
    cf_op op = {0};
    op.kind = CF_OP_MAXPOOL_FWD;
    op.in[0] = cf_net_in_y(net, nd, 0);
    op.out[0] = &nd->z;
    cf_pool_geometry(&op, &nd->spec);
    return cf_net_exec(net, &op, nd, err);
}

static cf_status backward(cf_net *net, cf_node *nd, cf_tensor *g, cf_error *err)
{
    cf_op o = {0};
    o.kind = CF_OP_MAXPOOL_BWD;
    o.in[0] = g;
    o.in[1] = cf_net_in_y(net, nd, 0);
    cf_pool_geometry(&o, &nd->spec);
    return cf_net_emit_dx(net, nd, 0, &o, err);
}

static cf_status export_graph(const cf_graph_builder *g, cf_net *net, const cf_node *nd, cf_graph_io *io,
                              cf_error *err)
{
    return cf_pool_export(g, nd, io, "MaxPool", err);
}

const cf_layer_type_def cf_layer_maxpool = {
    .name = "maxpool",
    .keys = cf_pool_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .defaults = cf_pool_defaults,
    .parse = cf_pool_parse,
    .infer = cf_pool_infer,
    .forward = forward,
    .backward = backward,
    .export = export_graph,
};
