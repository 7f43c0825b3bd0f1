/* softmax over each sample's features (a network ending in probabilities,
 * e.g. for the mse loss). */
#include "model/net_impl.h"
#include "model/graph_export.h"

static cf_status infer(const cf_layer_spec *l, const cf_shape3 *in, int n, cf_shape3 *out,
                       cf_error *err)
{
    return CF_OK;
}

static cf_status forward(cf_net *net, cf_node *nd, int train, uint64_t seed, uint64_t step,
                         cf_error *err)
{
    cf_op op = {0};
    op.kind = CF_OP_SOFTMAX_FWD;
    op.in[0] = cf_net_in_y(net, nd, 0);
    op.out[0] = &nd->z;
    return cf_net_exec(net, &op, nd, err);
}

static cf_status backward(cf_net *net, cf_node *nd, cf_tensor *g, cf_error *err)
{
    cf_op o = {0};
    o.kind = CF_OP_SOFTMAX_BWD;
    o.in[0] = g;
    o.in[1] = &nd->y;
    return cf_net_emit_dx(net, nd, 0, &o, err);
}

/* Over each sample's features: a [C, 1, 1] map is softmax along axis 1, a
 * larger map would need a reshape back and is refused. */
static cf_status export_graph(const cf_graph_builder *g, cf_net *net, const cf_node *nd, cf_graph_io *io,
                              cf_error *err)
{
    if (io->in_rank[0] != 2 && nd->shape.h * nd->shape.w != 1)
        return cf_error_set(err, CF_ERR_UNSUPPORTED, "layer '%s' (softmax): over a [%d, %d, %d] map; ONNX "
                            "export takes softmax of a vector only", nd->spec.name, nd->shape.c,
                            nd->shape.h, nd->shape.w);
    cf_graph_attr axis = {.name = "axis", .kind = CF_GATTR_INT, .i = {1}};
    return cf_graph_node(g, "Softmax", io->in, 1, io->out, &axis, 1, err);
}

const cf_layer_type_def cf_layer_softmax = {
    .name = "softmax",
    .min_inputs = 1,
    .max_inputs = 1,
    .flags = CF_LAYER_NO_ACT,
    .parse = cf_layer_parse_none,
    .infer = infer,
    .forward = forward,
    .backward = backward,
    .export = export_graph,
};
