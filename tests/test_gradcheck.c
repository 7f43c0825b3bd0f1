/* The reference backend checked against mathematics rather than against
 * another implementation:
 *  - every backward op against central finite differences of its forward op
 *    (through a random projection L = sum r * f(x)), on every table variant;
 *  - accumulate adds instead of overwriting, and without it outputs are
 *    fully overwritten;
 *  - vector ops against their formulas, written out again here;
 *  - hand-computed cases for the rules the header spells out (first-max
 *    pooling, count-include-pad averaging, exact GELU, unbiased running
 *    variance, Philox dropout masks, loss values, the channel_copy slice);
 *  - malformed ops are refused with a message naming op and tensor. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static cf_backend *open_ref(void)
{
    cf_backend *b = NULL;
    cf_error err = {0};
    cf_status st = tu_open("reference", &b, &err);
    ck_assert_msg(st == CF_OK, "cannot open the reference backend: %s", err.msg);
    return b;
}

/* ---- finite differences ------------------------------------------------------- */

/* L = sum over projected outputs of r * y, in double. */
static double projected(cf_backend *b, const tu_case *c, float *const R[TU_SLOTS])
{
    float *Y[TU_SLOTS];
    cf_error err = {0};
    cf_status st = tu_run(b, c, Y, &err);
    ck_assert_msg(st == CF_OK, "%s: %s", c->desc, err.msg);
    double L = 0;
    for (int j = 0; j < TU_SLOTS; j++) {
        if (!R[j]) continue;
        size_t n = tu_numel(&c->out[j]);
        for (size_t e = 0; e < n; e++) L += (double)R[j][e] * Y[j][e];
    }
    tu_outs_free(Y);
    return L;
}

#define FD_MAX_ELEMS 48
#define FD_EPS 1e-2
#define FD_RTOL 2e-3
#define FD_ATOL 2e-4

/* Compares the analytic gradient g of forward input slot `in` with central
 * differences on up to FD_MAX_ELEMS of its elements. */
static void fd_check(cf_backend *b, tu_case *f, int in, const float *g, float *const R[TU_SLOTS],
                     cf_rng *r)
{
    size_t n = tu_numel(&f->in[in]), m = n < FD_MAX_ELEMS ? n : FD_MAX_ELEMS;
    float *num = malloc(m * sizeof *num), *ana = malloc(m * sizeof *ana);
    ck_assert(num && ana);
    for (size_t s = 0; s < m; s++) {
        size_t e = n <= FD_MAX_ELEMS ? s : cf_rng_below(r, (uint32_t)n);
        float *p = &f->in[in].data[e], orig = *p;
        *p = (float)(orig + FD_EPS);
        double xp = *p, lp = projected(b, f, R);
        *p = (float)(orig - FD_EPS);
        double xm = *p, lm = projected(b, f, R);
        *p = orig;
        num[s] = (float)((lp - lm) / (xp - xm));
        ana[s] = g[e];
    }
    char msg[512];
    int ok = tu_compare(ana, num, m, FD_RTOL, FD_ATOL, msg, sizeof msg);
    ck_assert_msg(ok, "gradient of in[%d] vs finite differences, %s: %s (seed %llu)", in, f->desc,
                  msg, (unsigned long long)tu_seed());
    free(num);
    free(ana);
}

/* Indices into tu_ops of the ops that have backward ops (set in the suite). */
static int g_diff_ops[64], g_n_diff_ops;

