/* Running the network: one batch through the forward ops (each layer
 * type's, then its activation), the loss, and the backward pass
 * (autodiff.c). Ops were planned once at the largest batch; only the batch
 * dimension changes here. */
#include <string.h>

#include "model/net_impl.h"

static void set_batch(cf_net *net, int n)
{
    net->x.shape[0] = n;
    net->target.shape[0] = n;
    net->probs.shape[0] = n;
    net->weight.shape[0] = n;
    net->loss_v.shape[0] = n;
    net->pred.shape[0] = n;
    for (int i = 0; i < net->n; i++) {
        cf_node *nd = &net->nodes[i];
        nd->y.shape[0] = nd->dy.shape[0] = nd->z.shape[0] = nd->dz.shape[0] = n;
        for (int a = 0; a < CF_NODE_AUX; a++)
            if (nd->aux[a].buf && nd->aux[a].ndim == 4) nd->aux[a].shape[0] = n;
    }
}

cf_tensor *cf_net_in_y(cf_net *net, const cf_node *nd, int k)
{
    return nd->in[k] < 0 ? &net->x : &net->nodes[nd->in[k]].y;
}

cf_tensor *cf_net_value(cf_net *net, int param) { return param >= 0 ? &net->params[param].value : NULL; }
cf_tensor *cf_net_grad(cf_net *net, int param) { return param >= 0 ? &net->params[param].grad : NULL; }

cf_status cf_net_exec(cf_net *net, cf_op *op, const cf_node *nd, cf_error *err)
{
    cf_status s = cf_backend_exec(net->b, op, err);
    if (s) return cf_error_prefix(err, "layer '%s' (%s)", nd ? nd->spec.name : "loss", cf_op_name(op->kind));
    return CF_OK;
}

void cf_net_act_params(cf_op *op, const cf_layer_spec *l)
{
    op->p.act.act = l->act;
    op->p.act.alpha = l->alpha >= 0 ? l->alpha : (l->act == CF_ACT_ELU ? 1.0f : 0.01f);
}

cf_status cf_net_forward(cf_net *net, int train, uint64_t seed, uint64_t step, cf_error *err)
{
    int fuse = !train && net->fused && net->fold_ok;
    for (int i = 0; i < net->n; i++) {
        cf_node *nd = &net->nodes[i];
        if (fuse && nd->fused_into >= 0) continue;
        if (fuse && nd->fuse_out >= 0) {
            CF_TRY(nd->def->fused_forward(net, nd, err));
            continue;
        }
        if (nd->def->forward) CF_TRY(nd->def->forward(net, nd, train, seed, step, err));
        if (nd->has_act || (nd->def->flags & CF_LAYER_ACT_ONLY)) {
            cf_op a = {0};
            a.kind = CF_OP_ACT_FWD;
            a.in[0] = &nd->z;
            a.out[0] = &nd->y;
            cf_net_act_params(&a, &nd->spec);
            CF_TRY(cf_net_exec(net, &a, nd, err));
        }
    }
    return CF_OK;
}

cf_status cf_net_run(cf_net *net, const float *x, const float *target, const float *weight,
                     int n, int train, uint64_t dropout_seed, uint64_t step, float *loss_out,
                     float *pred_out, float *probs_out, cf_error *err)
{
    if (n <= 0 || n > net->max_batch)
        return cf_error_set(err, CF_ERR_INVALID, "batch of %d samples (max %d)", n, net->max_batch);
    set_batch(net, n);
    if (train) net->fold_ok = 0; /* the step after it changes the weights */
    else if (net->fused && !net->fold_ok) {
        CF_TRY(cf_net_fold(net, err));
        net->fold_ok = 1;
    }
    CF_TRY(cf_tensor_upload(net->b, &net->x, x, err));
    CF_TRY(cf_tensor_upload(net->b, &net->target, target, err));
    CF_TRY(cf_tensor_upload(net->b, &net->weight, weight, err));
    CF_TRY(cf_net_forward(net, train, dropout_seed, step, err));
    cf_node *last = &net->nodes[net->n - 1];
    cf_op op = {0};
    switch (net->loss) {
    case CF_LOSS_XENT:
        op.kind = CF_OP_SOFTMAX_XENT_FWD;
        op.out[0] = &net->probs;
        break;
    case CF_LOSS_MSE: op.kind = CF_OP_MSE_FWD; break;
    case CF_LOSS_HINGE: op.kind = CF_OP_HINGE_FWD; break;
    case CF_LOSS_BCE:
        op.kind = CF_OP_SIGMOID_BCE_FWD;
        op.out[0] = &net->probs;
        op.in[3] = net->pos_weight.buf ? &net->pos_weight : NULL;
        break;
    }
    cf_tensor logits = last->y;
    logits.ndim = 2;
    logits.shape[0] = n;
    logits.shape[1] = net->classes;
    op.in[0] = &logits;
    op.in[1] = &net->target;
    op.in[2] = &net->weight;
    op.out[1] = &net->loss_v;
    op.out[2] = &net->pred;
    CF_TRY(cf_net_exec(net, &op, NULL, err));
    if (train) {
        double wsum = 0;
        for (int i = 0; i < n; i++) wsum += weight[i];
        CF_TRY(cf_net_backward(net, (float)(1.0 / (wsum > 0 ? wsum : 1)), err));
    }
    if (loss_out) CF_TRY(cf_tensor_download(net->b, &net->loss_v, loss_out, err));
    if (pred_out) CF_TRY(cf_tensor_download(net->b, &net->pred, pred_out, err));
    if (probs_out) {
        if (net->loss == CF_LOSS_XENT || net->loss == CF_LOSS_BCE) CF_TRY(cf_tensor_download(net->b, &net->probs, probs_out, err));
        else {
            cf_tensor t = last->y;
            t.shape[0] = n;
            CF_TRY(cf_tensor_download(net->b, &t, probs_out, err));
        }
    }
    return CF_OK;
}
