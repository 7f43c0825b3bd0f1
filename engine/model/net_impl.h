/* clforge — Inside the built network: nodes, their tensors, and the helpers
 * layer types emit their ops with. For model/ and model/layers/ only. */
#ifndef CLFORGE_MODEL_NET_IMPL_H
#define CLFORGE_MODEL_NET_IMPL_H

#include "model/net.h"

/* Parameter roles a fusion HEAD exposes to the AFFINE layer folded into it. */
enum { CF_P_WEIGHT = 0, CF_P_BIAS = 1 };
#define CF_NODE_PARAMS 4
#define CF_NODE_AUX 3

struct cf_node {
    cf_layer_spec spec;
    const cf_layer_type_def *def;
    int index;
    int n_in;
    int in[CF_MAX_INPUTS]; /* node index, -1 = network input, -2 = unused */
    cf_shape3 shape;
    cf_tensor y, dy; /* output (after activation) and its gradient */
    cf_tensor z, dz; /* before activation, when there is one */
    int has_act;
    int z_scratch;   /* z lives only during this node's forward (relu-like): shared */
    int alias_of;    /* >= 0: y/dy share the buffers of that node (flatten) */
    int grad_root;   /* node owning the dy buffer (follows aliases) */
    int param[CF_NODE_PARAMS];  /* the type's parameter indices by its roles, -1 = none */
    cf_tensor aux[CF_NODE_AUX]; /* the type's extra tensors (mask, saved statistics) */
    /* Inference fusion (fusion.c): a HEAD that runs fused writes the output
     * of node fuse_out, folding in AFFINE node fuse_bn and adding node
     * fuse_z's output; the nodes it absorbs have fused_into set. */
    int fuse_out, fuse_bn, fuse_z, fused_into;
    cf_tensor fw, fb; /* weight and bias with fuse_bn folded in */
    /* train.freeze (net_freeze.c): frozen = no parameter gradients (batch
     * norm in eval mode); backward = 0: nothing upstream or here trains,
     * the backward pass skips the node; need_dx = 0: no input needs dL/dx. */
    int frozen, backward, need_dx;
};

struct cf_net {
    cf_backend *b;
    int n;
    cf_node *nodes;
    int max_batch, classes;
    cf_loss_kind loss;
    cf_tensor x, target, weight, probs, loss_v, pred;
    cf_tensor pos_weight; /* BCE, [K]; no buffer: none */
    int n_params, cap_params;
    cf_net_param *params;
    int n_slots;
    cf_optim_param *optim;
    cf_tensor **slot_ptrs; /* n_params * n_slots, for cf_optim_param.slots */
    int n_optim;
    char init[16];
    char *written; /* per node: gradient buffer written during this backward */
    int n_pool;
    cf_tensor *pool; /* gradient buffers shared by liveness (grad_plan.c) */
    cf_tensor zscratch; /* pre-activations of relu-like layers (forward only) */
    int fused;   /* the inference plan has fused heads (fusion.c) */
    cf_net_grad_hook grad_hook; /* see cf_net_set_grad_hook */
    void *grad_hook_ctx;
    int fold_ok; /* fw/fb hold the current weights (cleared by training and weight loads) */
    int n_groups;      /* lr_mult groups of optim[] (net_params.c) */
    int group_at[65];  /* group g is optim[group_at[g] .. group_at[g + 1]) */
    double group_mult[64];
};

/* ---- net_build.c ---- */
cf_status cf_net_add_param(cf_net *net, const char *layer, const char *what, int ndim,
                           const int *shape, int is_weight, int trainable, int fan_in, int fan_out,
                           int *idx, cf_error *err);
/* An activation-shaped tensor [max_batch, s] with memory. */
cf_status cf_net_alloc_act(cf_net *net, cf_tensor *t, cf_shape3 s, const char *name, cf_error *err);
int cf_net_shape4(cf_shape3 s, int batch, int *out);

/* ---- executor.c ---- */
cf_tensor *cf_net_in_y(cf_net *net, const cf_node *nd, int k);
cf_tensor *cf_net_value(cf_net *net, int param); /* NULL for -1 */
cf_tensor *cf_net_grad(cf_net *net, int param);  /* NULL for -1 */
/* Execute, naming the layer (NULL: the loss) in errors. */
cf_status cf_net_exec(cf_net *net, cf_op *op, const cf_node *nd, cf_error *err);
void cf_net_act_params(cf_op *op, const cf_layer_spec *l);
cf_status cf_net_forward(cf_net *net, int train, uint64_t seed, uint64_t step, cf_error *err);

/* ---- autodiff.c ---- */
/* The gradient buffer of node j's output, and whether to accumulate into it. */
cf_tensor *cf_net_grad_of(cf_net *net, int j, int *accumulate);
/* Send o (its dx in out[0] to be filled) to input k of nd: picks the
 * gradient buffer and accumulation; nothing when input k is the network's. */
cf_status cf_net_emit_dx(cf_net *net, cf_node *nd, int k, cf_op *o, cf_error *err);
cf_status cf_net_backward(cf_net *net, float scale, cf_error *err);

/* ---- grad_plan.c ---- */
cf_status cf_net_plan_gradients(cf_net *net, cf_error *err);

/* ---- fusion.c ---- */
cf_status cf_net_fuse_plan(cf_net *net, int (*ins)[CF_MAX_INPUTS], cf_error *err);
cf_status cf_net_fold(cf_net *net, cf_error *err);

#endif
