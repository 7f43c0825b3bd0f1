/* dense: y = x W^T + b over the flattened input. */
#include "core/params.h"
#include "model/net_impl.h"
#include "model/graph_export.h"

_Static_assert(sizeof(cf_dense_params) <= CF_LAYER_PARAMS_MAX, "dense settings too big");

static void defaults(cf_layer_spec *l) { CF_DENSE(l)->bias = 1; }

static cf_status parse(cf_layer_spec *l, const cf_params *p, const char *type, const char *where,
                       cf_error *err)
{
    CF_DENSE(l)->units = cf_params_int(p, "units");
    CF_DENSE(l)->bias = cf_params_bool(p, "bias");
    if (!cf_params_is_set(p, "units"))
        return cf_error_set(err, CF_ERR_INVALID, "%s: dense layer needs 'units'", where);
    return CF_OK;
}

static cf_status infer(const cf_layer_spec *l, const cf_shape3 *in, int n, cf_shape3 *out,
                       cf_error *err)
{
    *out = (cf_shape3){CF_DENSE(l)->units, 1, 1};
    return CF_OK;
}

static long param_count(const cf_layer_spec *l, cf_shape3 in)
{
    const cf_dense_params *d = CF_DENSE(l);
    return (long)d->units * in.c * in.h * in.w + (d->bias ? d->units : 0);
}

static cf_status build(cf_net *net, cf_node *nd, cf_shape3 x, cf_error *err)
{
    const cf_dense_params *d = CF_DENSE(&nd->spec);
    int fin = x.c * x.h * x.w, sh[2] = {d->units, fin};
    CF_TRY(cf_net_add_param(net, nd->spec.name, "weight", 2, sh, 1, 1, fin, d->units,
                            &nd->param[CF_P_WEIGHT], err));
    if (d->bias)
        CF_TRY(cf_net_add_param(net, nd->spec.name, "bias", 1, sh, 0, 1, 0, 0, &nd->param[CF_P_BIAS],
                                err));
    return CF_OK;
}

static cf_status forward(cf_net *net, cf_node *nd, int train, uint64_t seed, uint64_t step,
                         cf_error *err)
{
    cf_op op = {0};
    op.kind = CF_OP_DENSE_FWD;
    op.in[0] = cf_net_in_y(net, nd, 0);
    op.in[1] = cf_net_value(net, nd->param[CF_P_WEIGHT]);
    op.in[2] = cf_net_value(net, nd->param[CF_P_BIAS]);
    op.out[0] = &nd->z;
    return cf_net_exec(net, &op, nd, err);
}

static cf_status backward(cf_net *net, cf_node *nd, cf_tensor *g, cf_error *err)
{
    cf_op w = {0}, o = {0};
    w.kind = CF_OP_DENSE_BWD_WEIGHT;
    w.in[0] = g;
    w.in[1] = cf_net_in_y(net, nd, 0);
    w.out[0] = cf_net_grad(net, nd->param[CF_P_WEIGHT]);
    w.out[1] = cf_net_grad(net, nd->param[CF_P_BIAS]);
    if (!nd->frozen) CF_TRY(cf_net_exec(net, &w, nd, err)); /* train.freeze: no weight gradient */
    if (!nd->need_dx) return CF_OK;                          /* nothing upstream trains */
    o.kind = CF_OP_DENSE_BWD_DATA;
    o.in[0] = g;
    o.in[1] = cf_net_value(net, nd->param[CF_P_WEIGHT]);
    return cf_net_emit_dx(net, nd, 0, &o, err);
}

static const char *const aliases[] = {"fc", "linear", NULL};
static const char *const keys[] = {"units", "bias", NULL};

/* Gemm(x, W, b) with W transposed, over the flattened input. */
static cf_status export_graph(const cf_graph_builder *g, cf_net *net, const cf_node *nd, cf_graph_io *io,
                              cf_error *err)
{
    char flat[CF_GRAPH_NAME_MAX];
    const char *in[3] = {io->in[0]};
    int rank = io->in_rank[0];
    CF_TRY(cf_graph_flatten(g, nd->spec.name, &in[0], &rank, flat, err));
    CF_TRY(cf_graph_param(g, net, nd->param[CF_P_WEIGHT], &in[1], err));
    CF_TRY(cf_graph_param(g, net, nd->param[CF_P_BIAS], &in[2], err));
    cf_graph_attr tb = {.name = "transB", .kind = CF_GATTR_INT, .i = {1}};
    io->out_rank = 2;
    return cf_graph_node(g, "Gemm", in, in[2] ? 3 : 2, io->out, &tb, 1, err);
}

const cf_layer_type_def cf_layer_dense = {
    .name = "dense",
    .aliases = aliases,
    .keys = keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .defaults = defaults,
    .parse = parse,
    .infer = infer,
    .param_count = param_count,
    .build = build,
    .forward = forward,
    .backward = backward,
    .export = export_graph,
};
