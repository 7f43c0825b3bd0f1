/* clforge — the compute backend interface.
 *
 * A backend is a shared object (libtool module) that exports one plugin
 * descriptor (see plugin.h) of kind CF_PLUGIN_BACKEND whose vtable is a
 * cf_backend_vtable. The engine owns the graph, autodiff and scheduling; a
 * backend owns device memory and executes one op at a time, in order.
 *
 * Tensors are NCHW, dense, row-major, of the element type in `dtype`: float32
 * today (CF_DTYPE_F32, the zero value, so zero-initialised tensors are
 * float32). A backend refuses (CF_ERR_UNSUPPORTED) an op on a dtype it does
 * not implement rather than reading the bytes as float32. A tensor of a dense layer is
 * [N, F]; a convolution's input is [N, C, H, W]. Any tensor whose trailing
 * dimensions multiply out to the expected feature count is accepted (an op
 * reading [N, C, H, W] as [N, C*H*W] is how "flatten" costs nothing).
 *
 * Semantics every backend must honour (the reference backend is the oracle):
 *  - Outputs never alias inputs.
 *  - `accumulate` (backward ops only): every output is incremented
 *    (out += result) instead of overwritten. The engine uses it when a tensor
 *    feeds several consumers (residual connections).
 *  - In vector ops, a coefficient b == 0 means `out` is NOT read (so stale NaN
 *    in an uninitialised buffer never leaks).
 *  - Ops run in submission order; download() returns data after all earlier
 *    ops have completed.
 */
#ifndef CLFORGE_BACKEND_H
#define CLFORGE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "clforge/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cf_buffer cf_buffer; /* opaque, defined by each backend */

#define CF_MAX_DIMS 4

typedef enum cf_dtype {
    CF_DTYPE_F32 = 0,
    CF_DTYPE_F16 = 1 /* reserved for the OpenCL half-precision path; no backend runs it yet */
} cf_dtype;

typedef struct cf_tensor {
    cf_buffer *buf;
    int ndim;               /* 1..4 */
    int shape[CF_MAX_DIMS]; /* shape[0] is the batch for activations */
    const char *name;       /* for error messages ("conv1.weight") */
    cf_dtype dtype;         /* element type of buf */
} cf_tensor;

static inline const char *cf_dtype_name(cf_dtype d)
{
    return d == CF_DTYPE_F32 ? "f32" : d == CF_DTYPE_F16 ? "f16" : "unknown";
}
static inline size_t cf_dtype_size(cf_dtype d) { return d == CF_DTYPE_F16 ? 2 : 4; }

static inline size_t cf_tensor_numel(const cf_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    return n;
}
/* Elements per batch item: numel / shape[0]. */
static inline size_t cf_tensor_row(const cf_tensor *t)
{
    return t->shape[0] ? cf_tensor_numel(t) / (size_t)t->shape[0] : 0;
}

typedef enum cf_act {
    CF_ACT_NONE = 0,
    CF_ACT_RELU,
    CF_ACT_LEAKY_RELU, /* alpha: negative slope (default 0.01) */
    CF_ACT_SIGMOID,
    CF_ACT_TANH,
    CF_ACT_ELU,  /* alpha (default 1.0) */
    CF_ACT_GELU, /* exact: 0.5 x (1 + erf(x / sqrt 2)) */
    CF_ACT_COUNT
} cf_act;

/* Every op. in[]/out[] roles are listed per op; unused slots are NULL.
 * Shapes: x[N,C,H,W], w[K,C,R,S], y[N,K,P,Q] with
 * P = (H + 2*pad_h - R) / stride_h + 1 (floor), likewise Q. */
