/* The network on a backend: tensors allocated once at the largest batch,
 * forward ops per layer, reverse-mode autodiff emitting backward ops, and the
 * parameter list optimizers work on. Ops are built once and replayed per batch;
 * only the batch dimension changes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "model/net.h"

typedef struct node {
    cf_layer_spec spec;
    int n_in;
    int in[CF_MAX_INPUTS]; /* node index, -1 = network input */
    cf_shape3 shape;
    cf_tensor y, dy; /* output (after activation) and its gradient */
    cf_tensor z, dz; /* before activation, when there is one */
    int has_act;
    int z_scratch;   /* z lives only during this node's forward (relu-like): shared */
    int alias_of;    /* >= 0: y/dy share the buffers of that node (flatten, act) */
    int grad_root;   /* node owning the dy buffer (follows aliases) */
    int pw, pb, pg, pbeta, prm, prv; /* parameter indices, -1 = none */
    cf_tensor mask, save_mean, save_invstd;
    /* Inference fusion (see fuse_plan): a conv that runs as conv2d_fwd_act
     * writes the output of node fuse_out, folding in batch norm fuse_bn and
     * adding node fuse_z's output; the nodes it absorbs have fused_into set. */
    int fuse_out, fuse_bn, fuse_z, fused_into;
    cf_tensor fw, fb; /* weight and bias with fuse_bn folded in */
} node;

struct cf_net {
    cf_backend *b;
    int n;
    node *nodes;
    int max_batch, classes;
    cf_loss_kind loss;
    cf_tensor x, target, weight, probs, loss_v, pred;
    int n_params, cap_params;
    cf_net_param *params;
    int n_slots;
    cf_optim_param *optim;
    cf_tensor **slot_ptrs; /* n_params * n_slots, for cf_optim_param.slots */
    int n_optim;
    char init[16];
    char *written; /* per node: gradient buffer written during this backward */
    int n_pool;
    cf_tensor *pool; /* gradient buffers shared by liveness (plan_gradients) */
    cf_tensor zscratch; /* pre-activations of relu-like layers (forward only) */
    int fused;   /* the inference plan has fused convs (fuse_plan) */
    int fold_ok; /* fw/fb hold the current weights (cleared by training and weight loads) */
};

cf_backend *cf_net_backend(cf_net *n) { return n->b; }
int cf_net_classes(const cf_net *n) { return n->classes; }
int cf_net_n_params(const cf_net *n) { return n->n_params; }
cf_net_param *cf_net_param_at(cf_net *n, int i) { return &n->params[i]; }
int cf_net_slots(const cf_net *n) { return n->n_slots; }

long cf_net_param_count(const cf_net *n)
{
    long c = 0;
    for (int i = 0; i < n->n_params; i++)
        if (n->params[i].trainable) c += (long)cf_tensor_numel(&n->params[i].value);
    return c;
}

static int shape4(cf_shape3 s, int batch, int *out)
{
    out[0] = batch;
    out[1] = s.c;
    out[2] = s.h;
    out[3] = s.w;
    return 4;
}

static cf_status add_param(cf_net *net, const char *layer, const char *what, int ndim,
                           const int *shape, int is_weight, int trainable, int fan_in, int fan_out,
                           int *idx, cf_error *err)
{
    if (net->n_params == net->cap_params) {
        int nc = net->cap_params ? net->cap_params * 2 : 32;
        cf_net_param *np = realloc(net->params, (size_t)nc * sizeof *np);
        if (!np) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        net->params = np;
        net->cap_params = nc;
    }
    cf_net_param *p = &net->params[net->n_params];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", layer, what);
    p->is_weight = is_weight;
    p->trainable = trainable;
    p->fan_in = fan_in;
    p->fan_out = fan_out;
    CF_TRY(cf_tensor_alloc(net->b, &p->value, ndim, shape, p->name, err));
    if (trainable) CF_TRY(cf_tensor_alloc(net->b, &p->grad, ndim, shape, p->name, err));
    *idx = net->n_params++;
    return CF_OK;
}

static cf_status alloc_act(cf_net *net, cf_tensor *t, cf_shape3 s, const char *name, cf_error *err)
{
    int sh[4];
    shape4(s, net->max_batch, sh);
    return cf_tensor_alloc(net->b, t, 4, sh, name, err);
}

/* Shape a tensor without memory: gradient buffers come from plan_gradients. */
static void shape_only(cf_tensor *t, cf_shape3 s, int batch, const char *name)
{
    memset(t, 0, sizeof *t);
    t->ndim = shape4(s, batch, t->shape);
    t->name = name;
}

/* Gradient buffers live only from their first writer to their reader in the
 * backward pass (backward time T(k) = n-1-k processes node k). Buffers whose
 * lifetimes do not overlap share memory: greedy interval colouring, best
 * fit by size. This roughly halves the memory of deep nets. */
