/* clforge — the reference backend: plain C, one obvious loop nest per op.
 *
 * This is the oracle every other backend is tested against, so it favours
 * readability over speed: no threads, no blocking, sums accumulated in double.
 * Each op validates its tensors (presence, element counts, geometry) before
 * touching memory and reports a mismatch as CF_ERR_INVALID naming the op and
 * the tensor. Semantics are those of the comments in clforge/backend.h;
 * docs/ops.md states every decision the header leaves open. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clforge/backend.h"
#include "clforge/philox.h"
#include "clforge/plugin.h"

struct cf_buffer {
    size_t bytes;
    float *data;
};

/* ---- errors -------------------------------------------------------------- */

/* Every message starts with "reference: " so a failure names its backend. */
static cf_status fail(cf_error *err, cf_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cf_status fail(cf_error *err, cf_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        int n = snprintf(err->msg, sizeof err->msg, "reference: ");
        vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
        va_end(ap);
        err->status = st;
    }
    return st;
}

/* Op names come from the engine (libclforge), which loads every backend. */
static const char *op_name(cf_op_kind k) { return cf_op_name(k); }

/* ---- tensor validation --------------------------------------------------- */

/* A tensor slot of an op: where it is and what the header calls it. */
typedef struct slot {
    const cf_op *op;
    int is_out, idx;
    const char *role; /* "x", "W", "dy", ... */
} slot;

static const cf_tensor *slot_tensor(slot s)
{
    return s.is_out ? s.op->out[s.idx] : s.op->in[s.idx];
}

static cf_status bad(cf_error *err, slot s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cf_status bad(cf_error *err, slot s, const char *fmt, ...)
{
    const cf_tensor *t = slot_tensor(s);
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fail(err, CF_ERR_INVALID, "%s: tensor '%s' (%s[%d], %s) %s", op_name(s.op->kind),
                t && t->name ? t->name : "?", s.is_out ? "out" : "in", s.idx, s.role, what);
}

/* Checks that the slot holds a tensor with a buffer big enough for its shape
 * (or is empty when optional) and, when want_numel > 0, that it has exactly
 * want_numel elements. *data receives its floats (NULL when absent). */
static cf_status get(const cf_op *op, int is_out, int idx, const char *role, int optional,
                     size_t want_numel, float **data, cf_error *err)
{
    slot s = {op, is_out, idx, role};
    const cf_tensor *t = slot_tensor(s);
    *data = NULL;
    if (!t) {
        if (optional) return CF_OK;
        return fail(err, CF_ERR_INVALID, "%s: missing tensor %s[%d] (%s)", op_name(op->kind),
                    is_out ? "out" : "in", idx, role);
    }
    if (t->ndim < 1 || t->ndim > CF_MAX_DIMS) return bad(err, s, "has ndim %d", t->ndim);
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] < 1) return bad(err, s, "has dimension %d of size %d", i, t->shape[i]);
    size_t n = cf_tensor_numel(t);
    if (want_numel > 0 && n != want_numel)
        return bad(err, s, "has %zu elements, expected %zu", n, want_numel);
    if (!t->buf || !t->buf->data) return bad(err, s, "has no buffer");
    if (t->buf->bytes < n * sizeof(float))
        return bad(err, s, "needs %zu bytes but its buffer holds %zu", n * sizeof(float),
                   t->buf->bytes);
    *data = t->buf->data;
    return CF_OK;
}

#define IN(i, role, numel, p) CF_TRY(get(op, 0, i, role, 0, numel, p, err))
#define IN_OPT(i, role, numel, p) CF_TRY(get(op, 0, i, role, 1, numel, p, err))
#define OUT(i, role, numel, p) CF_TRY(get(op, 1, i, role, 0, numel, p, err))
#define OUT_OPT(i, role, numel, p) CF_TRY(get(op, 1, i, role, 1, numel, p, err))

static cf_status need_ndim(const cf_op *op, int is_out, int idx, const char *role, int ndim,
                           cf_error *err)
{
    slot s = {op, is_out, idx, role};
    const cf_tensor *t = slot_tensor(s);
    if (!t) return fail(err, CF_ERR_INVALID, "%s: missing tensor %s[%d] (%s)", op_name(op->kind),
                        is_out ? "out" : "in", idx, role);
    if (t->ndim != ndim) return bad(err, s, "has ndim %d, expected %d", t->ndim, ndim);
    return CF_OK;
}

/* Backward ops honour op->accumulate: out += result instead of out = result. */
static void store(float *out, size_t i, double v, int accumulate)
{
    out[i] = accumulate ? out[i] + (float)v : (float)v;
}

/* ---- dense ----------------------------------------------------------------- */

static cf_status dense_fwd(const cf_op *op, cf_error *err)
{
    float *x, *w, *b, *y;
    IN(0, "x", 0, &x);
    IN(1, "W", 0, &w);
    int N = op->in[0]->shape[0], O = op->in[1]->shape[0];
    size_t I = cf_tensor_row(op->in[0]);
    if (cf_tensor_row(op->in[1]) != I)
        return fail(err, CF_ERR_INVALID, "dense_fwd: x has %zu features but W '%s' has %zu", I,
                    op->in[1]->name ? op->in[1]->name : "?", cf_tensor_row(op->in[1]));
    IN_OPT(2, "b", (size_t)O, &b);
    OUT(0, "y", (size_t)N * O, &y);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            double s = b ? b[o] : 0.0;
            for (size_t i = 0; i < I; i++) s += (double)x[n * I + i] * w[o * I + i];
            y[(size_t)n * O + o] = (float)s;
        }
    return CF_OK;
}

static cf_status dense_bwd_data(const cf_op *op, cf_error *err)
{
    float *dy, *w, *dx;
    IN(0, "dy", 0, &dy);
    int N = op->in[0]->shape[0];
    size_t O = cf_tensor_row(op->in[0]);
    IN(1, "W", 0, &w);
    if ((size_t)op->in[1]->shape[0] != O)
        return fail(err, CF_ERR_INVALID, "dense_bwd_data: dy has %zu features but W '%s' has %d rows",
                    O, op->in[1]->name ? op->in[1]->name : "?", op->in[1]->shape[0]);
    size_t I = cf_tensor_row(op->in[1]);
    OUT(0, "dx", (size_t)N * I, &dx);
    for (int n = 0; n < N; n++)
        for (size_t i = 0; i < I; i++) {
            double s = 0;
            for (size_t o = 0; o < O; o++) s += (double)dy[n * O + o] * w[o * I + i];
            store(dx, n * I + i, s, op->accumulate);
        }
    return CF_OK;
}

