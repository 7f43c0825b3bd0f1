/* The walk that exports a built network through its layer types' export
 * hooks (model/graph_export.h), in execution order, each layer's activation
 * after its hook as the executor runs it. Parameters are the unfused ones:
 * batch norm stays a node of its own. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/graph_export.h"
#include "model/net_impl.h"

cf_status cf_graph_node(const cf_graph_builder *g, const char *op, const char *const *in, int n_in,
                        const char *out, const cf_graph_attr *attrs, int n_attrs, cf_error *err)
{
    return g->node(g->ctx, op, in, n_in, out, attrs, n_attrs, err);
}

cf_status cf_graph_param(const cf_graph_builder *g, cf_net *net, int param, const char **name_out,
                         cf_error *err)
{
    *name_out = NULL;
    if (param < 0) return CF_OK;
    const char *name = net->params[param].name;
    const cf_tensor *t = cf_net_value(net, param);
    size_t n = cf_tensor_numel(t);
    float *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return cf_error_set(err, CF_ERR_NOMEM, "out of memory exporting '%s'", name);
    int64_t dims[CF_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) dims[d] = t->shape[d];
    cf_status s = cf_tensor_download(net->b, t, v, err);
    if (!s) s = g->constant(g->ctx, name, t->ndim, dims, v, err);
    free(v);
    if (!s) *name_out = name;
    return s;
}

cf_status cf_graph_flatten(const cf_graph_builder *g, const char *layer, const char **name, int *rank,
                           char *buf, cf_error *err)
{
    if (*rank == 2) return CF_OK;
    cf_graph_attr axis = {.name = "axis", .kind = CF_GATTR_INT, .i = {1}};
    snprintf(buf, CF_GRAPH_NAME_MAX, "%s/flat", layer);
    CF_TRY(cf_graph_node(g, "Flatten", name, 1, buf, &axis, 1, err));
    *name = buf;
    *rank = 2;
    return CF_OK;
}

cf_status cf_graph_need_map(const cf_node *nd, const cf_graph_io *io, cf_error *err)
{
    if (io->in_rank[0] == 4) return CF_OK;
    return cf_error_set(err, CF_ERR_UNSUPPORTED, "layer '%s' (%s): its input is a flat vector; ONNX export "
                        "needs [N, C, H, W]", nd->spec.name, nd->def->name);
}

cf_status cf_graph_same_rank(const cf_node *nd, const cf_graph_io *io, cf_error *err)
{
    for (int k = 1; k < io->n_in; k++)
        if (io->in_rank[k] != io->in_rank[0])
            return cf_error_set(err, CF_ERR_UNSUPPORTED, "layer '%s' (%s): inputs '%s' and '%s' differ in rank "
                                "(a flat vector and a feature map)", nd->spec.name, nd->def->name, io->in[0],
                                io->in[k]);
    return CF_OK;
}

/* y = act(x) as ONNX operators; GELU (exact, erf) composed for opset 13,
 * which has no Gelu. */
