/* clforge cpu backend — 2-D convolution.
 *
 * Two methods, chosen per layer (measurements and the rule: docs/cpu-backend.md):
 *  - im2col + GEMM: the images of a batch are split over the pool; each
 *    thread unfolds `nb` images at a time into its own slice of the scratch
 *    arena ([C*R*S, nb*P*Q], small enough to stay in L2) and runs one
 *    single-threaded sgemm on them. Batching nb > 1 images only when P*Q is
 *    small keeps the GEMM wide enough to run at full speed on 14x14 and 7x7
 *    maps. The bias is added in the GEMM epilogue (prefilled y with beta = 1,
 *    or while scattering the batched result back to NCHW).
 *  - direct (stride 1): a zero-bordered copy of the image and a loop
 *    vectorised along the output row, 4 filters per pass. Written for the
 *    1-channel first layer, where im2col feeds a GEMM with an inner
 *    dimension of 9; measured slower than im2col + GEMM even there, so it
 *    is opt-in (CLFORGE_CPU_CONV=direct).
 * 1x1 stride-1 unpadded convolutions skip im2col entirely. */
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

typedef struct {
    int N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw;
    long CRS, PQ;
    const float *x, *w, *b, *dy;
    float *y, *dx, *dw, *db;
    int acc;
    int nb;           /* images per GEMM */
    int pointwise;    /* 1x1, stride 1, no padding: x_n is its own column matrix */
    float *scratch;   /* per-thread slices of `per_thread` floats */
    size_t per_thread;
} conv_job;

static inline size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Unfold image x_n [C,H,W] into columns off..off+PQ of col [CRS, ld]. */
CPU_CLONES
static void im2col(const conv_job *j, const float *x, float *col, long ld, long off)
{
    const int H = j->H, W = j->W, P = j->P, Q = j->Q, R = j->R, S = j->S;
    const int sh = j->sh, sw = j->sw, ph = j->ph, pw = j->pw;
    for (int c = 0; c < j->C; c++) {
        const float *xc = x + (size_t)c * H * W;
        for (int r = 0; r < R; r++) {
            for (int s = 0; s < S; s++) {
                float *row = col + ((size_t)(c * R + r) * S + s) * ld + off;
                /* q range whose input column is inside the image */
                int qlo = 0, qhi = Q;
                while (qlo < Q && qlo * sw - pw + s < 0) qlo++;
                while (qhi > qlo && (qhi - 1) * sw - pw + s >= W) qhi--;
                for (int p = 0; p < P; p++) {
                    float *o = row + (size_t)p * Q;
                    int ih = p * sh - ph + r;
                    if (ih < 0 || ih >= H) {
                        memset(o, 0, sizeof(float) * (size_t)Q);
                        continue;
                    }
                    const float *xr = xc + (size_t)ih * W - pw + s;
                    for (int q = 0; q < qlo; q++) o[q] = 0;
                    if (sw == 1)
                        memcpy(o + qlo, xr + qlo, sizeof(float) * (size_t)(qhi - qlo));
                    else
                        for (int q = qlo; q < qhi; q++) o[q] = xr[(size_t)q * sw];
                    for (int q = qhi; q < Q; q++) o[q] = 0;
                }
            }
        }
    }
}

/* dx_n [C,H,W] += fold(columns off..off+PQ of col [CRS, ld]). */
CPU_CLONES
static void col2im(const conv_job *j, const float *col, long ld, long off, float *dx)
{
    const int H = j->H, W = j->W, P = j->P, Q = j->Q, R = j->R, S = j->S;
    const int sh = j->sh, sw = j->sw, ph = j->ph, pw = j->pw;
    for (int c = 0; c < j->C; c++) {
        float *dc = dx + (size_t)c * H * W;
        for (int r = 0; r < R; r++) {
            for (int s = 0; s < S; s++) {
                const float *row = col + ((size_t)(c * R + r) * S + s) * ld + off;
                int qlo = 0, qhi = Q;
                while (qlo < Q && qlo * sw - pw + s < 0) qlo++;
                while (qhi > qlo && (qhi - 1) * sw - pw + s >= W) qhi--;
                for (int p = 0; p < P; p++) {
                    int ih = p * sh - ph + r;
                    if (ih < 0 || ih >= H) continue;
                    const float *o = row + (size_t)p * Q;
                    float *dr = dc + (size_t)ih * W - pw + s;
                    if (sw == 1)
                        for (int q = qlo; q < qhi; q++) dr[q] += o[q];
                    else
                        for (int q = qlo; q < qhi; q++) dr[(size_t)q * sw] += o[q];
                }
            }
        }
    }
}

