/* Config validation: every documented error names file:line and the allowed values. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/trainer.h"
#include "core/util.h"
#include "core/params.h"
#include "core/config_file.h"
#include "train/schema.h"
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

/* The schema check of text (strict or not), with --set assignments applied
 * and the plugin registry when reg is given; warnings in *warn. */
static cf_status schema_text(const char *text, int strict, const char *const *sets, int n_sets,
                             cf_registry *reg, cf_error *err, char **warn)
{
    cf_config c;
    cf_status s = load_text(&c, text, err);
    if (s) return s;
    for (int i = 0; i < n_sets && !s; i++) s = cf_config_set(&c, sets[i], err);
    size_t len;
    FILE *w = open_memstream(warn, &len);
    cf_schema_opts o = {reg, strict, w, sets, n_sets};
    if (!s) s = cf_schema_check_config(&c, &o, err);
    fclose(w);
    cf_config_free(&c);
    return s;
}

START_TEST(unknown_key_is_error_with_line_and_suggestion)
{
    cf_error e = {0};
    char *warn = NULL;
    const char *text = "train = {\n  epochs = 3;\n  epochz = 4;\n};\n";
    ck_assert_int_eq(schema_text(text, 1, NULL, 0, NULL, &e, &warn), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, ".cfg:3: unknown key 'epochz' in train; did you mean 'epochs'?"), "got: %s", e.msg);
    free(warn);
    /* downgraded: a warning with the same text, and success */
    ck_assert_int_eq(schema_text(text, 0, NULL, 0, NULL, &e, &warn), CF_OK);
    ck_assert_msg(strstr(warn, ".cfg:3: unknown key 'epochz' in train; did you mean 'epochs'?"), "warning: %s", warn);
    free(warn);
    /* nothing close: the known keys are listed */
    ck_assert_int_eq(schema_text("data = { zzzzzzzz = 1; };\n", 1, NULL, 0, NULL, &e, &warn), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "unknown key 'zzzzzzzz' in data (known: dataset, "), "got: %s", e.msg);
    free(warn);
    /* nested sections and layers */
    ck_assert_int_eq(schema_text("train = { early_stopping = { patiense = 3; }; };\n", 1, NULL, 0, NULL, &e, &warn),
                     CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "did you mean 'patience'?"), "got: %s", e.msg);
    free(warn);
    ck_assert_int_eq(schema_text("model = { layers = ( { type = \"dense\"; unit = 3; } ); };\n", 1, NULL, 0, NULL,
                                 &e, &warn), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, ".cfg:1: unknown key 'unit' in model.layers[0]; did you mean 'units'?"), "got: %s", e.msg);
    free(warn);
    /* the values check no longer reports unknown keys itself */
    ck_assert_int_eq(validate_train(text, &e, &warn), CF_OK);
    ck_assert_str_eq(warn, "");
    free(warn);
}
END_TEST

START_TEST(unknown_set_key_is_error_naming_the_set)
{
    cf_error e = {0};
    char *warn = NULL;
    const char *sets[] = {"train.mini_batch_sise=32"};
    ck_assert_int_eq(schema_text("train = { epochs = 3; };\n", 1, sets, 1, NULL, &e, &warn), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "--set train.mini_batch_sise=32: unknown key 'mini_batch_sise' in train; "
                                "did you mean 'mini_batch_size'?"), "got: %s", e.msg);
    free(warn);
    const char *ok[] = {"train.epochs=4", "model.layers.0.units=3", "train.lr_schedule.type=step"};
    ck_assert_int_eq(schema_text("model = { layers = ( { type = \"dense\"; } ); };\n", 1, ok, 3, NULL, &e, &warn),
                     CF_OK);
    free(warn);
    ck_assert_int_eq(cf_schema_check_key(NULL, NULL, "seed.x", NULL, &e), CF_ERR_INVALID);
    ck_assert_int_eq(cf_schema_check_key(NULL, NULL, "tune.objective.metrik", NULL, &e), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "did you mean 'metric'?"), "got: %s", e.msg);
}
END_TEST

START_TEST(plugin_keys_checked_against_the_chosen_plugin)
{
    cf_registry *reg = NULL;
    cf_error e = {0};
    ck_assert_int_eq(cf_registry_create(&reg, NULL, 0, &e), CF_OK);
    char *warn = NULL;
    ck_assert_int_eq(schema_text("optimizer = { plugin = \"adam\"; lr = 0.1; };\n", 1, NULL, 0, reg, &e, &warn),
                     CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, ".cfg:1: unknown key 'lr' in optimizer (plugin adam); did you mean 'learning_rate'?"),
                  "got: %s", e.msg);
    free(warn);
    /* momentum is sgd's, not adam's */
    ck_assert_int_eq(schema_text("optimizer = { plugin = \"sgd\"; momentum = 0.9; };\n", 1, NULL, 0, reg, &e, &warn),
                     CF_OK);
    free(warn);
    ck_assert_int_eq(schema_text("optimizer = { plugin = \"adam\"; momentum = 0.9; };\n", 1, NULL, 0, reg, &e, &warn),
                     CF_ERR_INVALID);
    free(warn);
    const char *sets[] = {"optimizer.lr=0.5"};
    ck_assert_int_eq(schema_text("optimizer = { plugin = \"sgd\"; };\n", 1, sets, 1, reg, &e, &warn), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "--set optimizer.lr=0.5: unknown key 'lr' in optimizer (plugin sgd); did you mean "
                                "'learning_rate'?"), "got: %s", e.msg);
    free(warn);
    ck_assert_int_eq(schema_text("regularizers = ( { plugin = \"dropout\"; rat = 0.5; } );\n", 1, NULL, 0, reg, &e,
                                 &warn), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "regularizers[0] (plugin dropout); did you mean 'rate'?"), "got: %s", e.msg);
    free(warn);
    /* a tuned optimizer.plugin lets a key of any of its values through */
    cf_config c;
    ck_assert_int_eq(load_text(&c, "optimizer = { plugin = \"adam\"; };\n", &e), CF_OK);
    ck_assert_int_eq(cf_schema_check_key(&c.cfg, reg, "optimizer.momentum", NULL, &e), CF_ERR_INVALID);
    ck_assert_int_eq(cf_schema_check_key(&c.cfg, reg, "optimizer.momentum", "adam|sgd|", &e), CF_OK);
    cf_config_free(&c);
    cf_registry_destroy(reg);
}
END_TEST

