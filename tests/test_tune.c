/* Tuner tests: search space, config validation, grid/random/bayesian/
 * hyperband/asha strategies, GP posterior and EI, the median rule, the
 * journal's resume after SIGKILL, and failing trials (crash, NaN, timeout). */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tune/tune.h"

static char g_tmp[256];

static void make_tmp(void)
{
    snprintf(g_tmp, sizeof g_tmp, "/tmp/cf_tune_test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_tmp));
}

static void rm_tmp(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
}

/* Writes text to <tmp>/name and loads it as a tune config. */
static cf_status load_cfg(const char *name, const char *text, cf_tune_config *cfg, cf_error *err)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", g_tmp, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return cf_tune_config_load(path, cfg, err);
}

static const char *BRANIN_PARAMS =
    "  parameters = (\n"
    "    { key = \"x1\"; type = \"continuous\"; min = -5.0; max = 10.0; },\n"
    "    { key = \"x2\"; type = \"continuous\"; min = 0.0; max = 15.0; } );\n";

/* ---- a scripted runner: value = f(x), trials finish FIFO or LIFO ------------ */
typedef struct fake {
    const cf_tune_config *cfg;
    int lifo;
    int ids[64], epochs[64], n;
    double vals[64];
    int fail_id; /* a trial id that fails, or -1 */
    int launched_total;
} fake;

static double fake_f(const cf_tune_config *cfg, const double *x)
{
    double s = 0;
    for (int i = 0; i < cfg->space.n; i++) s += (x[i] - 0.3 * i) * (x[i] - 0.3 * i);
    return s;
}

static int fake_capacity(void *ctx)
{
    fake *f = ctx;
    return f->cfg->max_parallel - f->n;
}

static cf_status fake_launch(void *ctx, const cf_tune_job *job, cf_error *err)
{
    fake *f = ctx;
    f->ids[f->n] = job->trial_id;
    f->epochs[f->n] = job->epochs;
    f->vals[f->n] = fake_f(f->cfg, job->x);
    f->n++;
    f->launched_total++;
    return CF_OK;
}

static int fake_poll(void *ctx, cf_tune_event *ev, int timeout_ms, cf_error *err)
{
    fake *f = ctx;
    if (f->n == 0) return 0;
    int k = f->lifo ? f->n - 1 : 0;
    memset(ev, 0, sizeof *ev);
    ev->trial_id = f->ids[k];
    if (ev->trial_id == f->fail_id) {
        ev->kind = CF_TEV_FAILED;
        snprintf(ev->reason, sizeof ev->reason, "scripted failure");
    } else {
        ev->kind = CF_TEV_OK;
        ev->n_metrics = 1;
        strcpy(ev->names[0], "validation_loss");
        ev->values[0] = f->vals[k];
    }
    memmove(f->ids + k, f->ids + k + 1, sizeof(int) * (size_t)(f->n - k - 1));
    memmove(f->epochs + k, f->epochs + k + 1, sizeof(int) * (size_t)(f->n - k - 1));
    memmove(f->vals + k, f->vals + k + 1, sizeof(double) * (size_t)(f->n - k - 1));
    f->n--;
    return 1;
}

static cf_status fake_stop(void *ctx, int id, cf_error *err) { return CF_OK; }
static void fake_destroy(void *ctx) { (void)ctx; }

static cf_tune_runner fake_runner(fake *f)
{
    cf_tune_runner r = {f, fake_capacity, fake_launch, fake_poll, fake_stop, fake_destroy};
    return r;
}

/* Runs a study to completion in <tmp>/sub. */
static cf_study *run_study(const cf_tune_config *cfg, const char *sub, cf_tune_runner *runner,
                           int in_process, int resume, cf_status *st, cf_error *err)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s", g_tmp, sub);
    cf_study_opts o = {dir, resume, NULL, NULL, NULL, runner, in_process, NULL};
    cf_study *s = NULL;
    *st = cf_study_open(&s, cfg, &o, err);
    if (*st != CF_OK) return NULL;
    *st = cf_study_run(s, err);
    return s;
}

/* ---- search space -------------------------------------------------------------- */
START_TEST(test_scaling)
{
    cf_tune_param lg = {.type = CF_TP_CONTINUOUS, .scale = CF_TS_LOG, .min = 1e-4, .max = 1e-1};
    ck_assert_double_eq_tol(cf_tune_to_unit(&lg, 1e-4), 0.0, 1e-12);
    ck_assert_double_eq_tol(cf_tune_to_unit(&lg, 1e-1), 1.0, 1e-12);
    ck_assert_double_eq_tol(cf_tune_to_unit(&lg, 1e-2), 2.0 / 3.0, 1e-12); /* decades equal */
    ck_assert_double_eq_tol(cf_tune_from_unit(&lg, 1.0 / 3.0), 1e-3, 1e-15);
    /* reverse-log: 0.9 -> 0.99 -> 0.999 evenly spaced */
    cf_tune_param rl = {.type = CF_TP_CONTINUOUS, .scale = CF_TS_REVLOG, .min = 0.9, .max = 0.999};
    ck_assert_double_eq_tol(cf_tune_to_unit(&rl, 0.99), 0.5, 1e-9);
    ck_assert_double_eq_tol(cf_tune_from_unit(&rl, 0.5), 0.99, 1e-12);
    /* integers: fair cells, ends included, rounding */
    cf_tune_param it = {.type = CF_TP_INTEGER, .scale = CF_TS_LINEAR, .min = 1, .max = 4};
    int count[5] = {0};
    for (int i = 0; i < 4000; i++) count[(int)cf_tune_from_unit(&it, (i + 0.5) / 4000.0)]++;
    for (int v = 1; v <= 4; v++) ck_assert_int_eq(count[v], 1000);
    char buf[64];
    cf_tune_param c = {.type = CF_TP_CONTINUOUS};
    cf_tune_format_value(&c, 0.1, buf, sizeof buf);
    ck_assert_str_eq(buf, "0.1");
    cf_tune_format_value(&c, 3.0, buf, sizeof buf);
    ck_assert_str_eq(buf, "3.0"); /* a float to libconfig, never an int */
    cf_tune_format_value(&it, 3.0, buf, sizeof buf);
    ck_assert_str_eq(buf, "3");
}
END_TEST

