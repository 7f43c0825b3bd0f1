/* clforge — OpenCL C 1.2 kernels of the OpenCL backend (backends/opencl).
 *
 * Embedded into the module at build time by tools/embed.sh; set
 * CLFORGE_KERNELS=/path/to/kernels.cl to load this file from disk instead.
 * Semantics follow engine/include/clforge/backend.h exactly; the reference
 * backend is the oracle. Rules: OpenCL C 1.2 only, float32 only (no fp16,
 * no fp64, no subgroups), no atomics (gradients are gathered, never
 * scattered, so results are deterministic), every launch is 1-D and guarded
 * against the rounded-up global size. `acc` means out += result. */

/* Macros, not typedefs: a driver that predefines these names must not see a redefinition. */
#define uint32_t uint
#define uint64_t ulong

/* ---- Philox4x32-10: line-for-line copy of engine/include/clforge/philox.h ---- */

static inline void cf_philox4x32(uint32_t ctr[4], const uint32_t key_in[2])
{
    uint32_t k0 = key_in[0], k1 = key_in[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * ctr[0];
        uint64_t p1 = (uint64_t)0xCD9E8D57u * ctr[2];
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        uint32_t n0 = hi1 ^ ctr[1] ^ k0;
        uint32_t n2 = hi0 ^ ctr[3] ^ k1;
        ctr[0] = n0;
        ctr[1] = lo1;
        ctr[2] = n2;
        ctr[3] = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
}

/* One 32-bit draw for element `i` of stream (seed, counter). */
static inline uint32_t cf_philox_u32(uint64_t seed, uint64_t counter, uint64_t i)
{
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t ctr[4] = {(uint32_t)i, (uint32_t)(i >> 32), (uint32_t)counter,
                       (uint32_t)(counter >> 32)};
    cf_philox4x32(ctr, key);
    return ctr[0];
}

/* Uniform in [0, 1) with 24 bits: exactly representable as float, so every
 * backend compares the same value against a threshold. */
static inline float cf_philox_uniform(uint64_t seed, uint64_t counter, uint64_t i)
{
    return (float)(cf_philox_u32(seed, counter, i) >> 8) * (1.0f / 16777216.0f);
}

/* ---- helpers ---- */

#define GID_GUARD(n)                                                                               \
    int i = (int)get_global_id(0);                                                                 \
    if (i >= (n)) return

/* Sum of v over the work-group; every item gets the result. Fixed tree order:
 * deterministic for a given work-group size. Needs a barrier before reuse of sh. */
static float wg_sum(__local float *sh, float v)
{
    int l = (int)get_local_id(0), L = (int)get_local_size(0);
    sh[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = L / 2; s > 0; s >>= 1) {
        if (l < s) sh[l] += sh[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = sh[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

/* First maximum of a row (as the reference: strict > keeps the first). */
static int row_argmax(__global const float *x, int K)
{
    int best = 0;
    float m = x[0];
    for (int k = 1; k < K; k++)
        if (x[k] > m) { m = x[k]; best = k; }
    return best;
}

/* ---- vector ops (optimizer primitives). b == 0 means y is not read. ---- */

__kernel void k_fill(__global float *y, int n, float a)
{
    GID_GUARD(n);
    y[i] = a;
}

__kernel void k_axpby(__global float *y, __global const float *x, int n, float a, float b)
{
    GID_GUARD(n);
    float r = a * x[i];
    y[i] = b != 0.0f ? r + b * y[i] : r;
}

__kernel void k_mul(__global float *y, __global const float *x, __global const float *z, int n,
                    float a, float b)
{
    GID_GUARD(n);
    float r = a * x[i] * z[i];
    y[i] = b != 0.0f ? r + b * y[i] : r;
}

__kernel void k_div(__global float *y, __global const float *x, __global const float *z, int n,
                    float a, float b, float c)
{
    GID_GUARD(n);
    float r = a * x[i] / (z[i] + c);
    y[i] = b != 0.0f ? r + b * y[i] : r;
}

__kernel void k_sqrt(__global float *y, __global const float *x, int n, float a, float c)
{
    GID_GUARD(n);
    y[i] = sqrt(a * x[i]) + c;
}

__kernel void k_sign(__global float *y, __global const float *x, int n, float a, float b)
{
    GID_GUARD(n);
    float v = x[i];
    float s = v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f);
    float r = a * s;
    y[i] = b != 0.0f ? r + b * y[i] : r;
}

__kernel void k_max(__global float *y, __global const float *x, __global const float *z, int n)
{
    GID_GUARD(n);
    y[i] = fmax(x[i], z[i]);
}

/* Sum of squares in two deterministic stages: per-group partials, then one group. */
__kernel void k_sumsq_partial(__global const float *x, int n, __global float *part,
                              __local float *sh)
{
    float s = 0.0f;
    for (int j = (int)get_global_id(0); j < n; j += (int)get_global_size(0)) s += x[j] * x[j];
    s = wg_sum(sh, s);
    if (get_local_id(0) == 0) part[get_group_id(0)] = s;
}

__kernel void k_sumsq_final(__global const float *part, int np, __global float *y, float a,
                            float b, __local float *sh)
{
    float s = 0.0f;
    for (int j = (int)get_local_id(0); j < np; j += (int)get_local_size(0)) s += part[j];
    s = wg_sum(sh, s);
    if (get_local_id(0) == 0) y[0] = b != 0.0f ? a * s + b * y[0] : a * s;
}

__kernel void k_add(__global float *y, __global const float *a, __global const float *b, int n)
{
    GID_GUARD(n);
    y[i] = a[i] + b[i];
}

/* ---- activations: act codes follow cf_act ---- */

#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_LEAKY 2
#define ACT_SIGMOID 3
#define ACT_TANH 4
#define ACT_ELU 5
#define ACT_GELU 6

static float act_f(float x, int act, float alpha)
{
    switch (act) {
    case ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ACT_LEAKY: return x > 0.0f ? x : alpha * x;
    case ACT_SIGMOID: return 1.0f / (1.0f + exp(-x));
    case ACT_TANH: return tanh(x);
    case ACT_ELU: return x > 0.0f ? x : alpha * expm1(x);
    case ACT_GELU: return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f));
    default: return x;
    }
}

__kernel void k_act_fwd(__global float *y, __global const float *x, int n, int act, float alpha)
{
    GID_GUARD(n);
    y[i] = act_f(x[i], act, alpha);
}

/* The slope is recomputed from x (as the reference does), so y is never needed. */
__kernel void k_act_bwd(__global float *dx, __global const float *dy, __global const float *x,
                        int n, int act, float alpha, int acc)
{
    GID_GUARD(n);
    float g = dy[i], v = x[i], d;
    switch (act) {
    case ACT_RELU: d = v > 0.0f ? g : 0.0f; break;
    case ACT_LEAKY: d = v > 0.0f ? g : alpha * g; break;
    case ACT_SIGMOID: {
        float s = act_f(v, act, alpha);
        d = g * s * (1.0f - s);
        break;
    }
    case ACT_TANH: {
        float t = tanh(v);
        d = g * (1.0f - t * t);
        break;
    }
    case ACT_ELU: d = v > 0.0f ? g : g * alpha * exp(v); break;
    case ACT_GELU: {
        float cdf = 0.5f * (1.0f + erf(v * 0.70710678118654752f));
        float pdf = 0.39894228040143268f * exp(-0.5f * v * v);
        d = g * (cdf + v * pdf);
        break;
    }
    default: d = g; break;
    }
    dx[i] = acc ? dx[i] + d : d;
}

/* ---- softmax and losses: one work-item per row ---- */

__kernel void k_softmax_fwd(__global float *y, __global const float *x, int rows, int F)
{
    GID_GUARD(rows);
    x += (size_t)i * F;
    y += (size_t)i * F;
    float m = x[0];
    for (int k = 1; k < F; k++) m = fmax(m, x[k]);
    float s = 0.0f;
    for (int k = 0; k < F; k++) {
        float e = exp(x[k] - m);
        y[k] = e;
        s += e;
    }
    for (int k = 0; k < F; k++) y[k] = y[k] / s;
}

__kernel void k_softmax_bwd(__global float *dx, __global const float *dy, __global const float *y,
                            int rows, int F, int acc)
{
    GID_GUARD(rows);
    size_t o = (size_t)i * F;
    float dot = 0.0f;
    for (int k = 0; k < F; k++) dot += dy[o + k] * y[o + k];
    for (int k = 0; k < F; k++) {
        float d = y[o + k] * (dy[o + k] - dot);
        dx[o + k] = acc ? dx[o + k] + d : d;
    }
}

/* flags: 1 probs wanted, 2 loss wanted, 4 pred wanted, 8 weight given. */
__kernel void k_xent_fwd(__global float *probs, __global float *loss, __global float *pred,
                         __global const float *x, __global const float *t,
                         __global const float *w, int flags, int rows, int K)
{
    GID_GUARD(rows);
    size_t o = (size_t)i * K;
    float m = x[o];
    for (int k = 1; k < K; k++) m = fmax(m, x[o + k]);
    float s = 0.0f;
    for (int k = 0; k < K; k++) s += exp(x[o + k] - m);
    float lse = log(s);
    float l = 0.0f;
    for (int k = 0; k < K; k++) {
        float lp = x[o + k] - m - lse;
        if (t[o + k] != 0.0f) l -= t[o + k] * lp;
        if (flags & 1) probs[o + k] = exp(x[o + k] - m) / s;
    }
    if (flags & 2) loss[i] = (flags & 8) ? w[i] * l : l;
    if (flags & 4) pred[i] = (float)row_argmax(x + o, K);
}

__kernel void k_xent_bwd(__global float *dx, __global const float *p, __global const float *t,
                         __global const float *w, int has_w, int n, int K, float scale, int acc)
{
    GID_GUARD(n);
    float s = has_w ? scale * w[i / K] : scale;
    float d = s * (p[i] - t[i]);
    dx[i] = acc ? dx[i] + d : d;
}

__kernel void k_mse_fwd(__global float *loss, __global float *pred, __global const float *x,
                        __global const float *t, __global const float *w, int flags, int rows,
                        int K)
{
    GID_GUARD(rows);
    size_t o = (size_t)i * K;
    float l = 0.0f;
    for (int k = 0; k < K; k++) {
        float d = x[o + k] - t[o + k];
        l += d * d;
    }
    l /= (float)K;
    if (flags & 2) loss[i] = (flags & 8) ? w[i] * l : l;
    if (flags & 4) pred[i] = (float)row_argmax(x + o, K);
}

__kernel void k_mse_bwd(__global float *dx, __global const float *x, __global const float *t,
                        __global const float *w, int has_w, int n, int K, float scale, int acc)
{
    GID_GUARD(n);
    float s = has_w ? scale * w[i / K] : scale;
    float d = s * 2.0f * (x[i] - t[i]) / (float)K;
    dx[i] = acc ? dx[i] + d : d;
}

__kernel void k_hinge_fwd(__global float *loss, __global float *pred, __global const float *x,
                          __global const float *t, __global const float *w, int flags, int rows,
                          int K)
{
    GID_GUARD(rows);
    size_t o = (size_t)i * K;
    int y = row_argmax(t + o, K);
    float xy = x[o + y], l = 0.0f;
    for (int k = 0; k < K; k++)
        if (k != y) l += fmax(0.0f, 1.0f - xy + x[o + k]);
    l /= (float)K;
    if (flags & 2) loss[i] = (flags & 8) ? w[i] * l : l;
    if (flags & 4) pred[i] = (float)row_argmax(x + o, K);
}

__kernel void k_hinge_bwd(__global float *dx, __global const float *x, __global const float *t,
                          __global const float *w, int has_w, int rows, int K, float scale,
                          int acc)
{
    GID_GUARD(rows);
    size_t o = (size_t)i * K;
    int y = row_argmax(t + o, K);
    float s = (has_w ? scale * w[i] : scale) / (float)K;
    float xy = x[o + y];
    int active = 0;
    for (int k = 0; k < K; k++) {
        if (k == y) continue;
        float d = (1.0f - xy + x[o + k]) > 0.0f ? s : 0.0f;
        active += d != 0.0f;
        dx[o + k] = acc ? dx[o + k] + d : d;
    }
    float dyv = -s * (float)active;
    dx[o + y] = acc ? dx[o + y] + dyv : dyv;
}

/* ---- dropout (inverted); the mask is a pure function of (seed, counter, i) ---- */

__kernel void k_dropout_fwd(__global float *y, __global float *mask, __global const float *x,
                            int n, float rate, float keep_scale, ulong seed, ulong counter)
{
    GID_GUARD(n);
    float m = cf_philox_uniform(seed, counter, (uint64_t)i) >= rate ? keep_scale : 0.0f;
    mask[i] = m;
    y[i] = x[i] * m;
}

__kernel void k_dropout_bwd(__global float *dx, __global const float *dy,
                            __global const float *mask, int n, int acc)
{
    GID_GUARD(n);
    float d = dy[i] * mask[i];
    dx[i] = acc ? dx[i] + d : d;
}

/* ---- batch normalisation: statistics per channel over N, H, W ---- */

#define BN_AT(n, c, h) (((size_t)(n) * C + (c)) * HW + (h))

/* One work-group per channel; two passes (mean, then centred variance) for accuracy. */
__kernel void k_bn_stats(__global const float *x, __global float *smean, __global float *sinv,
                         __global float *rmean, __global float *rvar, int has_running, int N,
                         int C, int HW, float eps, float momentum, __local float *sh)
{
    int c = (int)get_group_id(0), l = (int)get_local_id(0), L = (int)get_local_size(0);
    int M = N * HW;
    float s = 0.0f;
    for (int j = l; j < M; j += L) s += x[BN_AT(j / HW, c, j % HW)];
    float mean = wg_sum(sh, s) / (float)M;
    float v = 0.0f;
    for (int j = l; j < M; j += L) {
        float d = x[BN_AT(j / HW, c, j % HW)] - mean;
        v += d * d;
    }
    float var = wg_sum(sh, v) / (float)M;
    if (l == 0) {
        smean[c] = mean;
        sinv[c] = 1.0f / sqrt(var + eps);
        if (has_running) {
            float unbiased = M > 1 ? var * (float)M / (float)(M - 1) : var;
            rmean[c] = (1.0f - momentum) * rmean[c] + momentum * mean;
            rvar[c] = (1.0f - momentum) * rvar[c] + momentum * unbiased;
        }
    }
}

/* flags: 1 gamma given, 2 beta given. */
__kernel void k_bn_apply(__global float *y, __global const float *x, __global const float *mean,
                         __global const float *inv, __global const float *gamma,
                         __global const float *beta, int flags, int n, int C, int HW)
{
    GID_GUARD(n);
    int c = (i / HW) % C;
    float g = (flags & 1) ? gamma[c] : 1.0f, b = (flags & 2) ? beta[c] : 0.0f;
    y[i] = g * (x[i] - mean[c]) * inv[c] + b;
}

__kernel void k_bn_eval(__global float *y, __global const float *x, __global const float *gamma,
                        __global const float *beta, __global const float *rmean,
                        __global const float *rvar, int flags, int n, int C, int HW, float eps)
{
    GID_GUARD(n);
    int c = (i / HW) % C;
    float g = (flags & 1) ? gamma[c] : 1.0f, b = (flags & 2) ? beta[c] : 0.0f;
    y[i] = g * (x[i] - rmean[c]) / sqrt(rvar[c] + eps) + b;
}

/* One group per channel: sums[c] = sum dy, sums[C + c] = sum dy * xhat. */
__kernel void k_bn_bwd_reduce(__global const float *dy, __global const float *x,
                              __global const float *mean, __global const float *inv,
                              __global float *sums, __global float *dgamma,
                              __global float *dbeta, int flags, int N, int C, int HW, int acc,
                              __local float *sh)
{
    int c = (int)get_group_id(0), l = (int)get_local_id(0), L = (int)get_local_size(0);
    int M = N * HW;
    float mu = mean[c], is = inv[c];
    float s1 = 0.0f, s2 = 0.0f;
    for (int j = l; j < M; j += L) {
        size_t at = BN_AT(j / HW, c, j % HW);
        s1 += dy[at];
        s2 += dy[at] * (x[at] - mu) * is;
    }
    s1 = wg_sum(sh, s1);
    s2 = wg_sum(sh, s2);
    if (l == 0) {
        sums[c] = s1;
        sums[C + c] = s2;
        if (flags & 1) dgamma[c] = acc ? dgamma[c] + s2 : s2;
        if (flags & 2) dbeta[c] = acc ? dbeta[c] + s1 : s1;
    }
}

/* flags: 1 gamma given. */
__kernel void k_bn_bwd_dx(__global float *dx, __global const float *dy, __global const float *x,
                          __global const float *gamma, __global const float *mean,
                          __global const float *inv, __global const float *sums, int flags,
                          int n, int N, int C, int HW, int acc)
{
    GID_GUARD(n);
    int c = (i / HW) % C;
    float M = (float)N * (float)HW;
    float g = (flags & 1) ? gamma[c] : 1.0f;
    float xhat = (x[i] - mean[c]) * inv[c];
    float d = g * inv[c] / M * (M * dy[i] - sums[c] - xhat * sums[C + c]);
    dx[i] = acc ? dx[i] + d : d;
}

/* ---- pooling over [NC, H, W] -> [NC, P, Q] ---- */

#define POOL_ARGS                                                                                  \
    int NC, int H, int W, int P, int Q, int kh, int kw, int sh, int sw, int ph, int pw

/* First maximum of window (p, q) over valid positions; -1 when it has none. */
static int pool_argmax(__global const float *x, int H, int W, int p, int q, int kh, int kw,
                       int sh, int sw, int ph, int pw)
{
    int best = -1;
    float m = 0.0f;
    for (int r = 0; r < kh; r++) {
        int h = p * sh - ph + r;
        if (h < 0 || h >= H) continue;
        for (int s = 0; s < kw; s++) {
            int w = q * sw - pw + s;
            if (w < 0 || w >= W) continue;
            float v = x[h * W + w];
            if (best < 0 || v > m) { m = v; best = h * W + w; }
        }
    }
    return best;
}

__kernel void k_maxpool_fwd(__global float *y, __global const float *x, POOL_ARGS)
{
    GID_GUARD(NC * P * Q);
    int q = i % Q, p = (i / Q) % P, nc = i / (P * Q);
    x += (size_t)nc * H * W;
    int a = pool_argmax(x, H, W, p, q, kh, kw, sh, sw, ph, pw);
    y[i] = a >= 0 ? x[a] : 0.0f;
}

/* Windows (p range) that contain input row h. */
#define POOL_RANGE(h, ph, k, s, P, lo, hi)                                                         \
    int lo = (h) + (ph) - (k) + 1;                                                                 \
    lo = lo <= 0 ? 0 : (lo + (s) - 1) / (s);                                                       \
    int hi = ((h) + (ph)) / (s);                                                                   \
    if (hi > (P) - 1) hi = (P) - 1

__kernel void k_maxpool_bwd(__global float *dx, __global const float *dy,
                            __global const float *x, POOL_ARGS, int acc)
{
    GID_GUARD(NC * H * W);
    int w = i % W, h = (i / W) % H, nc = i / (H * W);
    __global const float *xc = x + (size_t)nc * H * W;
    __global const float *dyc = dy + (size_t)nc * P * Q;
    POOL_RANGE(h, ph, kh, sh, P, p0, p1);
    POOL_RANGE(w, pw, kw, sw, Q, q0, q1);
    float g = 0.0f;
    for (int p = p0; p <= p1; p++)
        for (int q = q0; q <= q1; q++)
            if (pool_argmax(xc, H, W, p, q, kh, kw, sh, sw, ph, pw) == h * W + w)
                g += dyc[p * Q + q];
    dx[i] = acc ? dx[i] + g : g;
}

/* Disjoint windows (stride >= kernel): each input lies in at most one window,
 * so the gradient goes straight to the window's first maximum; no two
 * work-items write the same element. dx is zeroed first unless accumulating. */
__kernel void k_maxpool_bwd_disjoint(__global float *dx, __global const float *dy,
                                     __global const float *x, POOL_ARGS, int acc)
{
    GID_GUARD(NC * P * Q);
    int q = i % Q, p = (i / Q) % P, nc = i / (P * Q);
    size_t base = (size_t)nc * H * W;
    int a = pool_argmax(x + base, H, W, p, q, kh, kw, sh, sw, ph, pw);
    if (a < 0) return;
    dx[base + a] = acc ? dx[base + a] + dy[i] : dy[i];
}

__kernel void k_avgpool_fwd(__global float *y, __global const float *x, POOL_ARGS)
{
    GID_GUARD(NC * P * Q);
    int q = i % Q, p = (i / Q) % P, nc = i / (P * Q);
    x += (size_t)nc * H * W;
    float s = 0.0f;
    for (int r = 0; r < kh; r++) {
        int h = p * sh - ph + r;
        if (h < 0 || h >= H) continue;
        for (int t = 0; t < kw; t++) {
            int w = q * sw - pw + t;
            if (w >= 0 && w < W) s += x[h * W + w];
        }
    }
    y[i] = s / (float)(kh * kw);
}

__kernel void k_avgpool_bwd(__global float *dx, __global const float *dy, POOL_ARGS, int acc)
{
    GID_GUARD(NC * H * W);
    int w = i % W, h = (i / W) % H, nc = i / (H * W);
    __global const float *dyc = dy + (size_t)nc * P * Q;
    POOL_RANGE(h, ph, kh, sh, P, p0, p1);
    POOL_RANGE(w, pw, kw, sw, Q, q0, q1);
    float g = 0.0f;
    for (int p = p0; p <= p1; p++)
        for (int q = q0; q <= q1; q++) g += dyc[p * Q + q];
    g /= (float)(kh * kw);
    dx[i] = acc ? dx[i] + g : g;
}

__kernel void k_gap_fwd(__global float *y, __global const float *x, int NC, int HW)
{
    GID_GUARD(NC);
    x += (size_t)i * HW;
    float s = 0.0f;
    for (int j = 0; j < HW; j++) s += x[j];
    y[i] = s / (float)HW;
}

__kernel void k_gap_bwd(__global float *dx, __global const float *dy, int n, int HW, int acc)
{
    GID_GUARD(n);
    float d = dy[i / HW] / (float)HW;
    dx[i] = acc ? dx[i] + d : d;
}

/* ---- channel-slice copy (concatenation): one work item per element of the
 * copied slice, i = (n * nch + c) * HW + p ---- */

__kernel void k_channel_copy(__global float *y, __global const float *x, int n, int nch, int HW,
                             int xc, int yc, int s0, int d0, int acc)
{
    GID_GUARD(n);
    int p = i % HW, r = i / HW, c = r % nch, img = r / nch;
    float v = x[(img * xc + s0 + c) * HW + p];
    int o = (img * yc + d0 + c) * HW + p;
    y[o] = acc ? y[o] + v : v;
}

/* ---- convolution helpers: GEMM runs in CLBlast on "channel-major" chunks.
 * A chunk holds G images starting at n0; col is [C*R*S][G*P*Q], t is [K][G*P*Q]. ---- */

#define CONV_ARGS                                                                                  \
    int n0, int G, int C, int H, int W, int R, int S, int P, int Q, int sh, int sw, int ph, int pw

/* One work-item per (channel, output column): it writes the R*S rows of that
 * column, so index arithmetic is paid once per window, and neighbouring
 * work-items still write neighbouring addresses. */
__kernel void k_im2col(__global float *col, __global const float *x, CONV_ARGS)
{
    int PQ = P * Q, GPQ = G * PQ;
    GID_GUARD(C * GPQ);
    int j = i % GPQ, c = i / GPQ;
    int g = j / PQ, pq = j % PQ, p = pq / Q, q = pq % Q;
    __global const float *xc = x + ((size_t)(n0 + g) * C + c) * H * W;
    __global float *out = col + (size_t)c * R * S * GPQ + j;
    for (int r = 0; r < R; r++) {
        int h = p * sh - ph + r;
        int hok = h >= 0 && h < H;
        for (int s = 0; s < S; s++) {
            int w = q * sw - pw + s;
            out[(size_t)(r * S + s) * GPQ] = (hok && w >= 0 && w < W) ? xc[h * W + w] : 0.0f;
        }
    }
}

/* Gather form of col2im: each dx element sums the col entries that read it. */
__kernel void k_col2im(__global float *dx, __global const float *col, CONV_ARGS, int acc)
{
    int PQ = P * Q, GPQ = G * PQ;
    GID_GUARD(G * C * H * W);
    int w = i % W, h = (i / W) % H, c = (i / (H * W)) % C, g = i / (C * H * W);
    float sum = 0.0f;
    for (int r = 0; r < R; r++) {
        int hh = h + ph - r;
        if (hh < 0 || hh % sh) continue;
        int p = hh / sh;
        if (p >= P) continue;
        for (int s = 0; s < S; s++) {
            int ww = w + pw - s;
            if (ww < 0 || ww % sw) continue;
            int q = ww / sw;
            if (q >= Q) continue;
            sum += col[(size_t)((c * R + r) * S + s) * GPQ + g * PQ + p * Q + q];
        }
    }
    size_t at = (size_t)n0 * C * H * W + i;
    dx[at] = acc ? dx[at] + sum : sum;
}

/* t[k][g*PQ + pq] = src[n0 + g][k][pq] */
__kernel void k_nchw_to_cm(__global float *t, __global const float *src, int n0, int G, int K,
                           int PQ)
{
    GID_GUARD(K * G * PQ);
    int pq = i % PQ, g = (i / PQ) % G, k = i / (G * PQ);
    t[i] = src[((size_t)(n0 + g) * K + k) * PQ + pq];
}

/* dst[n0 + g][k][pq] = act(t[k][g*PQ + pq] + bias[k] + z[same index as dst]): the conv
 * forward epilogue; plain conv2d_fwd passes has_z = 0, act = ACT_NONE. z may alias dst
 * (each item reads z only at the element it writes). */
__kernel void k_cm_to_nchw(__global float *dst, __global const float *t,
                           __global const float *bias, int has_bias, __global const float *z,
                           int has_z, int act, float alpha, int n0, int G, int K, int PQ)
{
    GID_GUARD(G * K * PQ);
    int pq = i % PQ, k = (i / PQ) % K, g = i / (K * PQ);
    size_t at = (size_t)n0 * K * PQ + i;
    float v = t[((size_t)k * G + g) * PQ + pq];
    if (has_bias) v += bias[k];
    if (has_z) v += z[at];
    dst[at] = act == ACT_NONE ? v : act_f(v, act, alpha);
}

/* ---- dense helpers ---- */

__kernel void k_bias_rows(__global float *y, __global const float *b, int n, int O)
{
    GID_GUARD(n);
    y[i] += b[i % O];
}

/* db[o] = sum_n dy[n][o] */
__kernel void k_colsum(__global float *db, __global const float *dy, int N, int O, int acc)
{
    GID_GUARD(O);
    float s = 0.0f;
    for (int n = 0; n < N; n++) s += dy[(size_t)n * O + i];
    db[i] = acc ? db[i] + s : s;
}

/* One group per output channel k: db[k] = sum over n, p, q of dy[n][k][p][q]. */
__kernel void k_conv_db(__global float *db, __global const float *dy, int N, int K, int PQ,
                        int acc, __local float *sh)
{
    int k = (int)get_group_id(0), l = (int)get_local_id(0), L = (int)get_local_size(0);
    int M = N * PQ;
    float s = 0.0f;
    for (int j = l; j < M; j += L) s += dy[((size_t)(j / PQ) * K + k) * PQ + j % PQ];
    s = wg_sum(sh, s);
    if (l == 0) db[k] = acc ? db[k] + s : s;
}

/* ---- multi-label: sigmoid + binary cross-entropy (the multilabel work; one block) ---- */

/* softplus(x) = max(x, 0) + log(1 + exp(-|x|)): no overflow for any logit. */
static float bce_softplus(float x) { return fmax(x, 0.0f) + log1p(exp(-fabs(x))); }

/* One work-item per row. flags: 1 probs, 2 loss, 4 pred, 8 weight, 16 pos_weight. */
__kernel void k_bce_fwd(__global float *probs, __global float *loss, __global float *pred,
                        __global const float *x, __global const float *t,
                        __global const float *w, __global const float *pw, int flags, int rows,
                        int K)
{
    GID_GUARD(rows);
    size_t o = (size_t)i * K;
    float l = 0.0f;
    for (int k = 0; k < K; k++) {
        float xv = x[o + k], tv = t[o + k], c = (flags & 16) ? pw[k] : 1.0f;
        l += (1.0f - tv + c * tv) * bce_softplus(xv) - c * tv * xv;
        if (flags & 1) probs[o + k] = 1.0f / (1.0f + exp(-xv));
    }
    l /= (float)K;
    if (flags & 2) loss[i] = (flags & 8) ? w[i] * l : l;
    if (flags & 4) pred[i] = (float)row_argmax(x + o, K);
}

/* One work-item per element; p = sigmoid(x) from the forward pass. */
__kernel void k_bce_bwd(__global float *dx, __global const float *p, __global const float *t,
                        __global const float *w, __global const float *pw, int flags, int n,
                        int K, float scale, int acc)
{
    GID_GUARD(n);
    float s = ((flags & 8) ? scale * w[i / K] : scale) / (float)K;
    float c = (flags & 16) ? pw[i % K] : 1.0f, tv = t[i];
    float d = s * ((1.0f - tv + c * tv) * p[i] - c * tv);
    dx[i] = acc ? dx[i] + d : d;
}
