/* clforge cpu backend — max, average and global average pooling, split over
 * the pool by (image, channel) planes. Max pooling also runs on activations
 * in the blocked layout (cpu_layout.c), a block of B channels at a time. */
#include <math.h>
#include <string.h>

#include "cpu_internal.h"

typedef struct {
    int H, W, P, Q, kh, kw, sh, sw, ph, pw;
    const float *x, *dy;
    float *y, *dx;
    int acc;
    int B; /* blocked layout: channels per block (planes are blocks of B channels) */
} pool_job;

/* The common 2x2 window, stride 2, no padding: a vectorised path. */
static int is_2x2_stride2(const pool_job *j)
{
    return j->kh == 2 && j->kw == 2 && j->sh == 2 && j->sw == 2 && j->ph == 0 && j->pw == 0;
}

/* First maximum of the window in row-major order, padded positions
 * ignored; -1 when the window holds no input position. */
static inline long window_argmax(const pool_job *j, const float *xp, int p, int q, float *best)
{
    long arg = -1;
    float m = -INFINITY;
    for (int a = 0; a < j->kh; a++) {
        int ih = p * j->sh - j->ph + a;
        if (ih < 0 || ih >= j->H) continue;
        for (int b = 0; b < j->kw; b++) {
            int iw = q * j->sw - j->pw + b;
            if (iw < 0 || iw >= j->W) continue;
            float v = xp[(size_t)ih * j->W + iw];
            if (arg < 0 || v > m) {
                m = v;
                arg = (long)ih * j->W + iw;
            }
        }
    }
    *best = m;
    return arg;
}

CPU_CLONES
static void maxpool_fwd_task(void *arg, int tid, long b, long e)
{
    const pool_job *j = arg;
    const size_t in = (size_t)j->H * j->W, out = (size_t)j->P * j->Q;
    const int fast = is_2x2_stride2(j);
    for (long pl = b; pl < e; pl++) {
        const float *xp = j->x + pl * in;
        float *yp = j->y + pl * out;
        if (fast) {
            for (int p = 0; p < j->P; p++) {
                const float *r0 = xp + (size_t)(2 * p) * j->W, *r1 = r0 + j->W;
                float *o = yp + (size_t)p * j->Q;
                for (int q = 0; q < j->Q; q++) {
                    float m0 = r0[2 * q] >= r0[2 * q + 1] ? r0[2 * q] : r0[2 * q + 1];
                    float m1 = r1[2 * q] >= r1[2 * q + 1] ? r1[2 * q] : r1[2 * q + 1];
                    o[q] = m0 >= m1 ? m0 : m1;
                }
            }
            continue;
        }
        for (int p = 0; p < j->P; p++)
            for (int q = 0; q < j->Q; q++) {
                float m;
                window_argmax(j, xp, p, q, &m);
                yp[(size_t)p * j->Q + q] = m;
            }
    }
}

typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

/* Eight 2x2 windows at once, branch-free (the scalar form mispredicts on
 * ReLU outputs full of ties): deinterleave the two input rows, pick the
 * first maximum in row-major order a, b, c, d by masks, interleave the
 * gradient back. */