static cf_status dense_bwd_weight(const cf_op *op, cf_error *err)
{
    float *dy, *x, *dw, *db;
    IN(0, "dy", 0, &dy);
    int N = op->in[0]->shape[0];
    size_t O = cf_tensor_row(op->in[0]);
    IN(1, "x", 0, &x);
    if (op->in[1]->shape[0] != N)
        return fail(err, CF_ERR_INVALID, "dense_bwd_weight: dy has batch %d but x '%s' has %d", N,
                    op->in[1]->name ? op->in[1]->name : "?", op->in[1]->shape[0]);
    size_t I = cf_tensor_row(op->in[1]);
    OUT(0, "dW", O * I, &dw);
    OUT_OPT(1, "db", O, &db);
    for (size_t o = 0; o < O; o++) {
        for (size_t i = 0; i < I; i++) {
            double s = 0;
            for (int n = 0; n < N; n++) s += (double)dy[n * O + o] * x[n * I + i];
            store(dw, o * I + i, s, op->accumulate);
        }
        if (db) {
            double s = 0;
            for (int n = 0; n < N; n++) s += dy[n * O + o];
            store(db, o, s, op->accumulate);
        }
    }
    return CF_OK;
}

/* ---- convolution ------------------------------------------------------------ */

typedef struct geom {
    int N, C, H, W;     /* input */
    int K, R, S;        /* filters (conv) or window (pool, K = C) */
    int P, Q;           /* output */
    int sh, sw, ph, pw; /* stride, padding */
} geom;

/* Fills P, Q from the rest and checks that the output is non-empty. */
static cf_status geom_finish(const cf_op *op, geom *g, cf_error *err)
{
    if (g->sh < 1 || g->sw < 1 || g->ph < 0 || g->pw < 0)
        return fail(err, CF_ERR_INVALID, "%s: bad stride %dx%d or padding %dx%d",
                    op_name(op->kind), g->sh, g->sw, g->ph, g->pw);
    int hh = g->H + 2 * g->ph - g->R, ww = g->W + 2 * g->pw - g->S;
    if (hh < 0 || ww < 0)
        return fail(err, CF_ERR_INVALID, "%s: window %dx%d larger than padded input %dx%d",
                    op_name(op->kind), g->R, g->S, g->H + 2 * g->ph, g->W + 2 * g->pw);
    g->P = hh / g->sh + 1;
    g->Q = ww / g->sw + 1;
    return CF_OK;
}

/* x: the [N,C,H,W] tensor (in or out slot), w: the [K,C,R,S] one. */
static cf_status conv_geom(const cf_op *op, const cf_tensor *x, const cf_tensor *w, geom *g,
                           cf_error *err)
{
    g->N = x->shape[0], g->C = x->shape[1], g->H = x->shape[2], g->W = x->shape[3];
    g->K = w->shape[0], g->R = w->shape[2], g->S = w->shape[3];
    if (w->shape[1] != g->C)
        return fail(err, CF_ERR_INVALID, "%s: filter '%s' has %d input channels, data has %d",
                    op_name(op->kind), w->name ? w->name : "?", w->shape[1], g->C);
    g->sh = op->p.conv.stride_h, g->sw = op->p.conv.stride_w;
    g->ph = op->p.conv.pad_h, g->pw = op->p.conv.pad_w;
    return geom_finish(op, g, err);
}

#define IDX4(a, b, c, d, B, C, D) ((((size_t)(a) * (B) + (b)) * (C) + (c)) * (D) + (d))

static double act_value(cf_act a, double alpha, double x);

/* y = act(conv(x, w) + b + z); conv2d_fwd is the case without z and act. */
static cf_status conv2d_forward(const cf_op *op, int fused, cf_error *err)
{
    float *x, *w, *b, *y, *z = NULL;
    geom g;
    CF_TRY(need_ndim(op, 0, 0, "x", 4, err));
    CF_TRY(need_ndim(op, 0, 1, "w", 4, err));
    IN(0, "x", 0, &x);
    IN(1, "w", 0, &w);
    CF_TRY(conv_geom(op, op->in[0], op->in[1], &g, err));
    IN_OPT(2, "b", (size_t)g.K, &b);
    size_t ny = (size_t)g.N * g.K * g.P * g.Q;
    if (fused) {
        if ((int)op->p.conv_act.act < 0 || op->p.conv_act.act >= CF_ACT_COUNT)
            return fail(err, CF_ERR_INVALID, "%s: unknown activation %d", op_name(op->kind),
                        (int)op->p.conv_act.act);
        IN_OPT(3, "z", ny, &z);
    }
    OUT(0, "y", ny, &y);
    for (int n = 0; n < g.N; n++)
        for (int k = 0; k < g.K; k++)
            for (int p = 0; p < g.P; p++)
                for (int q = 0; q < g.Q; q++) {
                    double s = b ? b[k] : 0.0;
                    for (int c = 0; c < g.C; c++)
                        for (int r = 0; r < g.R; r++)
                            for (int t = 0; t < g.S; t++) {
                                int h = p * g.sh - g.ph + r, ww = q * g.sw - g.pw + t;
                                if (h < 0 || h >= g.H || ww < 0 || ww >= g.W) continue;
                                s += (double)x[IDX4(n, c, h, ww, g.C, g.H, g.W)] *
                                     w[IDX4(k, c, r, t, g.C, g.R, g.S)];
                            }
                    size_t j = IDX4(n, k, p, q, g.K, g.P, g.Q);
                    if (z) s += z[j];
                    if (fused) s = act_value(op->p.conv_act.act, op->p.conv_act.alpha, s);
                    y[j] = (float)s;
                }
    return CF_OK;
}

static cf_status conv2d_fwd(const cf_op *op, cf_error *err) { return conv2d_forward(op, 0, err); }
static cf_status conv2d_fwd_act(const cf_op *op, cf_error *err)
{
    return conv2d_forward(op, 1, err);
}

static cf_status conv2d_bwd_data(const cf_op *op, cf_error *err)
{
    float *dy, *w, *dx;
    geom g;
    CF_TRY(need_ndim(op, 1, 0, "dx", 4, err));
    CF_TRY(need_ndim(op, 0, 1, "w", 4, err));
    OUT(0, "dx", 0, &dx);
    IN(1, "w", 0, &w);
    CF_TRY(conv_geom(op, op->out[0], op->in[1], &g, err));
    IN(0, "dy", (size_t)g.N * g.K * g.P * g.Q, &dy);
    /* Scatter every output gradient back through the window it came from. */
    size_t nx = (size_t)g.N * g.C * g.H * g.W;
    double *acc = calloc(nx, sizeof *acc);
    if (!acc) return fail(err, CF_ERR_NOMEM, "conv2d_bwd_data: no host memory for %zu bytes",
                          nx * sizeof *acc);
    for (int n = 0; n < g.N; n++)
        for (int k = 0; k < g.K; k++)
            for (int p = 0; p < g.P; p++)
                for (int q = 0; q < g.Q; q++) {
                    double d = dy[IDX4(n, k, p, q, g.K, g.P, g.Q)];
                    for (int c = 0; c < g.C; c++)
                        for (int r = 0; r < g.R; r++)
                            for (int t = 0; t < g.S; t++) {
                                int h = p * g.sh - g.ph + r, ww = q * g.sw - g.pw + t;
                                if (h < 0 || h >= g.H || ww < 0 || ww >= g.W) continue;
                                acc[IDX4(n, c, h, ww, g.C, g.H, g.W)] +=
                                    d * w[IDX4(k, c, r, t, g.C, g.R, g.S)];
                            }
                }
    for (size_t i = 0; i < nx; i++) store(dx, i, acc[i], op->accumulate);
    free(acc);
    return CF_OK;
}