START_TEST(test_gradient)
{
    const tu_op_def *d = &tu_ops[g_diff_ops[_i]];
    cf_backend *b = open_ref();
    cf_error err = {0};
    int checked = 0;
    for (int v = 0; v < d->n_variants; v++)
        for (int rep = 0; rep < 2; rep++) {
            cf_rng r = tu_rng((uint64_t)d->kind, (uint64_t)(v * 2 + rep));
            tu_case f;
            ck_assert_msg(tu_make_case(b, d->kind, v, 0, &r, &f, &err) == CF_OK, "%s", err.msg);
            if (f.nonsmooth) {
                tu_case_free(&f);
                continue;
            }
            float *Y[TU_SLOTS], *R[TU_SLOTS] = {0}, *G[TU_SLOTS] = {0};
            ck_assert_msg(tu_run(b, &f, Y, &err) == CF_OK, "%s: %s", f.desc, err.msg);
            /* Projection r: random on differentiable outputs; a loss's backward
             * op is the gradient of scale * sum(loss). */
            for (int j = 0; j < TU_SLOTS; j++) {
                int proj = d->is_loss ? j == 1 : (d->diff_out >> j) & 1u;
                if (!proj || !f.out[j].ndim) continue;
                size_t n = tu_numel(&f.out[j]);
                R[j] = malloc(n * sizeof(float));
                ck_assert(R[j]);
                for (size_t e = 0; e < n; e++)
                    R[j][e] = d->is_loss ? f.op.p.loss.scale : (float)cf_rng_range(&r, -1, 1);
            }
            for (int bi = 0; bi < d->n_bwd; bi++) {
                tu_case bc;
                float *O[TU_SLOTS];
                tu_make_bwd_case(d, bi, &f, Y, R, &bc);
                ck_assert_msg(tu_run(b, &bc, O, &err) == CF_OK, "%s: %s",
                              cf_op_name(bc.op.kind), err.msg);
                for (int s = 0; s < TU_SLOTS; s++)
                    if (O[s] && d->bwd[bi].out[s].src == TU_FWD_IN) {
                        G[d->bwd[bi].out[s].slot] = O[s];
                        O[s] = NULL;
                    }
                tu_outs_free(O);
                tu_case_free(&bc);
            }
            for (int i = 0; i < TU_SLOTS; i++)
                if (G[i]) {
                    fd_check(b, &f, i, G[i], R, &r);
                    checked++;
                }
            tu_outs_free(Y);
            tu_outs_free(R);
            tu_outs_free(G);
            tu_case_free(&f);
        }
    ck_assert_msg(checked > 0, "%s: no gradient was checked", cf_op_name(d->kind));
    cf_backend_close(b);
}
END_TEST

/* ---- accumulate ---------------------------------------------------------------------- */

static cf_op_kind g_bwd_kinds[64];
static int g_n_bwd_kinds;

START_TEST(test_accumulate)
{
    cf_op_kind k = g_bwd_kinds[_i];
    cf_backend *b = open_ref();
    cf_error err = {0};
    for (int v = 0; v < tu_n_variants(k); v++) {
        cf_rng r = tu_rng((uint64_t)k, 100 + (uint64_t)v);
        tu_case acc, fresh;
        float *A[TU_SLOTS], *F[TU_SLOTS];
        ck_assert_msg(tu_make_case(b, k, v, 1, &r, &acc, &err) == CF_OK, "%s", err.msg);
        tu_case_copy(&fresh, &acc);
        fresh.op.accumulate = 0;
        for (int s = 0; s < TU_SLOTS; s++) /* NaN start: must be fully overwritten */
            if (fresh.out[s].ndim)
                for (size_t e = 0; e < tu_numel(&fresh.out[s]); e++) fresh.out[s].data[e] = NAN;
        ck_assert_msg(tu_run(b, &acc, A, &err) == CF_OK, "%s: %s", acc.desc, err.msg);
        ck_assert_msg(tu_run(b, &fresh, F, &err) == CF_OK, "%s: %s", fresh.desc, err.msg);
        int n_out = 0;
        for (int s = 0; s < TU_SLOTS; s++) {
            if (!acc.out[s].ndim) continue;
            n_out++;
            size_t n = tu_numel(&acc.out[s]);
            float *want = malloc(n * sizeof *want);
            ck_assert(want);
            for (size_t e = 0; e < n; e++) {
                ck_assert_msg(isfinite(F[s][e]), "%s: out[%d][%zu] not overwritten (%g) (seed %llu)",
                              fresh.desc, s, e, F[s][e], (unsigned long long)tu_seed());
                want[e] = acc.out[s].data[e] + F[s][e];
            }
            char msg[512];
            ck_assert_msg(tu_compare(A[s], want, n, 1e-6, 1e-7, msg, sizeof msg),
                          "%s: out[%d] is not initial + result: %s (seed %llu)", acc.desc, s, msg,
                          (unsigned long long)tu_seed());
            free(want);
        }
        ck_assert_int_gt(n_out, 0);
        tu_outs_free(A);
        tu_outs_free(F);
        tu_case_free(&acc);
        tu_case_free(&fresh);
    }
    cf_backend_close(b);
}
END_TEST

/* ---- vector ops against their formulas --------------------------------------------------- */

static const cf_op_kind vec_kinds[] = {CF_OP_FILL, CF_OP_AXPBY, CF_OP_MUL, CF_OP_DIV,
                                       CF_OP_SQRT, CF_OP_SIGN,  CF_OP_MAX, CF_OP_SUMSQ};

