/* Config validation: every documented error names file:line and the allowed values. */
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

/* Load text as a config file; the file is removed again (each Check test runs
 * in its own process, so a per-pid name would otherwise pile up in /tmp). */
static cf_status load_text(cf_config *c, const char *text, cf_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/cf_test_cfg_%d.cfg", (int)getpid());
    FILE *f = fopen(path, "w");
    if (!f) return CF_ERR_IO;
    fputs(text, f);
    fclose(f);
    cf_status s = cf_config_load(c, path, err);
    unlink(path);
    return s;
}

/* Validate group `train` of text against cf_train_params; returns status,
 * error text in err, warnings in *warn (malloc'ed). */
static cf_status validate_train(const char *text, cf_error *err, char **warn)
{
    cf_config c;
    cf_status s = load_text(&c, text, err);
    if (s) return s;
    size_t len;
    FILE *w = open_memstream(warn, &len);
    cf_params *p = NULL;
    s = cf_params_from_setting(cf_train_params, config_lookup(&c.cfg, "train"), "lr_schedule|early_stopping",
                               "train", w, &p, err);
    fclose(w);
    cf_params_free(p);
    cf_config_free(&c);
    return s;
}

START_TEST(unknown_key_warns_with_line)
{
    cf_error e = {0};
    char *warn = NULL;
    ck_assert_int_eq(validate_train("train = {\n  epochs = 3;\n  epochz = 4;\n};\n", &e, &warn), CF_OK);
    ck_assert_msg(strstr(warn, ".cfg:3: unknown key 'epochz' in train"), "warning was: %s", warn);
    ck_assert_msg(strstr(warn, "epochs"), "warning lists known keys: %s", warn);
    free(warn);
}
END_TEST

START_TEST(wrong_type_is_error_with_line)
{
    cf_error e = {0};
    char *warn = NULL;
    ck_assert_int_eq(validate_train("train = {\n  epochs = \"five\";\n};\n", &e, &warn), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, ".cfg:2: 'epochs' expects int in [1, 100000], got a string"), "got: %s", e.msg);
    free(warn);
}
END_TEST

START_TEST(out_of_range_is_error_with_range)
{
    cf_error e = {0};
    char *warn = NULL;
    ck_assert_int_eq(validate_train("train = { mini_batch_size = 0; };\n", &e, &warn), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, ".cfg:1: 'mini_batch_size' = 0 is out of range (allowed: int in [1, 65536])"),
                  "got: %s", e.msg);
    free(warn);
    ck_assert_int_eq(validate_train("train = { loss = \"l1\"; };\n", &e, &warn), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "not allowed (allowed: cross_entropy|mse|hinge)"), "got: %s", e.msg);
    free(warn);
}
END_TEST

START_TEST(syntax_error_names_line)
{
    cf_config c;
    cf_error e = {0};
    ck_assert_int_eq(load_text(&c, "train = {\n epochs = 3;\n  = 4;\n};\n", &e), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, ".cfg:3: syntax error"), "got: %s", e.msg);
    ck_assert_int_eq(cf_config_load(&c, "/nonexistent/x.cfg", &e), CF_ERR_IO);
    ck_assert_msg(strstr(e.msg, "/nonexistent/x.cfg: config file not found"), "got: %s", e.msg);
}
END_TEST

START_TEST(set_overrides)
{
    cf_config c;
    cf_error e = {0};
    ck_assert_int_eq(load_text(&c, "train = { epochs = 3; };\n"
                                   "regularizers = ( { plugin = \"dropout\"; rate = 0.5; } );\n", &e), CF_OK);
    ck_assert_int_eq(cf_config_set(&c, "train.epochs=7", &e), CF_OK);
    ck_assert_int_eq(cf_config_set(&c, "backend.name=reference", &e), CF_OK);
    ck_assert_int_eq(cf_config_set(&c, "regularizers.dropout.rate=0.25", &e), CF_OK);
    ck_assert_int_eq(cf_config_set(&c, "model.input=[1,28,28]", &e), CF_OK);
    int v;
    const char *s;
    double d;
    ck_assert(config_lookup_int(&c.cfg, "train.epochs", &v) && v == 7);
    ck_assert(config_lookup_string(&c.cfg, "backend.name", &s) && !strcmp(s, "reference"));
    ck_assert(config_lookup_float(&c.cfg, "regularizers.[0].rate", &d) && d == 0.25);
    ck_assert_int_eq(config_setting_length(config_lookup(&c.cfg, "model.input")), 3);
    ck_assert_int_eq(cf_config_set(&c, "train.epochs=abc", &e), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "expects an integer"), "got: %s", e.msg);
    ck_assert_int_eq(cf_config_set(&c, "noequals", &e), CF_ERR_INVALID);
    ck_assert_int_eq(cf_config_set(&c, "regularizers.nosuch.rate=1", &e), CF_ERR_INVALID);
    cf_config_free(&c);
}
END_TEST

