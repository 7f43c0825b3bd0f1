/* batchnorm: per-channel normalisation with batch statistics while training
 * and running statistics at evaluation. A fusion AFFINE: in eval mode it is
 * a per-channel scale and shift, folded into the conv before it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/params.h"
#include "model/net_impl.h"
#include "model/graph_export.h"

_Static_assert(sizeof(cf_batchnorm_params) <= CF_LAYER_PARAMS_MAX, "batchnorm settings too big");

enum { GAMMA = 0, BETA, RUN_MEAN, RUN_VAR };  /* nd->param[] */
enum { DX_SCRATCH = 0, SAVE_MEAN, SAVE_INVSTD }; /* nd->aux[] */

static void defaults(cf_layer_spec *l)
{
    CF_BATCHNORM(l)->eps = 1e-5f;
    CF_BATCHNORM(l)->momentum = 0.1f;
}

static cf_status parse(cf_layer_spec *l, const cf_params *p, const char *type, const char *where,
                       cf_error *err)
{
    CF_BATCHNORM(l)->eps = (float)cf_params_num(p, "eps");
    CF_BATCHNORM(l)->momentum = (float)cf_params_num(p, "momentum");
    return CF_OK;
}

/* conv -> bn -> act: the activation moves behind the normalisation. */
static void inserted(cf_layer_spec *l, cf_layer_spec *prev, const cf_params *p)
{
    if (p) {
        double e = cf_params_num(p, "eps"), mo = cf_params_num(p, "momentum");
        if (e == e) CF_BATCHNORM(l)->eps = (float)e;
        if (mo == mo) CF_BATCHNORM(l)->momentum = (float)mo;
    }
    l->act = prev->act;
    l->alpha = prev->alpha;
    prev->act = CF_ACT_NONE;
}

static cf_status infer(const cf_layer_spec *l, const cf_shape3 *in, int n, cf_shape3 *out,
                       cf_error *err)
{
    return CF_OK;
}

static long param_count(const cf_layer_spec *l, cf_shape3 in) { return 2L * in.c; }

static cf_status build(cf_net *net, cf_node *nd, cf_shape3 x, cf_error *err)
{
    const char *nm = nd->spec.name;
    int sh[1] = {x.c};
    CF_TRY(cf_net_add_param(net, nm, "gamma", 1, sh, 0, 1, 0, 0, &nd->param[GAMMA], err));
    CF_TRY(cf_net_add_param(net, nm, "beta", 1, sh, 0, 1, 0, 0, &nd->param[BETA], err));
    CF_TRY(cf_net_add_param(net, nm, "running_mean", 1, sh, 0, 0, 0, 0, &nd->param[RUN_MEAN], err));
    CF_TRY(cf_net_add_param(net, nm, "running_var", 1, sh, 0, 0, 0, 0, &nd->param[RUN_VAR], err));
    CF_TRY(cf_tensor_alloc(net->b, &nd->aux[SAVE_MEAN], 1, sh, nm, err));
    CF_TRY(cf_tensor_alloc(net->b, &nd->aux[SAVE_INVSTD], 1, sh, nm, err));
    /* Normalising the raw input: dx is discarded but must go somewhere. */
    if (nd->in[0] < 0) CF_TRY(cf_net_alloc_act(net, &nd->aux[DX_SCRATCH], nd->shape, nm, err));
    return CF_OK;
}

