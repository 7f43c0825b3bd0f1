/* Layer types through the config: the table is complete and consistent,
 * concat and N-input add parse, print in the summary with their shapes and
 * parameter counts, are refused with the layer and config line when shapes
 * do not fit, and an Inception-like model with both learns on a slice of
 * Fashion-MNIST. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/trainer.h"
#include "core/util.h"
#include "core/config_file.h"
#include "model/net.h"

static cf_status load_text(cf_config *c, const char *text, cf_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/cf_test_layers_%d.cfg", (int)getpid());
    FILE *f = fopen(path, "w");
    if (!f) return CF_ERR_IO;
    fputs(text, f);
    fclose(f);
    cf_status s = cf_config_load(c, path, err);
    unlink(path);
    return s;
}

/* Parse text's model on a [1, 28, 28] input; summary into *out (malloc'ed). */
static cf_status summary_of(const char *text, char **out, long *np, cf_error *e)
{
    cf_config c;
    ck_assert_msg(load_text(&c, text, e) == CF_OK, "%s", e->msg);
    cf_model_spec *m = NULL;
    cf_status s = cf_model_spec_from_config(&c, config_lookup(&c.cfg, "model"), 10, NULL, &m, e);
    if (!s) {
        m->in_c = 1; m->in_h = 28; m->in_w = 28;
        size_t len;
        FILE *f = open_memstream(out, &len);
        s = cf_model_summary(m, f, np, e);
        fclose(f);
        if (s) { /* callers keep the text only on success */
            free(*out);
            *out = NULL;
        }
    }
    cf_model_spec_free(m);
    cf_config_free(&c);
    return s;
}

START_TEST(table_is_consistent)
{
    for (int t = 0; t < CF_LAYER_COUNT; t++) {
        const cf_layer_type_def *d = cf_layer_def((cf_layer_type)t);
        ck_assert_ptr_nonnull(d);
        ck_assert_int_eq(cf_layer_type_from_name(d->name), t);
        if (t == CF_LAYER_INPUT) continue;
        ck_assert_msg(d->parse && d->infer, "%s: parse and infer are required", d->name);
        ck_assert_msg(d->min_inputs >= 1 && d->max_inputs >= d->min_inputs &&
                          d->max_inputs <= CF_MAX_INPUTS, "%s: input counts", d->name);
        ck_assert_msg(d->forward || (d->flags & (CF_LAYER_ALIAS | CF_LAYER_ACT_ONLY)),
                      "%s: no forward", d->name);
        ck_assert_msg(d->fuse_role != CF_FUSE_HEAD || d->fused_forward, "%s: head", d->name);
        ck_assert_msg(d->fuse_role != CF_FUSE_AFFINE || d->fold, "%s: affine", d->name);
        /* every key a type reads is a documented layer key */
        for (int k = 0; d->keys && d->keys[k]; k++) {
            int found = 0;
            for (const cf_param_def *p = cf_layer_params; p->name; p++) found |= !strcmp(p->name, d->keys[k]);
            ck_assert_msg(found, "%s reads '%s', which cf_layer_params lacks", d->name, d->keys[k]);
        }
        ck_assert_msg(d->export, "%s: no export hook", d->name);
    }
    ck_assert_int_eq(cf_layer_type_from_name("conv2d"), CF_LAYER_CONV);
    ck_assert_int_eq(cf_layer_type_from_name("linear"), CF_LAYER_DENSE);
    ck_assert_int_eq(cf_layer_type_from_name("relu"), CF_LAYER_ACT);
    ck_assert_int_eq(cf_layer_type_from_name("bogus"), CF_LAYER_COUNT);
}
END_TEST

static const char *inception =
    "model = { layers = (\n"
    "  { type = \"conv\"; name = \"stem\"; filters = 8; kernel = 3; stride = 2; padding = 1; activation = \"relu\"; },\n"
    "  { type = \"conv\"; name = \"b1\"; filters = 8; kernel = 1; activation = \"relu\"; inputs = [\"stem\"]; },\n"
    "  { type = \"conv\"; name = \"b2\"; filters = 8; kernel = 3; padding = 1; activation = \"relu\"; inputs = [\"stem\"]; },\n"
    "  { type = \"maxpool\"; name = \"b3\"; size = 3; stride = 1; padding = 1; inputs = [\"stem\"]; },\n"
    "  { type = \"add\"; name = \"sum\"; inputs = [\"b1\", \"b2\", \"stem\"]; activation = \"relu\"; },\n"
    "  { type = \"concat\"; name = \"cat\"; inputs = [\"sum\", \"b3\", \"b1\"]; },\n"
    "  { type = \"maxpool\"; name = \"pool\"; size = 2; },\n"
    "  { type = \"dense\"; name = \"out\"; units = 10; } ); };\n";

START_TEST(concat_and_nadd_in_summary)
{
    cf_error e = {0};
    char *s = NULL;
    long np = 0;
    ck_assert_msg(summary_of(inception, &s, &np, &e) == CF_OK, "%s", e.msg);
    ck_assert_msg(strstr(s, "sum                add+relu         b1,b2,stem         [8, 14, 14]"), "%s", s);
    ck_assert_msg(strstr(s, "cat                concat           sum,b3,b1          [24, 14, 14]"), "%s", s);
    ck_assert_msg(strstr(s, "pool               maxpool          cat                [24, 7, 7]"), "%s", s);
    long want = (8 * 9 + 8) + (8 * 8 + 8) + (8 * 8 * 9 + 8) + (10 * 24 * 7 * 7 + 10);
    ck_assert_int_eq(np, want);
    ck_assert_msg(strstr(s, "total trainable parameters: 12506"), "%s", s);
    free(s);
}
END_TEST