static inline void maxpool2_bwd8(const float *r0, const float *r1, const float *g, float *d0,
                                 float *d1, int acc)
{
    v8f x0, x1, y0, y1, gv;
    __builtin_memcpy(&x0, r0, 32);
    __builtin_memcpy(&x1, r0 + 8, 32);
    __builtin_memcpy(&y0, r1, 32);
    __builtin_memcpy(&y1, r1 + 8, 32);
    __builtin_memcpy(&gv, g, 32);
    const v8i ev = {0, 2, 4, 6, 8, 10, 12, 14}, od = {1, 3, 5, 7, 9, 11, 13, 15};
    v8f a = __builtin_shuffle(x0, x1, ev), b = __builtin_shuffle(x0, x1, od);
    v8f c = __builtin_shuffle(y0, y1, ev), d = __builtin_shuffle(y0, y1, od);
    v8i sb = b > a, sc, sd;
    v8i m = (sb & (v8i)b) | (~sb & (v8i)a);
    sc = c > (v8f)m;
    m = (sc & (v8i)c) | (~sc & m);
    sd = d > (v8f)m;
    m = (sd & (v8i)d) | (~sd & m);
    v8i ka = a == (v8f)m, kb = ~ka & (b == (v8f)m), kc = ~ka & ~kb & (c == (v8f)m);
    v8i kd = ~(ka | kb | kc);
    v8i gi = (v8i)gv;
    v8f va = (v8f)(gi & ka), vb = (v8f)(gi & kb), vc = (v8f)(gi & kc), vd = (v8f)(gi & kd);
    const v8i lo = {0, 8, 1, 9, 2, 10, 3, 11}, hi = {4, 12, 5, 13, 6, 14, 7, 15};
    v8f o00 = __builtin_shuffle(va, vb, lo), o01 = __builtin_shuffle(va, vb, hi);
    v8f o10 = __builtin_shuffle(vc, vd, lo), o11 = __builtin_shuffle(vc, vd, hi);
    if (acc) {
        v8f t;
        __builtin_memcpy(&t, d0, 32); o00 += t;
        __builtin_memcpy(&t, d0 + 8, 32); o01 += t;
        __builtin_memcpy(&t, d1, 32); o10 += t;
        __builtin_memcpy(&t, d1 + 8, 32); o11 += t;
    }
    __builtin_memcpy(d0, &o00, 32);
    __builtin_memcpy(d0 + 8, &o01, 32);
    __builtin_memcpy(d1, &o10, 32);
    __builtin_memcpy(d1 + 8, &o11, 32);
}

CPU_CLONES
static void maxpool_bwd_task(void *arg, int tid, long b, long e)
{
    const pool_job *j = arg;
    const size_t in = (size_t)j->H * j->W, out = (size_t)j->P * j->Q;
    const int fast = is_2x2_stride2(j);
    for (long pl = b; pl < e; pl++) {
        const float *xp = j->x + pl * in;
        const float *dyp = j->dy + pl * out;
        float *dxp = j->dx + pl * in;
        if (fast) { /* 2x2 stride 2: windows tile the plane, each x in one window */
            const int W = j->W;
            if (!j->acc && ((j->H & 1) || (W & 1))) memset(dxp, 0, sizeof(float) * in);
            for (int p = 0; p < j->P; p++) {
                const float *r0 = xp + (size_t)(2 * p) * W, *r1 = r0 + W;
                float *d0 = dxp + (size_t)(2 * p) * W, *d1 = d0 + W;
                const float *g = dyp + (size_t)p * j->Q;
                int q = 0;
                for (; q + 8 <= j->Q; q += 8) maxpool2_bwd8(r0 + 2 * q, r1 + 2 * q, g + q,
                                                            d0 + 2 * q, d1 + 2 * q, j->acc);
                /* tail: first maximum in row-major order a, b, c, d */
                for (; q < j->Q; q++) {
                    float a = r0[2 * q], b = r0[2 * q + 1], c = r1[2 * q], d = r1[2 * q + 1];
                    int k = 0;
                    float m = a;
                    if (b > m) { m = b; k = 1; }
                    if (c > m) { m = c; k = 2; }
                    if (d > m) k = 3;
                    float gv = g[q];
                    if (!j->acc) d0[2 * q] = d0[2 * q + 1] = d1[2 * q] = d1[2 * q + 1] = 0.0f;
                    (k < 2 ? d0 : d1)[2 * q + (k & 1)] += gv;
                }
            }
            continue;
        }
        if (!j->acc) memset(dxp, 0, sizeof(float) * in);
        for (int p = 0; p < j->P; p++)
            for (int q = 0; q < j->Q; q++) {
                float m;
                long a = window_argmax(j, xp, p, q, &m);
                if (a >= 0) dxp[a] += dyp[(size_t)p * j->Q + q];
            }
    }
}

/* 2x2 stride 2 on a 16-channel block: the window is four vectors a, b, c, d
 * (row-major); per lane the first maximum takes the gradient, branch-free. */
typedef float v16f __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));

/* b where b > a, else a (the earlier element wins ties); a macro, since a
 * function returning a 64-byte vector trips the baseline ABI */
#define later_if_greater(a, b) ((v16f)((((b) > (a)) & (v16i)(b)) | (~((b) > (a)) & (v16i)(a))))

