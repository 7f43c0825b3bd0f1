/* The cpu backend's convolution methods against the reference backend on
 * what the parity suite's shapes do not reach: batches that split unevenly
 * over 1-3 pool threads, per-thread pieces of one image (CLFORGE_CPU_DNNL_KB),
 * oneDNN's blocked and plain layouts, accumulate on and off, bias on and off,
 * and a second call that runs from the primitive cache. Without oneDNN
 * built in, "dnnl" runs im2col (and the test still checks it). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

typedef struct {
    const char *conv, *kb, *fmt;
} method;

static const method METHODS[] = {
    {"dnnl", NULL, NULL}, {"dnnl", "1", NULL}, {"dnnl", "1", "plain"}, {"gemm", NULL, NULL}};

/* N, C, H, W, K, R, S, stride, pad */
static const int SHAPES[][9] = {
    {3, 16, 14, 14, 32, 3, 3, 1, 1}, {5, 8, 9, 9, 16, 3, 3, 2, 1}, {7, 16, 8, 8, 32, 1, 1, 2, 0},
    {3, 1, 12, 12, 16, 3, 3, 1, 1},  {9, 5, 7, 7, 3, 3, 3, 1, 1},
};

static void set_env(const char *k, const char *v)
{
    if (v)
        setenv(k, v, 1);
    else
        unsetenv(k);
}

static cf_backend *open_cpu(const method *m, int threads)
{
    set_env("CLFORGE_CPU_CONV", m->conv);
    set_env("CLFORGE_CPU_DNNL_KB", m->kb);
    set_env("CLFORGE_CPU_DNNL_FMT", m->fmt);
    cf_error err = {0};
    cf_registry *r = tu_registry(&err);
    ck_assert_msg(r != NULL, "registry: %s", err.msg);
    cf_backend_config cfg = {0};
    cfg.device = "";
    cfg.threads = threads;
    cf_backend *b = NULL;
    cf_status st = cf_backend_open(r, "cpu", &cfg, &b, &err);
    ck_assert_msg(st == CF_OK, "open cpu (%s, %d threads): %s", m->conv, threads, err.msg);
    return b;
}

static void make_case(tu_case *c, cf_op_kind kind, const int *g, int acc, int bias, cf_rng *r)
{
    memset(c, 0, sizeof *c);
    int N = g[0], C = g[1], H = g[2], W = g[3], K = g[4], R = g[5], S = g[6];
    int P = (H + 2 * g[8] - R) / g[7] + 1, Q = (W + 2 * g[8] - S) / g[7] + 1;
    c->op.kind = kind;
    c->op.accumulate = acc;
    c->op.p.conv.stride_h = c->op.p.conv.stride_w = g[7];
    c->op.p.conv.pad_h = c->op.p.conv.pad_w = g[8];
    tu_tensor x = {0}, w = {0}, y = {0}, b = {0};
    tu_new(&x, 4, N, C, H, W);
    tu_new(&w, 4, K, C, R, S);
    tu_new(&y, 4, N, K, P, Q);
    tu_new(&b, 1, K);
    tu_tensor *all[] = {&x, &w, &y, &b};
    for (int i = 0; i < 4; i++) tu_uniform(all[i]->data, tu_numel(all[i]), r, -1, 1);
    /* outputs start from the values above (read only when accumulating) */
    if (kind == CF_OP_CONV2D_FWD) {
        c->in[0] = x, c->in[1] = w, c->out[0] = y;
        if (bias) c->in[2] = b; else free(b.data);
    } else if (kind == CF_OP_CONV2D_BWD_DATA) {
        c->in[0] = y, c->in[1] = w, c->out[0] = x;
        free(b.data);
    } else {
        c->in[0] = y, c->in[1] = x, c->out[0] = w;
        if (bias) c->out[1] = b; else free(b.data);
    }
    snprintf(c->desc, sizeof c->desc, "%s N%d C%d %dx%d K%d %dx%d s%d p%d acc %d bias %d",
             cf_op_name(kind), N, C, H, W, K, R, S, g[7], g[8], acc, bias);
}

START_TEST(test_methods_match_reference)
{
    cf_error err = {0};
    cf_backend *ref = NULL;
    ck_assert_msg(tu_open("reference", &ref, &err) == CF_OK, "reference: %s", err.msg);
    cf_rng rng = tu_rng(tu_seed(), 31);
    int cases = 0, bad = 0;
    for (size_t mi = 0; mi < sizeof METHODS / sizeof METHODS[0]; mi++) {
        for (int threads = 1; threads <= 3; threads++) {
            cf_backend *cpu = open_cpu(&METHODS[mi], threads);
            for (size_t si = 0; si < sizeof SHAPES / sizeof SHAPES[0]; si++)
                for (int kind = CF_OP_CONV2D_FWD; kind <= CF_OP_CONV2D_BWD_WEIGHT; kind++)
                    for (int acc = 0; acc < 2; acc++)
                        for (int bias = 0; bias < 2; bias++) {
                            if (kind == CF_OP_CONV2D_FWD && acc) continue;
                            if (kind == CF_OP_CONV2D_BWD_DATA && bias) continue;
                            tu_case c;
                            make_case(&c, (cf_op_kind)kind, SHAPES[si], acc, bias, &rng);
                            float *want[TU_SLOTS] = {0}, *got[TU_SLOTS] = {0};
                            ck_assert_msg(tu_run(ref, &c, want, &err) == CF_OK, "ref %s: %s",
                                          c.desc, err.msg);
                            /* twice on the cpu: the second call runs from the cache */
                            for (int rep = 0; rep < 2; rep++) {
                                tu_outs_free(got);
                                ck_assert_msg(tu_run(cpu, &c, got, &err) == CF_OK, "cpu %s: %s",
                                              c.desc, err.msg);
                            }
                            ck_assert_msg(!isnan(want[0][0]) && !isnan(got[0][0]),
                                          "%s: NaN output", c.desc);
                            double rtol, atol;
                            tu_tolerance((cf_op_kind)kind, &rtol, &atol);
                            for (int o = 0; o < TU_SLOTS; o++) {
                                if (!c.out[o].ndim) continue;
                                char msg[256];
                                if (!tu_compare(got[o], want[o], tu_numel(&c.out[o]), rtol, atol,
                                                msg, sizeof msg)) {
                                    bad++;
                                    fprintf(stderr, "cpu_conv: %s, %d threads, KB %s, %s: %s: out[%d] %s\n",
                                            METHODS[mi].conv, threads,
                                            METHODS[mi].kb ? METHODS[mi].kb : "default",
                                            METHODS[mi].fmt ? METHODS[mi].fmt : "blocked", c.desc,
                                            o, msg);
                                }
                            }
                            cases++;
                            tu_outs_free(want);
                            tu_outs_free(got);
                            tu_case_free(&c);
                        }
            cf_backend_close(cpu);
        }
    }
    unsetenv("CLFORGE_CPU_CONV");
    unsetenv("CLFORGE_CPU_DNNL_KB");
    unsetenv("CLFORGE_CPU_DNNL_FMT");
    cf_backend_close(ref);
    fprintf(stderr, "cpu_conv: %d cases, %d differ\n", cases, bad);
    ck_assert_int_eq(bad, 0);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("cpu_conv");
    TCase *tc = tcase_create("methods");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_methods_match_reference);
    suite_add_tcase(s, tc);
    return s;
}