static cf_status conv2d_bwd_weight(const cf_op *op, cf_error *err)
{
    float *dy, *x, *dw, *db;
    geom g;
    CF_TRY(need_ndim(op, 0, 1, "x", 4, err));
    CF_TRY(need_ndim(op, 1, 0, "dw", 4, err));
    IN(1, "x", 0, &x);
    OUT(0, "dw", 0, &dw);
    CF_TRY(conv_geom(op, op->in[1], op->out[0], &g, err));
    IN(0, "dy", (size_t)g.N * g.K * g.P * g.Q, &dy);
    OUT_OPT(1, "db", (size_t)g.K, &db);
    for (int k = 0; k < g.K; k++) {
        for (int c = 0; c < g.C; c++)
            for (int r = 0; r < g.R; r++)
                for (int t = 0; t < g.S; t++) {
                    double s = 0;
                    for (int n = 0; n < g.N; n++)
                        for (int p = 0; p < g.P; p++)
                            for (int q = 0; q < g.Q; q++) {
                                int h = p * g.sh - g.ph + r, ww = q * g.sw - g.pw + t;
                                if (h < 0 || h >= g.H || ww < 0 || ww >= g.W) continue;
                                s += (double)dy[IDX4(n, k, p, q, g.K, g.P, g.Q)] *
                                     x[IDX4(n, c, h, ww, g.C, g.H, g.W)];
                            }
                    store(dw, IDX4(k, c, r, t, g.C, g.R, g.S), s, op->accumulate);
                }
        if (db) {
            double s = 0;
            for (int n = 0; n < g.N; n++)
                for (int p = 0; p < g.P; p++)
                    for (int q = 0; q < g.Q; q++) s += dy[IDX4(n, k, p, q, g.K, g.P, g.Q)];
            store(db, (size_t)k, s, op->accumulate);
        }
    }
    return CF_OK;
}

/* ---- pooling --------------------------------------------------------------- */

/* x: the [N,C,H,W] tensor the windows slide over. The window must overlap the
 * unpadded input (pad < kernel), so every max-pool window has a real element. */
static cf_status pool_geom(const cf_op *op, const cf_tensor *x, geom *g, cf_error *err)
{
    g->N = x->shape[0], g->C = x->shape[1], g->H = x->shape[2], g->W = x->shape[3];
    g->K = g->C;
    g->R = op->p.pool.kernel_h, g->S = op->p.pool.kernel_w;
    g->sh = op->p.pool.stride_h, g->sw = op->p.pool.stride_w;
    g->ph = op->p.pool.pad_h, g->pw = op->p.pool.pad_w;
    if (g->R < 1 || g->S < 1 || g->ph >= g->R || g->pw >= g->S)
        return fail(err, CF_ERR_INVALID, "%s: bad kernel %dx%d for padding %dx%d (need pad < kernel)",
                    op_name(op->kind), g->R, g->S, g->ph, g->pw);
    return geom_finish(op, g, err);
}

/* Index into plane (n, c) of the first maximum of window (p, q) in row-major
 * order, or -1 when the window holds no real element. */
static long window_argmax(const float *plane, const geom *g, int p, int q)
{
    long best = -1;
    for (int r = 0; r < g->R; r++)
        for (int t = 0; t < g->S; t++) {
            int h = p * g->sh - g->ph + r, w = q * g->sw - g->pw + t;
            if (h < 0 || h >= g->H || w < 0 || w >= g->W) continue;
            long i = (long)h * g->W + w;
            if (best < 0 || plane[i] > plane[best]) best = i;
        }
    return best;
}

static cf_status maxpool_fwd(const cf_op *op, cf_error *err)
{
    float *x, *y;
    geom g;
    CF_TRY(need_ndim(op, 0, 0, "x", 4, err));
    IN(0, "x", 0, &x);
    CF_TRY(pool_geom(op, op->in[0], &g, err));
    OUT(0, "y", (size_t)g.N * g.C * g.P * g.Q, &y);
    for (size_t nc = 0; nc < (size_t)g.N * g.C; nc++) {
        const float *plane = x + nc * g.H * g.W;
        for (int p = 0; p < g.P; p++)
            for (int q = 0; q < g.Q; q++) {
                long i = window_argmax(plane, &g, p, q);
                y[(nc * g.P + p) * g.Q + q] = i < 0 ? 0.0f : plane[i];
            }
    }
    return CF_OK;
}

static cf_status maxpool_bwd(const cf_op *op, cf_error *err)
{
    float *dy, *x, *dx;
    geom g;
    CF_TRY(need_ndim(op, 0, 1, "x", 4, err));
    IN(1, "x", 0, &x);
    CF_TRY(pool_geom(op, op->in[1], &g, err));
    size_t nx = (size_t)g.N * g.C * g.H * g.W;
    IN(0, "dy", (size_t)g.N * g.C * g.P * g.Q, &dy);
    OUT(0, "dx", nx, &dx);
    double *acc = calloc(nx, sizeof *acc);
    if (!acc) return fail(err, CF_ERR_NOMEM, "maxpool_bwd: no host memory for %zu bytes",
                          nx * sizeof *acc);
    for (size_t nc = 0; nc < (size_t)g.N * g.C; nc++) {
        const float *plane = x + nc * g.H * g.W;
        for (int p = 0; p < g.P; p++)
            for (int q = 0; q < g.Q; q++) {
                long i = window_argmax(plane, &g, p, q);
                if (i >= 0) acc[nc * g.H * g.W + (size_t)i] += dy[(nc * g.P + p) * g.Q + q];
            }
    }
    for (size_t i = 0; i < nx; i++) store(dx, i, acc[i], op->accumulate);
    free(acc);
    return CF_OK;
}

static cf_status avgpool_fwd(const cf_op *op, cf_error *err)
{
    float *x, *y;
    geom g;
    CF_TRY(need_ndim(op, 0, 0, "x", 4, err));
    IN(0, "x", 0, &x);
    CF_TRY(pool_geom(op, op->in[0], &g, err));
    OUT(0, "y", (size_t)g.N * g.C * g.P * g.Q, &y);
    for (size_t nc = 0; nc < (size_t)g.N * g.C; nc++) {
        const float *plane = x + nc * g.H * g.W;
        for (int p = 0; p < g.P; p++)
            for (int q = 0; q < g.Q; q++) {
                double s = 0;
                for (int r = 0; r < g.R; r++)
                    for (int t = 0; t < g.S; t++) {
                        int h = p * g.sh - g.ph + r, w = q * g.sw - g.pw + t;
                        if (h >= 0 && h < g.H && w >= 0 && w < g.W) s += plane[h * g.W + w];
                    }
                y[(nc * g.P + p) * g.Q + q] = (float)(s / (g.R * g.S));
            }
    }
    return CF_OK;
}