CPU_CLONES
static void maxpool_blk16_2x2_fwd(const pool_job *j, const float *xp, float *yp)
{
    const size_t W = (size_t)j->W;
    for (int p = 0; p < j->P; p++)
        for (int q = 0; q < j->Q; q++) {
            size_t o0 = ((size_t)(2 * p) * W + (size_t)(2 * q)) * 16, o1 = o0 + W * 16;
            v16f a, b, c, d;
            __builtin_memcpy(&a, xp + o0, 64);
            __builtin_memcpy(&b, xp + o0 + 16, 64);
            __builtin_memcpy(&c, xp + o1, 64);
            __builtin_memcpy(&d, xp + o1 + 16, 64);
            v16f m = later_if_greater(later_if_greater(later_if_greater(a, b), c), d);
            __builtin_memcpy(yp + ((size_t)p * j->Q + q) * 16, &m, 64);
        }
}

CPU_CLONES
static void maxpool_blk16_2x2_bwd(const pool_job *j, const float *xp, const float *dyp,
                                  float *dxp)
{
    const size_t W = (size_t)j->W;
    for (int p = 0; p < j->P; p++)
        for (int q = 0; q < j->Q; q++) {
            size_t o0 = ((size_t)(2 * p) * W + (size_t)(2 * q)) * 16, o1 = o0 + W * 16;
            v16f a, b, c, d, g;
            __builtin_memcpy(&a, xp + o0, 64);
            __builtin_memcpy(&b, xp + o0 + 16, 64);
            __builtin_memcpy(&c, xp + o1, 64);
            __builtin_memcpy(&d, xp + o1 + 16, 64);
            __builtin_memcpy(&g, dyp + ((size_t)p * j->Q + q) * 16, 64);
            v16f m = later_if_greater(later_if_greater(later_if_greater(a, b), c), d);
            v16i ka = a == m, kb = ~ka & (b == m), kc = ~ka & ~kb & (c == m);
            v16i kd = ~(ka | kb | kc);
            v16i gi = (v16i)g;
            v16f ga = (v16f)(gi & ka), gb = (v16f)(gi & kb), gc = (v16f)(gi & kc),
                 gd = (v16f)(gi & kd);
            float *da = dxp + o0, *db = da + 16, *dc = dxp + o1, *dd = dc + 16;
            if (j->acc) {
                v16f t;
                __builtin_memcpy(&t, da, 64); ga += t;
                __builtin_memcpy(&t, db, 64); gb += t;
                __builtin_memcpy(&t, dc, 64); gc += t;
                __builtin_memcpy(&t, dd, 64); gd += t;
            }
            __builtin_memcpy(da, &ga, 64);
            __builtin_memcpy(db, &gb, 64);
            __builtin_memcpy(dc, &gc, 64);
            __builtin_memcpy(dd, &gd, 64);
        }
}

#define POOL_BMAX 16

/* Per lane of a B-channel block: the first maximum of window (p, q) in
 * row-major order (padded positions ignored), its value and its index. */
static inline void blk_window_argmax(const pool_job *j, const float *xp, int p, int q, float *m,
                                     long *arg)
{
    const int B = j->B;
    int first = 1;
    for (int a = 0; a < j->kh; a++) {
        int ih = p * j->sh - j->ph + a;
        if (ih < 0 || ih >= j->H) continue;
        for (int c = 0; c < j->kw; c++) {
            int iw = q * j->sw - j->pw + c;
            if (iw < 0 || iw >= j->W) continue;
            long at = ((long)ih * j->W + iw) * B;
            const float *v = xp + at;
            for (int l = 0; l < B; l++)
                if (first || v[l] > m[l]) {
                    m[l] = v[l];
                    arg[l] = at + l;
                }
            first = 0;
        }
    }
}
/* Blocked max pooling: each "plane" is a block of B channels, the B values
 * of a pixel adjacent; per lane the same first-maximum rule as above. */
