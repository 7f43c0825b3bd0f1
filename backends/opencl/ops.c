/* clforge OpenCL backend — op dispatch, argument checks and the kernel-only ops.
 * GEMM-based ops (dense, conv) live in gemm_ops.c. */
#include <limits.h>
#include <stdio.h>

#include "internal.h"

/* The engine (libclforge, loaded before any backend) owns the op names. */
const char *cf_ocl_op_name(cf_op_kind k) { return cf_op_name(k); }

int cf_ocl_supports(const cf_op *op)
{
    return op && op->kind > CF_OP_NONE && op->kind < CF_OP_COUNT;
}

#define OPNAME cf_ocl_op_name(op->kind)
#define NEED(t, role)                                                                              \
    do {                                                                                           \
        if (!(t))                                                                                  \
            return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: missing tensor %s", OPNAME,       \
                               role);                                                              \
    } while (0)
#define SAME(a, b)                                                                                 \
    do {                                                                                           \
        if (cf_tensor_numel(a) != cf_tensor_numel(b))                                              \
            return cf_ocl_fail(err, CF_ERR_INVALID,                                                \
                               "opencl: %s: '%s' has %zu elements but '%s' has %zu", OPNAME,       \
                               (a)->name ? (a)->name : "?", cf_tensor_numel(a),                    \
                               (b)->name ? (b)->name : "?", cf_tensor_numel(b));                   \
    } while (0)

static void dims4(const cf_tensor *t, int *n, int *c, int *h, int *w)
{
    int d[4] = {1, 1, 1, 1};
    for (int i = 0; i < t->ndim && i < 4; i++) d[i] = t->shape[i];
    *n = d[0];
    *c = d[1];
    *h = d[2];
    *w = d[3];
}

/* Every tensor must have a buffer of this backend big enough for its shape,
 * and sizes must fit the kernels' int indexing. */
static cf_status check_tensors(const cf_op *op, cf_error *err)
{
    for (int s = 0; s < 10; s++) {
        const cf_tensor *t = s < 5 ? op->in[s] : op->out[s - 5];
        if (!t) continue;
        if (t->ndim < 1 || t->ndim > CF_MAX_DIMS)
            return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: tensor '%s' has ndim %d", OPNAME,
                               t->name ? t->name : "?", t->ndim);
        size_t n = cf_tensor_numel(t);
        if (!t->buf || t->buf->bytes < n * sizeof(float))
            return cf_ocl_fail(err, CF_ERR_INVALID,
                               "opencl: %s: tensor '%s' (%zu elements) has %s", OPNAME,
                               t->name ? t->name : "?", n,
                               t->buf ? "a buffer too small for its shape" : "no buffer");
        if (n > (size_t)INT_MAX)
            return cf_ocl_fail(err, CF_ERR_UNSUPPORTED,
                               "opencl: %s: tensor '%s' has %zu elements (max %d)", OPNAME,
                               t->name ? t->name : "?", n, INT_MAX);
    }
    return CF_OK;
}