static cf_status avgpool_bwd(const cf_op *op, cf_error *err)
{
    float *dy, *dx;
    geom g;
    CF_TRY(need_ndim(op, 1, 0, "dx", 4, err));
    OUT(0, "dx", 0, &dx);
    CF_TRY(pool_geom(op, op->out[0], &g, err));
    IN(0, "dy", (size_t)g.N * g.C * g.P * g.Q, &dy);
    size_t nx = (size_t)g.N * g.C * g.H * g.W;
    double *acc = calloc(nx, sizeof *acc);
    if (!acc) return fail(err, CF_ERR_NOMEM, "avgpool_bwd: no host memory for %zu bytes",
                          nx * sizeof *acc);
    for (size_t nc = 0; nc < (size_t)g.N * g.C; nc++)
        for (int p = 0; p < g.P; p++)
            for (int q = 0; q < g.Q; q++) {
                double d = (double)dy[(nc * g.P + p) * g.Q + q] / (g.R * g.S);
                for (int r = 0; r < g.R; r++)
                    for (int t = 0; t < g.S; t++) {
                        int h = p * g.sh - g.ph + r, w = q * g.sw - g.pw + t;
                        if (h >= 0 && h < g.H && w >= 0 && w < g.W)
                            acc[nc * g.H * g.W + (size_t)h * g.W + w] += d;
                    }
            }
    for (size_t i = 0; i < nx; i++) store(dx, i, acc[i], op->accumulate);
    free(acc);
    return CF_OK;
}

/* Global average pooling: x is [N,C,...]; every trailing element is spatial. */
static cf_status gap_fwd(const cf_op *op, cf_error *err)
{
    float *x, *y;
    IN(0, "x", 0, &x);
    const cf_tensor *tx = op->in[0];
    int N = tx->shape[0], C = tx->ndim > 1 ? tx->shape[1] : 1;
    size_t HW = cf_tensor_row(tx) / (size_t)C;
    OUT(0, "y", (size_t)N * C, &y);
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        double s = 0;
        for (size_t i = 0; i < HW; i++) s += x[nc * HW + i];
        y[nc] = (float)(s / (double)HW);
    }
    return CF_OK;
}

static cf_status gap_bwd(const cf_op *op, cf_error *err)
{
    float *dy, *dx;
    OUT(0, "dx", 0, &dx);
    const cf_tensor *tx = op->out[0];
    int N = tx->shape[0], C = tx->ndim > 1 ? tx->shape[1] : 1;
    size_t HW = cf_tensor_row(tx) / (size_t)C;
    IN(0, "dy", (size_t)N * C, &dy);
    for (size_t nc = 0; nc < (size_t)N * C; nc++)
        for (size_t i = 0; i < HW; i++)
            store(dx, nc * HW + i, (double)dy[nc] / (double)HW, op->accumulate);
    return CF_OK;
}

/* ---- elementwise ----------------------------------------------------------- */

static cf_status add(const cf_op *op, cf_error *err)
{
    float *a, *b, *y;
    IN(0, "a", 0, &a);
    size_t n = cf_tensor_numel(op->in[0]);
    IN(1, "b", n, &b);
    OUT(0, "y", n, &y);
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
    return CF_OK;
}

/* [N, C, H*W] view of an activation ([N, F] reads as F channels of 1). */
static void nc_hw(const cf_tensor *t, size_t *n, size_t *c, size_t *hw)
{
    *n = (size_t)t->shape[0];
    *c = t->ndim > 1 ? (size_t)t->shape[1] : 1;
    *hw = cf_tensor_row(t) / *c;
}

static cf_status channel_copy(const cf_op *op, cf_error *err)
{
    float *x, *y;
    IN(0, "x", 0, &x);
    OUT(0, "y", 0, &y);
    size_t xn, xc, xhw, yn, yc, yhw;
    nc_hw(op->in[0], &xn, &xc, &xhw);
    nc_hw(op->out[0], &yn, &yc, &yhw);
    int s0 = op->p.chan.src_c0, d0 = op->p.chan.dst_c0, nch = op->p.chan.channels;
    if (xn != yn || xhw != yhw || s0 < 0 || d0 < 0 || nch < 1 || (size_t)(s0 + nch) > xc ||
        (size_t)(d0 + nch) > yc)
        return fail(err, CF_ERR_INVALID,
                    "channel_copy: x [%zu, %zu, %zu] channels %d..%d -> y [%zu, %zu, %zu] from "
                    "channel %d do not fit",
                    xn, xc, xhw, s0, s0 + nch, yn, yc, yhw, d0);
    for (size_t n = 0; n < xn; n++)
        for (size_t c = 0; c < (size_t)nch; c++) {
            const float *src = x + (n * xc + (size_t)s0 + c) * xhw;
            float *dst = y + (n * yc + (size_t)d0 + c) * yhw;
            for (size_t i = 0; i < xhw; i++) store(dst, i, src[i], op->accumulate);
        }
    return CF_OK;
}

static double act_value(cf_act a, double alpha, double x)
{
    switch (a) {
    case CF_ACT_NONE: return x;
    case CF_ACT_RELU: return x > 0 ? x : 0;
    case CF_ACT_LEAKY_RELU: return x > 0 ? x : alpha * x;
    case CF_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case CF_ACT_TANH: return tanh(x);
    case CF_ACT_ELU: return x > 0 ? x : alpha * (exp(x) - 1.0);
    case CF_ACT_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    default: return NAN;
    }
}

/* d act / dx at x (at the kink x = 0 the left derivative is used). */
static double act_slope(cf_act a, double alpha, double x)
{
    switch (a) {
    case CF_ACT_NONE: return 1;
    case CF_ACT_RELU: return x > 0 ? 1 : 0;
    case CF_ACT_LEAKY_RELU: return x > 0 ? 1 : alpha;
    case CF_ACT_SIGMOID: {
        double s = 1.0 / (1.0 + exp(-x));
        return s * (1 - s);
    }
    case CF_ACT_TANH: {
        double t = tanh(x);
        return 1 - t * t;
    }
    case CF_ACT_ELU: return x > 0 ? 1 : alpha * exp(x);
    case CF_ACT_GELU: /* Phi(x) + x phi(x) */
        return 0.5 * (1.0 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) / sqrt(2.0 * M_PI);
    default: return NAN;
    }
}

static cf_status check_act(const cf_op *op, cf_error *err)
{
    if ((int)op->p.act.act < 0 || op->p.act.act >= CF_ACT_COUNT)
        return fail(err, CF_ERR_INVALID, "%s: unknown activation %d", op_name(op->kind),
                    (int)op->p.act.act);
    return CF_OK;
}

static cf_status act_fwd(const cf_op *op, cf_error *err)
{
    float *x, *y;
    CF_TRY(check_act(op, err));
    IN(0, "x", 0, &x);
    size_t n = cf_tensor_numel(op->in[0]);
    OUT(0, "y", n, &y);
    for (size_t i = 0; i < n; i++) y[i] = (float)act_value(op->p.act.act, op->p.act.alpha, x[i]);
    return CF_OK;
}

/* The slope is recomputed from x, so y (in[2]) may be absent. */
static cf_status act_bwd(const cf_op *op, cf_error *err)
{
    float *dy, *x, *y, *dx;
    CF_TRY(check_act(op, err));
    IN(0, "dy", 0, &dy);
    size_t n = cf_tensor_numel(op->in[0]);
    IN(1, "x", n, &x);
    IN_OPT(2, "y", n, &y);
    OUT(0, "dx", n, &dx);
    for (size_t i = 0; i < n; i++)
        store(dx, i, dy[i] * act_slope(op->p.act.act, op->p.act.alpha, x[i]), op->accumulate);
    return CF_OK;
}