CPU_CLONES
static void maxpool_blk_fwd_task(void *arg, int tid, long b, long e)
{
    const pool_job *j = arg;
    const int B = j->B;
    const size_t in = (size_t)j->H * j->W * B, out = (size_t)j->P * j->Q * B;
    for (long pl = b; pl < e; pl++) {
        const float *xp = j->x + pl * in;
        float *yp = j->y + pl * out;
        if (B == 16 && is_2x2_stride2(j)) {
            maxpool_blk16_2x2_fwd(j, xp, yp);
            continue;
        }
        for (int p = 0; p < j->P; p++)
            for (int q = 0; q < j->Q; q++) {
                float m[POOL_BMAX];
                long arg[POOL_BMAX];
                blk_window_argmax(j, xp, p, q, m, arg);
                memcpy(yp + ((size_t)p * j->Q + q) * B, m, sizeof(float) * (size_t)B);
            }
    }
}

CPU_CLONES
static void maxpool_blk_bwd_task(void *arg, int tid, long b, long e)
{
    const pool_job *j = arg;
    const int B = j->B;
    const size_t in = (size_t)j->H * j->W * B, out = (size_t)j->P * j->Q * B;
    for (long pl = b; pl < e; pl++) {
        const float *xp = j->x + pl * in, *dyp = j->dy + pl * out;
        float *dxp = j->dx + pl * in;
        if (B == 16 && is_2x2_stride2(j)) { /* windows tile the map; odd edges are zeroed */
            if (!j->acc && ((j->H & 1) || (j->W & 1))) memset(dxp, 0, sizeof(float) * in);
            maxpool_blk16_2x2_bwd(j, xp, dyp, dxp);
            continue;
        }
        if (!j->acc) memset(dxp, 0, sizeof(float) * in);
        for (int p = 0; p < j->P; p++)
            for (int q = 0; q < j->Q; q++) {
                float m[POOL_BMAX];
                long arg[POOL_BMAX];
                blk_window_argmax(j, xp, p, q, m, arg);
                const float *g = dyp + ((size_t)p * j->Q + q) * B;
                for (int l = 0; l < B; l++) dxp[arg[l]] += g[l];
            }
    }
}

/* Max pooling on blocked activations when x is blocked (dy is blocked to
 * match; it is the smaller one). Returns 0 when x is plain. */
static int maxpool_blocked(cpu_ctx *c, const cf_op *op, pool_job *j, const cf_tensor *x,
                           const cf_tensor *y, cf_status *st, cf_error *err)
{
    cf_buffer *xb = x->buf;
    const int N = x->shape[0], C = x->shape[1];
    const int xd[4] = {N, C, j->H, j->W}, yd[4] = {N, C, j->P, j->Q};
    if (!xb->blk || xb->blk > POOL_BMAX || memcmp(xb->dims, xd, sizeof xd)) return 0;
    j->B = xb->blk;
    long planes = (long)N * (C / j->B);
    *st = CF_OK;
    if (op->kind == CF_OP_MAXPOOL_FWD) {
        j->x = cpu_data(x);
        j->y = cpu_data(y);
        cpu_pool_run(c->pool, planes, maxpool_blk_fwd_task, j);
        y->buf->blk = j->B;
        memcpy(y->buf->dims, yd, sizeof yd);
        return 1;
    }
    cf_buffer *gb = y->buf, *ob = op->out[0]->buf;
    if (j->acc && (ob->blk != j->B || memcmp(ob->dims, xd, sizeof xd))) return 0;
    if ((gb->blk && (gb->blk != j->B || memcmp(gb->dims, yd, sizeof yd))) ||
        (*st = cpu_make_blocked(c, gb, j->B, yd, err)))
        return *st != CF_OK;
    j->x = cpu_data(x);
    j->dy = cpu_data(y);
    j->dx = cpu_data(op->out[0]);
    cpu_pool_run(c->pool, planes, maxpool_blk_bwd_task, j);
    ob->blk = j->B;
    memcpy(ob->dims, xd, sizeof xd);
    return 1;
}

static void avgpool_fwd_task(void *arg, int tid, long b, long e)
{
    const pool_job *j = arg;
    const size_t in = (size_t)j->H * j->W, out = (size_t)j->P * j->Q;
    const float inv = 1.0f / (float)(j->kh * j->kw);
    for (long pl = b; pl < e; pl++) {
        const float *xp = j->x + pl * in;
        float *yp = j->y + pl * out;
        for (int p = 0; p < j->P; p++)
            for (int q = 0; q < j->Q; q++) {
                float s = 0;
                for (int a = 0; a < j->kh; a++) {
                    int ih = p * j->sh - j->ph + a;
                    if (ih < 0 || ih >= j->H) continue;
                    for (int c = 0; c < j->kw; c++) {
                        int iw = q * j->sw - j->pw + c;
                        if (iw >= 0 && iw < j->W) s += xp[(size_t)ih * j->W + iw];
                    }
                }
                yp[(size_t)p * j->Q + q] = s * inv;
            }
    }
}