START_TEST(test_vector_formulas)
{
    cf_op_kind k = vec_kinds[_i];
    cf_backend *b = open_ref();
    cf_error err = {0};
    for (int v = 0; v < tu_n_variants(k); v++) {
        cf_rng r = tu_rng((uint64_t)k, 200 + (uint64_t)v);
        tu_case c;
        float *Y[TU_SLOTS];
        ck_assert_msg(tu_make_case(b, k, v, 0, &r, &c, &err) == CF_OK, "%s", err.msg);
        ck_assert_msg(tu_run(b, &c, Y, &err) == CF_OK, "%s: %s", c.desc, err.msg);
        double a = c.op.p.vec.a, bb = c.op.p.vec.b, cc = c.op.p.vec.c;
        const float *x = c.in[0].data, *z = c.in[1].data, *y0 = c.out[0].data;
        size_t n = tu_numel(&c.out[0]);
        float *want = malloc(n * sizeof *want);
        ck_assert(want);
        for (size_t i = 0; i < n; i++) {
            double old = bb != 0 ? bb * y0[i] : 0; /* b == 0: y0 is NaN and unread */
            double w = 0;
            switch (k) {
            case CF_OP_FILL: w = a; break;
            case CF_OP_AXPBY: w = a * x[i] + old; break;
            case CF_OP_MUL: w = a * x[i] * z[i] + old; break;
            case CF_OP_DIV: w = a * x[i] / (z[i] + cc) + old; break;
            case CF_OP_SQRT: w = sqrt(a * x[i]) + cc; break;
            case CF_OP_SIGN: w = a * (x[i] > 0 ? 1 : x[i] < 0 ? -1 : 0) + old; break;
            case CF_OP_MAX: w = x[i] > z[i] ? x[i] : z[i]; break;
            case CF_OP_SUMSQ: {
                double s = 0;
                for (size_t e = 0; e < tu_numel(&c.in[0]); e++) s += (double)x[e] * x[e];
                w = a * s + old;
                break;
            }
            default: break;
            }
            want[i] = (float)w;
        }
        char msg[512];
        ck_assert_msg(tu_compare(Y[0], want, n, 1e-6, 1e-7, msg, sizeof msg), "%s: %s (seed %llu)",
                      c.desc, msg, (unsigned long long)tu_seed());
        free(want);
        tu_outs_free(Y);
        tu_case_free(&c);
    }
    cf_backend_close(b);
}
END_TEST

/* ---- hand-computed semantics ---------------------------------------------------------------- */

/* Runs op on b with the given host tensors (shape arrays of ndim 4 max). */
typedef struct hand_t {
    int ndim, shape[4];
    float *data; /* in: values; out: initial values (or NULL) and, after, results */
} hand_t;

static void hand_run(cf_backend *b, cf_op *op, hand_t *in, int n_in, hand_t *out, int n_out)
{
    tu_case c;
    memset(&c, 0, sizeof c);
    c.op = *op;
    for (int s = 0; s < n_in + n_out; s++) {
        hand_t *h = s < n_in ? &in[s] : &out[s - n_in];
        tu_tensor *t = s < n_in ? &c.in[s] : &c.out[s - n_in];
        if (!h->ndim) continue;
        tu_new(t, h->ndim, h->shape[0], h->shape[1], h->shape[2], h->shape[3]);
        if (h->data) memcpy(t->data, h->data, tu_numel(t) * sizeof(float));
    }
    snprintf(c.desc, sizeof c.desc, "%s", cf_op_name(op->kind));
    float *Y[TU_SLOTS];
    cf_error err = {0};
    ck_assert_msg(tu_run(b, &c, Y, &err) == CF_OK, "%s: %s", c.desc, err.msg);
    for (int s = 0; s < n_out; s++)
        if (out[s].ndim) memcpy(out[s].data, Y[s], tu_numel(&c.out[s]) * sizeof(float));
    tu_outs_free(Y);
    tu_case_free(&c);
}

#define H1(n, d) {1, {n}, d}
#define H2(a, b, d) {2, {a, b}, d}
#define H4(a, b, c, e, d) {4, {a, b, c, e}, d}
#define NEAR(got, want, tol) ck_assert_msg(fabs((double)(got) - (want)) <= (tol), \
                                           "%s = %.9g, expected %.9g", #got, (double)(got), (double)(want))