START_TEST(test_config_errors)
{
    make_tmp();
    cf_tune_config cfg;
    cf_error err = {0};
    cf_status st = load_cfg("a.cfg",
                            "train = { epochs = 3; };\n"
                            "tune = {\n"
                            "  strategy = \"random\";\n"
                            "  objective = { metric = \"validation:accuracy\"; goal = \"maximize\"; };\n"
                            "  max_trails = 4;\n"
                            "  parameters = ( { key = \"a\"; type = \"continuous\"; min = 0.0; max = 1.0; } );\n"
                            "};\n",
                            &cfg, &err);
    ck_assert_int_eq(st, CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "a.cfg:5:") && strstr(err.msg, "max_trails"), "%s", err.msg);

    st = load_cfg("b.cfg",
                  "tune = { strategy = \"grid\"; objective = { metric = \"validation:loss\"; goal = \"minimize\"; };\n"
                  "  parameters = ( { key = \"lr\"; type = \"continuous\"; min = 0.0; max = 1.0; scale = \"log\"; } ); };\n",
                  &cfg, &err);
    ck_assert_int_eq(st, CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "b.cfg:2:") && strstr(err.msg, "min > 0"), "%s", err.msg);

    st = load_cfg("c.cfg",
                  "tune = { strategy = \"bayesian\"; objective = { metric = \"test:accuracy\"; goal = \"maximize\"; };\n"
                  "  parameters = ( { key = \"a\"; type = \"integer\"; min = 1; max = 3; } ); };\n",
                  &cfg, &err);
    ck_assert_int_eq(st, CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "test set"), "%s", err.msg);

    st = load_cfg("r.cfg",
                  "tune = { strategy = \"bayesian\"; objective = { function = \"branin\"; };\n"
                  "  restart_period = 1;\n"
                  "  parameters = ( { key = \"x1\"; type = \"continuous\"; min = 0.0; max = 1.0; } ); };\n",
                  &cfg, &err);
    ck_assert_int_eq(st, CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "r.cfg:2:") && strstr(err.msg, "restart_period"), "%s", err.msg);

    /* promotions cannot continue a run whose cosine schedule spans train.epochs;
     * auto then retrains from scratch, as it does when the schedule is tuned */
    static const char *const cosine_hb =
        "train = { epochs = 9; lr_schedule = { type = \"cosine\"; }; };\n"
        "tune = { strategy = \"hyperband\"; objective = { metric = \"validation:accuracy\"; goal = \"maximize\"; };\n"
        "  promotion = \"%s\";\n"
        "  parameters = ( { key = \"optimizer.learning_rate\"; type = \"continuous\"; min = 1e-4; max = 0.3; } ); };\n";
    char text[800];
    snprintf(text, sizeof text, cosine_hb, "continue");
    st = load_cfg("e.cfg", text, &cfg, &err);
    ck_assert_int_eq(st, CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "e.cfg:3:") && strstr(err.msg, "cosine lr_schedule spans train.epochs"), "%s", err.msg);
    snprintf(text, sizeof text, cosine_hb, "auto");
    st = load_cfg("f.cfg", text, &cfg, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    ck_assert_int_eq(cfg.promote_continue, 0);
    cf_tune_config_free(&cfg);
    char plain[800];
    snprintf(plain, sizeof plain, "train = { epochs = 9; };\n%s", strstr(text, "tune = {"));
    st = load_cfg("g.cfg", plain, &cfg, &err); /* no schedule: continue */
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    ck_assert_int_eq(cfg.promote_continue, 1);
    cf_tune_config_free(&cfg);

    /* a good one: epochs come from train.epochs, metric maps to the JSON key */
    st = load_cfg("d.cfg",
                  "train = { epochs = 7; };\n"
                  "tune = { strategy = \"random\"; objective = { metric = \"validation:accuracy\"; goal = \"maximize\"; };\n"
                  "  parameters = ( { key = \"optimizer.plugin\"; type = \"categorical\"; values = [\"sgd\", \"adam\"]; },\n"
                  "                 { key = \"optimizer.learning_rate\"; type = \"continuous\"; min = 1e-4; max = 0.3; scale = \"log\"; } ); };\n",
                  &cfg, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    ck_assert_int_eq(cfg.epochs, 7);
    ck_assert_str_eq(cfg.objective.json_key, "validation_accuracy");
    ck_assert_int_eq(cfg.space.p[0].n_values, 2);
    ck_assert_int_eq(cfg.space.p[1].scale, CF_TS_LOG);
    cf_tune_config_free(&cfg);
    rm_tmp();
}
END_TEST

/* ---- strategies ---------------------------------------------------------------- */
START_TEST(test_grid_enumerates)
{
    make_tmp();
    cf_tune_config cfg;
    cf_error err = {0};
    cf_status st = load_cfg("g.cfg",
                            "tune = { strategy = \"grid\"; max_parallel = 2;\n"
                            "  objective = { metric = \"validation:loss\"; goal = \"minimize\"; };\n"
                            "  parameters = ( { key = \"opt\"; type = \"categorical\"; values = [\"sgd\", \"adam\", \"rmsprop\"]; },\n"
                            "                 { key = \"bs\"; type = \"integer\"; min = 2; max = 3; },\n"
                            "                 { key = \"lr\"; type = \"continuous\"; min = 0.001; max = 0.1; steps = 3; scale = \"log\"; } ); };\n",
                            &cfg, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    ck_assert_int_eq(cfg.max_trials, 0); /* grid: the whole grid */
    fake f = {&cfg, 1, .fail_id = -1};
    cf_tune_runner r = fake_runner(&f);
    cf_study *s = run_study(&cfg, "g", &r, 0, 0, &st, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    ck_assert_int_eq(cf_study_count(s), 18);
    ck_assert_str_eq(cf_study_stop_reason(s), "search space exhausted");
    static const double lrs[3] = {0.001, 0.01, 0.1};
    int seen[3][2][3] = {{{0}}};
    for (int i = 0; i < 18; i++) {
        const cf_trial *t = cf_study_trial(s, i);
        ck_assert_int_eq(t->state, CF_TRIAL_DONE);
        int li = -1;
        for (int k = 0; k < 3; k++)
            if (fabs(t->x[2] - lrs[k]) < 1e-12) li = k;
        ck_assert_int_ge(li, 0);
        seen[(int)t->x[0]][(int)t->x[1] - 2][li]++;
    }
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 3; c++) ck_assert_int_eq(seen[a][b][c], 1);
    cf_study_close(s);
    cf_tune_config_free(&cfg);
    /* a continuous range without steps is refused */
    st = load_cfg("g2.cfg",
                  "tune = { strategy = \"grid\"; objective = { metric = \"validation:loss\"; goal = \"minimize\"; };\n"
                  "  parameters = ( { key = \"lr\"; type = \"continuous\"; min = 0.0; max = 1.0; } ); };\n",
                  &cfg, &err);
    ck_assert_int_eq(st, CF_OK);
    cf_tune_strategy strat;
    st = cf_strategy_grid(&strat, &cfg, &err);
    ck_assert_int_eq(st, CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "steps"), "%s", err.msg);
    cf_tune_config_free(&cfg);
    rm_tmp();
}
END_TEST

static void proposals(const char *strategy, int parallel, int lifo, uint64_t seed, int n, double *out)
{
    cf_tune_config cfg;
    cf_error err = {0};
    char text[2000];
    snprintf(text, sizeof text,
             "tune = { strategy = \"%s\"; max_trials = %d; max_parallel = %d; seed = %llu;\n"
             "  objective = { metric = \"validation:loss\"; goal = \"minimize\"; };\n"
             "  parameters = ( { key = \"a\"; type = \"continuous\"; min = 0.0; max = 1.0; },\n"
             "                 { key = \"b\"; type = \"integer\"; min = 1; max = 100; scale = \"log\"; },\n"
             "                 { key = \"c\"; type = \"categorical\"; values = [\"u\", \"v\", \"w\"]; } ); };\n",
             strategy, n, parallel, (unsigned long long)seed);
    cf_status st = load_cfg("p.cfg", text, &cfg, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    fake f = {&cfg, lifo, .fail_id = -1};
    cf_tune_runner r = fake_runner(&f);
    char sub[64];
    static int run;
    snprintf(sub, sizeof sub, "p%d", run++);
    cf_study *s = run_study(&cfg, sub, &r, 0, 0, &st, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    ck_assert_int_eq(cf_study_count(s), n);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) out[i * 3 + k] = cf_study_trial(s, i)->x[k];
    cf_study_close(s);
    cf_tune_config_free(&cfg);
}

START_TEST(test_random_reproducible)
{
    make_tmp();
    double a[60], b[60], c[60];
    proposals("random", 1, 0, 7, 20, a);
    proposals("random", 4, 1, 7, 20, b); /* other parallelism, other finishing order */
    proposals("random", 1, 0, 8, 20, c);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert_int_ne(memcmp(a, c, sizeof a), 0);
    for (int i = 0; i < 20; i++) {
        ck_assert(a[i * 3] >= 0 && a[i * 3] <= 1);
        ck_assert(a[i * 3 + 1] >= 1 && a[i * 3 + 1] <= 100 && a[i * 3 + 1] == floor(a[i * 3 + 1]));
        ck_assert(a[i * 3 + 2] >= 0 && a[i * 3 + 2] <= 2 && a[i * 3 + 2] == floor(a[i * 3 + 2]));
    }
    rm_tmp();
}
END_TEST

START_TEST(test_bayes_order_independent)
{
    make_tmp();
    /* 3 workers finishing first-in-first-out vs last-in-first-out: the
     * proposals must not change. */
    double a[48], b[48];
    proposals("bayesian", 3, 0, 5, 16, a);
    proposals("bayesian", 3, 1, 5, 16, b);
    ck_assert_mem_eq(a, b, sizeof a);
    /* and no configuration is proposed twice */
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < i; j++)
            ck_assert(a[i * 3] != a[j * 3] || a[i * 3 + 1] != a[j * 3 + 1] || a[i * 3 + 2] != a[j * 3 + 2]);
    rm_tmp();
}
END_TEST

START_TEST(test_bayes_branin)
{
    make_tmp();
    cf_tune_config cfg;
    cf_error err = {0};
    char text[1000];
    snprintf(text, sizeof text,
             "tune = { strategy = \"bayesian\"; max_trials = 30; seed = 3;\n"
             "  objective = { function = \"branin\"; };\n%s};\n",
             BRANIN_PARAMS);
    cf_status st = load_cfg("b.cfg", text, &cfg, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    cf_study *s = run_study(&cfg, "b", NULL, 1, 0, &st, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    int b = cf_study_best(s);
    double regret = cf_study_trial(s, b)->value - cf_tune_synthetic_optimum(CF_SYN_BRANIN);
    ck_assert_msg(regret < 0.05, "Branin regret after 30 evaluations: %g", regret);
    cf_study_close(s);
    cf_tune_config_free(&cfg);
    rm_tmp();
}
END_TEST

/* A converged well (8 points, the last 3 no better) is peeled; the far
 * points stay; a well whose last member improved it is not converged. */
START_TEST(test_peel_basins)
{
    double Z[10], y[10], ls = 0.1, cen[10];
    unsigned char in[10];
    for (int i = 0; i < 8; i++) {
        Z[i] = 0.2 + 0.01 * i;
        y[i] = i == 4 ? -3.0 : -2.0 - 0.1 * (i % 3);
    }
    Z[8] = 0.9;
    y[8] = -0.5;
    Z[9] = 0.7;
    y[9] = 0.0;
    ck_assert_int_eq(cf_tune_peel_basins(10, 1, Z, y, &ls, 0.1, 8, 3, 0.003, cen, in), 1);
    ck_assert_double_eq(cen[0], Z[4]);
    for (int i = 0; i < 8; i++) ck_assert_int_eq(in[i], 1);
    ck_assert_int_eq(in[8], 0);
    ck_assert_int_eq(in[9], 0);
    y[7] = -3.5; /* the newest member improved the well: keep refining it */
    ck_assert_int_eq(cf_tune_peel_basins(10, 1, Z, y, &ls, 0.1, 8, 3, 0.003, cen, in), 0);
    for (int i = 0; i < 10; i++) ck_assert_int_eq(in[i], 0);
}
END_TEST

/* Hartmann-6 seed 16: plain BO stays in the -3.20 local well (regret 0.12,
 * bench/RESULTS.md); with restart proposals it finds the global well
 * (regret 4.0e-3 from `clforge tune`, 1.1e-2 in this harness). */
START_TEST(test_bayes_restart_hartmann6)
{
    make_tmp();
    double regret[2];
    for (int r = 0; r < 2; r++) {
        cf_tune_config cfg;
        cf_error err = {0};
        char text[1200];
        snprintf(text, sizeof text,
                 "tune = { strategy = \"bayesian\"; max_trials = 60; seed = 16; restart_period = %d;\n"
                 "  objective = { function = \"hartmann6\"; };\n  parameters = (\n"
                 "    { key = \"x1\"; type = \"continuous\"; min = 0.0; max = 1.0; },\n"
                 "    { key = \"x2\"; type = \"continuous\"; min = 0.0; max = 1.0; },\n"
                 "    { key = \"x3\"; type = \"continuous\"; min = 0.0; max = 1.0; },\n"
                 "    { key = \"x4\"; type = \"continuous\"; min = 0.0; max = 1.0; },\n"
                 "    { key = \"x5\"; type = \"continuous\"; min = 0.0; max = 1.0; },\n"
                 "    { key = \"x6\"; type = \"continuous\"; min = 0.0; max = 1.0; } ); };\n",
                 r ? 3 : 0);
        cf_status st = load_cfg("h.cfg", text, &cfg, &err);
        ck_assert_msg(st == CF_OK, "%s", err.msg);
        cf_study *s = run_study(&cfg, r ? "hr" : "h0", NULL, 1, 0, &st, &err);
        ck_assert_msg(st == CF_OK, "%s", err.msg);
        regret[r] = cf_study_trial(s, cf_study_best(s))->value - cf_tune_synthetic_optimum(CF_SYN_HARTMANN6);
        cf_study_close(s);
        cf_tune_config_free(&cfg);
    }
    ck_assert_msg(regret[0] > 0.1, "without restarts: regret %g (expected the local well)", regret[0]);
    ck_assert_msg(regret[1] < 0.05, "with restart_period = 3: regret %g", regret[1]);
    rm_tmp();
}
END_TEST

/* ---- GP and EI -------------------------------------------------------------------- */
START_TEST(test_gp_two_points)
{
    /* X = {0, 1}, y = {1, -1}; ls 0.5, signal 1, noise 1e-6 (standardised
     * units); posterior at 0.25 by hand with the 2x2 inverse. */
    double X[2] = {0.0, 1.0}, y[2] = {1.0, -1.0};
    cf_gp gp = {0};
    cf_error err = {0};
    ck_assert_int_eq(cf_gp_set_data(&gp, 2, 1, X, y, &err), CF_OK);
    ck_assert_double_eq_tol(gp.y_mean, 0.0, 1e-15);
    ck_assert_double_eq_tol(gp.y_sd, sqrt(2.0), 1e-15);
    gp.ls[0] = 0.5;
    gp.signal = 1.0;
    gp.noise = 1e-6;
    ck_assert_int_eq(cf_gp_factor(&gp, &err), CF_OK);
    double k01, ka, kb;
    {
        double r = 1.0 / 0.5;
        k01 = (1 + sqrt(5) * r + 5.0 / 3 * r * r) * exp(-sqrt(5) * r);
        r = 0.25 / 0.5;
        ka = (1 + sqrt(5) * r + 5.0 / 3 * r * r) * exp(-sqrt(5) * r);
        r = 0.75 / 0.5;
        kb = (1 + sqrt(5) * r + 5.0 / 3 * r * r) * exp(-sqrt(5) * r);
    }
    double d = 1.0 + 1e-6 + 1e-9; /* signal + noise + jitter */
    double det = d * d - k01 * k01;
    double ys[2] = {1 / sqrt(2.0), -1 / sqrt(2.0)};
    /* K^-1 = [d -k01; -k01 d] / det */
    double a0 = (d * ys[0] - k01 * ys[1]) / det, a1 = (-k01 * ys[0] + d * ys[1]) / det;
    double mean_s = ka * a0 + kb * a1;
    double quad = (d * ka * ka - 2 * k01 * ka * kb + d * kb * kb) / det;
    double var_s = 1.0 - quad;
    double m, v, x = 0.25;
    cf_gp_predict(&gp, &x, &m, &v);
    ck_assert_double_eq_tol(m, mean_s * sqrt(2.0), 1e-9);
    ck_assert_double_eq_tol(v, var_s * 2.0, 1e-9);
    /* at an observed point: the observation, (almost) no variance */
    x = 0.0;
    cf_gp_predict(&gp, &x, &m, &v);
    ck_assert_double_eq_tol(m, 1.0, 1e-5);
    ck_assert(v < 1e-5);
    /* the log marginal likelihood by hand: -1/2 y'K^-1y - 1/2 log det - log 2pi */
    double lml = -0.5 * (ys[0] * a0 + ys[1] * a1) - 0.5 * log(det) - log(2 * M_PI);
    ck_assert_double_eq_tol(cf_gp_log_marginal(&gp, NULL), lml, 1e-9);
    cf_gp_free(&gp);
}
END_TEST

START_TEST(test_gp_gls_mean)
{
    /* Two nearly identical points at y = 1 and one far away at y = -1: the
     * prior mean is the GLS estimate, which counts the cluster about once
     * (close to 0), not the data mean 1/3. Far from the data (ls 0.05) the
     * posterior mean is that prior mean. */
    double X[3] = {0.0, 0.01, 1.0}, y[3] = {1.0, 1.0, -1.0};
    cf_gp gp = {0};
    cf_error err = {0};
    ck_assert_int_eq(cf_gp_set_data(&gp, 3, 1, X, y, &err), CF_OK);
    gp.ls[0] = 0.05;
    gp.signal = 1.0;
    gp.noise = 1e-6;
    ck_assert_int_eq(cf_gp_factor(&gp, &err), CF_OK);
    double r = 0.01 / 0.05;
    double c = (1 + sqrt(5) * r + 5.0 / 3 * r * r) * exp(-sqrt(5) * r);
    double d = 1.0 + 1e-6 + 1e-9;
    /* K^-1 1 = (1/(d+c), 1/(d+c), 1/d) up to the ~1e-8 far correlations */
    double mu = (2.0 / (d + c) - 1.0 / d) / (2.0 / (d + c) + 1.0 / d);
    double m, v, x = 0.5;
    cf_gp_predict(&gp, &x, &m, &v);
    ck_assert_double_eq_tol(m, mu, 1e-6);
    ck_assert(fabs(m - 1.0 / 3.0) > 0.3);
    /* observed points are still interpolated */
    x = 1.0;
    cf_gp_predict(&gp, &x, &m, &v);
    ck_assert_double_eq_tol(m, -1.0, 1e-5);
    cf_gp_free(&gp);
}
END_TEST

START_TEST(test_ei_zero_at_observed_max)
{
    /* Maximising f: the GP models -f. Fit on noiseless data; at the observed
     * best point the improvement is zero. */
    double X[6] = {0.0, 0.2, 0.4, 0.6, 0.8, 1.0}, f[6], y[6];
    for (int i = 0; i < 6; i++) {
        f[i] = sin(3 * X[i]);
        y[i] = -f[i];
    }
    cf_gp gp = {0};
    cf_error err = {0};
    ck_assert_int_eq(cf_gp_set_data(&gp, 6, 1, X, y, &err), CF_OK);
    ck_assert_int_eq(cf_gp_fit(&gp, 1, 1, &err), CF_OK); /* noise fixed at its floor */
    int bi = 0;
    for (int i = 1; i < 6; i++)
        if (y[i] < y[bi]) bi = i;
    double m, v;
    cf_gp_predict(&gp, &X[bi], &m, &v);
    double ei = cf_ei(m, sqrt(v), y[bi]);
    /* zero up to the 1e-9 diagonal jitter, against EI elsewhere */
    double emax = 0;
    for (double x = 0; x <= 1.0; x += 0.01) {
        cf_gp_predict(&gp, &x, &m, &v);
        double e = cf_ei(m, sqrt(v), y[bi]);
        if (e > emax) emax = e;
    }
    ck_assert_msg(ei < 1e-4 && ei < 1e-2 * emax, "EI at the observed maximum: %g (max elsewhere %g)", ei, emax);
    ck_assert_double_eq(cf_ei(0.5, 0.0, 0.5), 0.0);
    ck_assert(cf_log_ei(0.5, 0.0, 0.5) == -INFINITY);
    /* log EI agrees with log(EI) where EI is representable, and stays finite far out */
    for (double z = -30; z <= 3; z += 0.5) {
        double e = cf_ei(0.0, 1.0, z);
        if (e > 1e-280) ck_assert_double_eq_tol(cf_log_ei(0.0, 1.0, z), log(e), 1e-6 * fabs(log(e)) + 1e-9);
    }
    ck_assert(isfinite(cf_log_ei(0.0, 1.0, -60.0)));
    ck_assert(cf_log_ei(0.0, 1.0, -60.0) < cf_log_ei(0.0, 1.0, -50.0));
    cf_gp_free(&gp);
}
END_TEST

/* ---- hyperband / asha ----------------------------------------------------------------- */
START_TEST(test_hyperband_table)
{
    /* Li et al. 2018, Table 1 (R = 81, eta = 3). */
    static const int want[5][5][2] = {
        {{81, 1}, {27, 3}, {9, 9}, {3, 27}, {1, 81}},
        {{34, 3}, {11, 9}, {3, 27}, {1, 81}},
        {{15, 9}, {5, 27}, {1, 81}},
        {{8, 27}, {2, 81}},
        {{5, 81}},
    };
    ck_assert_int_eq(cf_hyperband_smax(1, 81, 3), 4);
    for (int b = 0; b < 5; b++) {
        cf_hb_rung r[8];
        int n = cf_hyperband_bracket(1, 81, 3, b, r, 8);
        ck_assert_int_eq(n, 5 - b);
        for (int i = 0; i < n; i++) {
            ck_assert_int_eq(r[i].n, want[b][i][0]);
            ck_assert_int_eq(r[i].r, want[b][i][1]);
        }
    }
}
END_TEST

START_TEST(test_hyperband_study)
{
    make_tmp();
    cf_tune_config cfg;
    cf_error err = {0};
    char text[1000];
    /* R = 9, eta = 3: brackets 9x1 3x3 1x9 | 5x3 1x9 | 3x9 = 22 trials */
    snprintf(text, sizeof text,
             "tune = { strategy = \"hyperband\"; max_trials = 100; max_parallel = 2; seed = 1;\n"
             "  min_epochs = 1; max_epochs = 9; eta = 3;\n"
             "  objective = { function = \"branin\"; curve = 5.0; };\n%s};\n",
             BRANIN_PARAMS);
    cf_status st = load_cfg("h.cfg", text, &cfg, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    cf_study *s = run_study(&cfg, "h", NULL, 1, 0, &st, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    ck_assert_int_eq(cf_study_count(s), 22);
    int per[3][3] = {{0}}, epochs = 0;
    for (int i = 0; i < 22; i++) {
        const cf_trial *t = cf_study_trial(s, i);
        ck_assert_int_eq(t->state, CF_TRIAL_DONE);
        per[t->bracket][t->rung]++;
        epochs += t->n_curve - t->start_epoch;
        ck_assert_int_eq(t->n_curve, t->epochs);
        if (t->rung > 0) {
            /* promoted from the top of the rung below, continuing its run: the
             * curve starts with the parent's */
            const cf_trial *p = cf_study_trial(s, t->parent);
            ck_assert_int_eq(p->rung, t->rung - 1);
            ck_assert_int_eq(p->bracket, t->bracket);
            ck_assert_mem_eq(p->x, t->x, sizeof(double) * 2);
            ck_assert_int_eq(t->start_epoch, p->epochs);
            ck_assert_mem_eq(t->curve, p->curve, sizeof(double) * (size_t)p->epochs);
            int better = 0;
            for (int j = 0; j < 22; j++) {
                const cf_trial *u = cf_study_trial(s, j);
                if (u->bracket == p->bracket && u->rung == p->rung && u->value < p->value) better++;
            }
            ck_assert_int_lt(better, t->bracket == 0 ? (t->rung == 1 ? 3 : 1) : 1);
        }
    }
    ck_assert_int_eq(per[0][0], 9);
    ck_assert_int_eq(per[0][1], 3);
    ck_assert_int_eq(per[0][2], 1);
    ck_assert_int_eq(per[1][0], 5);
    ck_assert_int_eq(per[1][1], 1);
    ck_assert_int_eq(per[2][0], 3);
    /* s = 2: 9x1, 3x(3-1), 1x(9-3); s = 1: 5x3, 1x(9-3); s = 0: 3x9 */
    ck_assert_int_eq(epochs, 9 + 6 + 6 + 15 + 6 + 27);
    ck_assert_int_eq(cf_study_total_epochs(s), epochs);
    /* the best is judged among full-budget trials only */
    ck_assert_int_eq(cf_study_trial(s, cf_study_best(s))->epochs, 9);
    cf_study_close(s);
    cf_tune_config_free(&cfg);
    rm_tmp();
}
END_TEST

/* tune.brackets truncates or cycles the bracket sequence s_max ... 0: the budget the
 * hyperband-vs-random bench relies on (R = 9: 2 brackets = 21 + 21 = 42 epochs when
 * promotions continue, 27 + 24 = 51 when they retrain). */
START_TEST(test_hyperband_brackets)
{
    static const struct {
        int brackets;
        const char *promotion;
        int trials, epochs, s_of[4];
    } cases[] = {
        {2, "continue", 19, 21 + 21, {2, 1}},
        {2, "restart", 19, 27 + 24, {2, 1}},
        {4, "auto", 22 + 13, 21 + 21 + 27 + 21, {2, 1, 0, 2}}, /* the fourth bracket is s_max again */
        {4, "restart", 22 + 13, 27 + 24 + 27 + 27, {2, 1, 0, 2}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        make_tmp();
        cf_tune_config cfg;
        cf_error err = {0};
        char text[1000];
        snprintf(text, sizeof text,
                 "tune = { strategy = \"hyperband\"; max_trials = 100; max_parallel = 1; seed = 3;\n"
                 "  min_epochs = 1; max_epochs = 9; eta = 3; brackets = %d; promotion = \"%s\";\n"
                 "  objective = { function = \"branin\"; curve = 5.0; };\n%s};\n",
                 cases[c].brackets, cases[c].promotion, BRANIN_PARAMS);
        cf_status st = load_cfg("hb.cfg", text, &cfg, &err);
        ck_assert_msg(st == CF_OK, "%s", err.msg);
        cf_study *s = run_study(&cfg, "hb", NULL, 1, 0, &st, &err);
        ck_assert_msg(st == CF_OK, "%s", err.msg);
        ck_assert_int_eq(cf_study_count(s), cases[c].trials);
        ck_assert_int_eq(cf_study_total_epochs(s), cases[c].epochs);
        /* each bracket's first rung has the size and budget of its s */
        for (int g = 0; g < cases[c].brackets; g++) {
            int n0 = 0, r0 = -1;
            for (int i = 0; i < cf_study_count(s); i++) {
                const cf_trial *t = cf_study_trial(s, i);
                if (t->bracket != g || t->rung != 0) continue;
                n0++;
                r0 = t->epochs;
            }
            int sg = cases[c].s_of[g];
            ck_assert_int_eq(n0, sg == 2 ? 9 : sg == 1 ? 5 : 3);
            ck_assert_int_eq(r0, sg == 2 ? 1 : sg == 1 ? 3 : 9);
        }
        cf_study_close(s);
        cf_tune_config_free(&cfg);
        rm_tmp();
    }
}
END_TEST

/* tune.max_total_epochs plans hyperband's brackets: they cycle s_max ... 0 and the
 * first that does not fit keeps the largest n whose epochs fit (the bench's budget:
 * a third of random search's 20 x 9 = 180 epochs is 21 + 21 + 2 x 9 = 60). */
START_TEST(test_hyperband_budget)
{
    static const struct {
        int budget, brackets;
        const char *promotion;
        int n0[5], epochs;
    } cases[] = {
        {60, 0, "continue", {9, 5, 2}, 21 + 21 + 18},
        {60, 0, "restart", {9, 5, 1}, 27 + 24 + 9},
        {100, 0, "continue", {9, 5, 3, 9}, 21 + 21 + 27 + 21}, /* 10 left: s = 1 needs 15 */
        {60, 1, "continue", {9}, 21},                          /* brackets bounds it too */
        {30, 0, "continue", {9}, 21},                          /* 9 left: s = 1 needs 15 */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        make_tmp();
        cf_tune_config cfg;
        cf_error err = {0};
        char text[1000], br[40] = "";
        if (cases[c].brackets) snprintf(br, sizeof br, "brackets = %d;", cases[c].brackets);
        snprintf(text, sizeof text,
                 "tune = { strategy = \"hyperband\"; max_trials = 1000; max_parallel = 2; seed = 5;\n"
                 "  min_epochs = 1; max_epochs = 9; eta = 3; max_total_epochs = %d; %s promotion = \"%s\";\n"
                 "  objective = { function = \"branin\"; curve = 5.0; };\n%s};\n",
                 cases[c].budget, br, cases[c].promotion, BRANIN_PARAMS);
        cf_status st = load_cfg("hb.cfg", text, &cfg, &err);
        ck_assert_msg(st == CF_OK, "%s", err.msg);
        /* the plan */
        long left = cfg.max_total_epochs;
        int g = 0, trials = 0;
        cf_hb_rung r[8];
        for (int nr; (nr = cf_hyperband_planned(&cfg, g, &left, r, 8)) > 0; g++) {
            ck_assert_int_lt(g, 5);
            ck_assert_int_eq(r[0].n, cases[c].n0[g]);
            ck_assert_int_ge(r[nr - 1].n, 1);
            for (int i = 0; i < nr; i++) trials += r[i].n;
        }
        ck_assert_int_eq(g < 5 ? cases[c].n0[g] : 0, 0);
        ck_assert_int_eq(cfg.max_total_epochs - left, cases[c].epochs);
        /* the study spends exactly that */
        cf_study *s = run_study(&cfg, "hb", NULL, 1, 0, &st, &err);
        ck_assert_msg(st == CF_OK, "%s", err.msg);
        ck_assert_int_eq(cf_study_count(s), trials);
        ck_assert_int_eq(cf_study_total_epochs(s), cases[c].epochs);
        ck_assert_str_eq(cf_study_stop_reason(s), cases[c].brackets ? "every hyperband bracket ran"
                                                                   : "every hyperband bracket that fits in max_total_epochs ran");
        cf_study_close(s);
        cf_tune_config_free(&cfg);
        rm_tmp();
    }

    /* too small for even the smallest first bracket: an error at the key */
    make_tmp();
    cf_tune_config cfg;
    cf_error err = {0};
    char text[1000];
    snprintf(text, sizeof text,
             "tune = { strategy = \"hyperband\"; min_epochs = 1; max_epochs = 9; eta = 3;\n"
             "  max_total_epochs = 20;\n  objective = { function = \"branin\"; };\n%s};\n",
             BRANIN_PARAMS);
    cf_status st = load_cfg("small.cfg", text, &cfg, &err);
    ck_assert_int_eq(st, CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "small.cfg:2:") && strstr(err.msg, "needs 21 epochs"), "%s", err.msg);
    rm_tmp();
}
END_TEST

/* Any strategy: a trial that would take the study past max_total_epochs is not
 * launched; trials pruned by the median rule only count the epochs they ran. */
START_TEST(test_epoch_budget)
{
    make_tmp();
    cf_tune_config cfg;
    cf_error err = {0};
    char text[1000];
    snprintf(text, sizeof text,
             "tune = { strategy = \"random\"; max_trials = 100; max_parallel = 2; seed = 4; epochs = 5;\n"
             "  early_stopping = \"auto\"; early_stopping_min_epochs = 2; max_total_epochs = 47;\n"
             "  objective = { function = \"branin\"; curve = 10.0; };\n%s};\n",
             BRANIN_PARAMS);
    cf_status st = load_cfg("b.cfg", text, &cfg, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    cf_study *s = run_study(&cfg, "b", NULL, 1, 0, &st, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    int e = cf_study_total_epochs(s), pruned = 0;
    for (int i = 0; i < cf_study_count(s); i++) pruned += cf_study_trial(s, i)->state == CF_TRIAL_PRUNED;
    ck_assert_int_gt(pruned, 0);
    ck_assert_int_gt(cf_study_count(s), 47 / 5); /* pruning left room for more trials */
    ck_assert_int_le(e, 47);
    ck_assert_int_gt(e + 5, 47); /* the next trial did not fit */
    ck_assert_str_eq(cf_study_stop_reason(s), "max_total_epochs reached");
    cf_study_close(s);
    cf_tune_config_free(&cfg);
    rm_tmp();
}
END_TEST

START_TEST(test_asha_study)
{
    make_tmp();
    cf_tune_config cfg;
    cf_error err = {0};
    char text[1000];
    snprintf(text, sizeof text,
             "tune = { strategy = \"asha\"; max_trials = 40; max_parallel = 1; seed = 2;\n"
             "  min_epochs = 1; max_epochs = 9; eta = 3;\n"
             "  objective = { function = \"branin\"; curve = 5.0; };\n%s};\n",
             BRANIN_PARAMS);
    cf_status st = load_cfg("a.cfg", text, &cfg, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    cf_study *s = run_study(&cfg, "a", NULL, 1, 0, &st, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    ck_assert_int_eq(cf_study_count(s), 40);
    int rung[3] = {0};
    for (int i = 0; i < 40; i++) {
        const cf_trial *t = cf_study_trial(s, i);
        rung[t->rung]++;
        ck_assert_int_eq(t->epochs, t->rung == 0 ? 1 : t->rung == 1 ? 3 : 9);
        if (t->rung > 0) {
            /* at promotion time it was in the top third of its rung */
            const cf_trial *p = cf_study_trial(s, t->parent);
            int before = 0, better = 0;
            for (int j = 0; j < t->id; j++) {
                const cf_trial *u = cf_study_trial(s, j);
                if (u->rung != p->rung) continue;
                before++;
                better += u->value < p->value;
            }
            ck_assert_int_lt(better, before / 3);
        }
    }
    ck_assert_int_gt(rung[1], 0);
    ck_assert_int_gt(rung[2], 0);
    ck_assert_int_le(rung[1], rung[0] / 3);
    cf_study_close(s);
    cf_tune_config_free(&cfg);
    rm_tmp();
}
END_TEST

/* ---- median rule -------------------------------------------------------------------- */
START_TEST(test_median_rule)
{
    /* minimise; earlier trials' running averages at epoch 2:
     *   A: 1.0 0.6 -> 0.8   B: 0.9 0.5 -> 0.7   C: 2.0 1.6 -> 1.8   D: 0.8 (only 1 epoch) */
    double ca[] = {1.0, 0.6, 0.4}, cb[] = {0.9, 0.5, 0.3}, cc[] = {2.0, 1.6, 1.5}, cd[] = {0.8};
    cf_trial A = {.curve = ca, .n_curve = 3}, B = {.curve = cb, .n_curve = 3}, C = {.curve = cc, .n_curve = 3},
             D = {.curve = cd, .n_curve = 1};
    const cf_trial *pool[] = {&A, &B, &C, &D};
    /* median at epoch 2 over A, B, C = 0.8 */
    double cx[] = {1.2, 0.85}, cy[] = {1.2, 0.75};
    cf_trial X = {.curve = cx, .n_curve = 2}, Y = {.curve = cy, .n_curve = 2};
    ck_assert(cf_median_should_stop(pool, 4, &X, 2, 0, 1, 3));  /* 0.85 > 0.8: stop */
    ck_assert(!cf_median_should_stop(pool, 4, &Y, 2, 0, 1, 3)); /* 0.75 < 0.8: go on */
    ck_assert(!cf_median_should_stop(pool, 4, &X, 2, 0, 3, 3)); /* min epoch 3 not reached */
    ck_assert(!cf_median_should_stop(pool, 4, &X, 2, 0, 1, 4)); /* only 3 trials reached epoch 2 */
    /* epoch 1: median of 1.0, 0.9, 2.0, 0.8 = 0.95; X has 1.2 -> stop */
    ck_assert(cf_median_should_stop(pool, 4, &X, 1, 0, 1, 3));
    /* maximise: the same numbers, the other way round */
    ck_assert(cf_median_should_stop(pool, 4, &Y, 2, 1, 1, 3));
    ck_assert(!cf_median_should_stop(pool, 4, &X, 2, 1, 1, 3));
}
END_TEST

START_TEST(test_median_in_study)
{
    make_tmp();
    cf_tune_config cfg;
    cf_error err = {0};
    char text[1000];
    snprintf(text, sizeof text,
             "tune = { strategy = \"random\"; max_trials = 20; seed = 4; epochs = 5;\n"
             "  early_stopping = \"auto\"; early_stopping_min_epochs = 2;\n"
             "  objective = { function = \"branin\"; curve = 10.0; };\n%s};\n",
             BRANIN_PARAMS);
    cf_status st = load_cfg("m.cfg", text, &cfg, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    cf_study *s = run_study(&cfg, "m", NULL, 1, 0, &st, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    int pruned = 0;
    for (int i = 0; i < cf_study_count(s); i++) {
        const cf_trial *t = cf_study_trial(s, i);
        if (t->state != CF_TRIAL_PRUNED) {
            ck_assert_int_eq(t->n_curve, 5);
            continue;
        }
        pruned++;
        ck_assert_int_ge(t->pruned_epoch, 2);
        ck_assert_int_lt(t->pruned_epoch, 5);
        ck_assert_int_eq(t->n_curve, t->pruned_epoch);
        ck_assert_int_ge(t->id, 3); /* needs 3 earlier trials */
    }
    ck_assert_int_gt(pruned, 3);
    cf_study_close(s);
    cf_tune_config_free(&cfg);
    rm_tmp();
}
END_TEST

/* ---- processes: crashes, NaN, timeouts, resume after SIGKILL ------------------------- */
START_TEST(test_failing_trials)
{
    make_tmp();
    cf_tune_config cfg;
    cf_error err = {0};
    char text[1200];
    snprintf(text, sizeof text,
             "tune = { strategy = \"random\"; max_trials = 16; max_parallel = 4; seed = 11; epochs = 2;\n"
             "  trial_timeout = 1.0;\n"
             "  objective = { function = \"branin\"; fail_crash = 0.2; fail_nan = 0.2; fail_hang = 0.15; };\n%s};\n",
             BRANIN_PARAMS);
    cf_status st = load_cfg("f.cfg", text, &cfg, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    cf_study *s = run_study(&cfg, "f", NULL, 0, 0, &st, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    ck_assert_int_eq(cf_study_count(s), 16);
    int crash = 0, nan = 0, hang = 0, ok = 0;
    for (int i = 0; i < 16; i++) {
        const cf_trial *t = cf_study_trial(s, i);
        if (t->state == CF_TRIAL_DONE) {
            ok++;
            double x[2] = {t->x[0], t->x[1]};
            ck_assert_double_eq_tol(t->value, cf_tune_synthetic_eval(CF_SYN_BRANIN, x), 1e-9);
            continue;
        }
        ck_assert_int_eq(t->state, CF_TRIAL_FAILED);
        if (strstr(t->reason, "signal 11")) crash++;
        else if (strstr(t->reason, "NaN")) nan++;
        else if (strstr(t->reason, "timeout")) hang++;
        else ck_abort_msg("unexpected failure reason: %s", t->reason);
    }
    ck_assert_int_gt(crash, 0);
    ck_assert_int_gt(nan, 0);
    ck_assert_int_gt(hang, 0);
    ck_assert_int_gt(ok, 0);
    ck_assert_int_ge(cf_study_best(s), 0);
    cf_study_close(s);
    /* the outputs exist */
    char p[400];
    snprintf(p, sizeof p, "%s/f/trials.csv", g_tmp);
    ck_assert_int_eq(access(p, R_OK), 0);
    snprintf(p, sizeof p, "%s/f/tune_report.html", g_tmp);
    ck_assert_int_eq(access(p, R_OK), 0);
    snprintf(p, sizeof p, "%s/f/best.cfg", g_tmp);
    ck_assert_int_eq(access(p, R_OK), 0);
    cf_tune_config_free(&cfg);
    rm_tmp();
}
END_TEST

static int count_lines(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

START_TEST(test_resume_after_sigkill)
{
    /* bayesian (14 trials x 3 epochs), and hyperband, whose promoted trials
     * continue their parents' runs (R = 9, one bracket: 9 + 3 + 1 = 13 trials) */
    static const char *const kinds[] = {
        "strategy = \"bayesian\"; max_trials = 14; epochs = 3; initial_trials = 4;",
        "strategy = \"hyperband\"; max_trials = 100; min_epochs = 1; max_epochs = 9; eta = 3; brackets = 1;"};
    static const int n_trials[] = {14, 13};
    for (int k = 0; k < 2; k++) {
        make_tmp();
        cf_tune_config cfg;
        cf_error err = {0};
        char text[1200];
        snprintf(text, sizeof text,
                 "tune = { %s max_parallel = 2; seed = 9;\n"
                 "  objective = { function = \"branin\"; epoch_seconds = 0.04; };\n%s};\n",
                 kinds[k], BRANIN_PARAMS);
        cf_status st = load_cfg("r.cfg", text, &cfg, &err);
        ck_assert_msg(st == CF_OK, "%s", err.msg);
        int N = n_trials[k];

        /* reference: uninterrupted */
        cf_study *ref = run_study(&cfg, "ref", NULL, 0, 0, &st, &err);
        ck_assert_msg(st == CF_OK, "%s", err.msg);
        ck_assert_int_eq(cf_study_count(ref), N);

        /* crashed run: the study in a child process, SIGKILLed after kill_after finished trials */
        char dir[400], journal[450];
        snprintf(dir, sizeof dir, "%s/crash", g_tmp);
        snprintf(journal, sizeof journal, "%s/journal.jsonl", dir);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            cf_error e2;
            cf_study *s = run_study(&cfg, "crash", NULL, 0, 0, &st, &e2);
            (void)s;
            _exit(0);
        }
        int kill_after = k == 0 ? 5 : 10; /* hyperband: while a promoted trial runs */
        for (int i = 0; i < 3000 && count_lines(journal, "\"finished\"") < kill_after; i++) usleep(5000);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        int finished_before = count_lines(journal, "\"finished\"");
        ck_assert_int_ge(finished_before, kill_after);
        ck_assert_int_lt(finished_before, N);

        cf_study *s = run_study(&cfg, "crash", NULL, 0, 1, &st, &err);
        ck_assert_msg(st == CF_OK, "%s", err.msg);
        ck_assert_int_eq(cf_study_count(s), N);
        /* nothing lost, nothing run twice: each trial proposed once, finished once */
        for (int i = 0; i < N; i++) {
            char needle[64];
            snprintf(needle, sizeof needle, "\"proposed\",\"trial\":%d,", i);
            ck_assert_int_eq(count_lines(journal, needle), 1);
            snprintf(needle, sizeof needle, "\"finished\",\"trial\":%d,", i);
            ck_assert_int_eq(count_lines(journal, needle), 1);
        }
        /* and the study is the one that would have run without the crash */
        for (int i = 0; i < N; i++) {
            const cf_trial *a = cf_study_trial(ref, i), *b = cf_study_trial(s, i);
            ck_assert_mem_eq(a->x, b->x, sizeof(double) * 2);
            ck_assert_double_eq(a->value, b->value);
            ck_assert_int_eq(b->n_curve, a->n_curve);
            ck_assert_int_eq(b->start_epoch, a->start_epoch);
            ck_assert_mem_eq(b->curve, a->curve, sizeof(double) * (size_t)a->n_curve);
        }
        ck_assert_int_eq(cf_study_total_epochs(s), cf_study_total_epochs(ref));
        cf_study_close(s);
        cf_study_close(ref);
        cf_tune_config_free(&cfg);
        rm_tmp();
    }
}
END_TEST

START_TEST(test_journal_torn_line)
{
    make_tmp();
    cf_tune_config cfg;
    cf_error err = {0};
    char text[1000];
    snprintf(text, sizeof text,
             "tune = { strategy = \"random\"; max_trials = 6; seed = 1;\n"
             "  objective = { function = \"branin\"; };\n%s};\n",
             BRANIN_PARAMS);
    cf_status st = load_cfg("t.cfg", text, &cfg, &err);
    ck_assert_int_eq(st, CF_OK);
    cf_study *s = run_study(&cfg, "t", NULL, 1, 0, &st, &err);
    ck_assert_int_eq(st, CF_OK);
    double v5 = cf_study_trial(s, 5)->value;
    cf_study_close(s);
    /* cut the journal mid-line: the last trial's result is lost, the rest kept */
    char path[400];
    snprintf(path, sizeof path, "%s/t/journal.jsonl", g_tmp);
    FILE *f = fopen(path, "r");
    char all[20000];
    size_t n = fread(all, 1, sizeof all - 1, f);
    fclose(f);
    all[n] = 0;
    char *last = strstr(all, "\"finished\",\"trial\":5,");
    ck_assert_ptr_nonnull(last);
    f = fopen(path, "w");
    fwrite(all, 1, (size_t)(last - all) + 10, f);
    fclose(f);
    cfg.max_trials = 6;
    s = run_study(&cfg, "t", NULL, 1, 1, &st, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    ck_assert_int_eq(cf_study_count(s), 6);
    ck_assert_double_eq(cf_study_trial(s, 5)->value, v5);
    cf_study_close(s);
    /* resuming with another study's settings is refused */
    cfg.seed = 2;
    s = run_study(&cfg, "t", NULL, 1, 1, &st, &err);
    ck_assert_int_eq(st, CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "different study"), "%s", err.msg);
    cf_tune_config_free(&cfg);
    rm_tmp();
}
END_TEST

/* Two tuners on one study directory: the second is refused, naming the
 * holder; once the first closes, --resume works (issue 17, item 13). */
START_TEST(test_study_lock)
{
    make_tmp();
    cf_tune_config cfg;
    cf_error err = {0};
    char text[1000];
    snprintf(text, sizeof text,
             "tune = { strategy = \"random\"; max_trials = 3; seed = 1;\n"
             "  objective = { function = \"branin\"; };\n%s};\n",
             BRANIN_PARAMS);
    cf_status st = load_cfg("t.cfg", text, &cfg, &err);
    ck_assert_int_eq(st, CF_OK);
    cf_study *s = run_study(&cfg, "t", NULL, 1, 0, &st, &err);
    ck_assert_int_eq(st, CF_OK);
    /* record locks belong to a process: the second tuner is a child */
    int fd[2];
    ck_assert_int_eq(pipe(fd), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        cf_error e2 = {0};
        cf_status st2;
        cf_study *s2 = run_study(&cfg, "t", NULL, 1, 1, &st2, &e2);
        ssize_t w = write(fd[1], e2.msg, strlen(e2.msg) + 1);
        _exit(s2 == NULL && st2 == CF_ERR_INVALID && w > 0 ? 0 : 1);
    }
    close(fd[1]);
    char msg[600] = "";
    ssize_t got = read(fd[0], msg, sizeof msg - 1);
    msg[got > 0 ? got : 0] = 0;
    close(fd[0]);
    int wst;
    waitpid(child, &wst, 0);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld on ", (long)getpid());
    ck_assert_msg(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "second tuner was not refused: %s", msg);
    ck_assert_msg(strstr(msg, "in use by another clforge tune") && strstr(msg, pid), "%s", msg);
    cf_study_close(s);
    cfg.max_trials = 4;
    s = run_study(&cfg, "t", NULL, 1, 1, &st, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    ck_assert_int_eq(cf_study_count(s), 4);
    cf_study_close(s);
    cf_tune_config_free(&cfg);
    rm_tmp();
}
END_TEST

START_TEST(test_best_cfg)
{
    make_tmp();
    cf_tune_config cfg;
    cf_error err = {0};
    cf_status st = load_cfg("base.cfg",
                            "model = { layers = ( { type = \"dense\"; name = \"fc1\"; units = 10; } ); };\n"
                            "optimizer = { plugin = \"sgd\"; learning_rate = 0.1; };\n"
                            "tune = { strategy = \"grid\";\n"
                            "  objective = { metric = \"validation:loss\"; goal = \"minimize\"; };\n"
                            "  parameters = ( { key = \"optimizer.plugin\"; type = \"categorical\"; values = [\"sgd\", \"adam\"]; },\n"
                            "                 { key = \"optimizer.learning_rate\"; type = \"continuous\"; min = 0.01; max = 0.1; steps = 2; },\n"
                            "                 { key = \"model.layers.fc1.units\"; type = \"integer\"; min = 3; max = 4; },\n"
                            "                 { key = \"train.new_group.flag\"; type = \"categorical\"; values = [true, false]; } ); };\n",
                            &cfg, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    fake f = {&cfg, 0, .fail_id = 3};
    cf_tune_runner r = fake_runner(&f);
    cf_study *s = run_study(&cfg, "bc", &r, 0, 0, &st, &err);
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    ck_assert_int_eq(cf_study_count(s), 16);
    ck_assert_int_eq(cf_study_trial(s, 3)->state, CF_TRIAL_FAILED);
    int b = cf_study_best(s);
    const cf_trial *t = cf_study_trial(s, b);
    cf_study_close(s);
    (void)t;
    char path[400];
    snprintf(path, sizeof path, "%s/bc/best.cfg", g_tmp);
    /* load it back with libconfig through the tune loader's reader: no tune group */
    cf_tune_config again;
    st = cf_tune_config_load(path, &again, &err);
    ck_assert_int_eq(st, CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "no 'tune"), "%s", err.msg);
    FILE *fp = fopen(path, "r");
    char buf[4000];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    /* the minimum of fake_f, sum of (x_i - 0.3 i)^2: plugin index 0 (sgd),
     * lr 0.1 (nearer 0.3), units 3 (nearer 0.6), flag index 1 (false, nearer 0.9) */
    ck_assert_int_eq(b, 5);
    ck_assert_msg(strstr(buf, "plugin = \"sgd\""), "%s", buf);
    ck_assert_msg(strstr(buf, "learning_rate = 0.1"), "%s", buf);
    ck_assert_msg(strstr(buf, "units = 3"), "%s", buf);
    ck_assert_msg(strstr(buf, "flag = false"), "%s", buf);
    cf_tune_config_free(&cfg);
    rm_tmp();
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("tune");
    TCase *c = tcase_create("space");
    tcase_add_test(c, test_scaling);
    tcase_add_test(c, test_config_errors);
    suite_add_tcase(s, c);
    c = tcase_create("strategies");
    tcase_set_timeout(c, 120);
    tcase_add_test(c, test_grid_enumerates);
    tcase_add_test(c, test_random_reproducible);
    tcase_add_test(c, test_bayes_order_independent);
    tcase_add_test(c, test_bayes_branin);
    tcase_add_test(c, test_bayes_restart_hartmann6);
    tcase_add_test(c, test_hyperband_table);
    tcase_add_test(c, test_hyperband_study);
    tcase_add_test(c, test_hyperband_brackets);
    tcase_add_test(c, test_hyperband_budget);
    tcase_add_test(c, test_epoch_budget);
    tcase_add_test(c, test_asha_study);
    suite_add_tcase(s, c);
    c = tcase_create("gp");
    tcase_add_test(c, test_gp_two_points);
    tcase_add_test(c, test_gp_gls_mean);
    tcase_add_test(c, test_peel_basins);
    tcase_add_test(c, test_ei_zero_at_observed_max);
    suite_add_tcase(s, c);
    c = tcase_create("early_stopping");
    tcase_add_test(c, test_median_rule);
    tcase_add_test(c, test_median_in_study);
    suite_add_tcase(s, c);
    c = tcase_create("study");
    tcase_set_timeout(c, 120);
    tcase_add_test(c, test_failing_trials);
    tcase_add_test(c, test_resume_after_sigkill);
    tcase_add_test(c, test_journal_torn_line);
    tcase_add_test(c, test_study_lock);
    tcase_add_test(c, test_best_cfg);
    suite_add_tcase(s, c);
    return s;
}
