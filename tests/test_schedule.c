/* Learning-rate schedules against hand-computed rates, and early stopping on
 * scripted metric sequences. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "train/early_stop.h"
#include "train/schedule.h"

/* From engine/core/params.h (tests build a cf_params from pairs). */
cf_status cf_params_from_kv(const cf_param_def *defs, const char *const *kv, int n_kv,
                            cf_params **out, cf_error *err);
void cf_params_free(cf_params *p);

#define EPS 1e-12
#define C45 0.85355339059327373 /* (1 + cos(pi/4)) / 2 */
#define C135 0.14644660940672627 /* (1 + cos(3pi/4)) / 2 */

static cf_schedule *make(cf_schedule_spec *sp, double base, int total)
{
    cf_schedule *s = NULL;
    cf_error err = {0};
    ck_assert_msg(cf_schedule_create_spec(sp, base, total, &s, &err) == CF_OK, "%s", err.msg);
    return s;
}

static void expect_seq(cf_schedule *s, const double *want, int n)
{
    for (int e = 0; e < n; e++) {
        double got = cf_schedule_lr(s, e, 0.0);
        ck_assert_msg(fabs(got - want[e]) < EPS, "epoch %d: got %.17g want %.17g", e, got, want[e]);
        /* per-epoch granularity: constant within the epoch */
        ck_assert_msg(fabs(cf_schedule_lr(s, e, 0.7) - want[e]) < EPS, "epoch %d mid-epoch", e);
    }
}

START_TEST(test_constant)
{
    cf_schedule_spec sp;
    cf_schedule_spec_default(&sp);
    cf_schedule *s = make(&sp, 0.1, 5);
    const double w[] = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1};
    expect_seq(s, w, 6);
    cf_schedule_observe(s, 0, 1.0); /* ignored */
    ck_assert_double_eq_tol(cf_schedule_lr(s, 3, 0), 0.1, EPS);
    cf_schedule_free(s);
}
END_TEST

START_TEST(test_step)
{
    cf_schedule_spec sp;
    cf_schedule_spec_default(&sp);
    sp.type = CF_SCHED_STEP;
    ck_assert_int_eq(cf_schedule_parse_steps("3, 6", sp.steps, CF_SCHEDULE_MAX_STEPS, &sp.n_steps, NULL), CF_OK);
    cf_schedule *s = make(&sp, 1.0, 8);
    const double w[] = {1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01};
    expect_seq(s, w, 8);
    cf_schedule_free(s);
    /* SageMaker: lr_scheduler_step "10,20", lr_scheduler_factor 0.5 */
    ck_assert_int_eq(cf_schedule_parse_steps("10,20", sp.steps, CF_SCHEDULE_MAX_STEPS, &sp.n_steps, NULL), CF_OK);
    sp.factor = 0.5;
    s = make(&sp, 0.1, 30);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 9, 0.99), 0.1, EPS);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 10, 0), 0.05, EPS);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 19, 0), 0.05, EPS);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 20, 0), 0.025, EPS);
    cf_schedule_free(s);
}
END_TEST

START_TEST(test_parse_steps)
{
    int st[4], n;
    cf_error err = {0};
    ck_assert_int_eq(cf_schedule_parse_steps("", st, 4, &n, NULL), CF_OK);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(cf_schedule_parse_steps(" 5 ,7,9 ", st, 4, &n, NULL), CF_OK);
    ck_assert(n == 3 && st[0] == 5 && st[1] == 7 && st[2] == 9);
    ck_assert_int_eq(cf_schedule_parse_steps("20,10", st, 4, &n, &err), CF_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "ascending"));
    ck_assert_int_eq(cf_schedule_parse_steps("10;20", st, 4, &n, &err), CF_ERR_INVALID);
    ck_assert_int_eq(cf_schedule_parse_steps("x", st, 4, &n, &err), CF_ERR_INVALID);
    ck_assert_int_eq(cf_schedule_parse_steps("0,3", st, 4, &n, &err), CF_ERR_INVALID);
    ck_assert_int_eq(cf_schedule_parse_steps("1,2,3,4,5", st, 4, &n, &err), CF_ERR_INVALID);
}
END_TEST