static cf_status forward(cf_net *net, cf_node *nd, int train, uint64_t seed, uint64_t step,
                         cf_error *err)
{
    const cf_batchnorm_params *q = CF_BATCHNORM(&nd->spec);
    cf_op op = {0};
    op.in[0] = cf_net_in_y(net, nd, 0);
    op.out[0] = &nd->z;
    op.in[1] = cf_net_value(net, nd->param[GAMMA]);
    op.in[2] = cf_net_value(net, nd->param[BETA]);
    op.p.bn.eps = q->eps;
    op.p.bn.momentum = q->momentum;
    if (train && !nd->frozen) { /* frozen (train.freeze): eval mode, statistics kept */
        op.kind = CF_OP_BATCHNORM_FWD_TRAIN;
        op.out[1] = &nd->aux[SAVE_MEAN];
        op.out[2] = &nd->aux[SAVE_INVSTD];
        op.out[3] = cf_net_value(net, nd->param[RUN_MEAN]);
        op.out[4] = cf_net_value(net, nd->param[RUN_VAR]);
    } else {
        op.kind = CF_OP_BATCHNORM_FWD_EVAL;
        op.in[3] = cf_net_value(net, nd->param[RUN_MEAN]);
        op.in[4] = cf_net_value(net, nd->param[RUN_VAR]);
    }
    return cf_net_exec(net, &op, nd, err);
}

/* Frozen: the forward was y = gamma (x - mean) / sqrt(var + eps) + beta with
 * the running statistics as constants, so dx = dy gamma / sqrt(var + eps):
 * the eval op itself applied to dy with mean and beta 0 (SAVE_MEAN, unused
 * in eval mode, holds the zeros). Into scratch when it must accumulate. */
static cf_status backward_frozen(cf_net *net, cf_node *nd, cf_tensor *g, cf_error *err)
{
    if (!nd->need_dx) return CF_OK;
    cf_compute cx = cf_backend_compute(net->b);
    CF_TRY(cf_vec_fill(&cx, &nd->aux[SAVE_MEAN], 0.0f, err));
    int acc = net->written[net->nodes[nd->in[0]].grad_root];
    if (acc && !nd->aux[DX_SCRATCH].buf)
        CF_TRY(cf_net_alloc_act(net, &nd->aux[DX_SCRATCH], nd->shape, nd->spec.name, err));
    cf_tensor scratch = nd->aux[DX_SCRATCH];
    scratch.shape[0] = g->shape[0];
    cf_op o = {0};
    o.kind = CF_OP_BATCHNORM_FWD_EVAL;
    o.in[0] = g;
    o.in[1] = cf_net_value(net, nd->param[GAMMA]);
    o.in[2] = &nd->aux[SAVE_MEAN];
    o.in[3] = &nd->aux[SAVE_MEAN];
    o.in[4] = cf_net_value(net, nd->param[RUN_VAR]);
    o.p.bn.eps = CF_BATCHNORM(&nd->spec)->eps;
    if (!acc) return cf_net_emit_dx(net, nd, 0, &o, err);
    o.out[0] = &scratch;
    CF_TRY(cf_net_exec(net, &o, nd, err));
    cf_op a = {0};
    a.kind = CF_OP_AXPBY;
    a.in[0] = &scratch;
    a.p.vec.a = 1.0f;
    return cf_net_emit_dx(net, nd, 0, &a, err);
}

static cf_status backward(cf_net *net, cf_node *nd, cf_tensor *g, cf_error *err)
{
    if (nd->frozen) return backward_frozen(net, nd, g, err);
    const cf_batchnorm_params *q = CF_BATCHNORM(&nd->spec);
    cf_op o = {0};
    o.kind = CF_OP_BATCHNORM_BWD;
    o.in[0] = g;
    o.in[1] = cf_net_in_y(net, nd, 0);
    o.in[2] = cf_net_value(net, nd->param[GAMMA]);
    o.in[3] = &nd->aux[SAVE_MEAN];
    o.in[4] = &nd->aux[SAVE_INVSTD];
    o.out[1] = cf_net_grad(net, nd->param[GAMMA]);
    o.out[2] = cf_net_grad(net, nd->param[BETA]);
    o.p.bn.eps = q->eps;
    o.p.bn.momentum = q->momentum;
    if (nd->in[0] < 0) { /* dgamma/dbeta still needed; dx goes to scratch */
        o.out[0] = &nd->aux[DX_SCRATCH];
        return cf_net_exec(net, &o, nd, err);
    }
    return cf_net_emit_dx(net, nd, 0, &o, err);
}

