/* End to end: a small model learns on a slice of Fashion-MNIST; a seeded run
 * repeats exactly; bad configs fail before anything is written. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/trainer.h"
#include "core/util.h"
#include "core/params.h"
#include "core/config_file.h"
#include "model/net.h"
#include "data/dataset.h"
#include "model/modelfile.h"
#include <math.h>

static char tmpdir[256];

static const char *cfg_text =
    "name = \"t\";\nseed = 7;\nbackend = { name = \"reference\"; };\n"
    "data = { limit_train = 4000; limit_test = 500; validation_split = 0.2; };\n"
    "model = { layers = ( { type = \"dense\"; units = 64; activation = \"relu\"; },\n"
    "                     { type = \"dropout\"; rate = 0.1; },\n"
    "                     { type = \"dense\"; units = 10; } ); };\n"
    "train = { epochs = 2; mini_batch_size = 32; };\n"
    "optimizer = { plugin = \"sgd\"; learning_rate = 0.01; momentum = 0.9; };\n";

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cf_test_train_%d", (int)getpid());
    cf_mkdir_p(tmpdir, NULL);
}
static void teardown(void) { cf_rm_rf(tmpdir); }

static cf_status train(const char *text, const char *run, const char *const *sets, int n_sets, cf_error *e)
{
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%s/c.cfg", tmpdir);
    FILE *f = fopen(cfg, "w");
    fputs(text, f);
    fclose(f);
    cf_train_opts o = {0};
    o.config_path = cfg;
    o.run_dir = run;
    o.sets = sets;
    o.n_sets = n_sets;
    o.quiet = 1;
    o.out = stdout;
    o.warn = stderr;
    return cf_train_run(&o, e);
}

static char *slurp(const char *dir, const char *name)
{
    char p[600], *t = NULL;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cf_read_file(p, &t, NULL, NULL);
    return t;
}

START_TEST(learns_and_repeats)
{
    char r1[300], r2[300];
    snprintf(r1, sizeof r1, "%s/run1", tmpdir);
    snprintf(r2, sizeof r2, "%s/run2", tmpdir);
    cf_error e = {0};
    ck_assert_msg(train(cfg_text, r1, NULL, 0, &e) == CF_OK, "%s", e.msg);
    char *sum = slurp(r1, "summary.json");
    ck_assert_ptr_nonnull(sum);
    ck_assert_msg(strstr(sum, "\"status\":\"completed\""), "%s", sum);
    const char *acc = strstr(strstr(sum, "\"test\":"), "\"accuracy\":");
    ck_assert_ptr_nonnull(acc);
    double a = atof(acc + 11);
    ck_assert_msg(a > 0.75, "test accuracy %.3f: the model did not learn", a); /* chance is 0.10 */
    ck_assert_msg(strstr(sum, "\"per_class\":[{\"class\":\"T-shirt/top\""), "%s", sum);
    ck_assert_msg(train(cfg_text, r2, NULL, 0, &e) == CF_OK, "%s", e.msg);
    char *m1 = slurp(r1, "metrics.jsonl"), *m2 = slurp(r2, "metrics.jsonl");
    ck_assert_ptr_nonnull(m1);
    ck_assert_msg(strlen(m1) > 50, "metrics.jsonl too short: %s", m1);
    ck_assert_str_eq(m1, m2); /* same seed, reference backend: identical */
    /* The saved model reproduces the test accuracy. */
    char model[400], *out = NULL;
    size_t len;
    snprintf(model, sizeof model, "%s/model.clf", r1);
    FILE *f = open_memstream(&out, &len);
    ck_assert_msg(cf_eval_model(model, NULL, NULL, NULL, NULL, 0, 1, f, &e) == CF_OK, "%s", e.msg);
    fclose(f);
    double ea = atof(strstr(out, "\"accuracy\":") + 11);
    ck_assert_msg(ea > a - 1e-6 && ea < a + 1e-6, "eval %.6f vs train-time test %.6f", ea, a);
    /* ...and times its forward passes (without the warm-up batch) */
    const char *fw = strstr(out, "\"forward_images_per_sec\":");
    ck_assert_msg(fw && atof(fw + 25) > 0, "no forward throughput in: %.300s", out);
    free(out);
    /* on another thread count: the same metrics */
    f = open_memstream(&out, &len);
    ck_assert_msg(cf_eval_model(model, NULL, NULL, NULL, NULL, 2, 1, f, &e) == CF_OK, "%s", e.msg);
    fclose(f);
    ck_assert_msg(atof(strstr(out, "\"accuracy\":") + 11) == ea, "2 threads: %.300s", out);
    free(out);
    free(sum);
    free(m1);
    free(m2);
}
END_TEST

/* train.ema over 3 steps equals its definition: one full-batch update per
 * epoch, a checkpoint each epoch holding the weights w_t and the average e_t:
 *   e_0 = w_0,  e_t = d e_{t-1} + (1 - d) w_t
 * for every tensor, the batch-norm running statistics included. w_0 comes from
 * a run with learning rate 0 (its weights never move; its running statistics
 * do, so theirs are the initial 0 and 1). */
static const char *ema_cfg =
    "name = \"ema\";\nseed = 3;\nbackend = { name = \"reference\"; };\n"
    "data = { limit_train = 300; limit_test = 50; validation_split = 0.2; };\n"
    "model = { layers = ( { type = \"conv\"; filters = 3; kernel = 3; activation = \"relu\"; name = \"conv\"; },\n"
    "                     { type = \"dense\"; units = 10; } ); };\n"
    "regularizers = ( { plugin = \"batchnorm\"; after = \"conv\"; } );\n"
    "train = { epochs = 3; batch_mode = \"full-batch\"; checkpoint_frequency = 1;\n"
    "          ema = { decay = 0.6; }; };\n"
    "optimizer = { plugin = \"sgd\"; learning_rate = 0.5; momentum = 0.9; };\n";