START_TEST(test_exponential)
{
    cf_schedule_spec sp;
    cf_schedule_spec_default(&sp);
    sp.type = CF_SCHED_EXPONENTIAL;
    sp.factor = 0.5;
    sp.every = 2;
    cf_schedule *s = make(&sp, 0.8, 6);
    const double w[] = {0.8, 0.8, 0.4, 0.4, 0.2, 0.2};
    expect_seq(s, w, 6);
    cf_schedule_free(s);
}
END_TEST

START_TEST(test_cosine)
{
    cf_schedule_spec sp;
    cf_schedule_spec_default(&sp);
    sp.type = CF_SCHED_COSINE;
    cf_schedule *s = make(&sp, 1.0, 4); /* T = total epochs = 4 */
    const double w[] = {1, C45, 0.5, C135, 0, 0};
    expect_seq(s, w, 6);
    cf_schedule_free(s);
    sp.t_max = 2;
    sp.eta_min = 0.1;
    s = make(&sp, 1.1, 10);
    const double w2[] = {1.1, 0.6, 0.1, 0.1};
    expect_seq(s, w2, 4);
    cf_schedule_free(s);
}
END_TEST

START_TEST(test_cosine_restarts)
{
    cf_schedule_spec sp;
    cf_schedule_spec_default(&sp);
    sp.type = CF_SCHED_COSINE;
    sp.t_0 = 2;
    sp.t_mult = 2;
    cf_schedule *s = make(&sp, 1.0, 14);
    /* cycles: [0,2) [2,6) [6,14) */
    const double w[] = {1, 0.5, 1, C45, 0.5, C135, 1};
    expect_seq(s, w, 7);
    cf_schedule_free(s);
}
END_TEST

START_TEST(test_warmup)
{
    cf_schedule_spec sp;
    cf_schedule_spec_default(&sp);
    sp.warmup_epochs = 2;
    sp.warmup_start_factor = 0.1;
    cf_schedule *s = make(&sp, 1.0, 5);
    /* per batch: 0.1 + 0.9 * (epoch + frac) / 2 */
    ck_assert_double_eq_tol(cf_schedule_lr(s, 0, 0.0), 0.1, EPS);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 0, 0.5), 0.325, EPS);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 1, 0.0), 0.55, EPS);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 1, 0.5), 0.775, EPS);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 2, 0.0), 1.0, EPS);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 4, 0.9), 1.0, EPS);
    cf_schedule_free(s);
    /* warm-up in front of cosine: cosine counts after warm-up, T = 6 - 2 */
    sp.type = CF_SCHED_COSINE;
    s = make(&sp, 1.0, 6);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 1, 0.0), 0.55, EPS);
    const double w[] = {0.1, 0.55, 1, C45, 0.5, C135};
    for (int e = 2; e < 6; e++) ck_assert_double_eq_tol(cf_schedule_lr(s, e, 0.3), w[e], EPS);
    char d[256];
    cf_schedule_describe(s, d, sizeof d);
    ck_assert_msg(strstr(d, "cosine") && strstr(d, "warm-up over 2 epochs"), "%s", d);
    cf_schedule_free(s);
    /* warm-up in front of step: steps stay absolute epochs */
    sp.type = CF_SCHED_STEP;
    sp.n_steps = 1;
    sp.steps[0] = 1;
    sp.factor = 0.5;
    s = make(&sp, 1.0, 6);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 1, 0.0), 0.5 * 0.55, EPS);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 3, 0.0), 0.5, EPS);
    cf_schedule_free(s);
}
END_TEST

/* Per-step schedules against torch 2.x's schedulers stepped once per batch
 * (the numbers printed by torch.optim.lr_scheduler, pasted here). */
static void expect_steps(cf_schedule *s, int steps, const double *want, int n)
{
    cf_schedule_set_steps(s, steps);
    for (int k = 0; k < n; k++) {
        double got = cf_schedule_lr(s, k / steps, (double)(k % steps) / steps);
        ck_assert_msg(fabs(got - want[k]) < 1e-12, "step %d: got %.17g want %.17g", k, got, want[k]);
    }
}