typedef enum cf_op_kind {
    CF_OP_NONE = 0,

    /* in: x[N,I], W[O,I], b[O] (optional)   out: y[N,O] = x W^T + b */
    CF_OP_DENSE_FWD,
    /* in: dy[N,O], W[O,I]                   out: dx[N,I] = dy W */
    CF_OP_DENSE_BWD_DATA,
    /* in: dy[N,O], x[N,I]                   out: dW[O,I] = dy^T x, db[O] = sum_n dy (optional) */
    CF_OP_DENSE_BWD_WEIGHT,

    /* in: x, w, b[K] (optional)             out: y            params: conv */
    CF_OP_CONV2D_FWD,
    /* in: dy, w                             out: dx           params: conv */
    CF_OP_CONV2D_BWD_DATA,
    /* in: dy, x                             out: dw, db (optional) */
    CF_OP_CONV2D_BWD_WEIGHT,

    /* in: x                                 out: y            params: pool
     * Max pooling ignores padded positions; the gradient goes to the first
     * maximum of each window in row-major order. */
    CF_OP_MAXPOOL_FWD,
    /* in: dy, x                             out: dx */
    CF_OP_MAXPOOL_BWD,
    /* Average pooling divides by kernel_h*kernel_w (padding counts as 0). */
    CF_OP_AVGPOOL_FWD,
    /* in: dy                                out: dx (shape from out[0]) */
    CF_OP_AVGPOOL_BWD,
    /* in: x[N,C,H,W]                        out: y[N,C] = mean over H,W */
    CF_OP_GAP_FWD,
    /* in: dy[N,C]                           out: dx[N,C,H,W] = dy / (H*W) */
    CF_OP_GAP_BWD,

    /* in: a, b (same numel)                 out: y = a + b */
    CF_OP_ADD,

    /* in: x                                 out: y = act(x)   params: act */
    CF_OP_ACT_FWD,
    /* in: dy, x, y                          out: dx
     * For RELU and LEAKY_RELU (alpha >= 0) the engine may pass y as x: the
     * derivative must depend only on the sign of x (x > 0), which y shares. */
    CF_OP_ACT_BWD,

    /* Softmax over each row ([N, F], F = numel/N).
     * in: x                                 out: y */
    CF_OP_SOFTMAX_FWD,
    /* in: dy, y                             out: dx = y * (dy - sum(dy*y)) */
    CF_OP_SOFTMAX_BWD,

    /* Losses. target[N,K] is a per-row distribution (one-hot, or smoothed);
     * weight[N] (optional) scales each sample's loss.
     * in: logits[N,K], target[N,K], weight[N]
     * out: probs[N,K], loss[N] = -w_n sum_k t_nk log p_nk, pred[N] = argmax_k (as float, first max) */
    CF_OP_SOFTMAX_XENT_FWD,
    /* in: probs, target, weight             out: dlogits = loss.scale * w_n * (p - t) */
    CF_OP_SOFTMAX_XENT_BWD,
    /* in: x[N,K], target[N,K], weight       out: loss[N] = w_n * sum_k (x-t)^2 / K, pred[N] (slot 2) */
    CF_OP_MSE_FWD,
    /* in: x, target, weight                 out: dx = loss.scale * w_n * 2 (x - t) / K */
    CF_OP_MSE_BWD,
    /* Multi-class hinge (Weston-Watkins, as torch MultiMarginLoss, margin 1):
     * y = argmax_k t_nk; loss[N] = w_n * sum_{j!=y} max(0, 1 - x_y + x_j) / K
     * in: x, target, weight                 out: loss[N] (slot 1), pred[N] (slot 2) */
    CF_OP_HINGE_FWD,
    /* in: x, target, weight                 out: dx (scaled by loss.scale * w_n / K) */
    CF_OP_HINGE_BWD,

    /* Inverted dropout. mask_i = (cf_philox_uniform(seed, counter, i) >= rate) / (1 - rate)
     * (see philox.h), so every backend draws the same mask.
     * in: x                                 out: y = x * mask, mask */
    CF_OP_DROPOUT_FWD,
    /* in: dy, mask                          out: dx = dy * mask */
    CF_OP_DROPOUT_BWD,

    /* Batch normalisation over N,H,W per channel C (x is [N,C,H,W] or [N,C]).
     * Train: in: x, gamma[C], beta[C]; out: y, save_mean[C], save_invstd[C],
     *        running_mean[C], running_var[C] (the last two are read and
     *        updated: r = (1 - momentum) r + momentum * stat, var unbiased) */
    CF_OP_BATCHNORM_FWD_TRAIN,
    /* in: x, gamma, beta, running_mean, running_var   out: y */
    CF_OP_BATCHNORM_FWD_EVAL,
    /* in: dy, x, gamma, save_mean, save_invstd        out: dx, dgamma, dbeta */
    CF_OP_BATCHNORM_BWD,

    /* Vector ops (any shapes with equal numel), the primitives optimizers are
     * written in. Coefficients in p.vec.{a,b,c}. */
    CF_OP_FILL,   /* out: y = a */
    CF_OP_AXPBY,  /* in: x       out: y = a x + b y */
    CF_OP_MUL,    /* in: x, z    out: y = a x z + b y */
    CF_OP_DIV,    /* in: x, z    out: y = a x / (z + c) + b y */
    CF_OP_SQRT,   /* in: x       out: y = sqrt(a x) + c */
    CF_OP_SIGN,   /* in: x       out: y = a sign(x) + b y   (sign(0) = 0) */
    CF_OP_MAX,    /* in: x, z    out: y = max(x, z) */
    CF_OP_SUMSQ,  /* in: x       out: y[1] = a * sum x^2 + b y */

    /* Inference-only fusion, emitted by the engine (for evaluation and
     * prediction) only where supports_op() says yes; otherwise it issues the
     * unfused ops. Batch norm in eval mode is folded into w and b by the
     * engine; z is a residual added before the activation.
     * in: x, w, b[K] (optional), z (optional, y's shape)
     * out: y = act(conv(x, w) + b + z)     params: conv_act (geometry as conv) */
    CF_OP_CONV2D_FWD_ACT,

    /* Channel-slice copy between x[N,Cx,H,W] and y[N,Cy,H,W] (same N, H*W):
     * y[:, dst_c0 + c] = x[:, src_c0 + c] for c < channels (+= with
     * accumulate). Concatenation's forward (into a slice of y) and backward
     * (out of a slice of dy).   in: x   out: y   params: chan */
    CF_OP_CHANNEL_COPY,

    /* Multi-label loss: a sigmoid and binary cross-entropy per label
     * (torch's BCEWithLogitsLoss with pos_weight), stable for any logit:
     * l_nk = (1 - t + c t) softplus(x) - c t x, softplus(x) = max(x, 0) +
     * log(1 + exp(-|x|)), c = pos_weight[k] (1 without it); targets in [0, 1].
     * in: logits[N,K], target[N,K], weight[N] (optional), pos_weight[K] (optional)
     * out: probs[N,K] = sigmoid(x) (optional), loss[N] = w_n sum_k l_nk / K,
     *      pred[N] = argmax_k (optional, as the other losses) */
    CF_OP_SIGMOID_BCE_FWD,
    /* in: probs, target, weight, pos_weight
     * out: dlogits = loss.scale * w_n * ((1 - t + c t) p - c t) / K */
    CF_OP_SIGMOID_BCE_BWD,

    CF_OP_COUNT
} cf_op_kind;