static cf_blob ckpt(const char *run, int epoch)
{
    char p[600];
    cf_blob b;
    cf_error e = {0};
    snprintf(p, sizeof p, "%s/checkpoints/epoch-%d.ckpt", run, epoch);
    ck_assert_msg(cf_blob_read(p, &b, &e) == CF_OK, "%s", e.msg);
    return b;
}

START_TEST(ema_definition)
{
    char r[300], r0[300];
    snprintf(r, sizeof r, "%s/ema", tmpdir);
    snprintf(r0, sizeof r0, "%s/ema0", tmpdir);
    cf_error e = {0};
    const char *lr0[] = {"optimizer.learning_rate=0"};
    ck_assert_msg(train(ema_cfg, r, NULL, 0, &e) == CF_OK, "%s", e.msg);
    ck_assert_msg(train(ema_cfg, r0, lr0, 1, &e) == CF_OK, "%s", e.msg);
    cf_blob w0 = ckpt(r0, 1), c[3] = {ckpt(r, 1), ckpt(r, 2), ckpt(r, 3)};
    const double d = 0.6;
    int checked = 0, stats = 0;
    for (int i = 0; i < c[0].n; i++) {
        const char *nm = c[0].t[i].name;
        if (!strncmp(nm, "slot", 4) || !strncmp(nm, "ema:", 4)) continue;
        size_t n = (size_t)c[0].t[i].shape[0];
        for (int k = 1; k < c[0].t[i].ndim; k++) n *= (size_t)c[0].t[i].shape[k];
        int is_stat = strstr(nm, "running_") != NULL;
        stats += is_stat;
        const cf_blob_tensor *init = cf_blob_find(&w0, nm);
        ck_assert_ptr_nonnull(init);
        for (size_t j = 0; j < n; j++) {
            double want = is_stat ? (strstr(nm, "running_var") ? 1.0 : 0.0) : init->data[j];
            for (int t = 0; t < 3; t++) {
                char en[160];
                snprintf(en, sizeof en, "ema:%s", nm);
                const cf_blob_tensor *w = cf_blob_find(&c[t], nm), *ev = cf_blob_find(&c[t], en);
                ck_assert_msg(w && ev, "%s missing at step %d", en, t + 1);
                want = d * want + (1 - d) * w->data[j];
                ck_assert_msg(fabs(ev->data[j] - want) <= 1e-5 * fmax(fabs(want), 1e-2),
                              "%s[%zu] step %d: ema %.9g, definition %.9g", nm, j, t + 1, ev->data[j], want);
            }
        }
        checked++;
    }
    ck_assert_int_ge(checked, 5);
    ck_assert_int_eq(stats, 2);
    /* save = true (default): model.clf holds the average of the last epoch */
    char mp[400];
    cf_blob m;
    snprintf(mp, sizeof mp, "%s/model.clf", r);
    ck_assert(cf_blob_read(mp, &m, &e) == CF_OK);
    const cf_blob_tensor *mw = cf_blob_find(&m, c[2].t[0].name);
    char en[160];
    snprintf(en, sizeof en, "ema:%s", c[2].t[0].name);
    ck_assert(mw && !memcmp(mw->data, cf_blob_find(&c[2], en)->data, sizeof(float)));
    cf_blob_free(&m);
    cf_blob_free(&w0);
    for (int t = 0; t < 3; t++) cf_blob_free(&c[t]);
}
END_TEST

START_TEST(bad_configs_leave_nothing)
{
    char run[300];
    snprintf(run, sizeof run, "%s/bad", tmpdir);
    cf_error e = {0};
    const char *typo[] = {"train.epochs=\"two\""};
    ck_assert_int_eq(train(cfg_text, run, typo, 1, &e), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "train.epochs: expects an integer"), "got: %s", e.msg);
    ck_assert(!cf_file_exists(run));
    const char *missing[] = {"data.train_images=/nonexistent/train.gz"};
    ck_assert_int_eq(train(cfg_text, run, missing, 1, &e), CF_ERR_IO);
    ck_assert_msg(strstr(e.msg, "/nonexistent/train.gz: data file not found"), "got: %s", e.msg);
    ck_assert(!cf_file_exists(run));
    const char *plugin[] = {"optimizer.plugin=sgdx"};
    ck_assert_int_eq(train(cfg_text, run, plugin, 1, &e), CF_ERR_PLUGIN);
    ck_assert_msg(strstr(e.msg, "unknown optimizer 'sgdx' (known: "), "got: %s", e.msg);
    ck_assert(!cf_file_exists(run));
}
END_TEST

START_TEST(nan_loss_fails_cleanly)
{
    char run[300];
    snprintf(run, sizeof run, "%s/nan", tmpdir);
    cf_error e = {0};
    const char *hot[] = {"optimizer.learning_rate=10"};
    ck_assert_int_eq(train(cfg_text, run, hot, 1, &e), CF_ERR_NUMERIC);
    ck_assert_msg(strstr(e.msg, "the loss is"), "got: %s", e.msg);
    char *sum = slurp(run, "summary.json");
    ck_assert_ptr_nonnull(sum);
    ck_assert_msg(strstr(sum, "\"status\":\"failed\""), "%s", sum);
    free(sum);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("train");
    TCase *t = tcase_create("train");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 300);
    tcase_add_test(t, learns_and_repeats);
    tcase_add_test(t, ema_definition);
    tcase_add_test(t, bad_configs_leave_nothing);
    tcase_add_test(t, nan_loss_fails_cleanly);
    suite_add_tcase(s, t);
    return s;
}