START_TEST(shape_errors_name_layer_and_line)
{
    cf_error e = {0};
    char *s = NULL;
    long np;
    /* add of 8 and 16 channels */
    ck_assert_int_eq(summary_of("model = { layers = (\n"
                                "  { type = \"conv\"; name = \"a\"; filters = 8; padding = 1; },\n"
                                "  { type = \"conv\"; name = \"b\"; filters = 16; padding = 1; inputs = [\"a\"]; },\n"
                                "  { type = \"add\"; name = \"s\"; inputs = [\"a\", \"b\", \"a\"]; },\n"
                                "  { type = \"dense\"; units = 10; } ); };\n", &s, &np, &e),
                     CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "layer 's' (add, line 4): input 'b' has shape [16, 28, 28] but input "
                                "'a' has [8, 28, 28]"), "%s", e.msg);
    /* concat of 28x28 and 14x14 */
    ck_assert_int_eq(summary_of("model = { layers = (\n"
                                "  { type = \"conv\"; name = \"a\"; filters = 8; padding = 1; },\n"
                                "  { type = \"maxpool\"; name = \"p\"; },\n"
                                "  { type = \"concat\"; name = \"c\"; inputs = [\"a\", \"p\"]; },\n"
                                "  { type = \"dense\"; units = 10; } ); };\n", &s, &np, &e),
                     CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "layer 'c' (concat, line 4): input 'p' is [8, 14, 14] but input 'a' is "
                                "[8, 28, 28]"), "%s", e.msg);
    /* one input */
    ck_assert_int_eq(summary_of("model = { layers = (\n"
                                "  { type = \"conv\"; name = \"a\"; filters = 8; padding = 1; },\n"
                                "  { type = \"add\"; name = \"s\"; },\n"
                                "  { type = \"dense\"; units = 10; } ); };\n", &s, &np, &e),
                     CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "layer 's' (add, line 3): takes 2 to 16 inputs, has 1"), "%s", e.msg);
    /* 17 inputs */
    char big[4096] = "model = { layers = (\n  { type = \"conv\"; name = \"a\"; filters = 1; padding = 1; },\n"
                     "  { type = \"concat\"; inputs = [";
    for (int k = 0; k < 17; k++) strcat(big, k ? ", \"a\"" : "\"a\"");
    strcat(big, "]; },\n  { type = \"dense\"; units = 10; } ); };\n");
    ck_assert_int_eq(summary_of(big, &s, &np, &e), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, ".cfg:3: at most 16 inputs"), "%s", e.msg);
}
END_TEST

static char tmpdir[256];
static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cf_test_layers_%d", (int)getpid());
    cf_mkdir_p(tmpdir, NULL);
}
static void teardown(void) { cf_rm_rf(tmpdir); }

/* The Inception-like model above learns (chance is 0.10). */
START_TEST(inception_learns)
{
    char cfg[512], run[512];
    snprintf(cfg, sizeof cfg, "%s/c.cfg", tmpdir);
    snprintf(run, sizeof run, "%s/run", tmpdir);
    FILE *f = fopen(cfg, "w");
    fputs("name = \"t\";\nseed = 3;\nbackend = { name = \"reference\"; };\n"
          "data = { limit_train = 2000; limit_test = 500; validation_split = 0.1; };\n"
          "train = { epochs = 1; mini_batch_size = 32; };\n"
          "optimizer = { plugin = \"adam\"; learning_rate = 0.003; };\n", f);
    fputs(inception, f);
    fclose(f);
    cf_train_opts o = {0};
    o.config_path = cfg;
    o.run_dir = run;
    o.quiet = 1;
    o.out = stdout;
    o.warn = stderr;
    cf_error e = {0};
    ck_assert_msg(cf_train_run(&o, &e) == CF_OK, "%s", e.msg);
    char p[600], *sum = NULL;
    snprintf(p, sizeof p, "%s/summary.json", run);
    cf_read_file(p, &sum, NULL, NULL);
    ck_assert_ptr_nonnull(sum);
    const char *acc = strstr(strstr(sum, "\"test\":"), "\"accuracy\":");
    ck_assert_ptr_nonnull(acc);
    double a = atof(acc + 11);
    ck_assert_msg(a > 0.6, "test accuracy %.3f: the model did not learn", a);
    free(sum);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("layers");
    TCase *t = tcase_create("layers");
    tcase_add_test(t, table_is_consistent);
    tcase_add_test(t, concat_and_nadd_in_summary);
    tcase_add_test(t, shape_errors_name_layer_and_line);
    suite_add_tcase(s, t);
    TCase *tr = tcase_create("train");
    tcase_add_checked_fixture(tr, setup, teardown);
    tcase_set_timeout(tr, 300);
    tcase_add_test(tr, inception_learns);
    suite_add_tcase(s, tr);
    return s;
}