START_TEST(test_maxpool_first_max)
{
    cf_backend *b = open_ref();
    /* One 2x3 plane, window 2x2 stride 1: ties in both windows. */
    float x[6] = {7, 7, 1, 7, 7, 7}, y[2], dy[2] = {1, 10}, dx[6];
    cf_op op = {0};
    op.kind = CF_OP_MAXPOOL_FWD;
    op.p.pool.kernel_h = op.p.pool.kernel_w = 2;
    op.p.pool.stride_h = op.p.pool.stride_w = 1;
    hand_t in[2] = {H4(1, 1, 2, 3, x)}, out[1] = {H4(1, 1, 1, 2, y)};
    hand_run(b, &op, in, 1, out, 1);
    NEAR(y[0], 7, 0);
    NEAR(y[1], 7, 0);
    op.kind = CF_OP_MAXPOOL_BWD;
    hand_t bin[2] = {H4(1, 1, 1, 2, dy), H4(1, 1, 2, 3, x)}, bout[1] = {H4(1, 1, 2, 3, dx)};
    hand_run(b, &op, bin, 2, bout, 1);
    /* Window 0 covers (0,0),(0,1),(1,0),(1,1): first max (0,0). Window 1
     * covers (0,1),(0,2),(1,1),(1,2): first max (0,1). */
    float want[6] = {1, 10, 0, 0, 0, 0};
    for (int i = 0; i < 6; i++) NEAR(dx[i], want[i], 0);
    cf_backend_close(b);
}
END_TEST

START_TEST(test_avgpool_counts_padding)
{
    cf_backend *b = open_ref();
    float x[1] = {4}, y[1], dy[1] = {9}, dx[1];
    cf_op op = {0};
    op.kind = CF_OP_AVGPOOL_FWD;
    op.p.pool.kernel_h = op.p.pool.kernel_w = 3;
    op.p.pool.stride_h = op.p.pool.stride_w = 1;
    op.p.pool.pad_h = op.p.pool.pad_w = 1;
    hand_t in[1] = {H4(1, 1, 1, 1, x)}, out[1] = {H4(1, 1, 1, 1, y)};
    hand_run(b, &op, in, 1, out, 1);
    NEAR(y[0], 4.0 / 9.0, 1e-7);
    op.kind = CF_OP_AVGPOOL_BWD;
    hand_t bin[1] = {H4(1, 1, 1, 1, dy)}, bout[1] = {H4(1, 1, 1, 1, dx)};
    hand_run(b, &op, bin, 1, bout, 1);
    NEAR(dx[0], 1.0, 1e-7);
    cf_backend_close(b);
}
END_TEST