/* ---- softmax and losses ----------------------------------------------------- */

/* log softmax of one row, in double (finite even where exp underflows). */
static void log_softmax_row(const float *x, size_t K, double *out)
{
    double m = x[0];
    for (size_t k = 1; k < K; k++)
        if (x[k] > m) m = x[k];
    double s = 0;
    for (size_t k = 0; k < K; k++) s += exp((double)x[k] - m);
    double lse = m + log(s);
    for (size_t k = 0; k < K; k++) out[k] = (double)x[k] - lse;
}

static size_t argmax_row(const float *x, size_t K)
{
    size_t best = 0;
    for (size_t k = 1; k < K; k++)
        if (x[k] > x[best]) best = k;
    return best;
}

static cf_status softmax_fwd(const cf_op *op, cf_error *err)
{
    float *x, *y;
    IN(0, "x", 0, &x);
    size_t N = (size_t)op->in[0]->shape[0], K = cf_tensor_row(op->in[0]);
    OUT(0, "y", N * K, &y);
    double *lp = malloc(K * sizeof *lp);
    if (!lp) return fail(err, CF_ERR_NOMEM, "softmax_fwd: no host memory");
    for (size_t n = 0; n < N; n++) {
        log_softmax_row(x + n * K, K, lp);
        for (size_t k = 0; k < K; k++) y[n * K + k] = (float)exp(lp[k]);
    }
    free(lp);
    return CF_OK;
}

static cf_status softmax_bwd(const cf_op *op, cf_error *err)
{
    float *dy, *y, *dx;
    IN(0, "dy", 0, &dy);
    size_t N = (size_t)op->in[0]->shape[0], K = cf_tensor_row(op->in[0]);
    IN(1, "y", N * K, &y);
    OUT(0, "dx", N * K, &dx);
    for (size_t n = 0; n < N; n++) {
        double dot = 0;
        for (size_t k = 0; k < K; k++) dot += (double)dy[n * K + k] * y[n * K + k];
        for (size_t k = 0; k < K; k++)
            store(dx, n * K + k, y[n * K + k] * (dy[n * K + k] - dot), op->accumulate);
    }
    return CF_OK;
}

/* Loss ops share a layout: in = {x or logits or probs [N,K], target [N,K],
 * weight [N] (optional)}; forward out = {probs (xent only), loss [N], pred [N]}. */
typedef struct loss_io {
    size_t N, K;
    float *x, *t, *w;
} loss_io;

static cf_status loss_inputs(const cf_op *op, loss_io *io, cf_error *err)
{
    IN(0, "x", 0, &io->x);
    io->N = (size_t)op->in[0]->shape[0];
    io->K = cf_tensor_row(op->in[0]);
    IN(1, "target", io->N * io->K, &io->t);
    IN_OPT(2, "weight", io->N, &io->w);
    return CF_OK;
}

static double loss_weight(const loss_io *io, size_t n) { return io->w ? io->w[n] : 1.0; }

/* loss (out[1]) is required, pred (out[2]) optional; slot 0 belongs to
 * softmax_xent's probs and must be empty for the other losses. */
static cf_status loss_outputs(const cf_op *op, const loss_io *io, float **loss, float **pred,
                              cf_error *err)
{
    OUT(1, "loss", io->N, loss);
    OUT_OPT(2, "pred", io->N, pred);
    return CF_OK;
}

static cf_status softmax_xent_fwd(const cf_op *op, cf_error *err)
{
    loss_io io;
    float *probs, *loss, *pred;
    CF_TRY(loss_inputs(op, &io, err));
    OUT(0, "probs", io.N * io.K, &probs);
    CF_TRY(loss_outputs(op, &io, &loss, &pred, err));
    double *lp = malloc(io.K * sizeof *lp);
    if (!lp) return fail(err, CF_ERR_NOMEM, "softmax_xent_fwd: no host memory");
    for (size_t n = 0; n < io.N; n++) {
        const float *x = io.x + n * io.K, *t = io.t + n * io.K;
        log_softmax_row(x, io.K, lp);
        double l = 0;
        for (size_t k = 0; k < io.K; k++) {
            probs[n * io.K + k] = (float)exp(lp[k]);
            l -= t[k] * lp[k];
        }
        loss[n] = (float)(loss_weight(&io, n) * l);
        if (pred) pred[n] = (float)argmax_row(x, io.K);
    }
    free(lp);
    return CF_OK;
}

static cf_status softmax_xent_bwd(const cf_op *op, cf_error *err)
{
    loss_io io;
    float *dx;
    CF_TRY(loss_inputs(op, &io, err));
    OUT(0, "dlogits", io.N * io.K, &dx);
    for (size_t n = 0; n < io.N; n++) {
        double s = (double)op->p.loss.scale * loss_weight(&io, n);
        for (size_t i = n * io.K; i < (n + 1) * io.K; i++)
            store(dx, i, s * ((double)io.x[i] - io.t[i]), op->accumulate);
    }
    return CF_OK;
}

static cf_status no_slot0(const cf_op *op, cf_error *err)
{
    if (op->out[0])
        return fail(err, CF_ERR_INVALID, "%s: out[0] must be empty (loss goes in out[1], pred in out[2])",
                    op_name(op->kind));
    return CF_OK;
}

static cf_status mse_fwd(const cf_op *op, cf_error *err)
{
    loss_io io;
    float *loss, *pred;
    CF_TRY(no_slot0(op, err));
    CF_TRY(loss_inputs(op, &io, err));
    CF_TRY(loss_outputs(op, &io, &loss, &pred, err));
    for (size_t n = 0; n < io.N; n++) {
        double s = 0;
        for (size_t i = n * io.K; i < (n + 1) * io.K; i++) {
            double d = (double)io.x[i] - io.t[i];
            s += d * d;
        }
        loss[n] = (float)(loss_weight(&io, n) * s / (double)io.K);
        if (pred) pred[n] = (float)argmax_row(io.x + n * io.K, io.K);
    }
    return CF_OK;
}

static cf_status mse_bwd(const cf_op *op, cf_error *err)
{
    loss_io io;
    float *dx;
    CF_TRY(loss_inputs(op, &io, err));
    OUT(0, "dx", io.N * io.K, &dx);
    for (size_t n = 0; n < io.N; n++) {
        double s = (double)op->p.loss.scale * loss_weight(&io, n) * 2.0 / (double)io.K;
        for (size_t i = n * io.K; i < (n + 1) * io.K; i++)
            store(dx, i, s * ((double)io.x[i] - io.t[i]), op->accumulate);
    }
    return CF_OK;
}

/* Multi-class hinge: the true class is the first maximum of the target row. */
static cf_status hinge_fwd(const cf_op *op, cf_error *err)
{
    loss_io io;
    float *loss, *pred;
    CF_TRY(no_slot0(op, err));
    CF_TRY(loss_inputs(op, &io, err));
    CF_TRY(loss_outputs(op, &io, &loss, &pred, err));
    for (size_t n = 0; n < io.N; n++) {
        const float *x = io.x + n * io.K;
        size_t y = argmax_row(io.t + n * io.K, io.K);
        double s = 0;
        for (size_t j = 0; j < io.K; j++) {
            double m = 1.0 - x[y] + x[j];
            if (j != y && m > 0) s += m;
        }
        loss[n] = (float)(loss_weight(&io, n) * s / (double)io.K);
        if (pred) pred[n] = (float)argmax_row(x, io.K);
    }
    return CF_OK;
}

