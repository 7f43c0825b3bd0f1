/* clforge tests — shared helpers and the op table (see testutil.h). */
#include "testutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- seed and random data ------------------------------------------------------ */

uint64_t tu_seed(void)
{
    static int have;
    static uint64_t seed;
    if (!have) {
        const char *e = getenv("CF_TEST_SEED");
        if (e && *e)
            seed = strtoull(e, NULL, 0);
        else
            seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        have = 1;
        fprintf(stderr, "test seed %llu (repeat with CF_TEST_SEED=%llu)\n",
                (unsigned long long)seed, (unsigned long long)seed);
    }
    return seed;
}

cf_rng tu_rng(uint64_t a, uint64_t b) { return cf_rng_make(tu_seed(), 0x7F, a, b); }

void tu_uniform(float *p, size_t n, cf_rng *r, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) p[i] = (float)cf_rng_range(r, lo, hi);
}

/* ---- host tensors and cases ---------------------------------------------------- */

size_t tu_numel(const tu_tensor *t)
{
    if (t->ndim == 0) return 0;
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    return n;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        /* Test code only: an out-of-memory test host is not worth a status path. */
        fprintf(stderr, "testutil: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

float *tu_new(tu_tensor *t, int ndim, ...)
{
    va_list ap;
    va_start(ap, ndim);
    free(t->data);
    t->ndim = ndim;
    for (int i = 0; i < CF_MAX_DIMS; i++) t->shape[i] = i < ndim ? va_arg(ap, int) : 0;
    va_end(ap);
    size_t n = tu_numel(t);
    t->data = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) t->data[i] = NAN;
    return t->data;
}

static void tensor_copy(tu_tensor *dst, const tu_tensor *src, const float *data)
{
    *dst = *src;
    dst->data = NULL;
    if (!src->ndim) return;
    size_t n = tu_numel(src);
    dst->data = xmalloc(n * sizeof(float));
    memcpy(dst->data, data ? data : src->data, n * sizeof(float));
}

void tu_case_free(tu_case *c)
{
    for (int i = 0; i < TU_SLOTS; i++) {
        free(c->in[i].data);
        free(c->out[i].data);
    }
    memset(c, 0, sizeof *c);
}

void tu_case_copy(tu_case *dst, const tu_case *src)
{
    *dst = *src;
    for (int i = 0; i < TU_SLOTS; i++) {
        tensor_copy(&dst->in[i], &src->in[i], NULL);
        tensor_copy(&dst->out[i], &src->out[i], NULL);
    }
}

/* ---- backends ---------------------------------------------------------------------- */

static cf_registry *g_registry;

cf_registry *tu_registry(cf_error *err)
{
    if (!g_registry && cf_registry_create(&g_registry, NULL, 0, err) != CF_OK) g_registry = NULL;
    return g_registry;
}

cf_status tu_open(const char *name, cf_backend **b, cf_error *err)
{
    *b = NULL;
    cf_registry *r = tu_registry(err);
    if (!r) return err->status ? err->status : CF_ERR_PLUGIN;
    cf_backend_config cfg = {0};
    cfg.device = getenv("CF_TEST_DEVICE") ? getenv("CF_TEST_DEVICE") : "";
    cfg.cache_dir = getenv("CLFORGE_CACHE_DIR");
    cf_status st = cf_backend_open(r, name, &cfg, b, err);
    const char *warn = cf_registry_warnings(r);
    if (st != CF_OK && warn && *warn) cf_error_prefix(err, "plugins refused: %s", warn);
    return st;
}

static const char *const in_names[TU_SLOTS] = {"in[0]", "in[1]", "in[2]", "in[3]", "in[4]"};
static const char *const out_names[TU_SLOTS] = {"out[0]", "out[1]", "out[2]", "out[3]", "out[4]"};

static cf_status put(cf_backend *b, const tu_tensor *h, cf_tensor *t, const char *name,
                     cf_error *err)
{
    CF_TRY(cf_tensor_alloc(b, t, h->ndim, h->shape, name, err));
    return cf_tensor_upload(b, t, h->data, err);
}

void tu_outs_free(float *outs[TU_SLOTS])
{
    for (int i = 0; i < TU_SLOTS; i++) {
        free(outs[i]);
        outs[i] = NULL;
    }
}

cf_status tu_run(cf_backend *b, const tu_case *c, float *outs[TU_SLOTS], cf_error *err)
{
    cf_tensor tin[TU_SLOTS], tout[TU_SLOTS];
    memset(tin, 0, sizeof tin);
    memset(tout, 0, sizeof tout);
    cf_op op = c->op;
    cf_status st = CF_OK;
    for (int i = 0; i < TU_SLOTS; i++) {
        outs[i] = NULL;
        op.in[i] = op.out[i] = NULL;
    }
    for (int i = 0; i < TU_SLOTS && st == CF_OK; i++) {
        if (c->in[i].ndim) {
            st = put(b, &c->in[i], &tin[i], in_names[i], err);
            op.in[i] = &tin[i];
        }
        if (st == CF_OK && c->out[i].ndim) {
            st = put(b, &c->out[i], &tout[i], out_names[i], err);
            op.out[i] = &tout[i];
        }
    }
    if (st == CF_OK && b->vt->supports_op && !b->vt->supports_op(b->ctx, &op))
        st = cf_error_set(err, CF_ERR_UNSUPPORTED, "%s: %s not supported", b->desc->name,
                          cf_op_name(op.kind));
    if (st == CF_OK) st = b->vt->exec(b->ctx, &op, err);
    if (st == CF_OK) st = cf_backend_sync(b, err);
    for (int i = 0; i < TU_SLOTS && st == CF_OK; i++) {
        if (!c->out[i].ndim) continue;
        outs[i] = xmalloc(tu_numel(&c->out[i]) * sizeof(float));
        st = cf_tensor_download(b, &tout[i], outs[i], err);
    }
    for (int i = 0; i < TU_SLOTS; i++) {
        if (tin[i].buf) cf_tensor_free(b, &tin[i]);
        if (tout[i].buf) cf_tensor_free(b, &tout[i]);
    }
    if (st != CF_OK) tu_outs_free(outs);
    return st;
}

/* ---- comparison --------------------------------------------------------------------- */

int tu_compare(const float *got, const float *want, size_t n, double rtol, double atol,
               char *msg, size_t msg_size)
{
    size_t n_bad = 0, worst_i = 0;
    double worst = -1;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i], ratio;
        if (isnan(g) || isnan(w))
            ratio = isnan(g) && isnan(w) ? 0 : INFINITY;
        else if (isinf(g) || isinf(w))
            ratio = g == w ? 0 : INFINITY;
        else {
            double diff = fabs(g - w), bound = atol + rtol * fabs(w);
            ratio = bound > 0 ? diff / bound : (diff > 0 ? INFINITY : 0);
        }
        if (ratio > 1) n_bad++;
        if (ratio > worst) worst = ratio, worst_i = i;
    }
    if (n_bad == 0) return 1;
    if (msg)
        snprintf(msg, msg_size,
                 "%zu of %zu elements off; worst [%zu]: got %.9g want %.9g (|diff| %.3g, bound "
                 "%.3g)",
                 n_bad, n, worst_i, got[worst_i], want[worst_i],
                 fabs((double)got[worst_i] - want[worst_i]),
                 atol + rtol * fabs((double)want[worst_i]));
    return 0;
}