/* ---- forward --------------------------------------------------------- */

static void fill_bias(const conv_job *j, float *yn)
{
    for (int k = 0; k < j->K; k++) {
        float v = j->b[k];
        float *o = yn + (size_t)k * j->PQ;
        for (long i = 0; i < j->PQ; i++) o[i] = v;
    }
}

static void fwd_gemm_task(void *arg, int tid, long b, long e)
{
    const conv_job *j = arg;
    float *col = j->scratch + (size_t)tid * j->per_thread;
    float *tmp = col + round16((size_t)j->CRS * j->nb * j->PQ);
    const size_t ystride = (size_t)j->K * j->PQ, xstride = (size_t)j->C * j->H * j->W;
    for (long n0 = b; n0 < e; n0 += j->nb) {
        int cnt = (int)(e - n0 < j->nb ? e - n0 : j->nb);
        if (cnt == 1) {
            float *yn = j->y + (size_t)n0 * ystride;
            const float *xn = j->x + (size_t)n0 * xstride;
            if (j->b) fill_bias(j, yn);
            const float *B = xn;
            if (!j->pointwise) {
                im2col(j, xn, col, j->PQ, 0);
                B = col;
            }
            cpu_sgemm_1(0, 0, j->K, (int)j->PQ, (int)j->CRS, 1.0f, j->w, (int)j->CRS, B,
                        (int)j->PQ, j->b ? 1.0f : 0.0f, yn, (int)j->PQ);
            continue;
        }
        long ld = (long)cnt * j->PQ;
        for (int i = 0; i < cnt; i++)
            im2col(j, j->x + (size_t)(n0 + i) * xstride, col, ld, i * j->PQ);
        cpu_sgemm_1(0, 0, j->K, (int)ld, (int)j->CRS, 1.0f, j->w, (int)j->CRS, col, (int)ld, 0.0f,
                    tmp, (int)ld);
        /* scatter [K, cnt*PQ] -> cnt x [K, PQ], adding the bias on the way */
        for (int i = 0; i < cnt; i++) {
            float *yn = j->y + (size_t)(n0 + i) * ystride;
            for (int k = 0; k < j->K; k++) {
                const float *src = tmp + (size_t)k * ld + (size_t)i * j->PQ;
                float *dst = yn + (size_t)k * j->PQ;
                float bv = j->b ? j->b[k] : 0.0f;
                for (long q = 0; q < j->PQ; q++) dst[q] = src[q] + bv;
            }
        }
    }
}

/* Direct stride-1 convolution for few input channels. Each image's
 * channels are first copied into a zero-bordered plane (row stride a
 * multiple of 8 plus the kernel width), so the inner loops have no bounds
 * checks; outputs are computed 8 columns at a time in a vector register. */
typedef float v8f __attribute__((vector_size(32)));

/* unaligned load of 8 floats (a macro: a function returning v8f would
 * change the ABI of the baseline, non-AVX clone) */
#define load8(p)                                                                                   \
    __extension__({                                                                                \
        v8f v_;                                                                                    \
        __builtin_memcpy(&v_, (p), sizeof v_);                                                     \
        v_;                                                                                        \
    })

/* padded-plane geometry */
static inline int dpad_ws(const conv_job *j) { return ((j->Q + 7) & ~7) + j->S - 1; }
static inline int dpad_hs(const conv_job *j) { return j->P + j->R - 1; }
static inline size_t dpad_floats(const conv_job *j)
{
    return round16((size_t)j->C * dpad_hs(j) * dpad_ws(j));
}