START_TEST(test_onecycle)
{
    /* OneCycleLR(max_lr=0.5, total_steps=10, pct_start=0.3, div_factor=25, final_div_factor=1e4) */
    cf_schedule_spec sp;
    cf_schedule_spec_default(&sp);
    sp.type = CF_SCHED_ONECYCLE;
    cf_schedule *s = make(&sp, 0.5, 2);
    const double w[] = {0.02, 0.26, 0.5, 0.47524231600673683, 0.40587282697488153, 0.30563101096814466,
                        0.19437098903185537, 0.09412917302511849, 0.024759683993263143, 2e-06,
                        2e-06 /* past the end: the last rate */};
    expect_steps(s, 5, w, 11);
    ck_assert(cf_schedule_spans_total(s));
    cf_schedule_free(s);
    sp.anneal_linear = 1; /* anneal_strategy='linear' */
    s = make(&sp, 0.5, 2);
    const double wl[] = {0.02, 0.26, 0.5, 0.4285717142857143, 0.35714342857142856, 0.28571514285714283,
                         0.21428685714285717, 0.14285857142857145, 0.07143028571428572, 2.000000000002e-06};
    expect_steps(s, 5, wl, 10);
    cf_schedule_free(s);
}
END_TEST

START_TEST(test_poly_linear)
{
    cf_schedule_spec sp;
    cf_schedule_spec_default(&sp);
    sp.type = CF_SCHED_POLY; /* PolynomialLR(total_iters=8, power=2) */
    sp.power = 2;
    cf_schedule *s = make(&sp, 1.0, 8);
    const double wp[] = {1.0, 0.765625, 0.5625, 0.390625, 0.25, 0.140625, 0.0625, 0.015625, 0.0, 0.0};
    expect_steps(s, 1, wp, 10);
    cf_schedule_free(s);
    sp.type = CF_SCHED_LINEAR; /* LinearLR(start_factor=1, end_factor=0.1, total_iters=8), 2 batches/epoch */
    sp.end_factor = 0.1;
    s = make(&sp, 1.0, 4);
    const double wl[] = {1.0, 0.8875, 0.775, 0.6625, 0.55, 0.4375, 0.325, 0.2125, 0.1, 0.1};
    expect_steps(s, 2, wl, 10);
    cf_schedule_free(s);
}
END_TEST

START_TEST(test_warmup_steps)
{
    /* SequentialLR([LinearLR(0.1, 1.0, total_iters=4), PolynomialLR(total_iters=6, power=1)], [4]) */
    cf_schedule_spec sp;
    cf_schedule_spec_default(&sp);
    sp.type = CF_SCHED_POLY;
    sp.warmup_steps = 4;
    cf_schedule *s = make(&sp, 1.0, 10);
    const double w[] = {0.1, 0.325, 0.55, 0.775, 1.0, 0.8333333333333334, 0.6666666666666667, 0.5,
                        0.33333333333333337, 0.16666666666666663};
    expect_steps(s, 1, w, 10);
    cf_schedule_free(s);
    /* with an epoch schedule (steps at epoch 2): ramps over the first 3 batches */
    cf_schedule_spec_default(&sp);
    sp.type = CF_SCHED_STEP;
    sp.warmup_steps = 3;
    sp.warmup_start_factor = 0.25;
    ck_assert_int_eq(cf_schedule_parse_steps("2", sp.steps, CF_SCHEDULE_MAX_STEPS, &sp.n_steps, NULL), CF_OK);
    s = make(&sp, 1.0, 3);
    const double ws[] = {0.25, 0.5, 0.75, 1.0, 0.1, 0.1};
    expect_steps(s, 2, ws, 6);
    cf_schedule_free(s);
    /* both warm-up lengths, or a onecycle with nothing left: refused */
    cf_error err = {0};
    cf_schedule_spec_default(&sp);
    sp.warmup_steps = 3;
    sp.warmup_epochs = 1;
    ck_assert_int_ne(cf_schedule_create_spec(&sp, 1.0, 3, &s, &err), CF_OK);
    cf_schedule_spec_default(&sp);
    sp.type = CF_SCHED_ONECYCLE;
    sp.warmup_epochs = 3;
    ck_assert_int_ne(cf_schedule_create_spec(&sp, 1.0, 3, &s, &err), CF_OK);
}
END_TEST