static cf_status export_act(const cf_graph_builder *g, const cf_node *nd, const char *x, const char *y,
                            cf_error *err)
{
    cf_op a = {0};
    cf_net_act_params(&a, &nd->spec);
    cf_graph_attr alpha = {.name = "alpha", .kind = CF_GATTR_FLOAT, .f = a.p.act.alpha};
    const char *nm = nd->spec.name;
    switch (nd->spec.act) {
    case CF_ACT_NONE: return cf_graph_node(g, "Identity", &x, 1, y, NULL, 0, err);
    case CF_ACT_RELU: return cf_graph_node(g, "Relu", &x, 1, y, NULL, 0, err);
    case CF_ACT_LEAKY_RELU: return cf_graph_node(g, "LeakyRelu", &x, 1, y, &alpha, 1, err);
    case CF_ACT_SIGMOID: return cf_graph_node(g, "Sigmoid", &x, 1, y, NULL, 0, err);
    case CF_ACT_TANH: return cf_graph_node(g, "Tanh", &x, 1, y, NULL, 0, err);
    case CF_ACT_ELU: return cf_graph_node(g, "Elu", &x, 1, y, &alpha, 1, err);
    case CF_ACT_GELU: {
        char c_r2[CF_GRAPH_NAME_MAX], c_one[CF_GRAPH_NAME_MAX], c_half[CF_GRAPH_NAME_MAX];
        char t1[CF_GRAPH_NAME_MAX], t2[CF_GRAPH_NAME_MAX], t3[CF_GRAPH_NAME_MAX], t4[CF_GRAPH_NAME_MAX];
        snprintf(c_r2, sizeof c_r2, "%s/gelu_rsqrt2", nm);
        snprintf(c_one, sizeof c_one, "%s/gelu_one", nm);
        snprintf(c_half, sizeof c_half, "%s/gelu_half", nm);
        snprintf(t1, sizeof t1, "%s/gelu_scaled", nm);
        snprintf(t2, sizeof t2, "%s/gelu_erf", nm);
        snprintf(t3, sizeof t3, "%s/gelu_1p", nm);
        snprintf(t4, sizeof t4, "%s/gelu_x1p", nm);
        float r2 = (float)(1.0 / sqrt(2.0)), one = 1, half = 0.5f;
        CF_TRY(g->constant(g->ctx, c_r2, 0, NULL, &r2, err));
        CF_TRY(g->constant(g->ctx, c_one, 0, NULL, &one, err));
        CF_TRY(g->constant(g->ctx, c_half, 0, NULL, &half, err));
        const char *m1[2] = {x, c_r2}, *e1[1] = {t1}, *a1[2] = {t2, c_one}, *m2[2] = {x, t3},
                   *m3[2] = {t4, c_half};
        CF_TRY(cf_graph_node(g, "Mul", m1, 2, t1, NULL, 0, err));
        CF_TRY(cf_graph_node(g, "Erf", e1, 1, t2, NULL, 0, err));
        CF_TRY(cf_graph_node(g, "Add", a1, 2, t3, NULL, 0, err));
        CF_TRY(cf_graph_node(g, "Mul", m2, 2, t4, NULL, 0, err));
        return cf_graph_node(g, "Mul", m3, 2, y, NULL, 0, err);
    }
    case CF_ACT_COUNT: break;
    }
    return cf_error_set(err, CF_ERR_INVALID, "layer '%s': activation %d has no ONNX form", nm, (int)nd->spec.act);
}

cf_status cf_net_export_graph(cf_net *net, const cf_graph_builder *g, const char *input,
                              char *out_name, int *out_rank, cf_error *err)
{
    int *rank = malloc((size_t)net->n * sizeof *rank);
    char(*pre)[CF_GRAPH_NAME_MAX] = malloc((size_t)net->n * sizeof *pre);
    cf_status s = rank && pre ? CF_OK : cf_error_set(err, CF_ERR_NOMEM, "out of memory exporting the model");
    for (int i = 0; i < net->n && !s; i++) {
        const cf_node *nd = &net->nodes[i];
        const char *nm = nd->spec.name;
        if (!nd->def->export) {
            s = cf_error_set(err, CF_ERR_UNSUPPORTED, "layer '%s' (%s): this layer type has no ONNX export",
                             nm, nd->def->name);
            break;
        }
        cf_graph_io io = {.n_in = nd->n_in};
        for (int k = 0; k < nd->n_in; k++) {
            int j = nd->in[k];
            io.in[k] = j < 0 ? input : net->nodes[j].spec.name;
            io.in_rank[k] = j < 0 ? 4 : rank[j];
        }
        int act = nd->has_act || (nd->def->flags & CF_LAYER_ACT_ONLY);
        /* The layer's output tensor carries its name; the pre-activation "NAME/pre". */
        if (act) snprintf(pre[i], sizeof pre[i], "%s/pre", nm);
        else snprintf(pre[i], sizeof pre[i], "%s", nm);
        io.out = pre[i];
        io.out_rank = io.in_rank[0];
        if ((s = nd->def->export(g, net, nd, &io, err))) break;
        rank[i] = io.out_rank;
        if (act) s = export_act(g, nd, io.out, nm, err);
    }
    if (!s) {
        snprintf(out_name, CF_GRAPH_NAME_MAX, "%s", net->nodes[net->n - 1].spec.name);
        *out_rank = rank[net->n - 1];
    }
    free(rank);
    free(pre);
    return s;
}
