/* dropout: inverted dropout while training (Philox mask, the same on every
 * backend), the identity at evaluation. */
#include <math.h>

#include "core/params.h"
#include "core/util.h"
#include "model/net_impl.h"
#include "model/graph_export.h"

_Static_assert(sizeof(cf_dropout_params) <= CF_LAYER_PARAMS_MAX, "dropout settings too big");

enum { MASK = 0 };

static void defaults(cf_layer_spec *l) { CF_DROPOUT(l)->rate = 0.5f; }

static cf_status parse(cf_layer_spec *l, const cf_params *p, const char *type, const char *where,
                       cf_error *err)
{
    CF_DROPOUT(l)->rate = (float)cf_params_num(p, "rate");
    return CF_OK;
}

static void inserted(cf_layer_spec *l, cf_layer_spec *prev, const cf_params *p)
{
    double r = p ? cf_params_num(p, "rate") : NAN;
    if (r == r) CF_DROPOUT(l)->rate = (float)r;
}

static cf_status infer(const cf_layer_spec *l, const cf_shape3 *in, int n, cf_shape3 *out,
                       cf_error *err)
{
    return CF_OK;
}

static cf_status build(cf_net *net, cf_node *nd, cf_shape3 x, cf_error *err)
{
    return cf_net_alloc_act(net, &nd->aux[MASK], nd->shape, nd->spec.name, err);
}

static cf_status forward(cf_net *net, cf_node *nd, int train, uint64_t seed, uint64_t step,
                         cf_error *err)
{
    float rate = CF_DROPOUT(&nd->spec)->rate;
    cf_op op = {0};
    op.in[0] = cf_net_in_y(net, nd, 0);
    op.out[0] = &nd->z;
    if (train && rate > 0) {
        op.kind = CF_OP_DROPOUT_FWD;
        op.out[1] = &nd->aux[MASK];
        op.p.dropout.rate = rate;
        op.p.dropout.seed = seed;
        op.p.dropout.counter = ((uint64_t)CF_RNG_DROPOUT << 56) | (step << 12) | (uint64_t)nd->index;
    } else {
        op.kind = CF_OP_AXPBY; /* identity at evaluation */
        op.p.vec.a = 1;
        op.p.vec.b = 0;
    }
    return cf_net_exec(net, &op, nd, err);
}

static cf_status backward(cf_net *net, cf_node *nd, cf_tensor *g, cf_error *err)
{
    cf_op o = {0};
    o.in[0] = g;
    if (CF_DROPOUT(&nd->spec)->rate > 0) {
        o.kind = CF_OP_DROPOUT_BWD;
        o.in[1] = &nd->aux[MASK];
    } else {
        o.kind = CF_OP_AXPBY;
        o.p.vec.a = 1;
    }
    return cf_net_emit_dx(net, nd, 0, &o, err);
}

static const char *const keys[] = {"rate", NULL};

/* Identity: inference never drops (inverted dropout scales while training). */
static cf_status export_graph(const cf_graph_builder *g, cf_net *net, const cf_node *nd, cf_graph_io *io,
                              cf_error *err)
{
    return cf_graph_node(g, "Identity", io->in, 1, io->out, NULL, 0, err);
}

const cf_layer_type_def cf_layer_dropout = {
    .name = "dropout",
    .keys = keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .flags = CF_LAYER_NO_ACT | CF_LAYER_INSERTABLE,
    .defaults = defaults,
    .parse = parse,
    .inserted = inserted,
    .infer = infer,
    .build = build,
    .forward = forward,
    .backward = backward,
    .export = export_graph,
};