START_TEST(test_plateau)
{
    cf_schedule_spec sp;
    cf_schedule_spec_default(&sp);
    sp.type = CF_SCHED_PLATEAU;
    sp.factor = 0.5;
    sp.patience = 2;
    sp.threshold = 0.1;
    sp.min_lr = 0.3;
    cf_schedule *s = make(&sp, 1.0, 10);
    const double loss[] = {1.0, 0.95, 0.92, 0.85, 0.9, NAN, 0.1, 0.1, 0.1};
    /* e0 best 1.0; e1 0.95 not < 0.9: bad 1; e2 bad 2 -> 0.5; e3 0.85 < 0.9: best;
     * e4 bad 1; e5 NaN bad 2 -> 0.25 clamped to min_lr 0.3; e6 0.1 best; e7, e8 bad -> stays 0.3 */
    const double after[] = {1, 1, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3};
    for (int e = 0; e < 9; e++) {
        ck_assert_double_eq_tol(cf_schedule_lr(s, e, 0), e ? after[e - 1] : 1.0, EPS);
        cf_schedule_observe(s, e, loss[e]);
        cf_schedule_observe(s, e, 5.0); /* same epoch twice: ignored */
        ck_assert_msg(fabs(cf_schedule_lr(s, e + 1, 0) - after[e]) < EPS, "after epoch %d: %g", e,
                      cf_schedule_lr(s, e + 1, 0));
    }
    cf_schedule_free(s);
}
END_TEST

START_TEST(test_state_roundtrip)
{
    cf_schedule_spec sp;
    cf_schedule_spec_default(&sp);
    sp.type = CF_SCHED_PLATEAU;
    sp.patience = 1;
    sp.factor = 0.5;
    const double loss[] = {1.0, 0.8, 0.9, 0.7, 0.75, 0.8, 0.6};
    cf_schedule *a = make(&sp, 1.0, 7), *b = make(&sp, 1.0, 7);
    double st[CF_SCHEDULE_STATE_MAX];
    for (int e = 0; e < 3; e++) cf_schedule_observe(a, e, loss[e]);
    int n = cf_schedule_state(a, st, CF_SCHEDULE_STATE_MAX);
    ck_assert(n > 0 && n <= CF_SCHEDULE_STATE_MAX);
    ck_assert_int_eq(cf_schedule_restore(b, st, n, NULL), CF_OK);
    for (int e = 3; e < 7; e++) {
        cf_schedule_observe(a, e, loss[e]);
        cf_schedule_observe(b, e, loss[e]);
        ck_assert(cf_schedule_lr(a, e + 1, 0) == cf_schedule_lr(b, e + 1, 0));
    }
    ck_assert_double_eq_tol(cf_schedule_lr(a, 7, 0), 0.125, EPS);
    cf_error err = {0};
    ck_assert_int_eq(cf_schedule_restore(b, st, n - 1, &err), CF_ERR_IO);
    cf_schedule_spec sc;
    cf_schedule_spec_default(&sc);
    cf_schedule *c = make(&sc, 1.0, 7);
    ck_assert_int_eq(cf_schedule_restore(c, st, n, &err), CF_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "plateau"));
    st[0] = 1.0;
    ck_assert_int_eq(cf_schedule_restore(b, st, n, &err), CF_ERR_IO);
    cf_schedule_free(a);
    cf_schedule_free(b);
    cf_schedule_free(c);
}
END_TEST

START_TEST(test_bad_specs)
{
    cf_schedule_spec sp;
    cf_schedule *s = NULL;
    cf_error err = {0};
    cf_schedule_spec_default(&sp);
    sp.type = CF_SCHED_STEP;
    ck_assert_int_eq(cf_schedule_create_spec(&sp, 0.1, 10, &s, &err), CF_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "steps"));
    cf_schedule_spec_default(&sp);
    sp.type = CF_SCHED_COSINE;
    sp.warmup_epochs = 5;
    ck_assert_int_eq(cf_schedule_create_spec(&sp, 0.1, 5, &s, &err), CF_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "warm-up"));
    cf_schedule_spec_default(&sp);
    ck_assert_int_eq(cf_schedule_create_spec(&sp, NAN, 5, &s, &err), CF_ERR_INVALID);
    ck_assert_int_eq(cf_schedule_create_spec(&sp, 0.1, 0, &s, &err), CF_ERR_INVALID);
    sp.factor = 2;
    ck_assert_int_eq(cf_schedule_create_spec(&sp, 0.1, 5, &s, &err), CF_ERR_INVALID);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(cf_schedule_type_parse("cosine"), CF_SCHED_COSINE);
    ck_assert_int_eq(cf_schedule_type_parse("linear"), CF_SCHED_LINEAR);
    ck_assert_int_eq(cf_schedule_type_parse("triangular"), -1);
}
END_TEST