static cf_status vec_op(cf_ocl *o, const cf_op *op, cf_error *err)
{
    cf_tensor *y = op->out[0], *x = op->in[0], *z = op->in[1];
    float a = op->p.vec.a, b = op->p.vec.b, c = op->p.vec.c;
    NEED(y, "out[0] (y)");
    int n = (int)cf_tensor_numel(y);
    if (op->kind != CF_OP_FILL) {
        NEED(x, "in[0] (x)");
        if (op->kind != CF_OP_SUMSQ) SAME(x, y);
    }
    if (op->kind == CF_OP_MUL || op->kind == CF_OP_DIV || op->kind == CF_OP_MAX) {
        NEED(z, "in[1] (z)");
        SAME(z, y);
    }
    switch (op->kind) {
    case CF_OP_FILL: return cf_ocl_run1d(o, CF_k_fill, n, err, "tif", y, n, a);
    case CF_OP_AXPBY: return cf_ocl_run1d(o, CF_k_axpby, n, err, "ttiff", y, x, n, a, b);
    case CF_OP_MUL: return cf_ocl_run1d(o, CF_k_mul, n, err, "tttiff", y, x, z, n, a, b);
    case CF_OP_DIV: return cf_ocl_run1d(o, CF_k_div, n, err, "tttifff", y, x, z, n, a, b, c);
    case CF_OP_SQRT: return cf_ocl_run1d(o, CF_k_sqrt, n, err, "ttiff", y, x, n, a, c);
    case CF_OP_SIGN: return cf_ocl_run1d(o, CF_k_sign, n, err, "ttiff", y, x, n, a, b);
    case CF_OP_MAX: return cf_ocl_run1d(o, CF_k_max, n, err, "ttti", y, x, z, n);
    case CF_OP_SUMSQ: {
        if (n != 1)
            return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: sumsq: y has %d elements, expected 1",
                               n);
        int nx = (int)cf_tensor_numel(x);
        size_t L = o->kwg[CF_k_sumsq_partial];
        size_t groups = ((size_t)nx + L - 1) / L;
        if (groups > 64) groups = 64;
        if (groups == 0) groups = 1;
        cl_mem part;
        CF_TRY(cf_ocl_ws(o, CF_WS_SMALL, groups * sizeof(float), &part, err));
        CF_TRY(cf_ocl_run_groups(o, CF_k_sumsq_partial, groups, err, "timl", x, nx, part));
        return cf_ocl_run_groups(o, CF_k_sumsq_final, 1, err, "mitffl", part, (int)groups, y, a,
                                 b);
    }
    default: return CF_ERR_UNSUPPORTED;
    }
}

static cf_tensor *loss_slot(const cf_op *op)
{
    /* MSE/hinge put the loss in slot 1 (slot 0 is softmax-xent's probs); a
     * caller that passes it in slot 0 alone is understood too. */
    return op->out[1] ? op->out[1] : op->out[0];
}

/* Every loss: x[rows, K] and target alike, weight (optional) one per row. */
static cf_status loss_shape(const cf_op *op, int *rows, int *K, int *n, cf_error *err)
{
    cf_tensor *x = op->in[0], *t = op->in[1], *w = op->in[2];
    NEED(x, "in[0]");
    NEED(t, "in[1] (target)");
    SAME(x, t);
    *rows = x->shape[0];
    *K = *rows ? (int)(cf_tensor_numel(x) / (size_t)*rows) : 0;
    *n = (int)cf_tensor_numel(x);
    if (w && (int)cf_tensor_numel(w) != *rows)
        return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: weight has %zu elements, expected %d",
                           OPNAME, cf_tensor_numel(w), *rows);
    return CF_OK;
}

static cf_status loss_op(cf_ocl *o, const cf_op *op, cf_error *err)
{
    cf_tensor *x = op->in[0], *t = op->in[1], *w = op->in[2];
    int rows, K, n;
    CF_TRY(loss_shape(op, &rows, &K, &n, err));
    int acc = op->accumulate != 0, has_w = w != NULL;
    float scale = op->p.loss.scale;
    switch (op->kind) {
    case CF_OP_SOFTMAX_XENT_FWD: {
        cf_tensor *p = op->out[0], *l = op->out[1], *pr = op->out[2];
        if (p) SAME(p, x);
        int flags = (p ? 1 : 0) | (l ? 2 : 0) | (pr ? 4 : 0) | (w ? 8 : 0);
        return cf_ocl_run1d(o, CF_k_xent_fwd, rows, err, "ttttttiii", p, l, pr, x, t, w, flags,
                            rows, K);
    }
    case CF_OP_MSE_FWD:
    case CF_OP_HINGE_FWD: {
        cf_tensor *l = loss_slot(op), *pr = op->out[2];
        int flags = (l ? 2 : 0) | (pr ? 4 : 0) | (w ? 8 : 0);
        return cf_ocl_run1d(o, op->kind == CF_OP_MSE_FWD ? CF_k_mse_fwd : CF_k_hinge_fwd, rows,
                            err, "tttttiii", l, pr, x, t, w, flags, rows, K);
    }
    default: break;
    }
    cf_tensor *dx = op->out[0];
    NEED(dx, "out[0] (gradient)");
    SAME(dx, x);
    switch (op->kind) {
    case CF_OP_SOFTMAX_XENT_BWD:
        return cf_ocl_run1d(o, CF_k_xent_bwd, n, err, "ttttiiifi", dx, x, t, w, has_w, n, K,
                            scale, acc);
    case CF_OP_MSE_BWD:
        return cf_ocl_run1d(o, CF_k_mse_bwd, n, err, "ttttiiifi", dx, x, t, w, has_w, n, K, scale,
                            acc);
    case CF_OP_HINGE_BWD:
        return cf_ocl_run1d(o, CF_k_hinge_bwd, rows, err, "ttttiiifi", dx, x, t, w, has_w, rows,
                            K, scale, acc);
    default: return CF_ERR_UNSUPPORTED;
    }
}