typedef struct cf_op {
    cf_op_kind kind;
    cf_tensor *in[5];
    cf_tensor *out[5];
    int accumulate; /* backward ops: out += result */
    union {
        struct { int stride_h, stride_w, pad_h, pad_w; } conv;
        /* conv's geometry first (so p.conv reads it too), then the activation */
        struct { int stride_h, stride_w, pad_h, pad_w; cf_act act; float alpha; } conv_act;
        struct { int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w; } pool;
        struct { cf_act act; float alpha; } act;
        struct { float scale; } loss;
        struct { float rate; uint64_t seed; uint64_t counter; } dropout;
        struct { float eps, momentum; } bn;
        struct { float a, b, c; } vec;
        struct { int src_c0, dst_c0, channels; } chan;
    } p;
} cf_op;

const char *cf_op_name(cf_op_kind k);
const char *cf_act_name(cf_act a);

/* The first tensor of op whose dtype is not `dt`, or NULL: backends call it
 * in supports_op/exec so an unsupported element type is an error, never
 * float32 garbage. */
static inline const cf_tensor *cf_op_dtype_mismatch(const cf_op *op, cf_dtype dt)
{
    for (int i = 0; i < 5; i++) {
        if (op->in[i] && op->in[i]->dtype != dt) return op->in[i];
        if (op->out[i] && op->out[i]->dtype != dt) return op->out[i];
    }
    return NULL;
}
/* CF_OK, or CF_ERR_UNSUPPORTED naming the op, the tensor and its dtype. */
static inline cf_status cf_op_require_dtype(const cf_op *op, cf_dtype dt, const char *who,
                                            cf_error *err)
{
    const cf_tensor *t = cf_op_dtype_mismatch(op, dt);
    if (!t) return CF_OK;
    return cf_error_set(err, CF_ERR_UNSUPPORTED, "%s: op %s: tensor %s has dtype %s; it runs %s only",
                        who, cf_op_name(op->kind), t->name ? t->name : "(unnamed)",
                        cf_dtype_name(t->dtype), cf_dtype_name(dt));
}

