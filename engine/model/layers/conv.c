/* conv: 2-D convolution, square kernel, same stride and padding on both
 * axes. A fusion HEAD: at evaluation it can run as one conv2d_fwd_act. */
#include "core/params.h"
#include "model/net_impl.h"
#include "model/graph_export.h"

_Static_assert(sizeof(cf_conv_params) <= CF_LAYER_PARAMS_MAX, "conv settings too big");

static void defaults(cf_layer_spec *l)
{
    cf_conv_params *c = CF_CONV(l);
    c->kernel = 3;
    c->stride = 1;
    c->bias = 1;
}

static cf_status parse(cf_layer_spec *l, const cf_params *p, const char *type, const char *where,
                       cf_error *err)
{
    cf_conv_params *c = CF_CONV(l);
    c->filters = cf_params_int(p, "filters");
    c->kernel = cf_params_int(p, "kernel");
    c->padding = cf_params_int(p, "padding");
    c->bias = cf_params_bool(p, "bias");
    int stride = cf_params_int(p, "stride");
    c->stride = stride ? stride : 1;
    if (!cf_params_is_set(p, "filters"))
        return cf_error_set(err, CF_ERR_INVALID, "%s: conv layer needs 'filters'", where);
    return CF_OK;
}

static int out_dim(int in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }

static cf_status infer(const cf_layer_spec *l, const cf_shape3 *in, int n, cf_shape3 *out,
                       cf_error *err)
{
    const cf_conv_params *c = CF_CONV(l);
    out->c = c->filters;
    out->h = out_dim(in[0].h, c->kernel, c->stride, c->padding);
    out->w = out_dim(in[0].w, c->kernel, c->stride, c->padding);
    return CF_OK;
}

static long param_count(const cf_layer_spec *l, cf_shape3 in)
{
    const cf_conv_params *c = CF_CONV(l);
    return (long)c->filters * in.c * c->kernel * c->kernel + (c->bias ? c->filters : 0);
}

static cf_status build(cf_net *net, cf_node *nd, cf_shape3 x, cf_error *err)
{
    const cf_conv_params *c = CF_CONV(&nd->spec);
    int k = c->kernel, sh[4] = {c->filters, x.c, k, k};
    CF_TRY(cf_net_add_param(net, nd->spec.name, "weight", 4, sh, 1, 1, x.c * k * k,
                            c->filters * k * k, &nd->param[CF_P_WEIGHT], err));
    if (c->bias)
        CF_TRY(cf_net_add_param(net, nd->spec.name, "bias", 1, sh, 0, 1, 0, 0, &nd->param[CF_P_BIAS],
                                err));
    return CF_OK;
}

static void geometry(cf_op *op, const cf_conv_params *c)
{
    op->p.conv.stride_h = op->p.conv.stride_w = c->stride;
    op->p.conv.pad_h = op->p.conv.pad_w = c->padding;
}

static cf_status forward(cf_net *net, cf_node *nd, int train, uint64_t seed, uint64_t step,
                         cf_error *err)
{
    cf_op op = {0};
    op.kind = CF_OP_CONV2D_FWD;
    op.in[0] = cf_net_in_y(net, nd, 0);
    op.in[1] = cf_net_value(net, nd->param[CF_P_WEIGHT]);
    op.in[2] = cf_net_value(net, nd->param[CF_P_BIAS]);
    op.out[0] = &nd->z;
    geometry(&op, CF_CONV(&nd->spec));
    return cf_net_exec(net, &op, nd, err);
}

static cf_status backward(cf_net *net, cf_node *nd, cf_tensor *g, cf_error *err)
{
    cf_op w = {0}, o = {0};
    w.kind = CF_OP_CONV2D_BWD_WEIGHT;
    w.in[0] = g;
    w.in[1] = cf_net_in_y(net, nd, 0);
    w.out[0] = cf_net_grad(net, nd->param[CF_P_WEIGHT]);
    w.out[1] = cf_net_grad(net, nd->param[CF_P_BIAS]);
    geometry(&w, CF_CONV(&nd->spec));
    if (!nd->frozen) CF_TRY(cf_net_exec(net, &w, nd, err)); /* train.freeze: no weight gradient */
    if (!nd->need_dx) return CF_OK;                          /* nothing upstream trains */
    o.kind = CF_OP_CONV2D_BWD_DATA;
    o.in[0] = g;
    o.in[1] = cf_net_value(net, nd->param[CF_P_WEIGHT]);
    o.p.conv = w.p.conv;
    return cf_net_emit_dx(net, nd, 0, &o, err);
}

/* conv [+ folded batch norm] [+ residual] + activation as one op. */
static cf_status fused_forward(cf_net *net, cf_node *nd, cf_error *err)
{
    cf_node *out = &net->nodes[nd->fuse_out];
    cf_op op = {0};
    op.kind = CF_OP_CONV2D_FWD_ACT;
    op.in[0] = cf_net_in_y(net, nd, 0);
    if (nd->fuse_bn >= 0) {
        op.in[1] = &nd->fw;
        op.in[2] = &nd->fb;
    } else {
        op.in[1] = cf_net_value(net, nd->param[CF_P_WEIGHT]);
        op.in[2] = cf_net_value(net, nd->param[CF_P_BIAS]);
    }
    op.in[3] = nd->fuse_z >= 0 ? &net->nodes[nd->fuse_z].y : NULL;
    op.out[0] = &out->y;
    geometry(&op, CF_CONV(&nd->spec));
    if (out->has_act) {
        cf_op a = {0};
        cf_net_act_params(&a, &out->spec);
        op.p.conv_act.act = a.p.act.act;
        op.p.conv_act.alpha = a.p.act.alpha;
    }
    return cf_net_exec(net, &op, nd, err);
}

static const char *const aliases[] = {"conv2d", "convolution", NULL};
static const char *const keys[] = {"filters", "kernel", "stride", "padding", "bias", NULL};

static cf_status export_graph(const cf_graph_builder *g, cf_net *net, const cf_node *nd, cf_graph_io *io,
                              cf_error *err)
{
    const cf_conv_params *c = CF_CONV(&nd->spec);
    CF_TRY(cf_graph_need_map(nd, io, err));
    const char *in[3] = {io->in[0]};
    CF_TRY(cf_graph_param(g, net, nd->param[CF_P_WEIGHT], &in[1], err));
    CF_TRY(cf_graph_param(g, net, nd->param[CF_P_BIAS], &in[2], err));
    cf_graph_attr a[3] = {
        {.name = "kernel_shape", .kind = CF_GATTR_INTS, .n = 2, .i = {c->kernel, c->kernel}},
        {.name = "strides", .kind = CF_GATTR_INTS, .n = 2, .i = {c->stride, c->stride}},
        {.name = "pads", .kind = CF_GATTR_INTS, .n = 4, .i = {c->padding, c->padding, c->padding, c->padding}},
    };
    return cf_graph_node(g, "Conv", in, in[2] ? 3 : 2, io->out, a, 3, err);
}

const cf_layer_type_def cf_layer_conv = {
    .name = "conv",
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
    .fuse_role = CF_FUSE_HEAD,
    .fused_forward = fused_forward,
    .export = export_graph,
};