/* Sigmoid + binary cross-entropy (multi-label); pos_weight in in[3]. */
static cf_status bce_op(cf_ocl *o, const cf_op *op, cf_error *err)
{
    cf_tensor *x = op->in[0], *t = op->in[1], *w = op->in[2], *pw = op->in[3];
    int rows, K, n;
    CF_TRY(loss_shape(op, &rows, &K, &n, err));
    if (pw && (int)cf_tensor_numel(pw) != K)
        return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: pos_weight has %zu elements, expected %d",
                           OPNAME, cf_tensor_numel(pw), K);
    int wf = (w ? 8 : 0) | (pw ? 16 : 0);
    if (op->kind == CF_OP_SIGMOID_BCE_FWD) {
        cf_tensor *p = op->out[0], *l = op->out[1], *pr = op->out[2];
        NEED(l, "out[1] (loss)");
        if (p) SAME(p, x);
        int flags = (p ? 1 : 0) | 2 | (pr ? 4 : 0) | wf;
        return cf_ocl_run1d(o, CF_k_bce_fwd, rows, err, "tttttttiii", p, l, pr, x, t, w, pw, flags,
                            rows, K);
    }
    cf_tensor *dx = op->out[0];
    NEED(dx, "out[0] (gradient)");
    SAME(dx, x);
    return cf_ocl_run1d(o, CF_k_bce_bwd, n, err, "tttttiiifi", dx, x, t, w, pw, wf, n, K,
                        op->p.loss.scale, op->accumulate != 0);
}