typedef struct cf_device_info {
    char name[128];
    char vendor[128];
    char type[16];        /* "cpu", "gpu", "accelerator" */
    char version[128];    /* driver / OpenCL C version, or library version */
    int compute_units;
    uint64_t global_mem;  /* bytes */
    uint64_t local_mem;   /* bytes */
    uint64_t max_alloc;   /* bytes */
    int fp16, fp64;
    char platform[128];
} cf_device_info;

/* What the engine hands create(). The generic fields come from the config's
 * `backend` group (engine keys); a backend's own knobs are declared in its
 * parameter table, validated from the same group, and arrive bound into
 * `knobs` (desc.state_size bytes, NULL when the backend has none or was
 * opened without a config: then the table's defaults apply) and as `params`.
 * Environment variables a backend reads override both (docs/plugins.md). */
typedef struct cf_backend_config {
    const char *device;   /* "", an index ("0"), a name substring, or gpu/cpu/accelerator */
    int threads;          /* 0 = backend default */
    int verbose;          /* log compile/cache events to stderr */
    const char *cache_dir;/* NULL = $XDG_CACHE_HOME/clforge */
    const void *knobs;    /* the backend's bound knob struct, or NULL */
    const struct cf_params *params; /* its validated table, or NULL */
} cf_backend_config;

/* Required: create, destroy, buffer_alloc, buffer_free, upload, download,
 * exec. The rest may be NULL (the loader refuses a backend lacking a required
 * member, naming it). */
typedef struct cf_backend_vtable {
    size_t struct_size;   /* sizeof(cf_backend_vtable) at build time */
    /* Preference for backend "auto": higher wins; <= 0 means unusable here.
     * May be NULL (score 1). Must be cheap and must not fail loudly. */
    int (*auto_score)(void);
    /* Enumerate devices without creating a context. NULL = one implicit device. */
    cf_status (*list_devices)(cf_device_info *out, int max, int *count, cf_error *err);
    cf_status (*create)(const cf_backend_config *cfg, void **ctx, cf_error *err);
    void (*destroy)(void *ctx);
    cf_status (*device_info)(void *ctx, cf_device_info *info);
    /* name is for error messages (e.g. out of device memory names the tensor). */
    cf_status (*buffer_alloc)(void *ctx, size_t bytes, const char *name, cf_buffer **out,
                              cf_error *err);
    void (*buffer_free)(void *ctx, cf_buffer *buf);
    cf_status (*upload)(void *ctx, cf_buffer *dst, size_t offset, const void *src, size_t bytes,
                        cf_error *err);
    cf_status (*download)(void *ctx, cf_buffer *src, size_t offset, void *dst, size_t bytes,
                          cf_error *err);
    /* Nonzero when exec() can run this op (the engine checks once per op kind). */
    int (*supports_op)(void *ctx, const cf_op *op);
    cf_status (*exec)(void *ctx, const cf_op *op, cf_error *err);
    cf_status (*sync)(void *ctx, cf_error *err);
} cf_backend_vtable;

#ifdef __cplusplus
}
#endif
#endif