START_TEST(test_activation_values)
{
    cf_backend *b = open_ref();
    float x[4] = {-1, 0.5f, 1, -2}, y[4];
    struct { cf_act act; float alpha; double want[4]; } cases[] = {
        {CF_ACT_GELU, 0, {-0.15865525393145707, 0.34573123063700656, 0.8413447460685429,
                          -0.04550026389635842}},
        {CF_ACT_ELU, 0.8f, {0.8 * (exp(-1) - 1), 0.5, 1, 0.8 * (exp(-2) - 1)}},
        {CF_ACT_LEAKY_RELU, 0.1f, {-0.1, 0.5, 1, -0.2}},
        {CF_ACT_SIGMOID, 0, {1 / (1 + exp(1)), 1 / (1 + exp(-0.5)), 1 / (1 + exp(-1)),
                             1 / (1 + exp(2))}},
        {CF_ACT_TANH, 0, {tanh(-1), tanh(0.5), tanh(1), tanh(-2)}},
        {CF_ACT_RELU, 0, {0, 0.5, 1, 0}},
        {CF_ACT_NONE, 0, {-1, 0.5, 1, -2}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cf_op op = {0};
        op.kind = CF_OP_ACT_FWD;
        op.p.act.act = cases[c].act;
        op.p.act.alpha = cases[c].alpha;
        hand_t in[1] = {H1(4, x)}, out[1] = {H1(4, y)};
        hand_run(b, &op, in, 1, out, 1);
        for (int i = 0; i < 4; i++)
            ck_assert_msg(fabs(y[i] - cases[c].want[i]) <= 1e-6, "%s(%g) = %.9g, expected %.9g",
                          cf_act_name(cases[c].act), x[i], y[i], cases[c].want[i]);
    }
    cf_backend_close(b);
}
END_TEST

START_TEST(test_batchnorm_running_stats)
{
    cf_backend *b = open_ref();
    /* One channel, values 1..4: mean 2.5, biased var 1.25, unbiased 5/3. */
    float x[4] = {1, 2, 3, 4}, g[1] = {2}, be[1] = {0.5f}, y[4], sm[1], si[1];
    float rm[1] = {0}, rv[1] = {1};
    cf_op op = {0};
    op.kind = CF_OP_BATCHNORM_FWD_TRAIN;
    op.p.bn.eps = 1e-5f;
    op.p.bn.momentum = 0.5f;
    hand_t in[3] = {H2(4, 1, x), H1(1, g), H1(1, be)};
    hand_t out[5] = {H2(4, 1, y), H1(1, sm), H1(1, si), H1(1, rm), H1(1, rv)};
    hand_run(b, &op, in, 3, out, 5);
    double inv = 1 / sqrt(1.25 + 1e-5);
    NEAR(sm[0], 2.5, 1e-7);
    NEAR(si[0], inv, 1e-6);
    NEAR(rm[0], 1.25, 1e-7);
    NEAR(rv[0], 0.5 + 0.5 * 5.0 / 3.0, 1e-6);
    for (int i = 0; i < 4; i++) NEAR(y[i], 2 * (x[i] - 2.5) * inv + 0.5, 1e-6);
    /* Eval mode uses the running statistics. */
    float ye[4];
    op.kind = CF_OP_BATCHNORM_FWD_EVAL;
    hand_t ein[5] = {H2(4, 1, x), H1(1, g), H1(1, be), H1(1, rm), H1(1, rv)};
    hand_t eout[1] = {H2(4, 1, ye)};
    hand_run(b, &op, ein, 5, eout, 1);
    for (int i = 0; i < 4; i++) NEAR(ye[i], 2 * (x[i] - rm[0]) / sqrt(rv[0] + 1e-5) + 0.5, 1e-6);
    cf_backend_close(b);
}
END_TEST

START_TEST(test_loss_values)
{
    cf_backend *b = open_ref();
    /* Two rows, K = 3; second row weighted by 2. */
    float x[6] = {1, 3, 3, 0.5f, 1.0f, 0.2f}, t[6] = {0, 0, 1, 0, 1, 0}, w[2] = {1, 2};
    float probs[6], loss[2], pred[2];
    cf_op op = {0};
    op.kind = CF_OP_SOFTMAX_XENT_FWD;
    hand_t in[3] = {H2(2, 3, x), H2(2, 3, t), H1(2, w)};
    hand_t out[3] = {H2(2, 3, probs), H1(2, loss), H1(2, pred)};
    hand_run(b, &op, in, 3, out, 3);
    double z0 = exp(1) + 2 * exp(3), z1 = exp(0.5) + exp(1.0) + exp(0.2);
    NEAR(probs[0], exp(1) / z0, 1e-7);
    NEAR(loss[0], -(3 - log(z0)), 1e-6);
    NEAR(loss[1], -2 * (1.0 - log(z1)), 1e-6);
    NEAR(pred[0], 1, 0); /* first of the tied maxima */
    NEAR(pred[1], 1, 0);

    op.kind = CF_OP_HINGE_FWD;
    hand_t hout[3] = {{0}, H1(2, loss), H1(2, pred)};
    hand_run(b, &op, in, 3, hout, 3);
    /* Row 0, y = 2: margins 1-3+1 = -1 (0), 1-3+3 = 1 -> 1/3. Row 1, y = 1:
     * 1-1+0.5 and 1-1+0.2 -> 0.7/3, weighted by 2. */
    NEAR(loss[0], 1.0 / 3.0, 1e-6);
    NEAR(loss[1], 2 * 0.7 / 3.0, 1e-6);

    op.kind = CF_OP_MSE_FWD;
    hand_run(b, &op, in, 3, hout, 3);
    NEAR(loss[0], (1 + 9 + 4) / 3.0, 1e-6);
    NEAR(loss[1], 2 * (0.25 + 0 + 0.04) / 3.0, 1e-6);
    NEAR(pred[1], 1, 0);
    cf_backend_close(b);
}
END_TEST

/* Sigmoid-BCE by hand, as torch's BCEWithLogitsLoss(pos_weight) defines it:
 * -[c t log s(x) + (1 - t) log(1 - s(x))], averaged over the K labels; and a
 * logit of 100 that a naive log(1 - sigmoid) would turn into inf. */
START_TEST(test_bce_values)
{
    cf_backend *b = open_ref();
    float x[6] = {2, -1, 0, 100, -100, 0.5f}, t[6] = {1, 0, 1, 0, 0, 0.25f}, w[2] = {1, 2};
    float pw[3] = {1, 3, 0.5f}, probs[6], loss[2];
    cf_op op = {0};
    op.kind = CF_OP_SIGMOID_BCE_FWD;
    hand_t in[4] = {H2(2, 3, x), H2(2, 3, t), H1(2, w), H1(3, pw)};
    hand_t out[2] = {H2(2, 3, probs), H1(2, loss)};
    hand_run(b, &op, in, 4, out, 2);
    double l = 0;
    for (int k = 0; k < 3; k++) {
        double s = 1 / (1 + exp(-x[k]));
        l -= pw[k] * t[k] * log(s) + (1 - t[k]) * log(1 - s);
    }
    NEAR(probs[0], 1 / (1 + exp(-2.0)), 1e-7);
    NEAR(loss[0], l / 3, 1e-6);
    /* row 1: x = 100, t = 0 costs 100; x = -100, t = 0 costs ~0; x = 0.5 */
    double s5 = 1 / (1 + exp(-0.5));
    double l1 = 100 + log1p(exp(-100.0)) + log1p(exp(-100.0)) - (0.5 * 0.25 * log(s5) + 0.75 * log(1 - s5));
    NEAR(loss[1], 2 * l1 / 3, 1e-4);
    ck_assert(isfinite(loss[1]));
    cf_backend_close(b);
}
END_TEST

/* Hinge subgradient: a margin of exactly 0 contributes nothing, a positive
 * one moves the true class down and the other class up. */
START_TEST(test_hinge_margin_boundary)
{
    cf_backend *b = open_ref();
    /* y = 0; margins: j=1: 1 - 2 + 1 = 0 exactly, j=2: 1 - 2 + 1.5 = 0.5. */
    float x[3] = {2, 1, 1.5f}, t[3] = {1, 0, 0}, dx[3];
    cf_op op = {0};
    op.kind = CF_OP_HINGE_BWD;
    op.p.loss.scale = 3; /* cancels the 1/K */
    hand_t in[2] = {H2(1, 3, x), H2(1, 3, t)}, out[1] = {H2(1, 3, dx)};
    hand_run(b, &op, in, 2, out, 1);
    NEAR(dx[0], -1, 1e-7);
    NEAR(dx[1], 0, 0);
    NEAR(dx[2], 1, 1e-7);
    cf_backend_close(b);
}
END_TEST

START_TEST(test_dropout_mask)
{
    cf_backend *b = open_ref();
    enum { N = 20000 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *m = malloc(N * sizeof *m),
          *m2 = malloc(N * sizeof *m2), *y2 = malloc(N * sizeof *y2);
    ck_assert(x && y && m && m2 && y2);
    for (int i = 0; i < N; i++) x[i] = 1.0f + (float)i / N;
    cf_op op = {0};
    op.kind = CF_OP_DROPOUT_FWD;
    op.p.dropout.rate = 0.3f;
    op.p.dropout.seed = 0x1234567890abcdefull;
    op.p.dropout.counter = 42;
    hand_t in[1] = {H1(N, x)}, out[2] = {H1(N, y), H1(N, m)};
    hand_run(b, &op, in, 1, out, 2);
    int kept = 0;
    for (int i = 0; i < N; i++) {
        float u = cf_philox_uniform(op.p.dropout.seed, op.p.dropout.counter, (uint64_t)i);
        float want = u >= 0.3f ? 1.0f / (1.0f - 0.3f) : 0.0f;
        ck_assert_msg(m[i] == want, "mask[%d] = %g, expected %g", i, m[i], want);
        ck_assert_msg(y[i] == x[i] * want, "y[%d] = %g, expected %g", i, y[i], x[i] * want);
        kept += m[i] != 0;
    }
    ck_assert_msg(fabs(kept / (double)N - 0.7) < 0.02, "kept fraction %g", kept / (double)N);
    /* Same (seed, counter): same mask; another counter: another mask. */
    hand_t out2[2] = {H1(N, y2), H1(N, m2)};
    hand_run(b, &op, in, 1, out2, 2);
    ck_assert(memcmp(m, m2, N * sizeof *m) == 0);
    op.p.dropout.counter = 43;
    hand_run(b, &op, in, 1, out2, 2);
    ck_assert(memcmp(m, m2, N * sizeof *m) != 0);
    /* The boundary: a draw equal to the rate keeps its element (u >= rate). */
    op.p.dropout.rate = cf_philox_uniform(op.p.dropout.seed, op.p.dropout.counter, 7);
    hand_run(b, &op, in, 1, out2, 2);
    ck_assert_msg(m2[7] == 1.0f / (1.0f - op.p.dropout.rate), "mask at u == rate: %g", m2[7]);
    free(x), free(y), free(m), free(m2), free(y2);
    cf_backend_close(b);
}
END_TEST

/* ---- validation --------------------------------------------------------------------------------- */

/* channel_copy moves exactly the slice (other channels keep their values),
 * adds with accumulate, and refuses a slice that does not fit. */
START_TEST(test_channel_copy_slice)
{
    cf_backend *b = open_ref();
    float x[12], y0[16], y[16];
    for (int i = 0; i < 12; i++) x[i] = (float)(i + 1);
    for (int i = 0; i < 16; i++) y0[i] = (float)(100 + i);
    for (int acc = 0; acc < 2; acc++) {
        cf_op op = {0};
        op.kind = CF_OP_CHANNEL_COPY;
        op.accumulate = acc;
        op.p.chan.src_c0 = 1;
        op.p.chan.dst_c0 = 2;
        op.p.chan.channels = 2;
        memcpy(y, y0, sizeof y);
        hand_t in[1] = {H4(2, 3, 1, 2, x)}, out[1] = {H4(2, 4, 1, 2, y)};
        hand_run(b, &op, in, 1, out, 1);
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 4; c++)
                for (int p = 0; p < 2; p++) {
                    int i = (n * 4 + c) * 2 + p;
                    double src = c >= 2 ? x[(n * 3 + c - 1) * 2 + p] : 0;
                    NEAR(y[i], c >= 2 ? (acc ? y0[i] : 0) + src : y0[i], 0);
                }
    }
    cf_error err = {0};
    cf_tensor tx, ty;
    int sx[4] = {2, 3, 1, 2}, sy[4] = {2, 4, 1, 2};
    ck_assert(cf_tensor_alloc(b, &tx, 4, sx, "x", &err) == CF_OK);
    ck_assert(cf_tensor_alloc(b, &ty, 4, sy, "y", &err) == CF_OK);
    cf_op op = {0};
    op.kind = CF_OP_CHANNEL_COPY;
    op.in[0] = &tx;
    op.out[0] = &ty;
    op.p.chan.dst_c0 = 3;
    op.p.chan.channels = 2;
    ck_assert_int_eq(b->vt->exec(b->ctx, &op, &err), CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "channel_copy"), "message: %s", err.msg);
    cf_tensor_free(b, &tx), cf_tensor_free(b, &ty);
    cf_backend_close(b);
}
END_TEST

