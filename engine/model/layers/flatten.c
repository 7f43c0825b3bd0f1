/* flatten: [C, H, W] -> [C*H*W, 1, 1] in the same memory (the ops read any
 * tensor by its trailing element count), so it emits no op. */
#include "model/net_impl.h"
#include "model/graph_export.h"

static cf_status infer(const cf_layer_spec *l, const cf_shape3 *in, int n, cf_shape3 *out,
                       cf_error *err)
{
    *out = (cf_shape3){in[0].c * in[0].h * in[0].w, 1, 1};
    return CF_OK;
}

static cf_status build(cf_net *net, cf_node *nd, cf_shape3 x, cf_error *err)
{
    if (nd->in[0] < 0)
        return cf_error_set(err, CF_ERR_INVALID, "layer '%s': flatten of the raw input is not needed",
                            nd->spec.name);
    return CF_OK;
}

static cf_status export_graph(const cf_graph_builder *g, cf_net *net, const cf_node *nd, cf_graph_io *io,
                              cf_error *err)
{
    cf_graph_attr axis = {.name = "axis", .kind = CF_GATTR_INT, .i = {1}};
    io->out_rank = 2;
    return cf_graph_node(g, "Flatten", io->in, 1, io->out, &axis, 1, err);
}

const cf_layer_type_def cf_layer_flatten = {
    .name = "flatten",
    .min_inputs = 1,
    .max_inputs = 1,
    .flags = CF_LAYER_NO_ACT | CF_LAYER_ALIAS,
    .parse = cf_layer_parse_none,
    .infer = infer,
    .build = build,
    .export = export_graph,
};
