/* Pooling windows (maxpool.c, avgpool.c): square, stride defaulting to the
 * window, padding at most half the window. */
#include <string.h>

#include "core/params.h"
#include "model/graph_export.h"
#include "model/layers/pool.h"
#include "model/net_impl.h"

_Static_assert(sizeof(cf_pool_params) <= CF_LAYER_PARAMS_MAX, "pool settings too big");

const char *const cf_pool_keys[] = {"size", "stride", "padding", NULL};

void cf_pool_defaults(cf_layer_spec *l)
{
    CF_POOL(l)->size = 2;
    CF_POOL(l)->stride = 2;
}

cf_status cf_pool_parse(cf_layer_spec *l, const cf_params *p, const char *type, const char *where,
                        cf_error *err)
{
    cf_pool_params *q = CF_POOL(l);
    q->size = cf_params_int(p, "size");
    q->padding = cf_params_int(p, "padding");
    int stride = cf_params_int(p, "stride");
    q->stride = stride ? stride : q->size;
    return CF_OK;
}

static int out_dim(int in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }

cf_status cf_pool_infer(const cf_layer_spec *l, const cf_shape3 *in, int n, cf_shape3 *out,
                        cf_error *err)
{
    const cf_pool_params *q = CF_POOL(l);
    if (q->padding * 2 > q->size)
        return cf_error_set(err, CF_ERR_INVALID, "layer '%s': padding %d exceeds half the window %d",
                            l->name, q->padding, q->size);
    out->h = out_dim(in[0].h, q->size, q->stride, q->padding);
    out->w = out_dim(in[0].w, q->size, q->stride, q->padding);
    return CF_OK;
}

void cf_pool_geometry(cf_op *op, const cf_layer_spec *l)
{
    const cf_pool_params *q = CF_POOL(l);
    op->p.pool.kernel_h = op->p.pool.kernel_w = q->size;
    op->p.pool.stride_h = op->p.pool.stride_w = q->stride;
    op->p.pool.pad_h = op->p.pool.pad_w = q->padding;
}

cf_status cf_pool_export(const cf_graph_builder *g, const cf_node *nd, cf_graph_io *io, const char *op,
                         cf_error *err)
{
    const cf_pool_params *q = CF_POOL(&nd->spec);
    CF_TRY(cf_graph_need_map(nd, io, err));
    int p = q->padding;
    cf_graph_attr a[4] = {
        {.name = "kernel_shape", .kind = CF_GATTR_INTS, .n = 2, .i = {q->size, q->size}},
        {.name = "strides", .kind = CF_GATTR_INTS, .n = 2, .i = {q->stride, q->stride}},
        {.name = "pads", .kind = CF_GATTR_INTS, .n = 4, .i = {p, p, p, p}},
        {.name = "count_include_pad", .kind = CF_GATTR_INT, .i = {1}},
    };
    return cf_graph_node(g, op, io->in, 1, io->out, a, strcmp(op, "AveragePool") ? 3 : 4, err);
}