/* Subgradient: a margin of exactly 0 contributes nothing. */
static cf_status hinge_bwd(const cf_op *op, cf_error *err)
{
    loss_io io;
    float *dx;
    CF_TRY(loss_inputs(op, &io, err));
    OUT(0, "dx", io.N * io.K, &dx);
    double *g = malloc(io.K * sizeof *g);
    if (!g) return fail(err, CF_ERR_NOMEM, "hinge_bwd: no host memory");
    for (size_t n = 0; n < io.N; n++) {
        const float *x = io.x + n * io.K;
        size_t y = argmax_row(io.t + n * io.K, io.K);
        double s = (double)op->p.loss.scale * loss_weight(&io, n) / (double)io.K;
        for (size_t j = 0; j < io.K; j++) g[j] = 0;
        for (size_t j = 0; j < io.K; j++)
            if (j != y && 1.0 - x[y] + x[j] > 0) {
                g[j] += 1;
                g[y] -= 1;
            }
        for (size_t j = 0; j < io.K; j++) store(dx, n * io.K + j, s * g[j], op->accumulate);
    }
    free(g);
    return CF_OK;
}

/* Sigmoid + binary cross-entropy per label (multi-label). softplus(x) =
 * max(x, 0) + log1p(exp(-|x|)) never overflows, and log(1 - sigmoid(x)) =
 * -softplus(x), so the loss is finite for any logit. */
static double softplus(double x) { return (x > 0 ? x : 0) + log1p(exp(-fabs(x))); }

static cf_status sigmoid_bce_fwd(const cf_op *op, cf_error *err)
{
    loss_io io;
    float *probs, *loss, *pred, *pw;
    CF_TRY(loss_inputs(op, &io, err));
    IN_OPT(3, "pos_weight", io.K, &pw);
    OUT_OPT(0, "probs", io.N * io.K, &probs);
    CF_TRY(loss_outputs(op, &io, &loss, &pred, err));
    for (size_t n = 0; n < io.N; n++) {
        double l = 0;
        for (size_t k = 0; k < io.K; k++) {
            size_t i = n * io.K + k;
            double x = io.x[i], t = io.t[i], c = pw ? pw[k] : 1.0;
            l += (1.0 - t + c * t) * softplus(x) - c * t * x;
            if (probs) probs[i] = (float)(1.0 / (1.0 + exp(-x)));
        }
        loss[n] = (float)(loss_weight(&io, n) * l / (double)io.K);
        if (pred) pred[n] = (float)argmax_row(io.x + n * io.K, io.K);
    }
    return CF_OK;
}

static cf_status sigmoid_bce_bwd(const cf_op *op, cf_error *err)
{
    loss_io io;
    float *dx, *pw;
    CF_TRY(loss_inputs(op, &io, err));
    IN_OPT(3, "pos_weight", io.K, &pw);
    OUT(0, "dlogits", io.N * io.K, &dx);
    for (size_t n = 0; n < io.N; n++) {
        double s = (double)op->p.loss.scale * loss_weight(&io, n) / (double)io.K;
        for (size_t k = 0; k < io.K; k++) {
            size_t i = n * io.K + k;
            double p = io.x[i], t = io.t[i], c = pw ? pw[k] : 1.0;
            store(dx, i, s * ((1.0 - t + c * t) * p - c * t), op->accumulate);
        }
    }
    return CF_OK;
}

/* ---- dropout ---------------------------------------------------------------- */

static cf_status dropout_fwd(const cf_op *op, cf_error *err)
{
    float *x, *y, *mask;
    float rate = op->p.dropout.rate;
    if (!(rate >= 0.0f && rate < 1.0f))
        return fail(err, CF_ERR_INVALID, "dropout_fwd: rate %g outside [0, 1)", rate);
    IN(0, "x", 0, &x);
    size_t n = cf_tensor_numel(op->in[0]);
    OUT(0, "y", n, &y);
    OUT(1, "mask", n, &mask);
    /* Computed in float, as every backend must, so masks match bit for bit. */
    float keep = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < n; i++) {
        float u = cf_philox_uniform(op->p.dropout.seed, op->p.dropout.counter, i);
        mask[i] = u >= rate ? keep : 0.0f;
        y[i] = x[i] * mask[i];
    }
    return CF_OK;
}

static cf_status dropout_bwd(const cf_op *op, cf_error *err)
{
    float *dy, *mask, *dx;
    IN(0, "dy", 0, &dy);
    size_t n = cf_tensor_numel(op->in[0]);
    IN(1, "mask", n, &mask);
    OUT(0, "dx", n, &dx);
    for (size_t i = 0; i < n; i++) store(dx, i, dy[i] * mask[i], op->accumulate);
    return CF_OK;
}

/* ---- batch normalisation ---------------------------------------------------- */

/* x is [N,C,...]: channel c of sample n is the contiguous run of HW floats at
 * (n*C + c)*HW. */
typedef struct bn_geom {
    size_t N, C, HW;
} bn_geom;

static cf_status bn_geom_of(const cf_op *op, const cf_tensor *x, bn_geom *g, cf_error *err)
{
    if (x->ndim < 2)
        return fail(err, CF_ERR_INVALID, "%s: tensor '%s' must be [N,C] or [N,C,H,W]",
                    op_name(op->kind), x->name ? x->name : "?");
    g->N = (size_t)x->shape[0];
    g->C = (size_t)x->shape[1];
    g->HW = cf_tensor_row(x) / g->C;
    return CF_OK;
}

static cf_status check_eps(const cf_op *op, cf_error *err)
{
    if (!(op->p.bn.eps > 0.0f))
        return fail(err, CF_ERR_INVALID, "%s: eps must be > 0 (got %g)", op_name(op->kind),
                    op->p.bn.eps);
    return CF_OK;
}