static void pad_image(const conv_job *j, const float *xn, float *xp)
{
    const int ws = dpad_ws(j), hs = dpad_hs(j);
    memset(xp, 0, sizeof(float) * (size_t)j->C * hs * ws);
    for (int c = 0; c < j->C; c++)
        for (int h = 0; h < j->H; h++) {
            int ph = h + j->ph;
            if (ph >= hs) break;
            int n = j->W < ws - j->pw ? j->W : ws - j->pw;
            memcpy(xp + ((size_t)c * hs + ph) * ws + j->pw, xn + ((size_t)c * j->H + h) * j->W,
                   sizeof(float) * (size_t)n);
        }
}

/* Four filters at a time: four independent accumulator chains share each
 * input load (one chain alone would wait on FMA latency). */
CPU_CLONES
static void direct_fwd_image(const conv_job *j, const float *xp, float *yn)
{
    const int P = j->P, Q = j->Q, R = j->R, S = j->S, C = j->C, ws = dpad_ws(j), hs = dpad_hs(j);
    const size_t wstride = (size_t)C * R * S;
    int k = 0;
    for (; k + 4 <= j->K; k += 4) {
        const float *w0 = j->w + (size_t)k * wstride;
        float b[4];
        for (int i = 0; i < 4; i++) b[i] = j->b ? j->b[k + i] : 0.0f;
        for (int p = 0; p < P; p++)
            for (int q0 = 0; q0 < Q; q0 += 8) {
                v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
                a0 += b[0]; a1 += b[1]; a2 += b[2]; a3 += b[3];
                for (int c = 0; c < C; c++)
                    for (int r = 0; r < R; r++) {
                        const float *row = xp + ((size_t)c * hs + p + r) * ws + q0;
                        const float *wr = w0 + ((size_t)c * R + r) * S;
                        for (int s = 0; s < S; s++) {
                            v8f x = load8(row + s);
                            a0 += wr[s] * x;
                            a1 += wr[s + wstride] * x;
                            a2 += wr[s + 2 * wstride] * x;
                            a3 += wr[s + 3 * wstride] * x;
                        }
                    }
                float *o = yn + (size_t)k * P * Q + (size_t)p * Q + q0;
                const size_t pq = (size_t)P * Q;
                if (q0 + 8 <= Q) { /* whole-vector stores; lane extraction is slow */
                    __builtin_memcpy(o, &a0, sizeof a0);
                    __builtin_memcpy(o + pq, &a1, sizeof a1);
                    __builtin_memcpy(o + 2 * pq, &a2, sizeof a2);
                    __builtin_memcpy(o + 3 * pq, &a3, sizeof a3);
                } else {
                    for (int i = 0; i < Q - q0; i++) {
                        o[i] = a0[i];
                        o[i + pq] = a1[i];
                        o[i + 2 * pq] = a2[i];
                        o[i + 3 * pq] = a3[i];
                    }
                }
            }
    }
    for (; k < j->K; k++) {
        const float *wk = j->w + (size_t)k * wstride;
        const float bv = j->b ? j->b[k] : 0.0f;
        for (int p = 0; p < P; p++)
            for (int q0 = 0; q0 < Q; q0 += 8) {
                v8f acc = {0};
                acc += bv;
                for (int c = 0; c < C; c++)
                    for (int r = 0; r < R; r++) {
                        const float *row = xp + ((size_t)c * hs + p + r) * ws + q0;
                        const float *wr = wk + ((size_t)c * R + r) * S;
                        for (int s = 0; s < S; s++) acc += wr[s] * load8(row + s);
                    }
                float *o = yn + (size_t)k * P * Q + (size_t)p * Q + q0;
                if (q0 + 8 <= Q)
                    __builtin_memcpy(o, &acc, sizeof acc);
                else
                    for (int i = 0; i < Q - q0; i++) o[i] = acc[i];
            }
    }
}

static void fwd_direct_task(void *arg, int tid, long b, long e)
{
    const conv_job *j = arg;
    float *xp = j->scratch + (size_t)tid * j->per_thread;
    for (long n = b; n < e; n++) {
        pad_image(j, j->x + (size_t)n * j->C * j->H * j->W, xp);
        direct_fwd_image(j, xp, j->y + (size_t)n * j->K * j->PQ);
    }
}