/* ---- the op table: instance builders -------------------------------------------------- */

static float *fill_u(tu_tensor *t, cf_rng *r, double lo, double hi)
{
    tu_uniform(t->data, tu_numel(t), r, lo, hi);
    return t->data;
}

static void say(tu_case *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(tu_case *c, const char *fmt, ...)
{
    size_t len = strlen(c->desc);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->desc + len, sizeof c->desc - len, fmt, ap);
    va_end(ap);
}

static void mk_dense(tu_case *c, int v, cf_rng *r)
{
    /* N, I, O, bias; variant 3 reads a 4-D x [2,3,2,2] as [2,12] (flatten). */
    static const int V[][4] = {{1, 1, 1, 1}, {3, 7, 5, 0}, {4, 33, 10, 1}, {2, 12, 3, 1}};
    int N = V[v][0], I = V[v][1], O = V[v][2];
    if (v == 3)
        tu_new(&c->in[0], 4, N, 3, 2, 2);
    else
        tu_new(&c->in[0], 2, N, I);
    fill_u(&c->in[0], r, -1, 1);
    tu_new(&c->in[1], 2, O, I);
    fill_u(&c->in[1], r, -1, 1);
    if (V[v][3]) fill_u((tu_new(&c->in[2], 1, O), &c->in[2]), r, -1, 1);
    tu_new(&c->out[0], 2, N, O);
    say(c, "%s", V[v][3] ? "bias" : "no bias");
}

static void mk_conv(tu_case *c, int v, cf_rng *r)
{
    /* N, C, H, W, K, R, S, stride h/w, pad h/w, bias */
    static const int V[][12] = {
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1}, {2, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1},
        {2, 2, 7, 5, 3, 3, 3, 2, 2, 1, 1, 0}, {1, 3, 8, 8, 2, 1, 1, 2, 2, 0, 0, 1},
        {1, 2, 5, 6, 3, 5, 3, 1, 2, 2, 0, 1}, {2, 1, 33, 3, 2, 3, 1, 3, 1, 0, 0, 0},
    };
    const int *g = V[v];
    int N = g[0], C = g[1], H = g[2], W = g[3], K = g[4], R = g[5], S = g[6];
    c->op.p.conv.stride_h = g[7], c->op.p.conv.stride_w = g[8];
    c->op.p.conv.pad_h = g[9], c->op.p.conv.pad_w = g[10];
    int P = (H + 2 * g[9] - R) / g[7] + 1, Q = (W + 2 * g[10] - S) / g[8] + 1;
    fill_u((tu_new(&c->in[0], 4, N, C, H, W), &c->in[0]), r, -1, 1);
    fill_u((tu_new(&c->in[1], 4, K, C, R, S), &c->in[1]), r, -1, 1);
    if (g[11]) fill_u((tu_new(&c->in[2], 1, K), &c->in[2]), r, -1, 1);
    tu_new(&c->out[0], 4, N, K, P, Q);
    say(c, "stride %dx%d pad %dx%d %s", g[7], g[8], g[9], g[10], g[11] ? "bias" : "no bias");
}