static cf_status batchnorm_fwd_train(const cf_op *op, cf_error *err)
{
    float *x, *gamma, *beta, *y, *smean, *sinv, *rmean, *rvar;
    bn_geom g;
    CF_TRY(check_eps(op, err));
    IN(0, "x", 0, &x);
    CF_TRY(bn_geom_of(op, op->in[0], &g, err));
    IN(1, "gamma", g.C, &gamma);
    IN(2, "beta", g.C, &beta);
    OUT(0, "y", g.N * g.C * g.HW, &y);
    OUT(1, "save_mean", g.C, &smean);
    OUT(2, "save_invstd", g.C, &sinv);
    OUT(3, "running_mean", g.C, &rmean);
    OUT(4, "running_var", g.C, &rvar);
    double M = (double)(g.N * g.HW), mom = op->p.bn.momentum;
    for (size_t c = 0; c < g.C; c++) {
        double s = 0, ss = 0;
        for (size_t n = 0; n < g.N; n++)
            for (size_t i = 0; i < g.HW; i++) s += x[(n * g.C + c) * g.HW + i];
        double mean = s / M;
        for (size_t n = 0; n < g.N; n++)
            for (size_t i = 0; i < g.HW; i++) {
                double d = x[(n * g.C + c) * g.HW + i] - mean;
                ss += d * d;
            }
        double var = ss / M; /* biased: used to normalise */
        double invstd = 1.0 / sqrt(var + op->p.bn.eps);
        for (size_t n = 0; n < g.N; n++)
            for (size_t i = 0; i < g.HW; i++) {
                size_t j = (n * g.C + c) * g.HW + i;
                y[j] = (float)(gamma[c] * (x[j] - mean) * invstd + beta[c]);
            }
        smean[c] = (float)mean;
        sinv[c] = (float)invstd;
        /* Unbiased for the running estimate; one value per channel has none. */
        double uvar = M > 1 ? ss / (M - 1) : var;
        rmean[c] = (float)((1 - mom) * rmean[c] + mom * mean);
        rvar[c] = (float)((1 - mom) * rvar[c] + mom * uvar);
    }
    return CF_OK;
}

static cf_status batchnorm_fwd_eval(const cf_op *op, cf_error *err)
{
    float *x, *gamma, *beta, *rmean, *rvar, *y;
    bn_geom g;
    CF_TRY(check_eps(op, err));
    IN(0, "x", 0, &x);
    CF_TRY(bn_geom_of(op, op->in[0], &g, err));
    IN(1, "gamma", g.C, &gamma);
    IN(2, "beta", g.C, &beta);
    IN(3, "running_mean", g.C, &rmean);
    IN(4, "running_var", g.C, &rvar);
    OUT(0, "y", g.N * g.C * g.HW, &y);
    for (size_t c = 0; c < g.C; c++) {
        double invstd = 1.0 / sqrt((double)rvar[c] + op->p.bn.eps);
        for (size_t n = 0; n < g.N; n++)
            for (size_t i = 0; i < g.HW; i++) {
                size_t j = (n * g.C + c) * g.HW + i;
                y[j] = (float)(gamma[c] * (x[j] - rmean[c]) * invstd + beta[c]);
            }
    }
    return CF_OK;
}

/* With xh = (x - mean) invstd and M = N*HW:
 *   dbeta = sum dy, dgamma = sum dy xh,
 *   dx = gamma invstd / M (M dy - dbeta - xh dgamma). */
static cf_status batchnorm_bwd(const cf_op *op, cf_error *err)
{
    float *dy, *x, *gamma, *smean, *sinv, *dx, *dgamma, *dbeta;
    bn_geom g;
    IN(1, "x", 0, &x);
    CF_TRY(bn_geom_of(op, op->in[1], &g, err));
    size_t n_all = g.N * g.C * g.HW;
    IN(0, "dy", n_all, &dy);
    IN(2, "gamma", g.C, &gamma);
    IN(3, "save_mean", g.C, &smean);
    IN(4, "save_invstd", g.C, &sinv);
    OUT(0, "dx", n_all, &dx);
    OUT(1, "dgamma", g.C, &dgamma);
    OUT(2, "dbeta", g.C, &dbeta);
    double M = (double)(g.N * g.HW);
    for (size_t c = 0; c < g.C; c++) {
        double mean = smean[c], inv = sinv[c], sdy = 0, sdyxh = 0;
        for (size_t n = 0; n < g.N; n++)
            for (size_t i = 0; i < g.HW; i++) {
                size_t j = (n * g.C + c) * g.HW + i;
                sdy += dy[j];
                sdyxh += dy[j] * (x[j] - mean) * inv;
            }
        for (size_t n = 0; n < g.N; n++)
            for (size_t i = 0; i < g.HW; i++) {
                size_t j = (n * g.C + c) * g.HW + i;
                double xh = (x[j] - mean) * inv;
                store(dx, j, gamma[c] * inv / M * (M * dy[j] - sdy - xh * sdyxh),
                      op->accumulate);
            }
        store(dgamma, c, sdyxh, op->accumulate);
        store(dbeta, c, sdy, op->accumulate);
    }
    return CF_OK;
}

/* ---- vector ops (optimizer primitives) -------------------------------------- */

/* y = out[0]; x = in[0], z = in[1] when the op reads them. b == 0 means y is
 * not read, so a stale NaN in y never leaks into the result. */
static cf_status vec_op(const cf_op *op, cf_error *err)
{
    float *y, *x = NULL, *z = NULL;
    OUT(0, "y", 0, &y);
    size_t n = cf_tensor_numel(op->out[0]);
    double a = op->p.vec.a, b = op->p.vec.b, c = op->p.vec.c;
    cf_op_kind k = op->kind;
    if (k != CF_OP_FILL) {
        /* sumsq's x has any size; everywhere else x matches y element for element. */
        IN(0, "x", k == CF_OP_SUMSQ ? 0 : n, &x);
    }
    if (k == CF_OP_MUL || k == CF_OP_DIV || k == CF_OP_MAX) IN(1, "z", n, &z);
    if (k == CF_OP_SUMSQ) {
        if (n != 1) {
            slot s = {op, 1, 0, "y"};
            return bad(err, s, "has %zu elements, expected 1", n);
        }
        size_t nx = cf_tensor_numel(op->in[0]);
        double s = 0;
        for (size_t i = 0; i < nx; i++) s += (double)x[i] * x[i];
        y[0] = (float)(a * s + (b != 0 ? b * y[0] : 0.0));
        return CF_OK;
    }
    int reads_y = k == CF_OP_AXPBY || k == CF_OP_MUL || k == CF_OP_DIV || k == CF_OP_SIGN;
    for (size_t i = 0; i < n; i++) {
        double old = reads_y && b != 0 ? b * y[i] : 0.0;
        switch (k) {
        case CF_OP_FILL: y[i] = (float)a; break;
        case CF_OP_AXPBY: y[i] = (float)(a * x[i] + old); break;
        case CF_OP_MUL: y[i] = (float)(a * x[i] * z[i] + old); break;
        case CF_OP_DIV: y[i] = (float)(a * x[i] / ((double)z[i] + c) + old); break;
        case CF_OP_SQRT: y[i] = (float)(sqrt(a * x[i]) + c); break;
        case CF_OP_SIGN: y[i] = (float)(a * ((x[i] > 0) - (x[i] < 0)) + old); break;
        case CF_OP_MAX: y[i] = fmaxf(x[i], z[i]); break;
        default: break;
        }
    }
    return CF_OK;
}

/* ---- dispatch ---------------------------------------------------------------- */

typedef cf_status (*op_fn)(const cf_op *op, cf_error *err);