/* dw[k,c,r,s] += sum_pq dy[k,p,q] * xpad[c, p+r, q+s] for one image. Each
 * dy vector is loaded once and feeds R*S independent accumulators (up to
 * 3x3 here; larger kernels go tap by tap). Lanes past Q are masked. */
CPU_CLONES
static void direct_bwd_weight_image(const conv_job *j, const float *xp, const float *dyn,
                                    float *pdw, float *pdb)
{
    const int P = j->P, Q = j->Q, R = j->R, S = j->S, C = j->C, ws = dpad_ws(j), hs = dpad_hs(j);
    const int small = R <= 3 && S <= 3;
    for (int k = 0; k < j->K; k++) {
        const float *g = dyn + (size_t)k * P * Q;
        float *dwk = pdw + (size_t)k * C * R * S;
        for (int c = 0; c < C; c++) {
            v8f acc[9];
            for (int t = 0; t < 9; t++) acc[t] = (v8f){0};
            for (int p = 0; p < P; p++) {
                const float *gr = g + (size_t)p * Q;
                for (int q0 = 0; q0 < Q; q0 += 8) {
                    v8f gv;
                    if (q0 + 8 <= Q) {
                        gv = load8(gr + q0);
                    } else {
                        gv = (v8f){0};
                        for (int i = 0; i < Q - q0; i++) gv[i] = gr[q0 + i];
                    }
                    if (small) {
#pragma GCC unroll 3
                        for (int r = 0; r < 3; r++) {
                            if (r >= R) break;
                            const float *row = xp + ((size_t)c * hs + p + r) * ws + q0;
#pragma GCC unroll 3
                            for (int s = 0; s < 3; s++)
                                if (s < S) acc[r * 3 + s] += gv * load8(row + s);
                        }
                    } else {
                        for (int r = 0; r < R; r++) {
                            const float *row = xp + ((size_t)c * hs + p + r) * ws + q0;
                            for (int s = 0; s < S; s++) {
                                v8f prod = gv * load8(row + s);
                                float t = 0;
                                for (int i = 0; i < 8; i++) t += prod[i];
                                dwk[((size_t)c * R + r) * S + s] += t;
                            }
                        }
                    }
                }
            }
            if (small)
                for (int r = 0; r < R; r++)
                    for (int s = 0; s < S; s++) {
                        float t = 0;
                        for (int i = 0; i < 8; i++) t += acc[r * 3 + s][i];
                        dwk[((size_t)c * R + r) * S + s] += t;
                    }
        }
        if (pdb) {
            v8f gs = {0};
            for (int p = 0; p < P; p++) {
                const float *gr = g + (size_t)p * Q;
                int q0 = 0;
                for (; q0 + 8 <= Q; q0 += 8) gs += load8(gr + q0);
                for (int q = q0; q < Q; q++) gs[q - q0] += gr[q];
            }
            float t = 0;
            for (int i = 0; i < 8; i++) t += gs[i];
            pdb[k] += t;
        }
    }
}

static void bwd_weight_direct_task(void *arg, int tid, long b, long e)
{
    const conv_job *j = arg;
    float *pdw = j->scratch + (size_t)tid * j->per_thread;
    float *pdb = pdw + round16((size_t)j->K * j->CRS);
    float *xp = pdb + round16((size_t)j->K);
    memset(pdw, 0, sizeof(float) * (size_t)j->K * j->CRS);
    memset(pdb, 0, sizeof(float) * (size_t)j->K);
    for (long n = b; n < e; n++) {
        pad_image(j, j->x + (size_t)n * j->C * j->H * j->W, xp);
        direct_bwd_weight_image(j, xp, j->dy + (size_t)n * j->K * j->PQ, pdw, j->db ? pdb : NULL);
    }
}

/* ---- backward data ---------------------------------------------------- */

