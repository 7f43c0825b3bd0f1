/* Which layers train and how fast (train.freeze, train.lr_mult): layers
 * chosen by fnmatch patterns on their names; the backward pass is then cut
 * to what trains. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "model/net_impl.h"

void cf_net_param_layer(const cf_net *n, int i, char *out, size_t cap)
{
    const char *nm = n->params[i].name, *dot = strrchr(nm, '.');
    snprintf(out, cap, "%.*s", dot ? (int)(dot - nm) : (int)strlen(nm), nm);
}

int cf_net_layer_frozen(const cf_net *n, int param) { return n->params[param].frozen; }

static int node_trains(const cf_net *net, const cf_node *nd)
{
    for (int k = 0; k < CF_NODE_PARAMS; k++)
        if (nd->param[k] >= 0 && net->params[nd->param[k]].trainable && !net->params[nd->param[k]].frozen)
            return 1;
    return 0;
}

/* up[i]: node i or a node upstream of it has parameters that train. A node
 * runs its backward when it trains or an input is up; it sends dL/dx on
 * when an input is up. Nodes are in topological order. */
static cf_status plan_backward(cf_net *net, cf_error *err)
{
    char *up = cf_calloc((size_t)net->n, 1);
    if (!up) return cf_error_set(err, CF_ERR_NOMEM, "out of memory planning the backward pass");
    for (int i = 0; i < net->n; i++) {
        cf_node *nd = &net->nodes[i];
        int in_up = 0;
        for (int k = 0; k < nd->n_in; k++)
            if (nd->in[k] >= 0 && up[nd->in[k]]) in_up = 1;
        int own = node_trains(net, nd);
        up[i] = (char)(own || in_up);
        nd->backward = own || in_up;
        nd->need_dx = in_up;
    }
    free(up);
    return CF_OK;
}

cf_status cf_net_freeze(cf_net *net, const char *const *patterns, int n_patterns, cf_error *err)
{
    for (int p = 0; p < n_patterns; p++) {
        int hit = 0;
        for (int i = 0; i < net->n; i++) {
            cf_node *nd = &net->nodes[i];
            if (fnmatch(patterns[p], nd->spec.name, 0)) continue;
            hit = 1;
            nd->frozen = 1;
            for (int k = 0; k < CF_NODE_PARAMS; k++)
                if (nd->param[k] >= 0) net->params[nd->param[k]].frozen = 1;
        }
        if (!hit)
            return cf_error_set(err, CF_ERR_INVALID, "train.freeze: pattern '%s' matches no layer of the model",
                                patterns[p]);
    }
    return plan_backward(net, err);
}

cf_status cf_net_set_lr_mult(cf_net *net, const char *pattern, double mult, cf_error *err)
{
    int hit = 0;
    for (int i = 0; i < net->n_params; i++) {
        char layer[CF_NAME_MAX];
        cf_net_param_layer(net, i, layer, sizeof layer);
        if (fnmatch(pattern, layer, 0)) continue;
        hit = 1;
        cf_net_param *p = &net->params[i];
        if (p->lr_mult_set) continue;
        p->lr_mult = mult;
        p->lr_mult_set = 1;
    }
    if (!hit)
        return cf_error_set(err, CF_ERR_INVALID, "train.lr_mult: pattern '%s' matches no layer with parameters",
                            pattern);
    return CF_OK;
}