static cf_status batchnorm_op(cf_ocl *o, const cf_op *op, cf_error *err)
{
    int N, C, H, W;
    float eps = op->p.bn.eps, mom = op->p.bn.momentum;
    if (op->kind != CF_OP_BATCHNORM_BWD && !(eps > 0.0f))
        return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: eps must be > 0 (got %g)", OPNAME, eps);
    if (op->kind == CF_OP_BATCHNORM_BWD) {
        cf_tensor *dy = op->in[0], *x = op->in[1], *g = op->in[2], *mean = op->in[3],
                  *inv = op->in[4], *dx = op->out[0], *dg = op->out[1], *db = op->out[2];
        NEED(dy, "in[0] (dy)");
        NEED(x, "in[1] (x)");
        NEED(mean, "in[3] (save_mean)");
        NEED(inv, "in[4] (save_invstd)");
        SAME(dy, x);
        dims4(x, &N, &C, &H, &W);
        int HW = H * W, n = (int)cf_tensor_numel(x), acc = op->accumulate != 0;
        cl_mem sums;
        CF_TRY(cf_ocl_ws(o, CF_WS_SMALL, 2 * (size_t)C * sizeof(float), &sums, err));
        int flags = (dg ? 1 : 0) | (db ? 2 : 0);
        CF_TRY(cf_ocl_run_groups(o, CF_k_bn_bwd_reduce, C, err, "ttttmttiiiiil", dy, x, mean, inv,
                                 sums, dg, db, flags, N, C, HW, acc));
        if (!dx) return CF_OK;
        SAME(dx, x);
        return cf_ocl_run1d(o, CF_k_bn_bwd_dx, n, err, "ttttttmiiiiii", dx, dy, x, g, mean, inv,
                            sums, g ? 1 : 0, n, N, C, HW, acc);
    }
    cf_tensor *x = op->in[0], *g = op->in[1], *b = op->in[2], *y = op->out[0];
    NEED(x, "in[0] (x)");
    NEED(y, "out[0] (y)");
    SAME(x, y);
    dims4(x, &N, &C, &H, &W);
    int HW = H * W, n = (int)cf_tensor_numel(x);
    int flags = (g ? 1 : 0) | (b ? 2 : 0);
    if (op->kind == CF_OP_BATCHNORM_FWD_EVAL) {
        NEED(op->in[3], "in[3] (running_mean)");
        NEED(op->in[4], "in[4] (running_var)");
        return cf_ocl_run1d(o, CF_k_bn_eval, n, err, "ttttttiiiif", y, x, g, b, op->in[3],
                            op->in[4], flags, n, C, HW, eps);
    }
    /* Train: statistics into save_mean/save_invstd, or scratch when the caller wants neither. */
    cl_mem sm = op->out[1] ? op->out[1]->buf->mem : NULL;
    cl_mem si = op->out[2] ? op->out[2]->buf->mem : NULL;
    if (!sm) CF_TRY(cf_ocl_ws(o, CF_WS_T, (size_t)C * sizeof(float), &sm, err));
    if (!si) CF_TRY(cf_ocl_ws(o, CF_WS_COL, (size_t)C * sizeof(float), &si, err));
    int has_running = op->out[3] && op->out[4];
    CF_TRY(cf_ocl_run_groups(o, CF_k_bn_stats, C, err, "tmmttiiiiffl", x, sm, si, op->out[3],
                             op->out[4], has_running, N, C, HW, eps, mom));
    return cf_ocl_run1d(o, CF_k_bn_apply, n, err, "ttmmttiiii", y, x, sm, si, g, b, flags, n, C,
                        HW);
}

static cf_status pool_op(cf_ocl *o, const cf_op *op, cf_error *err)
{
    int kh = op->p.pool.kernel_h, kw = op->p.pool.kernel_w, sh = op->p.pool.stride_h,
        sw = op->p.pool.stride_w, ph = op->p.pool.pad_h, pw = op->p.pool.pad_w;
    /* pad < kernel: every window overlaps the input, so max pooling always has a real element. */
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0 || ph >= kh || pw >= kw)
        return cf_ocl_fail(err, CF_ERR_INVALID,
                           "opencl: %s: bad pool parameters kernel %dx%d stride %dx%d pad %dx%d "
                           "(need pad < kernel)",
                           OPNAME, kh, kw, sh, sw, ph, pw);
    int fwd = op->kind == CF_OP_MAXPOOL_FWD || op->kind == CF_OP_AVGPOOL_FWD;
    cf_tensor *big = fwd ? op->in[0] : op->out[0];   /* x or dx: [N,C,H,W] */
    cf_tensor *small = fwd ? op->out[0] : op->in[0]; /* y or dy: [N,C,P,Q] */
    NEED(big, fwd ? "in[0] (x)" : "out[0] (dx)");
    NEED(small, fwd ? "out[0] (y)" : "in[0] (dy)");
    int N, C, H, W, N2, C2, P, Q;
    dims4(big, &N, &C, &H, &W);
    dims4(small, &N2, &C2, &P, &Q);
    if (N != N2 || C != C2)
        return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: [%d,%d,..] vs [%d,%d,..]", OPNAME, N,
                           C, N2, C2);
    int NC = N * C, acc = op->accumulate != 0;
    switch (op->kind) {
    case CF_OP_MAXPOOL_FWD:
        return cf_ocl_run1d(o, CF_k_maxpool_fwd, (size_t)NC * P * Q, err, "ttiiiiiiiiiii", small,
                            big, NC, H, W, P, Q, kh, kw, sh, sw, ph, pw);
    case CF_OP_AVGPOOL_FWD:
        return cf_ocl_run1d(o, CF_k_avgpool_fwd, (size_t)NC * P * Q, err, "ttiiiiiiiiiii", small,
                            big, NC, H, W, P, Q, kh, kw, sh, sw, ph, pw);
    case CF_OP_MAXPOOL_BWD:
        NEED(op->in[1], "in[1] (x)");
        SAME(op->in[1], big);
        if (sh >= kh && sw >= kw) {
            int nbig = (int)cf_tensor_numel(big);
            if (!acc) CF_TRY(cf_ocl_run1d(o, CF_k_fill, nbig, err, "tif", big, nbig, 0.0));
            return cf_ocl_run1d(o, CF_k_maxpool_bwd_disjoint, (size_t)NC * P * Q, err,
                                "tttiiiiiiiiiiii", big, small, op->in[1], NC, H, W, P, Q, kh, kw,
                                sh, sw, ph, pw, acc);
        }
        return cf_ocl_run1d(o, CF_k_maxpool_bwd, (size_t)NC * H * W, err, "tttiiiiiiiiiiii", big,
                            small, op->in[1], NC, H, W, P, Q, kh, kw, sh, sw, ph, pw, acc);
    case CF_OP_AVGPOOL_BWD:
        return cf_ocl_run1d(o, CF_k_avgpool_bwd, (size_t)NC * H * W, err, "ttiiiiiiiiiiii", big,
                            small, NC, H, W, P, Q, kh, kw, sh, sw, ph, pw, acc);
    default: return CF_ERR_UNSUPPORTED;
    }
}