static void bwd_data_task(void *arg, int tid, long b, long e)
{
    const conv_job *j = arg;
    float *colg = j->scratch + (size_t)tid * j->per_thread;
    float *dyg = colg + round16((size_t)j->CRS * j->nb * j->PQ);
    const size_t ystride = (size_t)j->K * j->PQ, xstride = (size_t)j->C * j->H * j->W;
    for (long n0 = b; n0 < e; n0 += j->nb) {
        int cnt = (int)(e - n0 < j->nb ? e - n0 : j->nb);
        if (j->pointwise && cnt == 1) { /* dx_n = W^T dy_n directly */
            cpu_sgemm_1(1, 0, (int)j->CRS, (int)j->PQ, j->K, 1.0f, j->w, (int)j->CRS,
                        j->dy + (size_t)n0 * ystride, (int)j->PQ, j->acc ? 1.0f : 0.0f,
                        j->dx + (size_t)n0 * xstride, (int)j->PQ);
            continue;
        }
        long ld = (long)cnt * j->PQ;
        const float *B = j->dy + (size_t)n0 * ystride;
        if (cnt > 1) { /* gather cnt x [K, PQ] -> [K, cnt*PQ] */
            for (int i = 0; i < cnt; i++)
                for (int k = 0; k < j->K; k++)
                    memcpy(dyg + (size_t)k * ld + (size_t)i * j->PQ,
                           j->dy + (size_t)(n0 + i) * ystride + (size_t)k * j->PQ,
                           sizeof(float) * (size_t)j->PQ);
            B = dyg;
        }
        cpu_sgemm_1(1, 0, (int)j->CRS, (int)ld, j->K, 1.0f, j->w, (int)j->CRS, B, (int)ld, 0.0f,
                    colg, (int)ld);
        for (int i = 0; i < cnt; i++) {
            float *dxn = j->dx + (size_t)(n0 + i) * xstride;
            if (!j->acc) memset(dxn, 0, sizeof(float) * xstride);
            col2im(j, colg, ld, (long)i * j->PQ, dxn);
        }
    }
}

/* ---- backward weight -------------------------------------------------- */

/* Sum of a row: vector lanes in float over blocks, blocks in double (the
 * bias gradient is a small difference of large sums). */
CPU_CLONES
static double row_sum(const float *r, long n)
{
    double s = 0;
    for (long i0 = 0; i0 < n; i0 += 512) {
        long i1 = i0 + 512 < n ? i0 + 512 : n;
        float f = 0;
#pragma omp simd reduction(+ : f)
        for (long i = i0; i < i1; i++) f += r[i];
        s += f;
    }
    return s;
}

/* Each thread sums its images into a private dW/db slice; a reduction
 * follows. */
static void bwd_weight_task(void *arg, int tid, long b, long e)
{
    const conv_job *j = arg;
    float *base = j->scratch + (size_t)tid * j->per_thread;
    float *pdw = base;
    float *pdb = pdw + round16((size_t)j->K * j->CRS);
    float *col = pdb + round16((size_t)j->K);
    float *dyg = col + round16((size_t)j->CRS * j->nb * j->PQ);
    const size_t ystride = (size_t)j->K * j->PQ, xstride = (size_t)j->C * j->H * j->W;
    float beta = 0.0f;
    memset(pdb, 0, sizeof(float) * (size_t)j->K);
    for (long n0 = b; n0 < e; n0 += j->nb) {
        int cnt = (int)(e - n0 < j->nb ? e - n0 : j->nb);
        long ld = (long)cnt * j->PQ;
        const float *A = j->dy + (size_t)n0 * ystride;
        if (cnt > 1) {
            for (int i = 0; i < cnt; i++)
                for (int k = 0; k < j->K; k++)
                    memcpy(dyg + (size_t)k * ld + (size_t)i * j->PQ,
                           j->dy + (size_t)(n0 + i) * ystride + (size_t)k * j->PQ,
                           sizeof(float) * (size_t)j->PQ);
            A = dyg;
        }
        const float *B;
        if (j->pointwise && cnt == 1) {
            B = j->x + (size_t)n0 * xstride;
        } else {
            for (int i = 0; i < cnt; i++)
                im2col(j, j->x + (size_t)(n0 + i) * xstride, col, ld, (long)i * j->PQ);
            B = col;
        }
        cpu_sgemm_1(0, 1, j->K, (int)j->CRS, (int)ld, 1.0f, A, (int)ld, B, (int)ld, beta, pdw,
                    (int)j->CRS);
        beta = 1.0f;
        if (j->db)
            for (int k = 0; k < j->K; k++) pdb[k] += (float)row_sum(A + (size_t)k * ld, ld);
    }
    if (beta == 0.0f) memset(pdw, 0, sizeof(float) * (size_t)j->K * j->CRS);
}