START_TEST(test_rejects_bad_ops)
{
    cf_backend *b = open_ref();
    cf_error err = {0};
    cf_tensor x, w, y, ybad;
    int sx[2] = {3, 4}, sw[2] = {5, 4}, sy[2] = {3, 5}, syb[2] = {3, 6};
    ck_assert(cf_tensor_alloc(b, &x, 2, sx, "fc.x", &err) == CF_OK);
    ck_assert(cf_tensor_alloc(b, &w, 2, sw, "fc.weight", &err) == CF_OK);
    ck_assert(cf_tensor_alloc(b, &y, 2, sy, "fc.y", &err) == CF_OK);
    ck_assert(cf_tensor_alloc(b, &ybad, 2, syb, "fc.ybad", &err) == CF_OK);
    cf_op op = {0};
    op.kind = CF_OP_DENSE_FWD;
    op.in[0] = &x, op.in[1] = &w, op.out[0] = &ybad;
    ck_assert_int_eq(b->vt->exec(b->ctx, &op, &err), CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "dense_fwd") && strstr(err.msg, "fc.ybad"), "message: %s",
                  err.msg);
    op.out[0] = &y;
    op.in[1] = NULL; /* missing weight */
    ck_assert_int_eq(b->vt->exec(b->ctx, &op, &err), CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "in[1]"), "message: %s", err.msg);
    op.in[1] = &x; /* a W with 3 rows: y [3,5] should be [3,3] */
    ck_assert_int_eq(b->vt->exec(b->ctx, &op, &err), CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "fc.y"), "message: %s", err.msg);
    op.in[1] = &w;
    ck_assert_int_eq(b->vt->exec(b->ctx, &op, &err), CF_OK);

    /* Convolution on a 2-D tensor, and an unknown op kind. */
    op.kind = CF_OP_CONV2D_FWD;
    ck_assert_int_eq(b->vt->exec(b->ctx, &op, &err), CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "conv2d_fwd") && strstr(err.msg, "fc.x"), "message: %s", err.msg);
    op.kind = CF_OP_COUNT;
    ck_assert(!b->vt->supports_op(b->ctx, &op));
    ck_assert_int_ne(b->vt->exec(b->ctx, &op, &err), CF_OK);

    /* Out-of-range transfer, and an allocation that cannot succeed. */
    float buf[4] = {0};
    ck_assert_int_eq(b->vt->upload(b->ctx, x.buf, 40, buf, sizeof buf, &err), CF_ERR_INVALID);
    cf_buffer *huge = NULL;
    ck_assert_int_eq(b->vt->buffer_alloc(b->ctx, (size_t)1 << 62, "giant.weight", &huge, &err),
                     CF_ERR_NOMEM);
    ck_assert_msg(strstr(err.msg, "giant.weight"), "message: %s", err.msg);
    ck_assert_ptr_null(huge);
    cf_tensor_free(b, &x), cf_tensor_free(b, &w), cf_tensor_free(b, &y), cf_tensor_free(b, &ybad);
    cf_backend_close(b);
}
END_TEST