static const op_fn op_table[CF_OP_COUNT] = {
    [CF_OP_DENSE_FWD] = dense_fwd,
    [CF_OP_DENSE_BWD_DATA] = dense_bwd_data,
    [CF_OP_DENSE_BWD_WEIGHT] = dense_bwd_weight,
    [CF_OP_CONV2D_FWD] = conv2d_fwd,
    [CF_OP_CONV2D_BWD_DATA] = conv2d_bwd_data,
    [CF_OP_CONV2D_BWD_WEIGHT] = conv2d_bwd_weight,
    [CF_OP_MAXPOOL_FWD] = maxpool_fwd,
    [CF_OP_MAXPOOL_BWD] = maxpool_bwd,
    [CF_OP_AVGPOOL_FWD] = avgpool_fwd,
    [CF_OP_AVGPOOL_BWD] = avgpool_bwd,
    [CF_OP_GAP_FWD] = gap_fwd,
    [CF_OP_GAP_BWD] = gap_bwd,
    [CF_OP_ADD] = add,
    [CF_OP_ACT_FWD] = act_fwd,
    [CF_OP_ACT_BWD] = act_bwd,
    [CF_OP_SOFTMAX_FWD] = softmax_fwd,
    [CF_OP_SOFTMAX_BWD] = softmax_bwd,
    [CF_OP_SOFTMAX_XENT_FWD] = softmax_xent_fwd,
    [CF_OP_SOFTMAX_XENT_BWD] = softmax_xent_bwd,
    [CF_OP_MSE_FWD] = mse_fwd,
    [CF_OP_MSE_BWD] = mse_bwd,
    [CF_OP_HINGE_FWD] = hinge_fwd,
    [CF_OP_HINGE_BWD] = hinge_bwd,
    [CF_OP_DROPOUT_FWD] = dropout_fwd,
    [CF_OP_DROPOUT_BWD] = dropout_bwd,
    [CF_OP_BATCHNORM_FWD_TRAIN] = batchnorm_fwd_train,
    [CF_OP_BATCHNORM_FWD_EVAL] = batchnorm_fwd_eval,
    [CF_OP_BATCHNORM_BWD] = batchnorm_bwd,
    [CF_OP_FILL] = vec_op,
    [CF_OP_AXPBY] = vec_op,
    [CF_OP_MUL] = vec_op,
    [CF_OP_DIV] = vec_op,
    [CF_OP_SQRT] = vec_op,
    [CF_OP_SIGN] = vec_op,
    [CF_OP_MAX] = vec_op,
    [CF_OP_SUMSQ] = vec_op,
    [CF_OP_CONV2D_FWD_ACT] = conv2d_fwd_act,
    [CF_OP_CHANNEL_COPY] = channel_copy,
    [CF_OP_SIGMOID_BCE_FWD] = sigmoid_bce_fwd,
    [CF_OP_SIGMOID_BCE_BWD] = sigmoid_bce_bwd,
};

static int ref_supports_op(void *ctx, const cf_op *op)
{
    return op && op->kind > CF_OP_NONE && op->kind < CF_OP_COUNT && op_table[op->kind];
}

static cf_status ref_exec(void *ctx, const cf_op *op, cf_error *err)
{
    if (!ref_supports_op(ctx, op))
        return fail(err, CF_ERR_UNSUPPORTED, "unknown op kind %d", op ? (int)op->kind : -1);
    CF_TRY(cf_op_require_dtype(op, CF_DTYPE_F32, "reference backend", err));
    return op_table[op->kind](op, err);
}

/* ---- device and buffers ------------------------------------------------------ */

static void fill_info(cf_device_info *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "reference (plain C)");
    snprintf(d->vendor, sizeof d->vendor, "clforge");
    snprintf(d->type, sizeof d->type, "cpu");
    snprintf(d->version, sizeof d->version, "1.0");
    snprintf(d->platform, sizeof d->platform, "host");
    d->compute_units = 1;
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    d->global_mem = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
    d->local_mem = 0;
    d->max_alloc = d->global_mem;
    d->fp16 = 0;
    d->fp64 = 1;
}

static int ref_auto_score(void) { return 1; }

static cf_status ref_list_devices(cf_device_info *out, int max, int *count, cf_error *err)
{
    if (out && max > 0) fill_info(&out[0]);
    if (count) *count = 1;
    return CF_OK;
}

typedef struct ref_ctx {
    cf_device_info info;
} ref_ctx;

static cf_status ref_create(const cf_backend_config *cfg, void **ctx, cf_error *err)
{
    ref_ctx *c = calloc(1, sizeof *c);
    if (!c) return fail(err, CF_ERR_NOMEM, "create: no host memory");
    fill_info(&c->info);
    *ctx = c;
    return CF_OK;
}

static void ref_destroy(void *ctx) { free(ctx); }

static cf_status ref_device_info(void *ctx, cf_device_info *info)
{
    *info = ((ref_ctx *)ctx)->info;
    return CF_OK;
}

static cf_status ref_buffer_alloc(void *ctx, size_t bytes, const char *name, cf_buffer **out,
                                  cf_error *err)
{
    *out = NULL;
    cf_buffer *b = malloc(sizeof *b);
    float *data = malloc(bytes ? bytes : 1);
    if (!b || !data) {
        free(b);
        free(data);
        return fail(err, CF_ERR_NOMEM, "out of host memory allocating %zu bytes for tensor '%s'",
                    bytes, name ? name : "?");
    }
    b->bytes = bytes;
    b->data = data;
    *out = b;
    return CF_OK;
}

static void ref_buffer_free(void *ctx, cf_buffer *buf)
{
    if (!buf) return;
    free(buf->data);
    free(buf);
}

static cf_status check_range(const cf_buffer *buf, size_t offset, size_t bytes, const char *what,
                             cf_error *err)
{
    if (!buf) return fail(err, CF_ERR_INVALID, "%s: no buffer", what);
    if (offset > buf->bytes || bytes > buf->bytes - offset)
        return fail(err, CF_ERR_INVALID, "%s of %zu bytes at offset %zu exceeds buffer of %zu bytes",
                    what, bytes, offset, buf->bytes);
    return CF_OK;
}

static cf_status ref_upload(void *ctx, cf_buffer *dst, size_t offset, const void *src,
                            size_t bytes, cf_error *err)
{
    CF_TRY(check_range(dst, offset, bytes, "upload", err));
    if (bytes) memcpy((char *)dst->data + offset, src, bytes);
    return CF_OK;
}

static cf_status ref_download(void *ctx, cf_buffer *src, size_t offset, void *dst, size_t bytes,
                              cf_error *err)
{
    CF_TRY(check_range(src, offset, bytes, "download", err));
    if (bytes) memcpy(dst, (const char *)src->data + offset, bytes);
    return CF_OK;
}

static cf_status ref_sync(void *ctx, cf_error *err) { return CF_OK; }

static const cf_backend_vtable ref_vtable = {
    .struct_size = sizeof(cf_backend_vtable),
    .auto_score = ref_auto_score,
    .list_devices = ref_list_devices,
    .create = ref_create,
    .destroy = ref_destroy,
    .device_info = ref_device_info,
    .buffer_alloc = ref_buffer_alloc,
    .buffer_free = ref_buffer_free,
    .upload = ref_upload,
    .download = ref_download,
    .supports_op = ref_supports_op,
    .exec = ref_exec,
    .sync = ref_sync,
};

static const cf_param_def ref_params[] = {CF_PARAM_TABLE_END};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT(CF_PLUGIN_BACKEND, "reference", "1.0.0",
                        "plain C, obviously correct: the oracle every backend is tested against",
                        ref_params, &ref_vtable);