START_TEST(test_from_params)
{
    /* the table is well-formed: every entry has a default and a doc */
    int n = 0;
    for (const cf_param_def *d = cf_schedule_params; d->name; d++, n++) {
        ck_assert_ptr_nonnull(d->def);
        ck_assert_ptr_nonnull(d->doc);
    }
    ck_assert_int_eq(n, 21);
    const char *kv[] = {"type", "step", "steps", "2,4", "factor", "0.5", "warmup_epochs", "1"};
    cf_params *p = NULL;
    cf_error err = {0};
    ck_assert_int_eq(cf_params_from_kv(cf_schedule_params, kv, 8, &p, &err), CF_OK);
    cf_schedule *s = NULL;
    ck_assert_msg(cf_schedule_create(p, 0.2, 6, &s, &err) == CF_OK, "%s", err.msg);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 0, 0), 0.02, EPS); /* warm-up start 0.1 */
    ck_assert_double_eq_tol(cf_schedule_lr(s, 1, 0), 0.2, EPS);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 2, 0), 0.1, EPS);
    ck_assert_double_eq_tol(cf_schedule_lr(s, 4, 0), 0.05, EPS);
    cf_schedule_free(s);
    cf_params_free(p);
    const char *bad[] = {"type", "step", "steps", "4,2"};
    ck_assert_int_eq(cf_params_from_kv(cf_schedule_params, bad, 4, &p, &err), CF_OK);
    ck_assert_int_eq(cf_schedule_create(p, 0.2, 6, &s, &err), CF_ERR_INVALID);
    cf_params_free(p);
    ck_assert_int_eq(cf_schedule_create(NULL, 0.2, 6, &s, &err), CF_OK); /* defaults: constant */
    ck_assert_double_eq_tol(cf_schedule_lr(s, 5, 0), 0.2, EPS);
    cf_schedule_free(s);
}
END_TEST

/* ---- early stopping ---- */

static int run_es(cf_early_stop *es, const double *v, int n)
{
    for (int e = 1; e <= n; e++)
        if (cf_early_stop_update(es, e, v[e - 1])) return e;
    return 0;
}

START_TEST(test_es_patience)
{
    cf_early_stop es;
    cf_early_stop_init(&es, 3, 2, 0.0, 1);
    const double acc[] = {0.80, 0.85, 0.84, 0.86, 0.86, 0.85, 0.99};
    ck_assert_int_eq(run_es(&es, acc, 7), 6); /* e5 equal: no gain; e6 worse: 2 in a row */
    ck_assert_int_eq(es.best_epoch, 4);
    ck_assert_double_eq(es.best_value, 0.86);
    char why[256];
    cf_early_stop_reason(&es, why, sizeof why);
    ck_assert_msg(strstr(why, "epoch 6") && strstr(why, "epoch 4"), "%s", why);
}
END_TEST

START_TEST(test_es_min_epochs)
{
    cf_early_stop es;
    cf_early_stop_init(&es, 4, 1, 0.0, 1);
    const double acc[] = {0.9, 0.8, 0.7, 0.6, 0.5};
    ck_assert_int_eq(run_es(&es, acc, 5), 4);
    ck_assert_int_eq(es.best_epoch, 1);
    cf_early_stop_init(&es, 10, 5, 0.0, 1); /* SageMaker defaults: never stops in 9 epochs */
    ck_assert_int_eq(run_es(&es, acc, 5), 0);
}
END_TEST

START_TEST(test_es_tolerance)
{
    cf_early_stop es;
    cf_early_stop_init(&es, 1, 2, 0.01, 1);
    /* e2 +0.625% (< 1%: no improvement, but best); e3 +1.25% over e1: improvement;
     * e4 +0.25%, e5 +0.62% over e3: two without improvement -> stop at 5 */
    const double acc[] = {0.80, 0.805, 0.81, 0.812, 0.815};
    int flags_best[5], flags_impr[5];
    int stop = 0;
    for (int e = 1; e <= 5 && !stop; e++) {
        stop = cf_early_stop_update(&es, e, acc[e - 1]) ? e : 0;
        flags_best[e - 1] = es.is_best;
        flags_impr[e - 1] = es.improved;
    }
    ck_assert_int_eq(stop, 5);
    ck_assert(flags_best[0] && flags_best[1] && flags_best[2] && flags_best[3] && flags_best[4]);
    ck_assert(flags_impr[0] && !flags_impr[1] && flags_impr[2] && !flags_impr[3] && !flags_impr[4]);
    ck_assert_int_eq(es.best_epoch, 5);
}
END_TEST