static void avgpool_bwd_task(void *arg, int tid, long b, long e)
{
    const pool_job *j = arg;
    const size_t in = (size_t)j->H * j->W, out = (size_t)j->P * j->Q;
    const float inv = 1.0f / (float)(j->kh * j->kw);
    for (long pl = b; pl < e; pl++) {
        const float *dyp = j->dy + pl * out;
        float *dxp = j->dx + pl * in;
        if (!j->acc) memset(dxp, 0, sizeof(float) * in);
        for (int p = 0; p < j->P; p++)
            for (int q = 0; q < j->Q; q++) {
                float g = dyp[(size_t)p * j->Q + q] * inv;
                for (int a = 0; a < j->kh; a++) {
                    int ih = p * j->sh - j->ph + a;
                    if (ih < 0 || ih >= j->H) continue;
                    for (int c = 0; c < j->kw; c++) {
                        int iw = q * j->sw - j->pw + c;
                        if (iw >= 0 && iw < j->W) dxp[(size_t)ih * j->W + iw] += g;
                    }
                }
            }
    }
}

static void gap_fwd_task(void *arg, int tid, long b, long e)
{
    const pool_job *j = arg;
    const size_t hw = (size_t)j->H * j->W;
    for (long pl = b; pl < e; pl++) {
        const float *xp = j->x + pl * hw;
        float s = 0;
        for (size_t i = 0; i < hw; i++) s += xp[i];
        j->y[pl] = s / (float)hw;
    }
}

static void gap_bwd_task(void *arg, int tid, long b, long e)
{
    const pool_job *j = arg;
    const size_t hw = (size_t)j->H * j->W;
    for (long pl = b; pl < e; pl++) {
        float g = j->dy[pl] / (float)hw;
        float *dxp = j->dx + pl * hw;
        if (j->acc)
            for (size_t i = 0; i < hw; i++) dxp[i] += g;
        else
            for (size_t i = 0; i < hw; i++) dxp[i] = g;
    }
}

static void run_planes(cpu_ctx *c, long planes, size_t work_per_plane, cpu_task_fn fn, void *j)
{
    if ((size_t)planes * work_per_plane < (size_t)CPU_PAR_MIN)
        fn(j, 0, 0, planes);
    else
        cpu_pool_run(c->pool, planes, fn, j);
}