/* ---- dispatch --------------------------------------------------------- */

/* Images per GEMM: about 512 columns (measured flat between 256 and 784 on
 * the bench layers; CLFORGE_CPU_CONV_COLS overrides), never more than a
 * thread's share of the batch. */
static int pick_nb(long PQ, int N, int T)
{
    static long target = -1;
    if (target < 0) {
        const char *e = getenv("CLFORGE_CPU_CONV_COLS");
        target = e ? atol(e) : 512;
        if (target < 1) target = 1;
    }
    long nb = (target + PQ - 1) / PQ;
    long share = (N + T - 1) / T;
    if (nb > share) nb = share;
    if (nb < 1) nb = 1;
    return (int)nb;
}

/* im2col + GEMM measured faster than this direct loop on every bench layer,
 * the 1-channel first layer included (docs/cpu-backend.md), so direct runs
 * only when CLFORGE_CPU_CONV=direct asks for it (stride 1), to re-measure on
 * other CPUs. */
static int use_direct(const cpu_ctx *c, const conv_job *j)
{
    return c->conv_method == 2 && j->sh == 1 && j->sw == 1;
}

/* *fused is set when oneDNN applied conv2d_fwd_act's residual and
 * activation itself; otherwise a fused op runs as a plain forward here and
 * cpu_conv adds the epilogue. */
static cf_status conv_run(cpu_ctx *c, const cf_op *op, int *fused, cf_error *err)
{
    static const char *names[] = {"conv2d_fwd", "conv2d_bwd_data", "conv2d_bwd_weight"};
    const char *name = op->kind == CF_OP_CONV2D_FWD_ACT ? "conv2d_fwd_act"
                                                        : names[op->kind - CF_OP_CONV2D_FWD];
    CF_TRY(cpu_need(op, 2, 1, name, err));
    conv_job j = {0};
    const cf_tensor *xt, *wt, *yt;
    switch (op->kind) {
    case CF_OP_CONV2D_FWD_ACT:
    case CF_OP_CONV2D_FWD: xt = op->in[0]; wt = op->in[1]; yt = op->out[0]; break;
    case CF_OP_CONV2D_BWD_DATA: yt = op->in[0]; wt = op->in[1]; xt = op->out[0]; break;
    default: yt = op->in[0]; xt = op->in[1]; wt = op->out[0]; break;
    }
    if (xt->ndim != 4 || wt->ndim != 4 || yt->ndim != 4)
        return cpu_err(err, CF_ERR_INVALID,
                       "cpu backend: %s: x %s, w %s and y %s must be 4-D (got %d, %d, %d)", name,
                       cpu_tname(xt), cpu_tname(wt), cpu_tname(yt), xt->ndim, wt->ndim, yt->ndim);
    j.N = xt->shape[0]; j.C = xt->shape[1]; j.H = xt->shape[2]; j.W = xt->shape[3];
    j.K = wt->shape[0]; j.R = wt->shape[2]; j.S = wt->shape[3];
    j.P = yt->shape[2]; j.Q = yt->shape[3];
    j.sh = op->p.conv.stride_h; j.sw = op->p.conv.stride_w;
    j.ph = op->p.conv.pad_h; j.pw = op->p.conv.pad_w;
    if (j.sh < 1 || j.sw < 1 || j.ph < 0 || j.pw < 0)
        return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: bad stride %dx%d or padding %dx%d",
                       name, j.sh, j.sw, j.ph, j.pw);
    int P = (j.H + 2 * j.ph - j.R) / j.sh + 1, Q = (j.W + 2 * j.pw - j.S) / j.sw + 1;
    if (wt->shape[1] != j.C || yt->shape[0] != j.N || yt->shape[1] != j.K || P != j.P ||
        Q != j.Q || P < 1 || Q < 1)
        return cpu_err(err, CF_ERR_INVALID,
                       "cpu backend: %s: shapes do not match: x %s [%d,%d,%d,%d], w %s "
                       "[%d,%d,%d,%d], y %s [%d,%d,%d,%d] (expected P=%d, Q=%d)",
                       name, cpu_tname(xt), j.N, j.C, j.H, j.W, cpu_tname(wt), wt->shape[0],
                       wt->shape[1], j.R, j.S, cpu_tname(yt), yt->shape[0], yt->shape[1], j.P,
                       j.Q, P, Q);
    j.CRS = (long)j.C * j.R * j.S;
    j.PQ = (long)j.P * j.Q;
    j.acc = op->accumulate != 0;
    j.pointwise = j.R == 1 && j.S == 1 && j.sh == 1 && j.sw == 1 && j.ph == 0 && j.pw == 0;
    const int T = cpu_pool_size(c->pool);
    if (j.N == 0) return CF_OK;
