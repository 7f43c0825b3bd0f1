/* Reverse-mode autodiff: the loss gradient, then every node from the last
 * back (its activation's backward, then its type's backward hook). A
 * gradient buffer with several writers (residual connections, a layer feeding
 * a concat and something else) is overwritten by the first and accumulated
 * into by the rest. */
#include <string.h>

#include "model/net_impl.h"

cf_tensor *cf_net_grad_of(cf_net *net, int j, int *accumulate)
{
    cf_node *nd = &net->nodes[j];
    int root = nd->grad_root;
    *accumulate = net->written[root];
    net->written[root] = 1;
    return &nd->dy;
}

cf_status cf_net_emit_dx(cf_net *net, cf_node *nd, int k, cf_op *o, cf_error *err)
{
    int src = nd->in[k];
    if (src < 0) return CF_OK; /* the network's input needs no gradient */
    int a = -1;
    o->out[0] = cf_net_grad_of(net, src, &a);
    o->accumulate = a;
    if (o->kind == CF_OP_AXPBY) { /* a vector op: accumulation is its b */
        o->p.vec.b = a ? 1.0f : 0.0f;
        o->accumulate = 0;
    }
    return cf_net_exec(net, o, nd, err);
}

cf_status cf_net_backward(cf_net *net, float scale, cf_error *err)
{
    memset(net->written, 0, (size_t)net->n);
    cf_node *last = &net->nodes[net->n - 1];
    cf_op op = {0};
    int acc;
    switch (net->loss) {
    case CF_LOSS_XENT: op.kind = CF_OP_SOFTMAX_XENT_BWD; op.in[0] = &net->probs; break;
    case CF_LOSS_MSE: op.kind = CF_OP_MSE_BWD; op.in[0] = &last->y; break;
    case CF_LOSS_HINGE: op.kind = CF_OP_HINGE_BWD; op.in[0] = &last->y; break;
    case CF_LOSS_BCE:
        op.kind = CF_OP_SIGMOID_BCE_BWD;
        op.in[0] = &net->probs;
        op.in[3] = net->pos_weight.buf ? &net->pos_weight : NULL;
        break;
    }
    op.in[1] = &net->target;
    op.in[2] = &net->weight;
    op.out[0] = cf_net_grad_of(net, net->n - 1, &acc);
    op.p.loss.scale = scale;
    CF_TRY(cf_net_exec(net, &op, NULL, err));
    for (int i = net->n - 1; i >= 0; i--) {
        cf_node *nd = &net->nodes[i];
        unsigned fl = nd->def->flags;
        if ((fl & CF_LAYER_ALIAS) || !nd->backward) continue; /* aliases; frozen, nothing upstream trains */
        int act_only = (fl & CF_LAYER_ACT_ONLY) != 0;
        if (nd->has_act || act_only) {
            if (act_only && nd->in[0] < 0) continue; /* nothing upstream */
            cf_op a = {0};
            a.kind = CF_OP_ACT_BWD;
            a.in[0] = &nd->dy;
            a.in[1] = nd->z_scratch ? &nd->y : &nd->z; /* same sign as z: see backend.h */
            a.in[2] = &nd->y;
            cf_net_act_params(&a, &nd->spec);
            if (act_only) a.out[0] = cf_net_grad_of(net, nd->in[0], &a.accumulate);
            else a.out[0] = &nd->dz;
            CF_TRY(cf_net_exec(net, &a, nd, err));
            if (act_only) continue;
        }
        if (nd->def->backward) CF_TRY(nd->def->backward(net, nd, &nd->dz, err));
        if (net->grad_hook) CF_TRY(net->grad_hook(net->grad_hook_ctx, net, i, err));
    }
    return CF_OK;
}

void cf_net_set_grad_hook(cf_net *net, cf_net_grad_hook fn, void *ctx)
{
    net->grad_hook = fn;
    net->grad_hook_ctx = ctx;
}

int cf_net_param_node(const cf_net *net, int p)
{
    for (int i = 0; i < net->n; i++)
        for (int r = 0; r < CF_NODE_PARAMS; r++)
            if (net->nodes[i].param[r] == p) return i;
    return -1;
}

int cf_net_n_nodes(const cf_net *net) { return net->n; }