START_TEST(suggestions)
{
    ck_assert_str_eq(cf_schema_suggest(cf_train_params, "mini_batch_sise"), "mini_batch_size");
    ck_assert_str_eq(cf_schema_suggest(cf_train_params, "epoch"), "epochs");
    ck_assert_ptr_null(cf_schema_suggest(cf_train_params, "zebra"));
    const char *names[] = {"learning_rate", "momentum"};
    ck_assert_str_eq(cf_schema_suggest_names(names, 2, "lr"), "learning_rate");
    ck_assert_str_eq(cf_schema_suggest_names(names, 2, "momen"), "momentum");
}
END_TEST

START_TEST(put_numbers_replaces_arrays)
{
    cf_config c;
    cf_error e = {0};
    ck_assert_int_eq(load_text(&c, "data = { mean = [9.0]; };\n", &e), CF_OK);
    double m[2] = {0.25, 1}, one[1] = {1};
    ck_assert_int_eq(cf_config_put_numbers(&c, "data", "mean", m, 2, &e), CF_OK);
    ck_assert_int_eq(cf_config_put_numbers(&c, "model", "input", one, 1, &e), CF_OK);
    config_setting_t *a = config_lookup(&c.cfg, "data.mean");
    ck_assert_int_eq(config_setting_length(a), 2);
    ck_assert(config_setting_get_float_elem(a, 0) == 0.25 && config_setting_get_float_elem(a, 1) == 1.0);
    ck_assert_int_eq(config_setting_type(config_setting_get_elem(config_lookup(&c.cfg, "model.input"), 0)),
                     CONFIG_TYPE_INT);
    cf_config_free(&c);
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
    ck_assert_msg(strstr(e.msg, "not allowed (allowed: cross_entropy|mse|hinge|bce)"), "got: %s", e.msg);
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
    /* strict (the default): a key the type does not read is an error */
    ck_assert_int_eq(cf_model_spec_from_config(&c, config_lookup(&c.cfg, "model"), 10, NULL, &m, &e), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, ".cfg:3: key 'kernel' is not used by a dense layer"), "got: %s", e.msg);
    /* lenient (strict_keys = false): a warning */
    c.lenient = 1;
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

/* Exact counts of the reference PyTorch WRN (xternalz/WideResNet-pytorch, the
 * port of Zagoruyko's code), counted with torch 2.x: 36.5 M and 2.7 M as published. */
START_TEST(wrn_preset_size)
{
    static const struct { int depth, widen; long params; } want[] = {
        {28, 10, 36479194}, {16, 4, 2748890}, {40, 4, 8949210}, {16, 1, 175066}};
    cf_error e = {0};
    for (int i = 0; i < 4; i++) {
        cf_model_spec *m = cf_model_spec_new();
        m->in_c = 3; m->in_h = 32; m->in_w = 32;
        ck_assert_msg(cf_model_preset_wrn(m, want[i].depth, want[i].widen, i == 1 ? 0.3 : 0, 10, &e) == CF_OK, "%s", e.msg);
        long np;
        ck_assert_msg(cf_model_summary(m, NULL, &np, &e) == CF_OK, "%s", e.msg);
        ck_assert_msg(np == want[i].params, "WRN-%d-%d has %ld parameters, torch %ld", want[i].depth, want[i].widen, np,
                      want[i].params);
        cf_model_spec_free(m);
    }
    cf_model_spec *m = cf_model_spec_new();
    ck_assert_int_eq(cf_model_preset_wrn(m, 27, 10, 0, 10, &e), CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "6n + 4"), "%s", e.msg);
    cf_model_spec_free(m);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("config");
    TCase *t = tcase_create("config");
    tcase_add_test(t, unknown_key_is_error_with_line_and_suggestion);
    tcase_add_test(t, unknown_set_key_is_error_naming_the_set);
    tcase_add_test(t, plugin_keys_checked_against_the_chosen_plugin);
    tcase_add_test(t, suggestions);
    tcase_add_test(t, put_numbers_replaces_arrays);
    tcase_add_test(t, wrong_type_is_error_with_line);
    tcase_add_test(t, out_of_range_is_error_with_range);
    tcase_add_test(t, syntax_error_names_line);
    tcase_add_test(t, set_overrides);
    tcase_add_test(t, params_from_kv_and_lists);
    tcase_add_test(t, model_layers_validated);
    tcase_add_test(t, wrn_preset_size);
    tcase_add_test(t, resnet20_preset_size);
    suite_add_tcase(s, t);
    return s;
}
