/* Inference fusion. At evaluation a fusion HEAD (conv) whose output only
 * feeds an AFFINE layer (batch norm), optionally followed by a 2-input
 * RESIDUAL add, and the activation after either, runs as one fused op (the
 * head's fused_forward): batch norm in eval mode is affine, so it folds into
 * the head's weight and bias (the AFFINE type's fold). That removes the
 * batch norm, add and activation passes over memory. Training is unchanged.
 * CLFORGE_NO_FUSION=1 turns it off (for comparison). */
#include <stdlib.h>
#include <string.h>

#include "model/net_impl.h"

static int single_consumer(cf_net *net, int (*ins)[CF_MAX_INPUTS], int i, int *who)
{
    int n = 0;
    for (int j = i + 1; j < net->n; j++)
        for (int k = 0; k < CF_MAX_INPUTS; k++)
            if (ins[j][k] == i) {
                n++;
                *who = j;
            }
    return n == 1 && i != net->n - 1; /* the last layer also feeds the loss */
}

static cf_fuse_role role(const cf_net *net, int i) { return net->nodes[i].def->fuse_role; }

cf_status cf_net_fuse_plan(cf_net *net, int (*ins)[CF_MAX_INPUTS], cf_error *err)
{
    const char *off = getenv("CLFORGE_NO_FUSION");
    cf_op probe = {.kind = CF_OP_CONV2D_FWD_ACT};
    if ((off && *off && strcmp(off, "0")) || !cf_backend_supports(net->b, &probe)) return CF_OK;
    for (int i = 0; i < net->n; i++) {
        cf_node *nd = &net->nodes[i];
        if (role(net, i) != CF_FUSE_HEAD) continue;
        int out = i, bn = -1, z = -1, j = -1;
        if (!nd->has_act && single_consumer(net, ins, i, &j) && role(net, j) == CF_FUSE_AFFINE) {
            out = bn = j;
            int a = -1;
            if (!net->nodes[j].has_act && single_consumer(net, ins, j, &a) &&
                role(net, a) == CF_FUSE_RESIDUAL && net->nodes[a].n_in == 2) {
                int o = ins[a][0] == j ? ins[a][1] : ins[a][0];
                if (o >= 0 && o < i) { /* the residual is ready when the head runs */
                    out = a;
                    z = o;
                }
            }
        }
        if (out == i && !nd->has_act) continue; /* nothing to fuse */
        nd->fuse_out = out;
        nd->fuse_bn = bn;
        nd->fuse_z = z;
        if (bn >= 0) net->nodes[bn].fused_into = i;
        if (out != bn && out != i) net->nodes[out].fused_into = i;
        if (bn >= 0) {
            const cf_tensor *w = &net->params[nd->param[CF_P_WEIGHT]].value;
            int k[1] = {w->shape[0]};
            CF_TRY(cf_tensor_alloc(net->b, &nd->fw, w->ndim, w->shape, "folded weight", err));
            CF_TRY(cf_tensor_alloc(net->b, &nd->fb, 1, k, "folded bias", err));
        }
        net->fused = 1;
    }
    return CF_OK;
}

/* fw, fb of every head with a folded AFFINE layer, from the current weights. */
cf_status cf_net_fold(cf_net *net, cf_error *err)
{
    for (int i = 0; i < net->n; i++) {
        cf_node *nd = &net->nodes[i];
        if (nd->fuse_bn < 0) continue;
        cf_node *bn = &net->nodes[nd->fuse_bn];
        if (bn->def->fold(net, nd, bn, err))
            return cf_error_prefix(err, "folding %s '%s' into '%s'", bn->def->name, bn->spec.name,
                                   nd->spec.name);
    }
    return CF_OK;
}

void cf_net_params_changed(cf_net *net) { net->fold_ok = 0; }

int cf_net_fused(const cf_net *net)
{
    int n = 0;
    for (int i = 0; i < net->n; i++) n += net->nodes[i].fuse_out >= 0;
    return n;
}
