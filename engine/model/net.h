/* clforge — The built network: parameters, one training/inference step on a backend. */
#ifndef CLFORGE_MODEL_NET_H
#define CLFORGE_MODEL_NET_H

#include <stdint.h>
#include "clforge/clforge.h"
#include "model/model.h"

/* ---- net_build.c, executor.c, autodiff.c, fusion.c, net_params.c ---- */
/* BCE: a sigmoid and binary cross-entropy per output (multi-label targets). */
typedef enum cf_loss_kind { CF_LOSS_XENT = 0, CF_LOSS_MSE, CF_LOSS_HINGE, CF_LOSS_BCE } cf_loss_kind;

typedef struct cf_net cf_net;

typedef struct cf_net_param {
    cf_tensor value, grad;
    cf_tensor *slots; /* n_slots */
    char name[CF_NAME_MAX + 16];
    int is_weight;
    int trainable;    /* 0 for running statistics (saved, not optimized) */
    int frozen;       /* train.freeze: no gradient, no optimizer state (net_freeze.c) */
    double lr_mult;   /* train.lr_mult: scales the step's learning rate (1 by default) */
    int lr_mult_set;
    int fan_in, fan_out;
} cf_net_param;

cf_status cf_net_build(cf_backend *b, const cf_model_spec *m, int max_batch, int n_classes,
                       cf_loss_kind loss, cf_net **out, cf_error *err);
void cf_net_free(cf_net *n);
/* Seeded init of every parameter (he/xavier by spec; biases 0, BN gamma 1). */
cf_status cf_net_init_params(cf_net *n, uint64_t seed, cf_error *err);
int cf_net_n_params(const cf_net *n);
cf_net_param *cf_net_param_at(cf_net *n, int i);
long cf_net_param_count(const cf_net *n);
/* One batch: upload x (n x C*H*W) and targets (n x K), optional weights (n).
 * train=1 runs forward+loss+backward (grads ready); train=0 forward+loss only.
 * loss_out/pred_out (n floats each) receive per-sample loss and argmax;
 * probs_out (n x K, optional) the output probabilities. */
cf_status cf_net_run(cf_net *net, const float *x, const float *target, const float *weight,
                     int n, int train, uint64_t dropout_seed, uint64_t step, float *loss_out,
                     float *pred_out, float *probs_out, cf_error *err);
/* BCE: per-class weights of the positive term (K floats; NULL: none). */
cf_status cf_net_set_pos_weight(cf_net *n, const float *pos_weight, cf_error *err);
cf_backend *cf_net_backend(cf_net *n);
/* Called in the backward walk (last node to first) once node `node`'s
 * parameter gradients are final, so that dist/ can start reducing them while
 * earlier layers still run; a failure ends the backward pass. NULL: none. */
typedef cf_status (*cf_net_grad_hook)(void *ctx, cf_net *net, int node, cf_error *err);
void cf_net_set_grad_hook(cf_net *n, cf_net_grad_hook fn, void *ctx);
/* The node owning parameter i (its gradient is final after that node's
 * backward), -1 when no node names it. */
int cf_net_param_node(const cf_net *n, int i);
int cf_net_n_nodes(const cf_net *n);
int cf_net_classes(const cf_net *n);
/* Parameters were written from outside a training step (weights loaded):
 * inference recomputes what it derives from them (folded batch norms). */
void cf_net_params_changed(cf_net *n);
/* Convolutions that evaluation runs as conv2d_fwd_act (0: no fusion). */
int cf_net_fused(const cf_net *n);
/* Optimizer wiring: allocate n_slots zeroed state tensors per trainable
 * param that is not frozen, grouped by lr_mult (set both before). */
cf_status cf_net_alloc_slots(cf_net *n, int n_slots, cf_error *err);
int cf_net_slots(const cf_net *n);
/* Fill a cf_optim_step (params array owned by the net): every optimized
 * parameter at rate lr. */
void cf_net_optim_step(cf_net *n, cf_optim_step *s, const cf_compute *cx, long step, double lr);
/* The optimized parameters in groups of equal lr_mult: group g (0 <= g <
 * the count returned) at rate lr * its multiplier. One group without
 * train.lr_mult. */
int cf_net_optim_groups(const cf_net *n);
void cf_net_optim_group(cf_net *n, int g, cf_optim_step *s, const cf_compute *cx, long step, double lr);

/* ---- net_freeze.c: which layers train, and how fast ---- */
/* Freeze every layer whose name matches one of the fnmatch patterns: its
 * parameters get no gradient and no optimizer state, its batch norms
 * normalise with (and keep) their running statistics in training, and the
 * backward pass stops where nothing upstream trains. Before
 * cf_net_alloc_slots. A pattern that matches no layer is an error naming it. */
cf_status cf_net_freeze(cf_net *n, const char *const *patterns, int n_patterns, cf_error *err);
/* Multiply the learning rate of the layers matching pattern by mult
 * (layers already given one keep it: the first matching pattern wins).
 * Before cf_net_alloc_slots. No matching layer: an error naming it. */
cf_status cf_net_set_lr_mult(cf_net *n, const char *pattern, double mult, cf_error *err);
/* Layer name of parameter i ("s1_b1_conv1" of "s1_b1_conv1.weight") into out. */
void cf_net_param_layer(const cf_net *n, int i, char *out, size_t cap);
int cf_net_layer_frozen(const cf_net *n, int param);

#endif