static cf_status plan_gradients(cf_net *net, cf_error *err)
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
        node *nd = &net->nodes[r];
        if (nd->spec.type == CF_LAYER_FLATTEN) continue;
        int start = r == n - 1 ? 0 : n; /* the loss writes the last node's gradient at time 0 */
        for (int c = r + 1; c < n; c++) {
            if (net->nodes[c].spec.type == CF_LAYER_FLATTEN) continue; /* aliases do not write */
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
        node *nd = &net->nodes[i];
        if (nd->spec.type == CF_LAYER_FLATTEN) {
            nd->dy.buf = net->nodes[nd->in[0]].dy.buf;
            nd->dz.buf = nd->dy.buf;
        } else if (nd->spec.type == CF_LAYER_ACT) {
            nd->dz.buf = nd->in[0] >= 0 ? net->nodes[nd->in[0]].dy.buf : NULL;
        } else if (!nd->has_act) {
            nd->dz.buf = nd->dy.buf;
        }
    }
    return CF_OK;
}

/* ---- inference fusion ------------------------------------------------------------
 * At evaluation a conv whose output only feeds a batch norm, optionally
 * followed by a residual add, and the activation after either, runs as one
 * conv2d_fwd_act: batch norm in eval mode is affine, so it folds into the
 * conv's weight and bias (w' = w s, b' = (b - mean) s + beta with
 * s = gamma / sqrt(var + eps)). That removes the batch norm, add and
 * activation passes over memory. Training is unchanged. CLFORGE_NO_FUSION=1
 * turns it off (for comparison). */
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

