/* Gradient buffer planning: which backward-pass gradients may share memory. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "model/net_impl.h"

/* Gradient buffers live only from their first writer to their reader in the
 * backward pass (backward time T(k) = n-1-k processes node k). Buffers whose
 * lifetimes do not overlap share memory: greedy interval colouring, best
 * fit by size. This roughly halves the memory of deep nets. */
cf_status cf_net_plan_gradients(cf_net *net, cf_error *err)
{
    int n = net->n, cap = 2 * n;
    struct want { cf_tensor *t; int start, end; size_t numel; int buf; } *w = cf_calloc((size_t)cap, sizeof *w);
    size_t *pool_numel = cf_calloc((size_t)cap, sizeof *pool_numel);
    int *pool_free_at = cf_calloc((size_t)cap, sizeof *pool_free_at); /* first time it is free again */
    net->pool = cf_calloc((size_t)cap, sizeof *net->pool);
    if (!w || !pool_numel || !pool_free_at || !net->pool) {
        free(w); free(pool_numel); free(pool_free_at);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory planning gradients");
    }
    int nw = 0;
    for (int r = 0; r < n; r++) {
        cf_node *nd = &net->nodes[r];
        if (nd->def->flags & CF_LAYER_ALIAS) continue;
        int start = r == n - 1 ? 0 : n; /* the loss writes the last node's gradient at time 0 */
        for (int c = r + 1; c < n; c++) {
            if (net->nodes[c].def->flags & CF_LAYER_ALIAS) continue; /* aliases do not write */
            for (int k = 0; k < net->nodes[c].n_in; k++) {
                int src = net->nodes[c].in[k];
                if (src >= 0 && net->nodes[src].grad_root == r && n - 1 - c < start) start = n - 1 - c;
            }
        }
        w[nw++] = (struct want){&nd->dy, start, n - 1 - r, cf_tensor_numel(&nd->dy), -1};
        if (nd->has_act) w[nw++] = (struct want){&nd->dz, n - 1 - r, n - 1 - r, cf_tensor_numel(&nd->dz), -1};
    }
    /* by start time (stable) */
    for (int i = 1; i < nw; i++)
        for (int j = i; j > 0 && w[j - 1].start > w[j].start; j--) {
            struct want t = w[j]; w[j] = w[j - 1]; w[j - 1] = t;
        }
    cf_status st = CF_OK;
    for (int i = 0; i < nw && !st; i++) {
        int best = -1;
        for (int b = 0; b < net->n_pool; b++)
            if (pool_free_at[b] <= w[i].start && pool_numel[b] >= w[i].numel &&
                (best < 0 || pool_numel[b] < pool_numel[best]))
                best = b;
        if (best < 0) {
            best = net->n_pool++;
            pool_numel[best] = w[i].numel;
            int shp[1] = {(int)w[i].numel};
            char *nm = (char *)"gradient";
            st = cf_tensor_alloc(net->b, &net->pool[best], 1, shp, nm, err);
        }
        pool_free_at[best] = w[i].end + 1;
        w[i].t->buf = net->pool[best].buf;
    }
    free(w);
    free(pool_numel);
    free(pool_free_at);
    if (st) return st;
    /* Aliases take their owners' buffers. */
    for (int i = 0; i < n; i++) {
        cf_node *nd = &net->nodes[i];
        if (nd->def->flags & CF_LAYER_ALIAS) {
            nd->dy.buf = net->nodes[nd->in[0]].dy.buf;
            nd->dz.buf = nd->dy.buf;
        } else if (nd->def->flags & CF_LAYER_ACT_ONLY) {
            nd->dz.buf = nd->in[0] >= 0 ? net->nodes[nd->in[0]].dy.buf : NULL;
        } else if (!nd->has_act) {
            nd->dz.buf = nd->dy.buf;
        }
    }
    return CF_OK;
}