#ifdef CF_HAVE_DNNL
    if (c->dnnl) {
        cpu_conv_shape sh = {j.N, j.C, j.H, j.W, j.K, j.R, j.S, j.P, j.Q, j.sh, j.sw, j.ph, j.pw};
        cf_status st = CF_OK;
        if ((op->kind == CF_OP_CONV2D_FWD || op->kind == CF_OP_CONV2D_FWD_ACT) && op->in[2] &&
            op->in[2]->buf &&
            cf_tensor_numel(op->in[2]) != (size_t)j.K)
            return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: bias %s has %zu elements, not %d",
                           name, cpu_tname(op->in[2]), cf_tensor_numel(op->in[2]), j.K);
        if (op->kind == CF_OP_CONV2D_BWD_WEIGHT && op->out[1] && op->out[1]->buf &&
            cf_tensor_numel(op->out[1]) != (size_t)j.K)
            return cpu_err(err, CF_ERR_INVALID,
                           "cpu backend: %s: bias gradient %s has %zu elements, not %d", name,
                           cpu_tname(op->out[1]), cf_tensor_numel(op->out[1]), j.K);
        if (cpu_dnnl_conv(c, op, &sh, &st, err)) {
            *fused = 1;
            return st;
        }
    }
#endif
    CF_TRY(cpu_plain_operands(c, op, err)); /* im2col knows only NCHW */
    cf_op plain;
    if (op->kind == CF_OP_CONV2D_FWD_ACT) { /* the epilogue follows in cpu_conv */
        plain = *op;
        plain.kind = CF_OP_CONV2D_FWD;
        plain.in[3] = NULL;
        op = &plain;
    }

    if (op->kind == CF_OP_CONV2D_FWD) {
        j.x = cpu_data(op->in[0]);
        j.w = cpu_data(op->in[1]);
        j.b = op->in[2] && op->in[2]->buf ? cpu_data(op->in[2]) : NULL;
        if (j.b && cf_tensor_numel(op->in[2]) != (size_t)j.K)
            return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: bias %s has %zu elements, not %d",
                           name, cpu_tname(op->in[2]), cf_tensor_numel(op->in[2]), j.K);
        j.y = cpu_data(op->out[0]);
        if (use_direct(c, &j)) {
            j.per_thread = dpad_floats(&j);
            j.scratch = cpu_scratch(c, j.per_thread * sizeof(float) * (size_t)T, err);
            if (!j.scratch) return err ? err->status : CF_ERR_NOMEM;
            cpu_pool_run(c->pool, j.N, fwd_direct_task, &j);
            return CF_OK;
        }
        j.nb = j.pointwise ? 1 : pick_nb(j.PQ, j.N, T);
        j.per_thread = round16((size_t)j.CRS * j.nb * j.PQ) +
                       (j.nb > 1 ? round16((size_t)j.K * j.nb * j.PQ) : 0);
        j.scratch = cpu_scratch(c, j.per_thread * sizeof(float) * (size_t)T, err);
        if (!j.scratch) return err ? err->status : CF_ERR_NOMEM;
        cpu_pool_run(c->pool, j.N, fwd_gemm_task, &j);
        return CF_OK;
    }
    if (op->kind == CF_OP_CONV2D_BWD_DATA) {
        j.dy = cpu_data(op->in[0]);
        j.w = cpu_data(op->in[1]);
        j.dx = cpu_data(op->out[0]);
        j.nb = j.pointwise ? 1 : pick_nb(j.PQ, j.N, T);
        j.per_thread = round16((size_t)j.CRS * j.nb * j.PQ) +
                       (j.nb > 1 ? round16((size_t)j.K * j.nb * j.PQ) : 0);
        j.scratch = cpu_scratch(c, j.per_thread * sizeof(float) * (size_t)T, err);
        if (!j.scratch) return err ? err->status : CF_ERR_NOMEM;
        cpu_pool_run(c->pool, j.N, bwd_data_task, &j);
        return CF_OK;
    }
    /* backward weight */
    j.dy = cpu_data(op->in[0]);
    j.x = cpu_data(op->in[1]);
    j.dw = cpu_data(op->out[0]);
    j.db = op->out[1] && op->out[1]->buf ? cpu_data(op->out[1]) : NULL;
    if (j.db && cf_tensor_numel(op->out[1]) != (size_t)j.K)
        return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: bias gradient %s has %zu elements, not %d",
                       name, cpu_tname(op->out[1]), cf_tensor_numel(op->out[1]), j.K);
    int direct = use_direct(c, &j);
    j.nb = direct || j.pointwise ? 1 : pick_nb(j.PQ, j.N, T);
    j.per_thread = round16((size_t)j.K * j.CRS) + round16((size_t)j.K) +
                   (direct ? dpad_floats(&j)
                           : round16((size_t)j.CRS * j.nb * j.PQ) +
                                 (j.nb > 1 ? round16((size_t)j.K * j.nb * j.PQ) : 0));
    j.scratch = cpu_scratch(c, j.per_thread * sizeof(float) * (size_t)T, err);
    if (!j.scratch) return err ? err->status : CF_ERR_NOMEM;
    int chunks = (int)(j.N < T ? j.N : T);
    cpu_pool_run(c->pool, j.N, direct ? bwd_weight_direct_task : bwd_weight_task, &j);
    /* reduce the per-thread partials into dw/db */
    size_t kc = (size_t)j.K * j.CRS;
    for (size_t i = 0; i < kc; i++) {
        float s = 0;
        for (int t = 0; t < chunks; t++) s += j.scratch[(size_t)t * j.per_thread + i];
        j.dw[i] = j.acc ? j.dw[i] + s : s;
    }
    if (j.db) {
        size_t off = round16(kc);
        for (int k = 0; k < j.K; k++) {
            float s = 0;
            for (int t = 0; t < chunks; t++) s += j.scratch[(size_t)t * j.per_thread + off + k];
            j.db[k] = j.acc ? j.db[k] + s : s;
        }
    }
    return CF_OK;
}

cf_status cpu_conv(cpu_ctx *c, const cf_op *op, cf_error *err)
{
    const cf_tensor *z = NULL;
    if (op->kind == CF_OP_CONV2D_FWD_ACT) {
        if ((int)op->p.conv_act.act < 0 || op->p.conv_act.act >= CF_ACT_COUNT)
            return cpu_err(err, CF_ERR_INVALID,
                           "cpu backend: conv2d_fwd_act: unknown activation %d",
                           (int)op->p.conv_act.act);
        z = op->in[3] && op->in[3]->buf ? op->in[3] : NULL;
        if (z && op->out[0]) CF_TRY(cpu_same_numel(z, op->out[0], "conv2d_fwd_act", err));
    }
    int fused = 0;
    CF_TRY(conv_run(c, op, &fused, err));
    if (op->kind == CF_OP_CONV2D_FWD_ACT && !fused)
        cpu_add_act_inplace(c, cpu_data(op->out[0]), z ? cpu_data(z) : NULL,
                            (long)cf_tensor_numel(op->out[0]), op->p.conv_act.act,
                            op->p.conv_act.alpha);
    return CF_OK;
}