static cf_status channel_copy_op(cf_ocl *o, const cf_op *op, cf_error *err)
{
    cf_tensor *x = op->in[0], *y = op->out[0];
    NEED(x, "in[0] (x)");
    NEED(y, "out[0] (y)");
    int xn = x->shape[0], xc = x->ndim > 1 ? x->shape[1] : 1, hw = (int)(cf_tensor_row(x) / xc);
    int yn = y->shape[0], yc = y->ndim > 1 ? y->shape[1] : 1, yhw = (int)(cf_tensor_row(y) / yc);
    int s0 = op->p.chan.src_c0, d0 = op->p.chan.dst_c0, nch = op->p.chan.channels;
    if (xn != yn || hw != yhw || s0 < 0 || d0 < 0 || nch < 1 || s0 + nch > xc || d0 + nch > yc)
        return cf_ocl_fail(err, CF_ERR_INVALID,
                           "opencl: channel_copy: x [%d, %d, %d] channels %d..%d -> y [%d, %d, "
                           "%d] from channel %d do not fit",
                           xn, xc, hw, s0, s0 + nch, yn, yc, yhw, d0);
    int n = xn * nch * hw;
    return cf_ocl_run1d(o, CF_k_channel_copy, n, err, "ttiiiiiiii", y, x, n, nch, hw, xc, yc, s0,
                        d0, op->accumulate != 0);
}