/* head->fw, head->fb: w' = w s, b' = (b - mean) s + beta with
 * s = gamma / sqrt(var + eps), from the current weights and running
 * statistics (host arithmetic in double: once per evaluation). */
static cf_status fold(cf_net *net, cf_node *head, cf_node *bn, cf_error *err)
{
    cf_status s = CF_OK;
    const cf_tensor *w = cf_net_value(net, head->param[CF_P_WEIGHT]);
    const cf_tensor *hb = cf_net_value(net, head->param[CF_P_BIAS]);
    size_t K = (size_t)w->shape[0], crs = cf_tensor_numel(w) / K;
    float *hw = malloc(cf_tensor_numel(w) * sizeof *hw), *hv = malloc(5 * K * sizeof *hv);
    if (!hw || !hv) {
        free(hw);
        free(hv);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory folding batch norm");
    }
    float *b = hv, *g = hv + K, *beta = hv + 2 * K, *rm = hv + 3 * K, *rv = hv + 4 * K;
    float eps = CF_BATCHNORM(&bn->spec)->eps;
    if (!s) s = cf_tensor_download(net->b, w, hw, err);
    if (!s && hb) s = cf_tensor_download(net->b, hb, b, err);
    else if (!s) memset(b, 0, K * sizeof *b);
    if (!s) s = cf_tensor_download(net->b, cf_net_value(net, bn->param[GAMMA]), g, err);
    if (!s) s = cf_tensor_download(net->b, cf_net_value(net, bn->param[BETA]), beta, err);
    if (!s) s = cf_tensor_download(net->b, cf_net_value(net, bn->param[RUN_MEAN]), rm, err);
    if (!s) s = cf_tensor_download(net->b, cf_net_value(net, bn->param[RUN_VAR]), rv, err);
    for (size_t k = 0; k < K && !s; k++) {
        double sc = g[k] / sqrt((double)rv[k] + eps);
        for (size_t e = 0; e < crs; e++) hw[k * crs + e] = (float)(hw[k * crs + e] * sc);
        b[k] = (float)(beta[k] + (b[k] - (double)rm[k]) * sc);
    }
    if (!s) s = cf_tensor_upload(net->b, &head->fw, hw, err);
    if (!s) s = cf_tensor_upload(net->b, &head->fb, b, err);
    free(hw);
    free(hv);
    return s;
}

static const char *const aliases[] = {"batch_norm", NULL};
static const char *const keys[] = {"eps", "momentum", NULL};

/* BatchNormalization with the running statistics (inference form). */
static cf_status export_graph(const cf_graph_builder *g, cf_net *net, const cf_node *nd, cf_graph_io *io,
                              cf_error *err)
{
    const char *in[5] = {io->in[0]};
    CF_TRY(cf_graph_param(g, net, nd->param[GAMMA], &in[1], err));
    CF_TRY(cf_graph_param(g, net, nd->param[BETA], &in[2], err));
    CF_TRY(cf_graph_param(g, net, nd->param[RUN_MEAN], &in[3], err));
    CF_TRY(cf_graph_param(g, net, nd->param[RUN_VAR], &in[4], err));
    cf_graph_attr eps = {.name = "epsilon", .kind = CF_GATTR_FLOAT, .f = CF_BATCHNORM(&nd->spec)->eps};
    return cf_graph_node(g, "BatchNormalization", in, 5, io->out, &eps, 1, err);
}

const cf_layer_type_def cf_layer_batchnorm = {
    .name = "batchnorm",
    .aliases = aliases,
    .keys = keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .flags = CF_LAYER_INSERTABLE,
    .defaults = defaults,
    .parse = parse,
    .inserted = inserted,
    .infer = infer,
    .param_count = param_count,
    .build = build,
    .forward = forward,
    .backward = backward,
    .fuse_role = CF_FUSE_AFFINE,
    .fold = fold,
    .export = export_graph,
};