START_TEST(params_from_kv_and_lists)
{
    static const cf_param_def defs[] = {
        {"lr", CF_PT_FLOAT, "0.1", 0, 1, NULL, "rate"},
        {"after", CF_PT_STRING_LIST, "", CF_PARAM_NO_RANGE, NULL, "layers"},
        {"mode", CF_PT_STRING, "a", CF_PARAM_NO_RANGE, "a|b", "mode"},
        {"need", CF_PT_INT, NULL, 1, 9, NULL, "required"},
        CF_PARAM_TABLE_END};
    cf_params *p;
    cf_error e = {0};
    const char *kv[] = {"after", "fc1,fc2", "need", "3"};
    ck_assert_int_eq(cf_params_from_kv(defs, kv, 4, &p, &e), CF_OK);
    ck_assert(cf_params_num(p, "lr") == 0.1 && !cf_params_is_set(p, "lr"));
    ck_assert_int_eq(cf_params_list_len(p, "after"), 2);
    ck_assert_str_eq(cf_params_list_str(p, "after", 1), "fc2");
    ck_assert_str_eq(cf_params_str(p, "mode"), "a");
    ck_assert_int_eq(cf_params_int(p, "need"), 3);
    cf_params_free(p);
    const char *missing[] = {"lr", "0.5"};
    ck_assert_int_eq(cf_params_from_kv(defs, missing, 2, &p, &e), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "required parameter 'need'"), "got: %s", e.msg);
    const char *bad[] = {"mode", "c", "need", "1"};
    ck_assert_int_eq(cf_params_from_kv(defs, bad, 4, &p, &e), CF_ERR_INVALID);
}
END_TEST

START_TEST(model_layers_validated)
{
    cf_config c;
    cf_error e = {0};
    cf_model_spec *m;
    ck_assert_int_eq(load_text(&c, "model = { layers = (\n"
                                   "  { type = \"conv\"; filters = 8; kernel = 3; },\n"
                                   "  { type = \"dense\"; units = 10; kernel = 5; } ); };\n", &e), CF_OK);
    char *warn = NULL;
    size_t len;
    FILE *w = open_memstream(&warn, &len);
    ck_assert_int_eq(cf_model_spec_from_config(&c, config_lookup(&c.cfg, "model"), 10, w, &m, &e), CF_OK);
    fclose(w);
    ck_assert_msg(strstr(warn, ".cfg:3: key 'kernel' is not used by a dense layer"), "got: %s", warn);
    free(warn);
    m->in_c = 1; m->in_h = 28; m->in_w = 28;
    long np;
    ck_assert_int_eq(cf_model_summary(m, NULL, &np, &e), CF_OK);
    ck_assert_int_eq(np, 8 * 9 + 8 + 10 * 8 * 26 * 26 + 10);
    cf_model_spec_free(m);
    cf_config_free(&c);
    ck_assert_int_eq(load_text(&c, "model = { layers = ( { type = \"dense\"; }, { type = \"bogus\"; } ); };\n", &e), CF_OK);
    ck_assert_int_eq(cf_model_spec_from_config(&c, config_lookup(&c.cfg, "model"), 10, NULL, &m, &e), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, ".cfg:1: dense layer needs 'units'"), "got: %s", e.msg);
    cf_config_free(&c);
}
END_TEST

START_TEST(resnet20_preset_size)
{
    cf_model_spec *m = cf_model_spec_new();
    cf_error e = {0};
    m->in_c = 3; m->in_h = 32; m->in_w = 32;
    ck_assert_int_eq(cf_model_preset(m, "resnet", 20, 10, &e), CF_OK);
    long np;
    ck_assert_int_eq(cf_model_summary(m, NULL, &np, &e), CF_OK);
    /* ResNet-20 with projection shortcuts: 0.27 M parameters (He et al. report 0.27 M). */
    ck_assert_msg(np > 265000 && np < 280000, "resnet20 has %ld parameters", np);
    ck_assert_int_eq(cf_model_preset(m, "resnet", 21, 10, &e), CF_ERR_INVALID);
    cf_model_spec_free(m);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("config");
    TCase *t = tcase_create("config");
    tcase_add_test(t, unknown_key_warns_with_line);
    tcase_add_test(t, wrong_type_is_error_with_line);
    tcase_add_test(t, out_of_range_is_error_with_range);
    tcase_add_test(t, syntax_error_names_line);
    tcase_add_test(t, set_overrides);
    tcase_add_test(t, params_from_kv_and_lists);
    tcase_add_test(t, model_layers_validated);
    tcase_add_test(t, resnet20_preset_size);
    suite_add_tcase(s, t);
    return s;
}
