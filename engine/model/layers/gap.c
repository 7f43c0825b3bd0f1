/* gap: global average pooling, [C, H, W] -> [C, 1, 1]. */
#include "model/net_impl.h"
#include "model/graph_export.h"

static cf_status infer(const cf_layer_spec *l, const cf_shape3 *in, int n, cf_shape3 *out,
                       cf_error *err)
{
    out->h = out->w = 1;
    return CF_OK;
}

static cf_status forward(cf_net *net, cf_node *nd, int train, uint64_t seed, uint64_t step,
                         cf_error *err)
{
    cf_op op = {0};
    op.kind = CF_OP_GAP_FWD;
    op.in[0] = cf_net_in_y(net, nd, 0);
    op.out[0] = &nd->z;
    return cf_net_exec(net, &op, nd, err);
}

static cf_status backward(cf_net *net, cf_node *nd, cf_tensor *g, cf_error *err)
{
    cf_op o = {0};
    o.kind = CF_OP_GAP_BWD;
    o.in[0] = g;
    return cf_net_emit_dx(net, nd, 0, &o, err);
}

static const char *const aliases[] = {"global_avgpool", NULL};

static cf_status export_graph(const cf_graph_builder *g, cf_net *net, const cf_node *nd, cf_graph_io *io,
                              cf_error *err)
{
    CF_TRY(cf_graph_need_map(nd, io, err));
    return cf_graph_node(g, "GlobalAveragePool", io->in, 1, io->out, NULL, 0, err);
}

const cf_layer_type_def cf_layer_gap = {
    .name = "gap",
    .aliases = aliases,
    .min_inputs = 1,
    .max_inputs = 1,
    .parse = cf_layer_parse_none,
    .infer = infer,
    .forward = forward,
    .backward = backward,
    .export = export_graph,
};