/* The inference fusion: each conv geometry with and without the residual z,
 * every activation in turn. */
static void mk_conv_act(tu_case *c, int v, cf_rng *r)
{
    mk_conv(c, v % 6, r);
    c->op.p.conv_act.act = (cf_act)(v % CF_ACT_COUNT);
    c->op.p.conv_act.alpha = c->op.p.conv_act.act == CF_ACT_ELU ? 1.0f : 0.01f;
    if (v >= 6) {
        const tu_tensor *y = &c->out[0];
        fill_u((tu_new(&c->in[3], 4, y->shape[0], y->shape[1], y->shape[2], y->shape[3]),
                &c->in[3]), r, -1, 1);
    }
    say(c, ", %s, %s", cf_act_name(c->op.p.conv_act.act), v >= 6 ? "residual z" : "no z");
}

/* N, C, H, W, kernel h/w, stride h/w, pad h/w */
static const int POOL_V[][10] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, {2, 3, 7, 7, 2, 2, 2, 2, 0, 0},
    {1, 2, 7, 7, 3, 3, 2, 2, 1, 1}, {2, 1, 5, 6, 3, 2, 1, 2, 1, 0},
    {1, 2, 6, 6, 3, 3, 1, 1, 1, 1},
};

static void pool_shapes(tu_case *c, int v)
{
    const int *g = POOL_V[v];
    c->op.p.pool.kernel_h = g[4], c->op.p.pool.kernel_w = g[5];
    c->op.p.pool.stride_h = g[6], c->op.p.pool.stride_w = g[7];
    c->op.p.pool.pad_h = g[8], c->op.p.pool.pad_w = g[9];
    int P = (g[2] + 2 * g[8] - g[4]) / g[6] + 1, Q = (g[3] + 2 * g[9] - g[5]) / g[7] + 1;
    tu_new(&c->in[0], 4, g[0], g[1], g[2], g[3]);
    tu_new(&c->out[0], 4, g[0], g[1], P, Q);
    say(c, "kernel %dx%d stride %dx%d pad %dx%d", g[4], g[5], g[6], g[7], g[8], g[9]);
}

/* Distinct values at least 0.04 apart (a shuffled grid plus small noise), so
 * a finite-difference step never changes which element is the maximum. */