START_TEST(test_es_minimize_nan)
{
    cf_early_stop es;
    cf_early_stop_init(&es, 1, 2, 0.0, 0);
    const double loss[] = {1.0, 0.9, 0.95, 0.91};
    ck_assert_int_eq(run_es(&es, loss, 4), 4);
    ck_assert_int_eq(es.best_epoch, 2);
    cf_early_stop_init(&es, 1, 2, 0.0, 0);
    const double l2[] = {1.0, NAN, 0.5, NAN, NAN};
    ck_assert_int_eq(run_es(&es, l2, 5), 5);
    ck_assert_int_eq(es.best_epoch, 3);
    cf_early_stop_init(&es, 1, 0, 0.0, 1); /* patience < 1 is 1 */
    ck_assert_int_eq(es.patience, 1);
    cf_early_stop_init(&es, 1, 1, 0.0, 1); /* ref 0: any gain counts */
    const double z[] = {0.0, 0.1, 0.1};
    ck_assert_int_eq(run_es(&es, z, 3), 3);
    ck_assert_int_eq(es.best_epoch, 2);
}
END_TEST

START_TEST(test_es_state)
{
    const double acc[] = {0.5, 0.6, 0.55, 0.58, 0.61, 0.6, 0.59, 0.58};
    cf_early_stop a, b;
    cf_early_stop_init(&a, 2, 3, 0.0, 1);
    cf_early_stop_init(&b, 2, 3, 0.0, 1);
    for (int e = 1; e <= 3; e++) cf_early_stop_update(&a, e, acc[e - 1]);
    double st[CF_EARLY_STOP_STATE_N];
    ck_assert_int_eq(cf_early_stop_state(&a, st, CF_EARLY_STOP_STATE_N), CF_EARLY_STOP_STATE_N);
    ck_assert_int_eq(cf_early_stop_restore(&b, st, CF_EARLY_STOP_STATE_N, NULL), CF_OK);
    int sa = 0, sb = 0;
    for (int e = 4; e <= 8 && !sa; e++) {
        sa = cf_early_stop_update(&a, e, acc[e - 1]) ? e : 0;
        sb = cf_early_stop_update(&b, e, acc[e - 1]) ? e : 0;
        ck_assert_int_eq(sa, sb);
        ck_assert_int_eq(a.best_epoch, b.best_epoch);
    }
    ck_assert_int_eq(sa, 8);
    ck_assert_int_eq(a.best_epoch, 5);
    st[0] = 0;
    ck_assert_int_eq(cf_early_stop_restore(&b, st, CF_EARLY_STOP_STATE_N, NULL), CF_ERR_IO);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("schedule");
    TCase *t = tcase_create("schedule");
    tcase_add_test(t, test_constant);
    tcase_add_test(t, test_step);
    tcase_add_test(t, test_parse_steps);
    tcase_add_test(t, test_exponential);
    tcase_add_test(t, test_cosine);
    tcase_add_test(t, test_cosine_restarts);
    tcase_add_test(t, test_warmup);
    tcase_add_test(t, test_onecycle);
    tcase_add_test(t, test_poly_linear);
    tcase_add_test(t, test_warmup_steps);
    tcase_add_test(t, test_plateau);
    tcase_add_test(t, test_state_roundtrip);
    tcase_add_test(t, test_bad_specs);
    tcase_add_test(t, test_from_params);
    suite_add_tcase(s, t);
    TCase *e = tcase_create("early_stop");
    tcase_add_test(e, test_es_patience);
    tcase_add_test(e, test_es_min_epochs);
    tcase_add_test(e, test_es_tolerance);
    tcase_add_test(e, test_es_minimize_nan);
    tcase_add_test(e, test_es_state);
    suite_add_tcase(s, e);
    return s;
}