cf_status cpu_pool_op(cpu_ctx *c, const cf_op *op, cf_error *err)
{
    pool_job j = {0};
    j.acc = op->accumulate != 0;
    switch (op->kind) {
    case CF_OP_GAP_FWD:
    case CF_OP_GAP_BWD: {
        int fwd = op->kind == CF_OP_GAP_FWD;
        const char *name = fwd ? "gap_fwd" : "gap_bwd";
        CF_TRY(cpu_need(op, 1, 1, name, err));
        const cf_tensor *x = fwd ? op->in[0] : op->out[0], *y = fwd ? op->out[0] : op->in[0];
        /* x is [N,C,...]: every trailing element is spatial */
        long C = x->ndim > 1 ? x->shape[1] : 1;
        long planes = (long)x->shape[0] * C;
        if (C < 1 || cf_tensor_numel(y) != (size_t)planes)
            return cpu_err(err, CF_ERR_INVALID,
                           "cpu backend: %s: %s must be [N,C,...] and %s [N,C] (%zu elements)",
                           name, cpu_tname(x), cpu_tname(y), cf_tensor_numel(y));
        j.H = (int)(cf_tensor_row(x) / (size_t)C);
        j.W = 1;
        if (fwd) {
            j.x = cpu_data(x);
            j.y = cpu_data(y);
            run_planes(c, planes, (size_t)j.H * j.W, gap_fwd_task, &j);
        } else {
            j.dy = cpu_data(y);
            j.dx = cpu_data(x);
            run_planes(c, planes, (size_t)j.H * j.W, gap_bwd_task, &j);
        }
        return CF_OK;
    }
    default: break;
    }
    static const char *names[] = {"maxpool_fwd", "maxpool_bwd", "avgpool_fwd", "avgpool_bwd"};
    const char *name = names[op->kind - CF_OP_MAXPOOL_FWD];
    int is_bwd = op->kind == CF_OP_MAXPOOL_BWD || op->kind == CF_OP_AVGPOOL_BWD;
    CF_TRY(cpu_need(op, op->kind == CF_OP_MAXPOOL_BWD ? 2 : 1, 1, name, err));
    const cf_tensor *x, *y;
    if (op->kind == CF_OP_MAXPOOL_BWD) {
        x = op->in[1];
        y = op->in[0];
    } else if (is_bwd) {
        x = op->out[0];
        y = op->in[0];
    } else {
        x = op->in[0];
        y = op->out[0];
    }
    if (x->ndim != 4 || y->ndim != 4)
        return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: %s and %s must be 4-D", name,
                       cpu_tname(x), cpu_tname(y));
    j.H = x->shape[2]; j.W = x->shape[3]; j.P = y->shape[2]; j.Q = y->shape[3];
    j.kh = op->p.pool.kernel_h; j.kw = op->p.pool.kernel_w;
    j.sh = op->p.pool.stride_h; j.sw = op->p.pool.stride_w;
    j.ph = op->p.pool.pad_h; j.pw = op->p.pool.pad_w;
    /* pad < kernel, so every window holds a real element (as the reference) */
    if (j.kh < 1 || j.kw < 1 || j.sh < 1 || j.sw < 1 || j.ph < 0 || j.pw < 0 || j.ph >= j.kh ||
        j.pw >= j.kw)
        return cpu_err(err, CF_ERR_INVALID,
                       "cpu backend: %s: bad kernel %dx%d, stride %dx%d or padding %dx%d (need "
                       "pad < kernel)",
                       name, j.kh, j.kw, j.sh, j.sw, j.ph, j.pw);
    int P = (j.H + 2 * j.ph - j.kh) / j.sh + 1, Q = (j.W + 2 * j.pw - j.kw) / j.sw + 1;
    if (x->shape[0] != y->shape[0] || x->shape[1] != y->shape[1] || P != j.P || Q != j.Q)
        return cpu_err(err, CF_ERR_INVALID,
                       "cpu backend: %s: %s [%d,%d,%d,%d] does not pool to %s [%d,%d,%d,%d] "
                       "(expected %dx%d)",
                       name, cpu_tname(x), x->shape[0], x->shape[1], j.H, j.W, cpu_tname(y),
                       y->shape[0], y->shape[1], j.P, j.Q, P, Q);
    long planes = (long)x->shape[0] * x->shape[1];
    size_t work = (size_t)j.H * j.W;
    if (op->kind == CF_OP_MAXPOOL_BWD && cf_tensor_numel(op->out[0]) != cf_tensor_numel(x))
        return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: dx %s must have x's shape", name,
                       cpu_tname(op->out[0]));
    if (op->kind == CF_OP_MAXPOOL_FWD || op->kind == CF_OP_MAXPOOL_BWD) {
        cf_status st;
        if (maxpool_blocked(c, op, &j, x, y, &st, err)) return st;
        CF_TRY(cpu_plain_operands(c, op, err));
    }
    switch (op->kind) {
    case CF_OP_MAXPOOL_FWD:
        j.x = cpu_data(x); j.y = cpu_data(y);
        run_planes(c, planes, work, maxpool_fwd_task, &j);
        break;
    case CF_OP_MAXPOOL_BWD:
        j.x = cpu_data(x); j.dy = cpu_data(y); j.dx = cpu_data(op->out[0]);
        run_planes(c, planes, work, maxpool_bwd_task, &j);
        break;
    case CF_OP_AVGPOOL_FWD:
        j.x = cpu_data(x); j.y = cpu_data(y);
        run_planes(c, planes, work, avgpool_fwd_task, &j);
        break;
    default:
        j.dy = cpu_data(y); j.dx = cpu_data(x);
        run_planes(c, planes, work, avgpool_bwd_task, &j);
        break;
    }
    return CF_OK;
}