static cf_status fuse_plan(cf_net *net, int (*ins)[CF_MAX_INPUTS], cf_error *err)
{
    const char *off = getenv("CLFORGE_NO_FUSION");
    cf_op probe = {.kind = CF_OP_CONV2D_FWD_ACT};
    if ((off && *off && strcmp(off, "0")) || !cf_backend_supports(net->b, &probe)) return CF_OK;
    for (int i = 0; i < net->n; i++) {
        node *nd = &net->nodes[i];
        if (nd->spec.type != CF_LAYER_CONV) continue;
        int out = i, bn = -1, z = -1, j = -1;
        if (!nd->has_act && single_consumer(net, ins, i, &j) &&
            net->nodes[j].spec.type == CF_LAYER_BATCHNORM) {
            out = bn = j;
            int a = -1;
            if (!net->nodes[j].has_act && single_consumer(net, ins, j, &a) &&
                net->nodes[a].spec.type == CF_LAYER_ADD) {
                int o = ins[a][0] == j ? ins[a][1] : ins[a][0];
                if (o >= 0 && o < i) { /* the residual is ready when the conv runs */
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
            const cf_tensor *w = &net->params[nd->pw].value;
            int k[1] = {w->shape[0]};
            CF_TRY(cf_tensor_alloc(net->b, &nd->fw, w->ndim, w->shape, "folded weight", err));
            CF_TRY(cf_tensor_alloc(net->b, &nd->fb, 1, k, "folded bias", err));
        }
        net->fused = 1;
    }
    return CF_OK;
}

/* fw, fb of every conv with a folded batch norm, from the current weights
 * and running statistics (host arithmetic in double: once per evaluation). */
static cf_status fold_batchnorms(cf_net *net, cf_error *err)
{
    cf_status s = CF_OK;
    for (int i = 0; i < net->n && !s; i++) {
        node *nd = &net->nodes[i];
        if (nd->fuse_bn < 0) continue;
        const node *bn = &net->nodes[nd->fuse_bn];
        const cf_tensor *w = &net->params[nd->pw].value;
        size_t K = (size_t)w->shape[0], crs = cf_tensor_numel(w) / K;
        float *hw = malloc(cf_tensor_numel(w) * sizeof *hw), *hv = malloc(5 * K * sizeof *hv);
        if (!hw || !hv) {
            free(hw);
            free(hv);
            return cf_error_set(err, CF_ERR_NOMEM, "out of memory folding batch norm");
        }
        float *b = hv, *g = hv + K, *beta = hv + 2 * K, *rm = hv + 3 * K, *rv = hv + 4 * K;
        if (!s) s = cf_tensor_download(net->b, w, hw, err);
        if (!s && nd->pb >= 0) s = cf_tensor_download(net->b, &net->params[nd->pb].value, b, err);
        else if (!s) memset(b, 0, K * sizeof *b);
        if (!s) s = cf_tensor_download(net->b, &net->params[bn->pg].value, g, err);
        if (!s) s = cf_tensor_download(net->b, &net->params[bn->pbeta].value, beta, err);
        if (!s) s = cf_tensor_download(net->b, &net->params[bn->prm].value, rm, err);
        if (!s) s = cf_tensor_download(net->b, &net->params[bn->prv].value, rv, err);
        for (size_t k = 0; k < K && !s; k++) {
            double sc = g[k] / sqrt((double)rv[k] + bn->spec.eps);
            for (size_t e = 0; e < crs; e++) hw[k * crs + e] = (float)(hw[k * crs + e] * sc);
            b[k] = (float)(beta[k] + (b[k] - (double)rm[k]) * sc);
        }
        if (!s) s = cf_tensor_upload(net->b, &nd->fw, hw, err);
        if (!s) s = cf_tensor_upload(net->b, &nd->fb, b, err);
        if (s) cf_error_prefix(err, "folding batch norm '%s' into '%s'", bn->spec.name, nd->spec.name);
        free(hw);
        free(hv);
    }
    return s;
}

void cf_net_params_changed(cf_net *net) { net->fold_ok = 0; }

int cf_net_fused(const cf_net *net)
{
    int n = 0;
    for (int i = 0; i < net->n; i++) n += net->nodes[i].fuse_out >= 0;
    return n;
}

cf_status cf_net_build(cf_backend *b, const cf_model_spec *m, int max_batch, int n_classes,
                       cf_loss_kind loss, cf_net **out, cf_error *err)
{
    cf_net *net = cf_calloc(1, sizeof *net);
    if (!net) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    net->b = b;
    net->n = m->n;
    net->max_batch = max_batch;
    net->classes = n_classes;
    net->loss = loss;
    snprintf(net->init, sizeof net->init, "%s", m->init);
    net->nodes = cf_calloc((size_t)m->n, sizeof *net->nodes);
    net->written = cf_calloc((size_t)m->n, 1);
    cf_shape3 *shapes = cf_calloc((size_t)m->n, sizeof *shapes);
    int (*ins)[CF_MAX_INPUTS] = cf_calloc((size_t)m->n, sizeof *ins);
    cf_status s = CF_OK;
    if (!net->nodes || !net->written || !shapes || !ins) {
        s = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((s = cf_model_infer(m, shapes, ins, err))) goto fail;
    cf_shape3 last = shapes[m->n - 1];
    if (last.c * last.h * last.w != n_classes) {
        s = cf_error_set(err, CF_ERR_INVALID,
                         "model: the last layer '%s' has %d outputs but the data has %d classes",
                         m->layers[m->n - 1].name, last.c * last.h * last.w, n_classes);
        goto fail;
    }
    cf_shape3 xin = {m->in_c, m->in_h, m->in_w};
    int sh[4];
    if ((s = alloc_act(net, &net->x, xin, "input", err))) goto fail;
    int ksh[2] = {max_batch, n_classes}, nsh[1] = {max_batch};
    if ((s = cf_tensor_alloc(b, &net->target, 2, ksh, "target", err)) ||
        (s = cf_tensor_alloc(b, &net->probs, 2, ksh, "probs", err)) ||
        (s = cf_tensor_alloc(b, &net->weight, 1, nsh, "sample_weight", err)) ||
        (s = cf_tensor_alloc(b, &net->loss_v, 1, nsh, "loss", err)) ||
        (s = cf_tensor_alloc(b, &net->pred, 1, nsh, "pred", err)))
        goto fail;
    /* Consumers per node: every output but the last must be used. */
    for (int i = 0; i < m->n - 1; i++) {
        int used = 0;
        for (int j = i + 1; j < m->n && !used; j++)
            for (int k = 0; k < CF_MAX_INPUTS; k++) used |= ins[j][k] == i;
        if (!used) {
            s = cf_error_set(err, CF_ERR_INVALID,
                             "model: the output of layer '%s' is not used by any later layer",
                             m->layers[i].name);
            goto fail;
        }
    }
    for (int i = 0; i < m->n; i++) {
        node *nd = &net->nodes[i];
        const cf_layer_spec *l = &m->layers[i];
        nd->spec = *l;
        nd->shape = shapes[i];
        nd->n_in = l->type == CF_LAYER_ADD ? 2 : 1;
        for (int k = 0; k < CF_MAX_INPUTS; k++) nd->in[k] = k < nd->n_in ? ins[i][k] : -2;
        nd->pw = nd->pb = nd->pg = nd->pbeta = nd->prm = nd->prv = -1;
        nd->fuse_out = nd->fuse_bn = nd->fuse_z = nd->fused_into = -1;
        nd->alias_of = -1;
        nd->grad_root = i;
        cf_shape3 x = nd->in[0] < 0 ? xin : shapes[nd->in[0]];
        long fin = (long)x.c * x.h * x.w;
        int is_act_layer = l->type == CF_LAYER_ACT;
        nd->has_act = l->act != CF_ACT_NONE && !is_act_layer;
        if (l->type == CF_LAYER_FLATTEN || is_act_layer) {
            /* flatten: same memory; activation layer: z is its input. */
            if (nd->in[0] < 0 && l->type == CF_LAYER_FLATTEN) {
                s = cf_error_set(err, CF_ERR_INVALID, "layer '%s': flatten of the raw input is not needed",
                                 l->name);
                goto fail;
            }
        }
        switch (l->type) {
        case CF_LAYER_DENSE:
            sh[0] = l->units;
            sh[1] = (int)fin;
            if ((s = add_param(net, l->name, "weight", 2, sh, 1, 1, (int)fin, l->units, &nd->pw, err))) goto fail;
            if (l->bias && (s = add_param(net, l->name, "bias", 1, sh, 0, 1, 0, 0, &nd->pb, err))) goto fail;
            break;
        case CF_LAYER_CONV:
            sh[0] = l->filters;
            sh[1] = x.c;
            sh[2] = sh[3] = l->kernel;
            if ((s = add_param(net, l->name, "weight", 4, sh, 1, 1, x.c * l->kernel * l->kernel,
                               l->filters * l->kernel * l->kernel, &nd->pw, err)))
                goto fail;
            if (l->bias && (s = add_param(net, l->name, "bias", 1, sh, 0, 1, 0, 0, &nd->pb, err))) goto fail;
            break;
        case CF_LAYER_BATCHNORM:
            sh[0] = x.c;
            if ((s = add_param(net, l->name, "gamma", 1, sh, 0, 1, 0, 0, &nd->pg, err)) ||
                (s = add_param(net, l->name, "beta", 1, sh, 0, 1, 0, 0, &nd->pbeta, err)) ||
                (s = add_param(net, l->name, "running_mean", 1, sh, 0, 0, 0, 0, &nd->prm, err)) ||
                (s = add_param(net, l->name, "running_var", 1, sh, 0, 0, 0, 0, &nd->prv, err)) ||
                (s = cf_tensor_alloc(b, &nd->save_mean, 1, sh, l->name, err)) ||
                (s = cf_tensor_alloc(b, &nd->save_invstd, 1, sh, l->name, err)))
                goto fail;
            /* Normalising the raw input: dx is discarded but must go somewhere. */
            if (nd->in[0] < 0 && (s = alloc_act(net, &nd->mask, shapes[i], l->name, err))) goto fail;
            break;
        case CF_LAYER_DROPOUT:
            if ((s = alloc_act(net, &nd->mask, shapes[i], l->name, err))) goto fail;
            break;
        default: break;
        }
        if (l->type == CF_LAYER_FLATTEN) {
            node *src = &net->nodes[nd->in[0]];
            nd->alias_of = nd->in[0];
            nd->grad_root = src->grad_root;
            nd->y = src->y;
            nd->dy = src->dy;
            nd->y.ndim = nd->dy.ndim = 4;
            shape4(shapes[i], max_batch, nd->y.shape);
            shape4(shapes[i], max_batch, nd->dy.shape);
            nd->z = nd->y;
            nd->dz = nd->dy;
            continue;
        }
        if ((s = alloc_act(net, &nd->y, shapes[i], l->name, err))) goto fail;
        shape_only(&nd->dy, shapes[i], max_batch, l->name);
        if (is_act_layer) {
            if (nd->in[0] < 0) {
                nd->z = net->x;
                memset(&nd->dz, 0, sizeof nd->dz);
            } else {
                nd->z = net->nodes[nd->in[0]].y;
                nd->dz = net->nodes[nd->in[0]].dy; /* shape; buffer from the plan */
            }
        } else if (nd->has_act) {
            /* relu and leaky relu (slope >= 0) backpropagate from the sign of
             * their output, so their input need not outlive the forward step. */
            float slope = l->alpha >= 0 ? l->alpha : 0.01f; /* alpha < 0: the default */
            nd->z_scratch = l->act == CF_ACT_RELU || (l->act == CF_ACT_LEAKY_RELU && slope >= 0);
            if (nd->z_scratch) shape_only(&nd->z, shapes[i], max_batch, l->name);
            else if ((s = alloc_act(net, &nd->z, shapes[i], l->name, err))) goto fail;
            shape_only(&nd->dz, shapes[i], max_batch, l->name);
        } else {
            nd->z = nd->y;
            nd->dz = nd->dy;
        }
    }
    if ((s = plan_gradients(net, err))) goto fail;
    if ((s = fuse_plan(net, ins, err))) goto fail;
    size_t zmax = 0;
    for (int i = 0; i < m->n; i++)
        if (net->nodes[i].z_scratch && cf_tensor_numel(&net->nodes[i].z) > zmax) zmax = cf_tensor_numel(&net->nodes[i].z);
    if (zmax) {
        int zs[1] = {(int)zmax};
        if ((s = cf_tensor_alloc(b, &net->zscratch, 1, zs, "pre-activation scratch", err))) goto fail;
        for (int i = 0; i < m->n; i++)
            if (net->nodes[i].z_scratch) net->nodes[i].z.buf = net->zscratch.buf;
    }
    free(shapes);
    free(ins);
    *out = net;
    return CF_OK;
fail:
    free(shapes);
    free(ins);
    cf_net_free(net);
    return s;
}

void cf_net_free(cf_net *net)
{
    if (!net) return;
    cf_backend *b = net->b;
    for (int i = 0; i < net->n && net->nodes; i++) {
        node *nd = &net->nodes[i];
        if (nd->spec.type == CF_LAYER_FLATTEN) continue; /* aliases */
        cf_tensor_free(b, &nd->y);
        if (nd->has_act && !nd->z_scratch) cf_tensor_free(b, &nd->z); /* dy/dz: the pool */
        cf_tensor_free(b, &nd->mask);
        cf_tensor_free(b, &nd->save_mean);
        cf_tensor_free(b, &nd->save_invstd);
        cf_tensor_free(b, &nd->fw);
        cf_tensor_free(b, &nd->fb);
    }
    for (int i = 0; i < net->n_params; i++) {
        cf_net_param *p = &net->params[i];
        cf_tensor_free(b, &p->value);
        cf_tensor_free(b, &p->grad);
        for (int k = 0; p->slots && k < net->n_slots; k++) cf_tensor_free(b, &p->slots[k]);
        free(p->slots);
    }
    cf_tensor_free(b, &net->x);
    cf_tensor_free(b, &net->target);
    cf_tensor_free(b, &net->probs);
    cf_tensor_free(b, &net->weight);
    cf_tensor_free(b, &net->loss_v);
    cf_tensor_free(b, &net->pred);
    for (int i = 0; i < net->n_pool; i++) cf_tensor_free(b, &net->pool[i]);
    cf_tensor_free(b, &net->zscratch);
    free(net->pool);
    free(net->params);
    free(net->optim);
    free(net->slot_ptrs);
    free(net->nodes);
    free(net->written);
    free(net);
}

cf_status cf_net_init_params(cf_net *net, uint64_t seed, cf_error *err)
{
    net->fold_ok = 0;
    int xavier = !strcmp(net->init, "xavier");
    for (int i = 0; i < net->n_params; i++) {
        cf_net_param *p = &net->params[i];
        size_t n = cf_tensor_numel(&p->value);
        float *h = malloc(n * sizeof *h);
        if (!h) return cf_error_set(err, CF_ERR_NOMEM, "out of memory initialising %s", p->name);
        cf_rng r = cf_rng_make(seed, CF_RNG_INIT, (uint64_t)i, 0);
        const char *suffix = strrchr(p->name, '.');
        float fill = suffix && (!strcmp(suffix, ".gamma") || !strcmp(suffix, ".running_var")) ? 1.0f : 0.0f;
        for (size_t k = 0; k < n; k++) {
            if (!p->is_weight) h[k] = fill;
            else if (xavier) {
                double a = sqrt(6.0 / (p->fan_in + p->fan_out));
                h[k] = (float)cf_rng_range(&r, -a, a);
            } else
                h[k] = (float)(cf_rng_normal(&r) * sqrt(2.0 / p->fan_in));
        }
        cf_status s = cf_tensor_upload(net->b, &p->value, h, err);
        free(h);
        if (s) return cf_error_prefix(err, "initialising %s", p->name);
    }
    return CF_OK;
}

cf_status cf_net_alloc_slots(cf_net *net, int n_slots, cf_error *err)
{
    net->n_slots = n_slots;
    net->n_optim = 0;
    free(net->optim);
    net->optim = cf_calloc((size_t)net->n_params, sizeof *net->optim);
    free(net->slot_ptrs);
    net->slot_ptrs = cf_calloc((size_t)net->n_params * (size_t)(n_slots ? n_slots : 1), sizeof *net->slot_ptrs);
    if (!net->optim || !net->slot_ptrs) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    cf_compute cx = cf_backend_compute(net->b);
    for (int i = 0; i < net->n_params; i++) {
        cf_net_param *p = &net->params[i];
        if (!p->trainable) continue;
        if (n_slots > 0) {
            p->slots = cf_calloc((size_t)n_slots, sizeof *p->slots);
            if (!p->slots) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
            for (int k = 0; k < n_slots; k++) {
                CF_TRY(cf_tensor_alloc(net->b, &p->slots[k], p->value.ndim, p->value.shape, p->name, err));
                CF_TRY(cf_vec_fill(&cx, &p->slots[k], 0.0f, err));
            }
        }
        cf_optim_param *o = &net->optim[net->n_optim++];
        o->value = &p->value;
        o->grad = &p->grad;
        cf_tensor **sp = &net->slot_ptrs[(size_t)i * (size_t)(n_slots ? n_slots : 1)];
        for (int k = 0; k < n_slots; k++) sp[k] = &p->slots[k];
        o->slots = sp;
        o->name = p->name;
        o->is_weight = p->is_weight;
    }
    return CF_OK;
}

void cf_net_optim_step(cf_net *net, cf_optim_step *s, const cf_compute *cx, long step, double lr)
{
    s->cx = cx;
    s->step = step;
    s->lr = lr;
    s->n_params = net->n_optim;
    s->params = net->optim;
}

/* ---- execution ----------------------------------------------------------------- */
static void set_batch(cf_net *net, int n)
{
    net->x.shape[0] = n;
    net->target.shape[0] = n;
    net->probs.shape[0] = n;
    net->weight.shape[0] = n;
    net->loss_v.shape[0] = n;
    net->pred.shape[0] = n;
    for (int i = 0; i < net->n; i++) {
        node *nd = &net->nodes[i];
        nd->y.shape[0] = nd->dy.shape[0] = nd->z.shape[0] = nd->dz.shape[0] = n;
        if (nd->mask.buf) nd->mask.shape[0] = n;
    }
}

static cf_tensor *in_y(cf_net *net, node *nd, int k)
{
    return nd->in[k] < 0 ? &net->x : &net->nodes[nd->in[k]].y;
}

static cf_status run(cf_net *net, cf_op *op, const node *nd, cf_error *err)
{
    cf_status s = cf_backend_exec(net->b, op, err);
    if (s) return cf_error_prefix(err, "layer '%s' (%s)", nd ? nd->spec.name : "loss", cf_op_name(op->kind));
    return CF_OK;
}

static void act_params(cf_op *op, const cf_layer_spec *l)
{
    op->p.act.act = l->act;
    op->p.act.alpha = l->alpha >= 0 ? l->alpha : (l->act == CF_ACT_ELU ? 1.0f : 0.01f);
}

/* Node i as one conv2d_fwd_act (see fuse_plan). */
static cf_status run_fused(cf_net *net, node *nd, cf_error *err)
{
    const cf_layer_spec *l = &nd->spec;
    node *out = &net->nodes[nd->fuse_out];
    cf_op op = {0};
    op.kind = CF_OP_CONV2D_FWD_ACT;
    op.in[0] = in_y(net, nd, 0);
    if (nd->fuse_bn >= 0) {
        op.in[1] = &nd->fw;
        op.in[2] = &nd->fb;
    } else {
        op.in[1] = &net->params[nd->pw].value;
        op.in[2] = nd->pb >= 0 ? &net->params[nd->pb].value : NULL;
    }
    op.in[3] = nd->fuse_z >= 0 ? &net->nodes[nd->fuse_z].y : NULL;
    op.out[0] = &out->y;
    op.p.conv_act.stride_h = op.p.conv_act.stride_w = l->stride;
    op.p.conv_act.pad_h = op.p.conv_act.pad_w = l->padding;
    if (out->has_act) {
        cf_op a = {0};
        act_params(&a, &out->spec);
        op.p.conv_act.act = a.p.act.act;
        op.p.conv_act.alpha = a.p.act.alpha;
    }
    return run(net, &op, nd, err);
}

static cf_status forward(cf_net *net, int train, uint64_t seed, uint64_t step, cf_error *err)
{
    int fuse = !train && net->fused && net->fold_ok;
    for (int i = 0; i < net->n; i++) {
        node *nd = &net->nodes[i];
        const cf_layer_spec *l = &nd->spec;
        if (fuse && nd->fused_into >= 0) continue;
        if (fuse && nd->fuse_out >= 0) {
            CF_TRY(run_fused(net, nd, err));
            continue;
        }
        cf_op op = {0};
        cf_tensor *x = in_y(net, nd, 0);
        op.in[0] = x;
        op.out[0] = &nd->z;
        switch (l->type) {
        case CF_LAYER_DENSE:
        case CF_LAYER_CONV:
            op.kind = l->type == CF_LAYER_DENSE ? CF_OP_DENSE_FWD : CF_OP_CONV2D_FWD;
            op.in[1] = &net->params[nd->pw].value;
            op.in[2] = nd->pb >= 0 ? &net->params[nd->pb].value : NULL;
            op.p.conv.stride_h = op.p.conv.stride_w = l->stride;
            op.p.conv.pad_h = op.p.conv.pad_w = l->padding;
            break;
        case CF_LAYER_MAXPOOL:
        case CF_LAYER_AVGPOOL:
            op.kind = l->type == CF_LAYER_MAXPOOL ? CF_OP_MAXPOOL_FWD : CF_OP_AVGPOOL_FWD;
            op.p.pool.kernel_h = op.p.pool.kernel_w = l->size;
            op.p.pool.stride_h = op.p.pool.stride_w = l->stride;
            op.p.pool.pad_h = op.p.pool.pad_w = l->padding;
            break;
        case CF_LAYER_GAP: op.kind = CF_OP_GAP_FWD; break;
        case CF_LAYER_ADD:
            op.kind = CF_OP_ADD;
            op.in[1] = in_y(net, nd, 1);
            break;
        case CF_LAYER_SOFTMAX: op.kind = CF_OP_SOFTMAX_FWD; break;
        case CF_LAYER_DROPOUT:
            if (train && l->rate > 0) {
                op.kind = CF_OP_DROPOUT_FWD;
                op.out[1] = &nd->mask;
                op.p.dropout.rate = l->rate;
                op.p.dropout.seed = seed;
                op.p.dropout.counter = ((uint64_t)CF_RNG_DROPOUT << 56) | (step << 12) | (uint64_t)i;
            } else {
                op.kind = CF_OP_AXPBY; /* identity at evaluation */
                op.p.vec.a = 1;
                op.p.vec.b = 0;
            }
            break;
        case CF_LAYER_BATCHNORM:
            op.in[1] = &net->params[nd->pg].value;
            op.in[2] = &net->params[nd->pbeta].value;
            op.p.bn.eps = l->eps;
            op.p.bn.momentum = l->momentum;
            if (train) {
                op.kind = CF_OP_BATCHNORM_FWD_TRAIN;
                op.out[1] = &nd->save_mean;
                op.out[2] = &nd->save_invstd;
                op.out[3] = &net->params[nd->prm].value;
                op.out[4] = &net->params[nd->prv].value;
            } else {
                op.kind = CF_OP_BATCHNORM_FWD_EVAL;
                op.in[3] = &net->params[nd->prm].value;
                op.in[4] = &net->params[nd->prv].value;
            }
            break;
        case CF_LAYER_FLATTEN:
        case CF_LAYER_ACT:
            op.kind = CF_OP_NONE;
            break;
        default:
            return cf_error_set(err, CF_ERR_INVALID, "layer '%s': type not executable", l->name);
        }
        if (op.kind != CF_OP_NONE) CF_TRY(run(net, &op, nd, err));
        if (nd->has_act || l->type == CF_LAYER_ACT) {
            cf_op a = {0};
            a.kind = CF_OP_ACT_FWD;
            a.in[0] = &nd->z;
            a.out[0] = &nd->y;
            act_params(&a, l);
            CF_TRY(run(net, &a, nd, err));
        }
    }
    return CF_OK;
}

/* The gradient buffer of node j's output, and whether to accumulate. */
static cf_tensor *grad_of(cf_net *net, int j, int *accumulate)
{
    node *nd = &net->nodes[j];
    int root = nd->grad_root;
    *accumulate = net->written[root];
    net->written[root] = 1;
    return &nd->dy;
}

static cf_status backward(cf_net *net, float scale, cf_error *err)
{
    memset(net->written, 0, (size_t)net->n);
    node *last = &net->nodes[net->n - 1];
    cf_op op = {0};
    int acc;
    switch (net->loss) {
    case CF_LOSS_XENT: op.kind = CF_OP_SOFTMAX_XENT_BWD; op.in[0] = &net->probs; break;
    case CF_LOSS_MSE: op.kind = CF_OP_MSE_BWD; op.in[0] = &last->y; break;
    case CF_LOSS_HINGE: op.kind = CF_OP_HINGE_BWD; op.in[0] = &last->y; break;
    }
    op.in[1] = &net->target;
    op.in[2] = &net->weight;
    op.out[0] = grad_of(net, net->n - 1, &acc);
    op.p.loss.scale = scale;
    CF_TRY(run(net, &op, NULL, err));
    for (int i = net->n - 1; i >= 0; i--) {
        node *nd = &net->nodes[i];
        const cf_layer_spec *l = &nd->spec;
        if (l->type == CF_LAYER_FLATTEN) continue;
        if (nd->has_act || l->type == CF_LAYER_ACT) {
            if (l->type == CF_LAYER_ACT && nd->in[0] < 0) continue; /* nothing upstream */
            cf_op a = {0};
            a.kind = CF_OP_ACT_BWD;
            a.in[0] = &nd->dy;
            a.in[1] = nd->z_scratch ? &nd->y : &nd->z; /* same sign as z: see backend.h */
            a.in[2] = &nd->y;
            act_params(&a, l);
            if (l->type == CF_LAYER_ACT) a.out[0] = grad_of(net, nd->in[0], &a.accumulate);
            else a.out[0] = &nd->dz;
            CF_TRY(run(net, &a, nd, err));
            if (l->type == CF_LAYER_ACT) continue;
        }
        cf_tensor *g = &nd->dz;
        for (int k = 0; k < nd->n_in; k++) {
            int src = nd->in[k];
            cf_op o = {0};
            int need_dx = src >= 0;
            switch (l->type) {
            case CF_LAYER_DENSE:
            case CF_LAYER_CONV: {
                int dense = l->type == CF_LAYER_DENSE;
                cf_op w = {0};
                w.kind = dense ? CF_OP_DENSE_BWD_WEIGHT : CF_OP_CONV2D_BWD_WEIGHT;
                w.in[0] = g;
                w.in[1] = in_y(net, nd, 0);
                w.out[0] = &net->params[nd->pw].grad;
                w.out[1] = nd->pb >= 0 ? &net->params[nd->pb].grad : NULL;
                w.p.conv.stride_h = w.p.conv.stride_w = l->stride;
                w.p.conv.pad_h = w.p.conv.pad_w = l->padding;
                CF_TRY(run(net, &w, nd, err));
                o.kind = dense ? CF_OP_DENSE_BWD_DATA : CF_OP_CONV2D_BWD_DATA;
                o.in[0] = g;
                o.in[1] = &net->params[nd->pw].value;
                o.p.conv = w.p.conv;
                break;
            }
            case CF_LAYER_MAXPOOL:
            case CF_LAYER_AVGPOOL:
                o.kind = l->type == CF_LAYER_MAXPOOL ? CF_OP_MAXPOOL_BWD : CF_OP_AVGPOOL_BWD;
                o.in[0] = g;
                o.in[1] = in_y(net, nd, 0);
                o.p.pool.kernel_h = o.p.pool.kernel_w = l->size;
                o.p.pool.stride_h = o.p.pool.stride_w = l->stride;
                o.p.pool.pad_h = o.p.pool.pad_w = l->padding;
                break;
            case CF_LAYER_GAP: o.kind = CF_OP_GAP_BWD; o.in[0] = g; break;
            case CF_LAYER_ADD:
                o.kind = CF_OP_AXPBY;
                o.in[0] = g;
                o.p.vec.a = 1;
                break;
            case CF_LAYER_SOFTMAX:
                o.kind = CF_OP_SOFTMAX_BWD;
                o.in[0] = g;
                o.in[1] = &nd->y;
                break;
            case CF_LAYER_DROPOUT:
                if (l->rate > 0) {
                    o.kind = CF_OP_DROPOUT_BWD;
                    o.in[0] = g;
                    o.in[1] = &nd->mask;
                } else {
                    o.kind = CF_OP_AXPBY;
                    o.in[0] = g;
                    o.p.vec.a = 1;
                }
                break;
            case CF_LAYER_BATCHNORM:
                o.kind = CF_OP_BATCHNORM_BWD;
                o.in[0] = g;
                o.in[1] = in_y(net, nd, 0);
                o.in[2] = &net->params[nd->pg].value;
                o.in[3] = &nd->save_mean;
                o.in[4] = &nd->save_invstd;
                o.out[1] = &net->params[nd->pg].grad;
                o.out[2] = &net->params[nd->pbeta].grad;
                o.p.bn.eps = l->eps;
                o.p.bn.momentum = l->momentum;
                if (!need_dx) { /* dgamma/dbeta still needed; dx goes to scratch */
                    o.out[0] = &nd->mask;
                    CF_TRY(run(net, &o, nd, err));
                    continue;
                }
                break;
            default:
                continue;
            }
            if (!need_dx) continue;
            int a = -1;
            o.out[0] = grad_of(net, src, &a);
            o.accumulate = a;
            if (o.kind == CF_OP_AXPBY) {
                o.p.vec.b = a ? 1.0f : 0.0f;
                o.accumulate = 0;
            }
            if (o.kind == CF_OP_AVGPOOL_BWD || o.kind == CF_OP_GAP_BWD) o.in[1] = NULL;
            CF_TRY(run(net, &o, nd, err));
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
        CF_TRY(fold_batchnorms(net, err));
        net->fold_ok = 1;
    }
    CF_TRY(cf_tensor_upload(net->b, &net->x, x, err));
    CF_TRY(cf_tensor_upload(net->b, &net->target, target, err));
    CF_TRY(cf_tensor_upload(net->b, &net->weight, weight, err));
    CF_TRY(forward(net, train, dropout_seed, step, err));
    node *last = &net->nodes[net->n - 1];
    cf_op op = {0};
    switch (net->loss) {
    case CF_LOSS_XENT:
        op.kind = CF_OP_SOFTMAX_XENT_FWD;
        op.out[0] = &net->probs;
        break;
    case CF_LOSS_MSE: op.kind = CF_OP_MSE_FWD; break;
    case CF_LOSS_HINGE: op.kind = CF_OP_HINGE_FWD; break;
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
    CF_TRY(run(net, &op, NULL, err));
    if (train) {
        double wsum = 0;
        for (int i = 0; i < n; i++) wsum += weight[i];
        CF_TRY(backward(net, (float)(1.0 / (wsum > 0 ? wsum : 1)), err));
    }
    if (loss_out) CF_TRY(cf_tensor_download(net->b, &net->loss_v, loss_out, err));
    if (pred_out) CF_TRY(cf_tensor_download(net->b, &net->pred, pred_out, err));
    if (probs_out) {
        if (net->loss == CF_LOSS_XENT) CF_TRY(cf_tensor_download(net->b, &net->probs, probs_out, err));
        else {
            cf_tensor t = last->y;
            t.shape[0] = n;
            CF_TRY(cf_tensor_download(net->b, &t, probs_out, err));
        }
    }
    return CF_OK;
}