START_TEST(test_table_covers_every_op)
{
    cf_backend *b = open_ref();
    ck_assert_int_eq(b->desc->kind, CF_PLUGIN_BACKEND);
    ck_assert_str_eq(b->desc->name, "reference");
    ck_assert_str_eq(b->info.name, "reference (plain C)");
    ck_assert_str_eq(b->info.type, "cpu");
    ck_assert_int_eq(b->vt->auto_score(), 1);
    cf_device_info devs[4];
    int n = 0;
    ck_assert(b->vt->list_devices(devs, 4, &n, NULL) == CF_OK);
    ck_assert_int_eq(n, 1);
    for (int k = CF_OP_NONE + 1; k < CF_OP_COUNT; k++) {
        cf_op op = {0};
        op.kind = (cf_op_kind)k;
        ck_assert_msg(tu_def_for((cf_op_kind)k, NULL), "op %s has no entry in the test table",
                      cf_op_name((cf_op_kind)k));
        ck_assert_msg(tu_n_variants((cf_op_kind)k) > 0, "op %s: no variants", cf_op_name(k));
        ck_assert_msg(b->vt->supports_op(b->ctx, &op), "reference lacks op %s", cf_op_name(k));
    }
    cf_backend_close(b);
}
END_TEST

Suite *cf_test_suite(void)
{
    tu_seed();
    for (int i = 0; i < tu_n_ops; i++) {
        if (tu_ops[i].n_bwd > 0) g_diff_ops[g_n_diff_ops++] = i;
        for (int j = 0; j < tu_ops[i].n_bwd; j++) g_bwd_kinds[g_n_bwd_kinds++] = tu_ops[i].bwd[j].kind;
    }
    Suite *s = suite_create("gradcheck");
    TCase *tc = tcase_create("finite_differences");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_gradient, 0, g_n_diff_ops);
    suite_add_tcase(s, tc);
    tc = tcase_create("accumulate");
    tcase_add_loop_test(tc, test_accumulate, 0, g_n_bwd_kinds);
    suite_add_tcase(s, tc);
    tc = tcase_create("formulas");
    tcase_add_loop_test(tc, test_vector_formulas, 0, (int)(sizeof vec_kinds / sizeof vec_kinds[0]));
    tcase_add_test(tc, test_maxpool_first_max);
    tcase_add_test(tc, test_avgpool_counts_padding);
    tcase_add_test(tc, test_activation_values);
    tcase_add_test(tc, test_batchnorm_running_stats);
    tcase_add_test(tc, test_loss_values);
    tcase_add_test(tc, test_bce_values);
    tcase_add_test(tc, test_dropout_mask);
    tcase_add_test(tc, test_hinge_margin_boundary);
    suite_add_tcase(s, tc);
    tc = tcase_create("validation");
    tcase_add_test(tc, test_channel_copy_slice);
    tcase_add_test(tc, test_rejects_bad_ops);
    tcase_add_test(tc, test_table_covers_every_op);
    suite_add_tcase(s, tc);
    return s;
}
