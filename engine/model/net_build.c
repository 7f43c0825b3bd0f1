/* Building the network on a backend: tensors allocated once at the largest
 * batch, each node's parameters and extra tensors from its type's build
 * hook, activation memory wired (aliases, activation-only layers, relu-like
 * pre-activations in shared scratch), then the gradient and fusion plans. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "model/net_impl.h"

int cf_net_shape4(cf_shape3 s, int batch, int *out)
{
    out[0] = batch;
    out[1] = s.c;
    out[2] = s.h;
    out[3] = s.w;
    return 4;
}

cf_status cf_net_add_param(cf_net *net, const char *layer, const char *what, int ndim,
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
    p->lr_mult = 1.0;
    CF_TRY(cf_tensor_alloc(net->b, &p->value, ndim, shape, p->name, err));
    if (trainable) CF_TRY(cf_tensor_alloc(net->b, &p->grad, ndim, shape, p->name, err));
    *idx = net->n_params++;
    return CF_OK;
}

cf_status cf_net_alloc_act(cf_net *net, cf_tensor *t, cf_shape3 s, const char *name, cf_error *err)
{
    int sh[4];
    cf_net_shape4(s, net->max_batch, sh);
    return cf_tensor_alloc(net->b, t, 4, sh, name, err);
}

/* Shape a tensor without memory: gradient buffers come from the plan. */
static void shape_only(cf_tensor *t, cf_shape3 s, int batch, const char *name)
{
    memset(t, 0, sizeof *t);
    t->ndim = cf_net_shape4(s, batch, t->shape);
    t->name = name;
}

/* y, z and their gradients' shapes for node nd. */
static cf_status wire_node(cf_net *net, cf_node *nd, cf_error *err)
{
    const cf_layer_spec *l = &nd->spec;
    int batch = net->max_batch;
    if (nd->def->flags & CF_LAYER_ALIAS) { /* the input's memory, reshaped */
        cf_node *src = &net->nodes[nd->in[0]];
        nd->alias_of = nd->in[0];
        nd->grad_root = src->grad_root;
        nd->y = src->y;
        nd->dy = src->dy;
        nd->y.ndim = nd->dy.ndim = 4;
        cf_net_shape4(nd->shape, batch, nd->y.shape);
        cf_net_shape4(nd->shape, batch, nd->dy.shape);
        nd->z = nd->y;
        nd->dz = nd->dy;
        return CF_OK;
    }
    CF_TRY(cf_net_alloc_act(net, &nd->y, nd->shape, l->name, err));
    shape_only(&nd->dy, nd->shape, batch, l->name);
    if (nd->def->flags & CF_LAYER_ACT_ONLY) { /* z is its input */
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
        if (nd->z_scratch) shape_only(&nd->z, nd->shape, batch, l->name);
        else CF_TRY(cf_net_alloc_act(net, &nd->z, nd->shape, l->name, err));
        shape_only(&nd->dz, nd->shape, batch, l->name);
    } else {
        nd->z = nd->y;
        nd->dz = nd->dy;
    }
    return CF_OK;
}

static cf_status build_nodes(cf_net *net, const cf_model_spec *m, const cf_shape3 *shapes,
                             int (*ins)[CF_MAX_INPUTS], cf_error *err)
{
    cf_shape3 xin = {m->in_c, m->in_h, m->in_w};
    /* Consumers per node: every output but the last must be used. */
    for (int i = 0; i < m->n - 1; i++) {
        int used = 0;
        for (int j = i + 1; j < m->n && !used; j++)
            for (int k = 0; k < CF_MAX_INPUTS; k++) used |= ins[j][k] == i;
        if (!used)
            return cf_error_set(err, CF_ERR_INVALID,
                                "model: the output of layer '%s' is not used by any later layer",
                                m->layers[i].name);
    }
    for (int i = 0; i < m->n; i++) {
        cf_node *nd = &net->nodes[i];
        const cf_layer_spec *l = &m->layers[i];
        nd->spec = *l;
        nd->def = cf_layer_def(l->type);
        nd->index = i;
        nd->shape = shapes[i];
        nd->n_in = l->n_inputs ? l->n_inputs : 1;
        for (int k = 0; k < CF_MAX_INPUTS; k++) nd->in[k] = k < nd->n_in ? ins[i][k] : -2;
        for (int k = 0; k < CF_NODE_PARAMS; k++) nd->param[k] = -1;
        nd->fuse_out = nd->fuse_bn = nd->fuse_z = nd->fused_into = -1;
        nd->alias_of = -1;
        nd->grad_root = i;
        nd->backward = nd->need_dx = 1;
        nd->has_act = l->act != CF_ACT_NONE && !(nd->def->flags & CF_LAYER_ACT_ONLY);
        cf_shape3 x = nd->in[0] < 0 ? xin : shapes[nd->in[0]];
        if (nd->def->build) CF_TRY(nd->def->build(net, nd, x, err));
        CF_TRY(wire_node(net, nd, err));
    }
    return CF_OK;
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
    if ((s = cf_net_alloc_act(net, &net->x, xin, "input", err))) goto fail;
    int ksh[2] = {max_batch, n_classes}, nsh[1] = {max_batch};
    if ((s = cf_tensor_alloc(b, &net->target, 2, ksh, "target", err)) ||
        (s = cf_tensor_alloc(b, &net->probs, 2, ksh, "probs", err)) ||
        (s = cf_tensor_alloc(b, &net->weight, 1, nsh, "sample_weight", err)) ||
        (s = cf_tensor_alloc(b, &net->loss_v, 1, nsh, "loss", err)) ||
        (s = cf_tensor_alloc(b, &net->pred, 1, nsh, "pred", err)))
        goto fail;
    if ((s = build_nodes(net, m, shapes, ins, err))) goto fail;
    if ((s = cf_net_plan_gradients(net, err))) goto fail;
    if ((s = cf_net_fuse_plan(net, ins, err))) goto fail;
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
        cf_node *nd = &net->nodes[i];
        if (!nd->def || (nd->def->flags & CF_LAYER_ALIAS)) continue; /* unbuilt, or aliases */
        cf_tensor_free(b, &nd->y);
        if (nd->has_act && !nd->z_scratch) cf_tensor_free(b, &nd->z); /* dy/dz: the pool */
        for (int a = 0; a < CF_NODE_AUX; a++) cf_tensor_free(b, &nd->aux[a]);
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
    cf_tensor_free(b, &net->pos_weight);
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

cf_status cf_net_set_pos_weight(cf_net *net, const float *pw, cf_error *err)
{
    if (!pw) {
        cf_tensor_free(net->b, &net->pos_weight);
        memset(&net->pos_weight, 0, sizeof net->pos_weight);
        return CF_OK;
    }
    int sh[1] = {net->classes};
    if (!net->pos_weight.buf) CF_TRY(cf_tensor_alloc(net->b, &net->pos_weight, 1, sh, "pos_weight", err));
    return cf_tensor_upload(net->b, &net->pos_weight, pw, err);
}