static cf_status elementwise_op(cf_ocl *o, const cf_op *op, cf_error *err)
{
    int acc = op->accumulate != 0;
    switch (op->kind) {
    case CF_OP_ADD: {
        cf_tensor *a = op->in[0], *b = op->in[1], *y = op->out[0];
        NEED(a, "in[0]");
        NEED(b, "in[1]");
        NEED(y, "out[0]");
        SAME(a, y);
        SAME(b, y);
        int n = (int)cf_tensor_numel(y);
        return cf_ocl_run1d(o, CF_k_add, n, err, "ttti", y, a, b, n);
    }
    case CF_OP_ACT_FWD: {
        cf_tensor *x = op->in[0], *y = op->out[0];
        NEED(x, "in[0] (x)");
        NEED(y, "out[0] (y)");
        SAME(x, y);
        if (op->p.act.act < 0 || op->p.act.act >= CF_ACT_COUNT)
            return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: act_fwd: unknown activation %d",
                               (int)op->p.act.act);
        int n = (int)cf_tensor_numel(y);
        return cf_ocl_run1d(o, CF_k_act_fwd, n, err, "ttiif", y, x, n, (int)op->p.act.act,
                            op->p.act.alpha);
    }
    case CF_OP_ACT_BWD: {
        cf_tensor *dy = op->in[0], *x = op->in[1], *y = op->in[2], *dx = op->out[0];
        NEED(dy, "in[0] (dy)");
        NEED(x, "in[1] (x)");
        NEED(dx, "out[0] (dx)");
        SAME(dy, dx);
        SAME(x, dx);
        if (y) SAME(y, dx);
        if (op->p.act.act < 0 || op->p.act.act >= CF_ACT_COUNT)
            return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: act_bwd: unknown activation %d",
                               (int)op->p.act.act);
        int n = (int)cf_tensor_numel(dx);
        return cf_ocl_run1d(o, CF_k_act_bwd, n, err, "tttiifi", dx, dy, x, n, (int)op->p.act.act,
                            op->p.act.alpha, acc);
    }
    case CF_OP_SOFTMAX_FWD: {
        cf_tensor *x = op->in[0], *y = op->out[0];
        NEED(x, "in[0] (x)");
        NEED(y, "out[0] (y)");
        SAME(x, y);
        int rows = x->shape[0], F = rows ? (int)(cf_tensor_numel(x) / (size_t)rows) : 0;
        if (F == 0) return CF_OK;
        return cf_ocl_run1d(o, CF_k_softmax_fwd, rows, err, "ttii", y, x, rows, F);
    }
    case CF_OP_SOFTMAX_BWD: {
        cf_tensor *dy = op->in[0], *y = op->in[1], *dx = op->out[0];
        NEED(dy, "in[0] (dy)");
        NEED(y, "in[1] (y)");
        NEED(dx, "out[0] (dx)");
        SAME(dy, dx);
        SAME(y, dx);
        int rows = dx->shape[0], F = rows ? (int)(cf_tensor_numel(dx) / (size_t)rows) : 0;
        if (F == 0) return CF_OK;
        return cf_ocl_run1d(o, CF_k_softmax_bwd, rows, err, "tttiii", dx, dy, y, rows, F, acc);
    }
    case CF_OP_DROPOUT_FWD: {
        cf_tensor *x = op->in[0], *y = op->out[0], *mask = op->out[1];
        NEED(x, "in[0] (x)");
        NEED(y, "out[0] (y)");
        SAME(x, y);
        int n = (int)cf_tensor_numel(y);
        cl_mem m = NULL;
        if (mask) {
            SAME(mask, y);
            m = mask->buf->mem;
        } else
            CF_TRY(cf_ocl_ws(o, CF_WS_T, (size_t)n * sizeof(float), &m, err));
        float rate = op->p.dropout.rate;
        if (!(rate >= 0.0f && rate < 1.0f))
            return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: dropout_fwd: rate %g outside [0, 1)",
                               rate);
        float keep = 1.0f / (1.0f - rate); /* in float, as every backend, so masks match */
        return cf_ocl_run1d(o, CF_k_dropout_fwd, n, err, "tmtiffuu", y, m, x, n, rate, keep,
                            op->p.dropout.seed, op->p.dropout.counter);
    }
    case CF_OP_DROPOUT_BWD: {
        cf_tensor *dy = op->in[0], *mask = op->in[1], *dx = op->out[0];
        NEED(dy, "in[0] (dy)");
        NEED(mask, "in[1] (mask)");
        NEED(dx, "out[0] (dx)");
        SAME(dy, dx);
        SAME(mask, dx);
        int n = (int)cf_tensor_numel(dx);
        return cf_ocl_run1d(o, CF_k_dropout_bwd, n, err, "tttii", dx, dy, mask, n, acc);
    }
    case CF_OP_GAP_FWD: {
        cf_tensor *x = op->in[0], *y = op->out[0];
        NEED(x, "in[0] (x)");
        NEED(y, "out[0] (y)");
        int N, C, H, W;
        dims4(x, &N, &C, &H, &W);
        int NC = N * C;
        if ((int)cf_tensor_numel(y) != NC)
            return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: gap_fwd: y has %zu elements, want %d",
                               cf_tensor_numel(y), NC);
        return cf_ocl_run1d(o, CF_k_gap_fwd, NC, err, "ttii", y, x, NC, H * W);
    }
    case CF_OP_GAP_BWD: {
        cf_tensor *dy = op->in[0], *dx = op->out[0];
        NEED(dy, "in[0] (dy)");
        NEED(dx, "out[0] (dx)");
        int N, C, H, W;
        dims4(dx, &N, &C, &H, &W);
        if ((int)cf_tensor_numel(dy) != N * C)
            return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: gap_bwd: dy has %zu elements, want %d",
                               cf_tensor_numel(dy), N * C);
        int n = (int)cf_tensor_numel(dx);
        return cf_ocl_run1d(o, CF_k_gap_bwd, n, err, "ttiii", dx, dy, n, H * W, acc);
    }
    default: return CF_ERR_UNSUPPORTED;
    }
}

