/* add: the elementwise sum of 2 or more inputs of one shape (residual
 * connections). With two inputs it is a fusion RESIDUAL. */
#include "model/net_impl.h"
#include "model/graph_export.h"

static cf_status infer(const cf_layer_spec *l, const cf_shape3 *in, int n, cf_shape3 *out,
                       cf_error *err)
{
    for (int k = 1; k < n; k++)
        if (in[k].c != in[0].c || in[k].h != in[0].h || in[k].w != in[0].w)
            return cf_error_set(err, CF_ERR_INVALID,
                                "layer '%s' (add, line %d): input '%s' has shape [%d, %d, %d] but "
                                "input '%s' has [%d, %d, %d]; add needs equal shapes",
                                l->name, l->line, l->inputs[k], in[k].c, in[k].h, in[k].w,
                                l->inputs[0], in[0].c, in[0].h, in[0].w);
    return CF_OK;
}

/* z = x0 + x1, then z += xk for the rest (the two-input case is one op, as
 * before N inputs). */
static cf_status forward(cf_net *net, cf_node *nd, int train, uint64_t seed, uint64_t step,
                         cf_error *err)
{
    cf_op op = {0};
    op.kind = CF_OP_ADD;
    op.in[0] = cf_net_in_y(net, nd, 0);
    op.in[1] = cf_net_in_y(net, nd, 1);
    op.out[0] = &nd->z;
    CF_TRY(cf_net_exec(net, &op, nd, err));
    for (int k = 2; k < nd->n_in; k++) {
        cf_op a = {0};
        a.kind = CF_OP_AXPBY;
        a.in[0] = cf_net_in_y(net, nd, k);
        a.out[0] = &nd->z;
        a.p.vec.a = 1;
        a.p.vec.b = 1;
        CF_TRY(cf_net_exec(net, &a, nd, err));
    }
    return CF_OK;
}

/* Every input receives g unchanged. */
static cf_status backward(cf_net *net, cf_node *nd, cf_tensor *g, cf_error *err)
{
    for (int k = 0; k < nd->n_in; k++) {
        cf_op o = {0};
        o.kind = CF_OP_AXPBY;
        o.in[0] = g;
        o.p.vec.a = 1;
        CF_TRY(cf_net_emit_dx(net, nd, k, &o, err));
    }
    return CF_OK;
}

/* Add for two inputs, Sum for more. */
static cf_status export_graph(const cf_graph_builder *g, cf_net *net, const cf_node *nd, cf_graph_io *io,
                              cf_error *err)
{
    CF_TRY(cf_graph_same_rank(nd, io, err));
    return cf_graph_node(g, io->n_in == 2 ? "Add" : "Sum", io->in, io->n_in, io->out, NULL, 0, err);
}

const cf_layer_type_def cf_layer_add = {
    .name = "add",
    .min_inputs = 2,
    .max_inputs = CF_MAX_INPUTS,
    .parse = cf_layer_parse_none,
    .infer = infer,
    .forward = forward,
    .backward = backward,
    .fuse_role = CF_FUSE_RESIDUAL,
    .export = export_graph,
};