static void distinct_values(float *p, size_t n, cf_rng *r)
{
    for (size_t i = 0; i < n; i++) p[i] = (float)(0.05 * (double)i - 0.025 * (double)n);
    for (size_t i = n; i > 1; i--) {
        size_t j = cf_rng_below(r, (uint32_t)i);
        float t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
    for (size_t i = 0; i < n; i++) p[i] += (float)cf_rng_range(r, 0, 0.01);
}

static void mk_maxpool(tu_case *c, int v, cf_rng *r)
{
    pool_shapes(c, v);
    float *x = c->in[0].data;
    size_t n = tu_numel(&c->in[0]);
    if (v == 4) { /* three levels only: many ties exercise the first-max rule */
        for (size_t i = 0; i < n; i++) x[i] = (float)cf_rng_below(r, 3);
        c->nonsmooth = 1;
        say(c, " ties");
    } else {
        distinct_values(x, n, r);
    }
}

static void mk_avgpool(tu_case *c, int v, cf_rng *r)
{
    pool_shapes(c, v);
    fill_u(&c->in[0], r, -1, 1);
}

static void mk_gap(tu_case *c, int v, cf_rng *r)
{
    switch (v) {
    case 0: tu_new(&c->in[0], 4, 1, 1, 1, 1); break;
    case 1: tu_new(&c->in[0], 4, 2, 3, 7, 7); break;
    case 2: tu_new(&c->in[0], 2, 3, 5); break;
    default: tu_new(&c->in[0], 4, 2, 4, 3, 1); break;
    }
    fill_u(&c->in[0], r, -1, 1);
    tu_new(&c->out[0], 2, c->in[0].shape[0], c->in[0].shape[1]);
}

static void mk_add(tu_case *c, int v, cf_rng *r)
{
    switch (v) {
    case 0:
        tu_new(&c->in[0], 1, 1);
        tu_new(&c->in[1], 1, 1);
        tu_new(&c->out[0], 1, 1);
        break;
    case 1:
        tu_new(&c->in[0], 2, 3, 7);
        tu_new(&c->in[1], 2, 3, 7);
        tu_new(&c->out[0], 2, 3, 7);
        break;
    default: /* same numel, different shapes */
        tu_new(&c->in[0], 3, 2, 3, 33);
        tu_new(&c->in[1], 2, 6, 33);
        tu_new(&c->out[0], 3, 2, 3, 33);
        break;
    }
    fill_u(&c->in[0], r, -1, 1);
    fill_u(&c->in[1], r, -1, 1);
}

/* Values in [-3, 3] at least 0.1 away from the kink at 0. */
static void away_from_zero(float *p, size_t n, cf_rng *r)
{
    for (size_t i = 0; i < n; i++) {
        float x = (float)cf_rng_range(r, -3, 3);
        if (fabsf(x) < 0.1f) x = copysignf(0.1f + fabsf(x), x);
        p[i] = x;
    }
}

static void mk_act(tu_case *c, int v, cf_rng *r)
{
    cf_act a = (cf_act)(v % CF_ACT_COUNT);
    switch (v / CF_ACT_COUNT) {
    case 0: tu_new(&c->in[0], 1, 7); break;
    case 1: tu_new(&c->in[0], 2, 3, 33); break;
    default: tu_new(&c->in[0], 4, 2, 3, 5, 5); break;
    }
    away_from_zero(c->in[0].data, tu_numel(&c->in[0]), r);
    tu_tensor *x = &c->in[0];
    tu_new(&c->out[0], x->ndim, x->shape[0], x->shape[1], x->shape[2], x->shape[3]);
    c->op.p.act.act = a;
    c->op.p.act.alpha = a == CF_ACT_LEAKY_RELU ? 0.1f : a == CF_ACT_ELU ? 0.8f : 0.5f;
    say(c, "%s alpha %g", cf_act_name(a), c->op.p.act.alpha);
}

static void mk_softmax(tu_case *c, int v, cf_rng *r)
{
    double scale = 2;
    switch (v) {
    case 0: tu_new(&c->in[0], 2, 1, 1); break;
    case 1: tu_new(&c->in[0], 2, 3, 7); break;
    case 2: tu_new(&c->in[0], 2, 2, 33); break;
    case 3: tu_new(&c->in[0], 4, 2, 3, 2, 2); break;
    default: /* large logits: exp overflows unless the row max is subtracted */
        tu_new(&c->in[0], 2, 4, 10);
        scale = 80;
        say(c, "large logits");
        break;
    }
    fill_u(&c->in[0], r, -scale, scale);
    tu_tensor *x = &c->in[0];
    tu_new(&c->out[0], x->ndim, x->shape[0], x->shape[1], x->shape[2], x->shape[3]);
}

/* N, K, smoothed target, per-sample weight, pred output */
static const int LOSS_V[][5] = {
    {1, 1, 0, 0, 1}, {3, 7, 1, 1, 0}, {4, 10, 0, 0, 1}, {2, 33, 1, 1, 1},
};

/* Shared by the three losses: logits/x, target, weight, loss and pred slots. */
static void loss_common(tu_case *c, int v, cf_rng *r, int onehot_only)
{
    int N = LOSS_V[v][0], K = LOSS_V[v][1], smooth = LOSS_V[v][2] && !onehot_only;
    fill_u((tu_new(&c->in[0], 2, N, K), &c->in[0]), r, -2, 2);
    float *t = tu_new(&c->in[1], 2, N, K);
    for (int n = 0; n < N; n++) {
        int y = (int)cf_rng_below(r, (uint32_t)K);
        for (int k = 0; k < K; k++)
            t[n * K + k] = smooth ? (k == y ? 0.9f : 0.0f) + 0.1f / K : (k == y ? 1.0f : 0.0f);
    }
    if (LOSS_V[v][3]) fill_u((tu_new(&c->in[2], 1, N), &c->in[2]), r, 0.5, 2);
    tu_new(&c->out[1], 1, N);
    if (LOSS_V[v][4]) tu_new(&c->out[2], 1, N);
    c->op.p.loss.scale = v % 2 ? 0.37f : 1.0f / N;
    say(c, "%s target%s scale %g", smooth ? "smoothed" : "one-hot",
        LOSS_V[v][3] ? " weighted" : "", c->op.p.loss.scale);
}

static void mk_xent(tu_case *c, int v, cf_rng *r)
{
    loss_common(c, v, r, 0);
    tu_new(&c->out[0], 2, c->in[0].shape[0], c->in[0].shape[1]);
}

static void mk_mse(tu_case *c, int v, cf_rng *r)
{
    loss_common(c, v, r, 0);
    fill_u(&c->in[1], r, -1, 1); /* regression targets need not be distributions */
}

static void mk_hinge(tu_case *c, int v, cf_rng *r)
{
    loss_common(c, v, r, 0);
    /* Keep every margin 1 - x_y + x_j at least 0.05 away from its kink at 0. */
    int N = c->in[0].shape[0], K = c->in[0].shape[1];
    float *x = c->in[0].data, *t = c->in[1].data;
    for (int n = 0; n < N; n++) {
        int y = 0;
        for (int k = 1; k < K; k++)
            if (t[n * K + k] > t[n * K + y]) y = k;
        for (int j = 0; j < K; j++) {
            float m = 1.0f - x[n * K + y] + x[n * K + j];
            if (j != y && fabsf(m) < 0.05f) x[n * K + j] += 0.1f;
        }
    }
}

/* Sigmoid-BCE: multi-hot targets (some soft, in (0, 1)), a per-class
 * pos_weight on odd variants, and a variant of large logits (|x| up to 60,
 * where a naive log(sigmoid) would give -inf). */
static void mk_bce(tu_case *c, int v, cf_rng *r)
{
    loss_common(c, v < 4 ? v : 2, r, 1);
    int N = c->in[0].shape[0], K = c->in[0].shape[1];
    float *t = c->in[1].data;
    for (int i = 0; i < N * K; i++) t[i] = cf_rng_below(r, 3) == 0 ? (float)cf_rng_range(r, 0, 1) : (float)cf_rng_below(r, 2);
    if (v == 4) {
        fill_u(&c->in[0], r, -60, 60);
        say(c, "large logits");
    }
    if (v % 2) fill_u((tu_new(&c->in[3], 1, K), &c->in[3]), r, 0.25, 4);
    tu_new(&c->out[0], 2, N, K);
    say(c, "multi-hot target%s", v % 2 ? ", pos_weight" : "");
}

static void mk_dropout(tu_case *c, int v, cf_rng *r)
{
    static const float rates[] = {0.5f, 0.0f, 0.5f, 0.3f};
    switch (v) {
    case 0: tu_new(&c->in[0], 1, 1); break;
    case 1: tu_new(&c->in[0], 2, 3, 7); break;
    case 2: tu_new(&c->in[0], 4, 2, 3, 7, 7); break;
    default: tu_new(&c->in[0], 2, 5, 33); break;
    }
    fill_u(&c->in[0], r, -1, 1);
    tu_tensor *x = &c->in[0];
    tu_new(&c->out[0], x->ndim, x->shape[0], x->shape[1], x->shape[2], x->shape[3]);
    tu_new(&c->out[1], x->ndim, x->shape[0], x->shape[1], x->shape[2], x->shape[3]);
    c->op.p.dropout.rate = rates[v];
    c->op.p.dropout.seed = ((uint64_t)cf_rng_u32(r) << 32) | cf_rng_u32(r);
    c->op.p.dropout.counter = ((uint64_t)cf_rng_u32(r) << 32) | cf_rng_u32(r);
    say(c, "rate %g", rates[v]);
}

static void bn_x(tu_case *c, int v, cf_rng *r)
{
    switch (v) {
    case 0: tu_new(&c->in[0], 2, 2, 1); break;
    case 1: tu_new(&c->in[0], 4, 3, 4, 2, 2); break;
    case 2: tu_new(&c->in[0], 2, 4, 3); break;
    case 3: tu_new(&c->in[0], 4, 2, 3, 5, 7); break;
    default: tu_new(&c->in[0], 4, 1, 3, 1, 1); break; /* one value per channel */
    }
    fill_u(&c->in[0], r, -1.5, 2.5);
    /* Give every channel a standard deviation in [0.5, 1.5]: a few close
     * values would make the normalisation so curved that finite differences
     * stop being accurate. */
    int N = c->in[0].shape[0], C = c->in[0].shape[1];
    size_t HW = tu_numel(&c->in[0]) / ((size_t)N * C);
    for (int ch = 0; ch < C; ch++) {
        double s = 0, ss = 0, M = (double)N * HW;
        for (int n = 0; n < N; n++)
            for (size_t i = 0; i < HW; i++) s += c->in[0].data[((size_t)n * C + ch) * HW + i];
        double mean = s / M;
        for (int n = 0; n < N; n++)
            for (size_t i = 0; i < HW; i++) {
                double d = c->in[0].data[((size_t)n * C + ch) * HW + i] - mean;
                ss += d * d;
            }
        double sd = sqrt(ss / M), want = cf_rng_range(r, 0.5, 1.5);
        if (sd < 1e-6) continue; /* a single value per channel */
        for (int n = 0; n < N; n++)
            for (size_t i = 0; i < HW; i++) {
                float *x = &c->in[0].data[((size_t)n * C + ch) * HW + i];
                *x = (float)(mean + (*x - mean) * want / sd);
            }
    }
    fill_u((tu_new(&c->in[1], 1, C), &c->in[1]), r, 0.5, 1.5);
    fill_u((tu_new(&c->in[2], 1, C), &c->in[2]), r, -0.5, 0.5);
    tu_tensor *x = &c->in[0];
    tu_new(&c->out[0], x->ndim, x->shape[0], x->shape[1], x->shape[2], x->shape[3]);
    c->op.p.bn.eps = v % 2 ? 1e-3f : 1e-5f;
    c->op.p.bn.momentum = v % 2 ? 0.3f : 0.1f;
    say(c, "eps %g momentum %g", c->op.p.bn.eps, c->op.p.bn.momentum);
}

static void mk_bn_train(tu_case *c, int v, cf_rng *r)
{
    bn_x(c, v, r);
    int C = c->in[0].shape[1];
    tu_new(&c->out[1], 1, C);
    tu_new(&c->out[2], 1, C);
    fill_u((tu_new(&c->out[3], 1, C), &c->out[3]), r, -0.5, 0.5); /* read and updated */
    fill_u((tu_new(&c->out[4], 1, C), &c->out[4]), r, 0.5, 1.5);
}

static void mk_bn_eval(tu_case *c, int v, cf_rng *r)
{
    bn_x(c, v, r);
    int C = c->in[0].shape[1];
    fill_u((tu_new(&c->in[3], 1, C), &c->in[3]), r, -0.5, 0.5);
    fill_u((tu_new(&c->in[4], 1, C), &c->in[4]), r, 0.2, 1.5);
}

/* Vector ops: y is out[0], x in[0], z in[1]; odd variants have b != 0 (y is
 * read), even ones b == 0 with y starting as NaN, which must not leak. */
static void mk_vec(tu_case *c, int v, cf_rng *r)
{
    cf_op_kind k = c->op.kind;
    tu_tensor *y = &c->out[0];
    switch (v) {
    case 0: tu_new(y, 1, 1); break;
    case 1: tu_new(y, 1, 7); break;
    case 2: tu_new(y, 2, 3, 33); break;
    default: tu_new(y, 3, 2, 3, 5); break;
    }
    tu_tensor *x = &c->in[0], *z = &c->in[1];
    if (k != CF_OP_FILL) {
        tu_new(x, y->ndim, y->shape[0], y->shape[1], y->shape[2], y->shape[3]);
        fill_u(x, r, k == CF_OP_SQRT ? 0 : -2, 2);
    }
    if (k == CF_OP_SUMSQ) tu_new(y, 1, 1);
    if (k == CF_OP_MUL || k == CF_OP_DIV || k == CF_OP_MAX) {
        tu_new(z, y->ndim, y->shape[0], y->shape[1], y->shape[2], y->shape[3]);
        fill_u(z, r, k == CF_OP_DIV ? 0.1 : -2, 2);
    }
    size_t nx = tu_numel(x);
    if (k == CF_OP_SIGN)
        for (size_t i = 0; i < nx; i += 3) x->data[i] = 0; /* sign(0) = 0 */
    if (k == CF_OP_MAX)
        for (size_t i = 0; i < nx; i += 4) z->data[i] = x->data[i]; /* ties */
    c->op.p.vec.a = (float)(k == CF_OP_SQRT ? cf_rng_range(r, 0.5, 2) : cf_rng_range(r, -2, 2));
    c->op.p.vec.b = v % 2 ? (float)cf_rng_range(r, -1, 1) : 0.0f;
    c->op.p.vec.c = (float)(k == CF_OP_DIV ? cf_rng_range(r, 1e-3, 0.1) : cf_rng_range(r, 0, 0.1));
    int reads_y = k == CF_OP_AXPBY || k == CF_OP_MUL || k == CF_OP_DIV || k == CF_OP_SIGN ||
                  k == CF_OP_SUMSQ;
    if (reads_y && c->op.p.vec.b != 0) fill_u(y, r, -1, 1);
    say(c, "a %g b %g c %g", c->op.p.vec.a, c->op.p.vec.b, c->op.p.vec.c);
}

/* Channel-slice copy: forward-like (into a slice of a wider y) and
 * backward-like (out of a slice, accumulating) variants; y starts random
 * because the channels outside the slice must stay untouched. */
static void mk_chan(tu_case *c, int v, cf_rng *r)
{
    static const int V[][8] = {/* x N,C,H,W; y C; src_c0, dst_c0, channels */
                               {2, 3, 4, 5, 7, 0, 2, 3},   {3, 6, 2, 3, 2, 4, 0, 2},
                               {2, 5, 1, 1, 9, 1, 4, 4},   {4, 8, 7, 7, 16, 0, 8, 8},
                               {8, 32, 16, 16, 64, 0, 32, 32}};
    const int *q = V[v];
    if (q[2] == 1) {
        tu_new(&c->in[0], 2, q[0], q[1]);
        tu_new(&c->out[0], 2, q[0], q[4]);
    } else {
        tu_new(&c->in[0], 4, q[0], q[1], q[2], q[3]);
        tu_new(&c->out[0], 4, q[0], q[4], q[2], q[3]);
    }
    fill_u(&c->in[0], r, -1, 1);
    fill_u(&c->out[0], r, -1, 1);
    c->op.p.chan.src_c0 = q[5];
    c->op.p.chan.dst_c0 = q[6];
    c->op.p.chan.channels = q[7];
    c->op.accumulate = v % 2;
    say(c, "channels %d..%d -> %d", q[5], q[5] + q[7], q[6]);
}

/* ---- the op table ---------------------------------------------------------------------- */

#define FIN(i) {TU_FWD_IN, i}
#define FOUT(i) {TU_FWD_OUT, i}
#define DY(i) {TU_DY, i}
#define GRAD(i) {TU_FWD_IN, i} /* a backward output: the gradient of forward input i */
#define VEC(k) {k, 4, mk_vec, 0, {{0}}, 0, 0, 0, 0}

const tu_op_def tu_ops[] = {
    {CF_OP_DENSE_FWD, 4, mk_dense, 2,
     {{CF_OP_DENSE_BWD_DATA, {DY(0), FIN(1)}, {GRAD(0)}},
      {CF_OP_DENSE_BWD_WEIGHT, {DY(0), FIN(0)}, {GRAD(1), GRAD(2)}}},
     0, 1u << 0, 0, 0},
    /* atol 5e-5: the weight gradient sums N*H*W products (588 in the largest
     * variant) in another order than the reference; with 1e-5, seed
     * 85115163082090 failed on 1 of 4608 elements (|diff| 1.6e-5 on 0.035). */
    {CF_OP_CONV2D_FWD, 6, mk_conv, 2,
     {{CF_OP_CONV2D_BWD_DATA, {DY(0), FIN(1)}, {GRAD(0)}},
      {CF_OP_CONV2D_BWD_WEIGHT, {DY(0), FIN(0)}, {GRAD(1), GRAD(2)}}},
     0, 1u << 0, 1e-4, 5e-5},
    {CF_OP_MAXPOOL_FWD, 5, mk_maxpool, 1, {{CF_OP_MAXPOOL_BWD, {DY(0), FIN(0)}, {GRAD(0)}}}, 0,
     1u << 0, 0, 0},
    {CF_OP_AVGPOOL_FWD, 4, mk_avgpool, 1, {{CF_OP_AVGPOOL_BWD, {DY(0)}, {GRAD(0)}}}, 0, 1u << 0, 0,
     0},
    {CF_OP_GAP_FWD, 4, mk_gap, 1, {{CF_OP_GAP_BWD, {DY(0)}, {GRAD(0)}}}, 0, 1u << 0, 0, 0},
    {CF_OP_ADD, 3, mk_add, 0, {{0}}, 0, 0, 0, 0},
    {CF_OP_ACT_FWD, 3 * CF_ACT_COUNT, mk_act, 1,
     {{CF_OP_ACT_BWD, {DY(0), FIN(0), FOUT(0)}, {GRAD(0)}}}, 0, 1u << 0, 0, 0},
    {CF_OP_SOFTMAX_FWD, 5, mk_softmax, 1, {{CF_OP_SOFTMAX_BWD, {DY(0), FOUT(0)}, {GRAD(0)}}}, 0,
     1u << 0, 0, 0},
    {CF_OP_SOFTMAX_XENT_FWD, 4, mk_xent, 1,
     {{CF_OP_SOFTMAX_XENT_BWD, {FOUT(0), FIN(1), FIN(2)}, {GRAD(0)}}}, 1, 0, 0, 0},
    {CF_OP_MSE_FWD, 4, mk_mse, 1, {{CF_OP_MSE_BWD, {FIN(0), FIN(1), FIN(2)}, {GRAD(0)}}}, 1, 0, 0,
     0},
    {CF_OP_HINGE_FWD, 4, mk_hinge, 1, {{CF_OP_HINGE_BWD, {FIN(0), FIN(1), FIN(2)}, {GRAD(0)}}}, 1,
     0, 0, 0},
    {CF_OP_DROPOUT_FWD, 4, mk_dropout, 1, {{CF_OP_DROPOUT_BWD, {DY(0), FOUT(1)}, {GRAD(0)}}}, 0,
     1u << 0, 0, 0},
    {CF_OP_BATCHNORM_FWD_TRAIN, 5, mk_bn_train, 1,
     {{CF_OP_BATCHNORM_BWD, {DY(0), FIN(0), FIN(1), FOUT(1), FOUT(2)},
       {GRAD(0), GRAD(1), GRAD(2)}}},
     0, 1u << 0, 1e-3, 1e-4},
    {CF_OP_BATCHNORM_FWD_EVAL, 5, mk_bn_eval, 0, {{0}}, 0, 0, 1e-3, 1e-4},
    VEC(CF_OP_FILL),
    VEC(CF_OP_AXPBY),
    VEC(CF_OP_MUL),
    VEC(CF_OP_DIV),
    VEC(CF_OP_SQRT),
    VEC(CF_OP_SIGN),
    VEC(CF_OP_MAX),
    VEC(CF_OP_SUMSQ),
    {CF_OP_CONV2D_FWD_ACT, 12, mk_conv_act, 0, {{0}}, 0, 0, 0, 0},
    {CF_OP_CHANNEL_COPY, 5, mk_chan, 0, {{0}}, 0, 0, 0, 0},
    {CF_OP_SIGMOID_BCE_FWD, 5, mk_bce, 1,
     {{CF_OP_SIGMOID_BCE_BWD, {FOUT(0), FIN(1), FIN(2), FIN(3)}, {GRAD(0)}}}, 1, 0, 0, 0},
};
const int tu_n_ops = (int)(sizeof tu_ops / sizeof tu_ops[0]);

const tu_op_def *tu_def_for(cf_op_kind k, int *bwd_index)
{
    for (int i = 0; i < tu_n_ops; i++) {
        const tu_op_def *d = &tu_ops[i];
        if (d->kind == k) {
            if (bwd_index) *bwd_index = -1;
            return d;
        }
        for (int j = 0; j < d->n_bwd; j++)
            if (d->bwd[j].kind == k) {
                if (bwd_index) *bwd_index = j;
                return d;
            }
    }
    return NULL;
}

int tu_n_variants(cf_op_kind k)
{
    const tu_op_def *d = tu_def_for(k, NULL);
    return d ? d->n_variants : 0;
}

int tu_is_backward(cf_op_kind k)
{
    int bi = -1;
    return tu_def_for(k, &bi) && bi >= 0;
}

void tu_tolerance(cf_op_kind k, double *rtol, double *atol)
{
    const tu_op_def *d = tu_def_for(k, NULL);
    *rtol = d && d->rtol > 0 ? d->rtol : 1e-4;
    *atol = d && d->atol > 0 ? d->atol : 1e-5;
}

static void describe(tu_case *c, const char *prefix)
{
    char params[sizeof c->desc];
    snprintf(params, sizeof params, "%s", c->desc);
    c->desc[0] = 0;
    say(c, "%s%s", prefix, cf_op_name(c->op.kind));
    const char *sep = " in";
    for (int s = 0; s < 2; s++) {
        tu_tensor *t = s ? c->out : c->in;
        say(c, "%s", s ? " ->" : sep);
        for (int i = 0; i < TU_SLOTS; i++) {
            if (!t[i].ndim) {
                say(c, " -");
                continue;
            }
            say(c, " [");
            for (int d = 0; d < t[i].ndim; d++) say(c, d ? ",%d" : "%d", t[i].shape[d]);
            say(c, "]");
        }
    }
    if (params[0]) say(c, " (%s)", params);
    if (c->op.accumulate) say(c, " accumulate");
}

void tu_make_bwd_case(const tu_op_def *def, int bi, const tu_case *fwd,
                      float *const fwd_outs[TU_SLOTS], float *const dys[TU_SLOTS], tu_case *c)
{
    const tu_bwd *b = &def->bwd[bi];
    memset(c, 0, sizeof *c);
    c->op.kind = b->kind;
    c->op.p = fwd->op.p;
    c->nonsmooth = fwd->nonsmooth;
    for (int i = 0; i < TU_SLOTS; i++) {
        tu_ref in = b->in[i], out = b->out[i];
        if (in.src == TU_FWD_IN) tensor_copy(&c->in[i], &fwd->in[in.slot], NULL);
        if (in.src == TU_FWD_OUT) tensor_copy(&c->in[i], &fwd->out[in.slot], fwd_outs[in.slot]);
        if (in.src == TU_DY) tensor_copy(&c->in[i], &fwd->out[in.slot], dys[in.slot]);
        if (out.src == TU_FWD_IN && fwd->in[out.slot].ndim) {
            const tu_tensor *g = &fwd->in[out.slot];
            tu_new(&c->out[i], g->ndim, g->shape[0], g->shape[1], g->shape[2], g->shape[3]);
        }
    }
    snprintf(c->desc, sizeof c->desc, "of %.360s", fwd->desc);
}

cf_status tu_make_case(cf_backend *ref, cf_op_kind k, int v, int accumulate, cf_rng *r,
                       tu_case *c, cf_error *err)
{
    int bi = -1;
    const tu_op_def *d = tu_def_for(k, &bi);
    memset(c, 0, sizeof *c);
    if (!d) return cf_error_set(err, CF_ERR_INVALID, "no test table entry for op %s", cf_op_name(k));
    if (v < 0 || v >= d->n_variants)
        return cf_error_set(err, CF_ERR_INVALID, "op %s has no variant %d", cf_op_name(k), v);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "v%d ", v);
    if (bi < 0) {
        c->op.kind = k;
        d->make(c, v, r);
        describe(c, prefix);
        return CF_OK;
    }
    tu_case f;
    memset(&f, 0, sizeof f);
    f.op.kind = d->kind;
    d->make(&f, v, r);
    describe(&f, "");
    float *fo[TU_SLOTS], *dys[TU_SLOTS] = {0};
    cf_status st = tu_run(ref, &f, fo, err);
    if (st != CF_OK) {
        tu_case_free(&f);
        cf_error_prefix(err, "running forward op for a %s case", cf_op_name(k));
        return st;
    }
    for (int j = 0; j < TU_SLOTS; j++) {
        if (!f.out[j].ndim) continue;
        size_t n = tu_numel(&f.out[j]);
        dys[j] = xmalloc(n * sizeof(float));
        tu_uniform(dys[j], n, r, -1, 1);
    }
    tu_make_bwd_case(d, bi, &f, fo, dys, c);
    if (accumulate) {
        c->op.accumulate = 1;
        for (int j = 0; j < TU_SLOTS; j++)
            if (c->out[j].ndim) fill_u(&c->out[j], r, -1, 1);
    }
    describe(c, prefix);
    tu_outs_free(fo);
    tu_outs_free(dys);
    tu_case_free(&f);
    return CF_OK;
}