cf_status cf_ocl_exec(cf_ocl *o, const cf_op *op, cf_error *err)
{
    if (!op) return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: exec: no op");
    CF_TRY(check_tensors(op, err));
    switch (op->kind) {
    case CF_OP_DENSE_FWD:
    case CF_OP_DENSE_BWD_DATA:
    case CF_OP_DENSE_BWD_WEIGHT: return cf_ocl_dense(o, op, err);
    case CF_OP_CONV2D_FWD:
    case CF_OP_CONV2D_FWD_ACT:
    case CF_OP_CONV2D_BWD_DATA:
    case CF_OP_CONV2D_BWD_WEIGHT: return cf_ocl_conv(o, op, err);
    case CF_OP_MAXPOOL_FWD:
    case CF_OP_MAXPOOL_BWD:
    case CF_OP_AVGPOOL_FWD:
    case CF_OP_AVGPOOL_BWD: return pool_op(o, op, err);
    case CF_OP_SOFTMAX_XENT_FWD:
    case CF_OP_SOFTMAX_XENT_BWD:
    case CF_OP_MSE_FWD:
    case CF_OP_MSE_BWD:
    case CF_OP_HINGE_FWD:
    case CF_OP_HINGE_BWD: return loss_op(o, op, err);
    case CF_OP_BATCHNORM_FWD_TRAIN:
    case CF_OP_BATCHNORM_FWD_EVAL:
    case CF_OP_BATCHNORM_BWD: return batchnorm_op(o, op, err);
    case CF_OP_FILL:
    case CF_OP_AXPBY:
    case CF_OP_MUL:
    case CF_OP_DIV:
    case CF_OP_SQRT:
    case CF_OP_SIGN:
    case CF_OP_MAX:
    case CF_OP_SUMSQ: return vec_op(o, op, err);
    case CF_OP_ADD:
    case CF_OP_ACT_FWD:
    case CF_OP_ACT_BWD:
    case CF_OP_SOFTMAX_FWD:
    case CF_OP_SOFTMAX_BWD:
    case CF_OP_DROPOUT_FWD:
    case CF_OP_DROPOUT_BWD:
    case CF_OP_GAP_FWD:
    case CF_OP_GAP_BWD: return elementwise_op(o, op, err);
    case CF_OP_CHANNEL_COPY: return channel_copy_op(o, op, err);
    case CF_OP_SIGMOID_BCE_FWD:
    case CF_OP_SIGMOID_BCE_BWD: return bce_op(o, op, err);
    default:
        return cf_ocl_fail(err, CF_ERR_UNSUPPORTED, "opencl: op %d (%s) is not supported",
                           (int)op->kind, cf_ocl_op_name(op->kind));
    }
}
