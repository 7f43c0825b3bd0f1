/* concat: 2 or more inputs of the same height and width stacked along the
 * channel axis (Inception / DenseNet blocks), one channel_copy per input
 * forward and backward. */
#include "model/net_impl.h"
#include "model/graph_export.h"

static cf_status infer(const cf_layer_spec *l, const cf_shape3 *in, int n, cf_shape3 *out,
                       cf_error *err)
{
    out->c = 0;
    for (int k = 0; k < n; k++) {
        if (in[k].h != in[0].h || in[k].w != in[0].w)
            return cf_error_set(err, CF_ERR_INVALID,
                                "layer '%s' (concat, line %d): input '%s' is [%d, %d, %d] but "
                                "input '%s' is [%d, %d, %d]; concat needs the same height and "
                                "width",
                                l->name, l->line, l->inputs[k], in[k].c, in[k].h, in[k].w,
                                l->inputs[0], in[0].c, in[0].h, in[0].w);
        out->c += in[k].c;
    }
    return CF_OK;
}

static cf_status forward(cf_net *net, cf_node *nd, int train, uint64_t seed, uint64_t step,
                         cf_error *err)
{
    int off = 0;
    for (int k = 0; k < nd->n_in; k++) {
        cf_op op = {0};
        op.kind = CF_OP_CHANNEL_COPY;
        op.in[0] = cf_net_in_y(net, nd, k);
        op.out[0] = &nd->z;
        op.p.chan.src_c0 = 0;
        op.p.chan.dst_c0 = off;
        op.p.chan.channels = op.in[0]->shape[1];
        off += op.p.chan.channels;
        CF_TRY(cf_net_exec(net, &op, nd, err));
    }
    return CF_OK;
}

/* Input k's gradient is its slice of g. */
static cf_status backward(cf_net *net, cf_node *nd, cf_tensor *g, cf_error *err)
{
    int off = 0;
    for (int k = 0; k < nd->n_in; k++) {
        cf_op o = {0};
        o.kind = CF_OP_CHANNEL_COPY;
        o.in[0] = g;
        o.p.chan.src_c0 = off;
        o.p.chan.dst_c0 = 0;
        o.p.chan.channels = cf_net_in_y(net, nd, k)->shape[1];
        off += o.p.chan.channels;
        CF_TRY(cf_net_emit_dx(net, nd, k, &o, err));
    }
    return CF_OK;
}

static cf_status export_graph(const cf_graph_builder *g, cf_net *net, const cf_node *nd, cf_graph_io *io,
                              cf_error *err)
{
    CF_TRY(cf_graph_same_rank(nd, io, err));
    cf_graph_attr axis = {.name = "axis", .kind = CF_GATTR_INT, .i = {1}};
    return cf_graph_node(g, "Concat", io->in, io->n_in, io->out, &axis, 1, err);
}

const cf_layer_type_def cf_layer_concat = {
    .name = "concat",
    .min_inputs = 2,
    .max_inputs = CF_MAX_INPUTS,
    .parse = cf_layer_parse_none,
    .infer = infer,
    .forward = forward,
    .backward = backward,
    .export = export_graph,
};
