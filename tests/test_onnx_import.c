/* ONNX import: the fixtures torch.onnx exported (tools/make_onnx_fixtures.py)
 * give PyTorch's probabilities on their saved inputs within 1e-3, through
 * the model file `clforge import` writes, on every backend there is; bad
 * files are refused with a message naming the node, op or attribute. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnx/onnx.h"
#include "train/session.h"

static char fixdir[1024];

static void set_dir(void)
{
    const char *src = getenv("CF_TEST_SRCDIR");
    snprintf(fixdir, sizeof fixdir, "%s/tests/fixtures/onnx", src ? src : ".");
}

static float *read_floats(const char *name, const char *suffix, size_t n)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s%s", fixdir, name, suffix);
    FILE *f = fopen(p, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", p);
    float *v = malloc(n * sizeof *v);
    ck_assert_msg(fread(v, sizeof *v, n, f) == n, "%s is short", p);
    fclose(f);
    return v;
}

/* Import NAME, write the model file, open it on backend be and compare. */
static void check_fixture(const char *name, int n, int c, int h, int w, int k, const char *be)
{
    char onnx[1200], clf[64];
    snprintf(onnx, sizeof onnx, "%s/%s.onnx", fixdir, name);
    snprintf(clf, sizeof clf, "/tmp/cf_onnx_test_%d.clf", (int)getpid());
    cf_error e = {0};
    cf_onnx_model m;
    ck_assert_msg(!cf_onnx_import(onnx, NULL, &m, &e), "%s: %s", name, e.msg);
    ck_assert_int_eq(m.spec->in_c, c);
    ck_assert_int_eq(m.spec->in_h, h);
    ck_assert_int_eq(m.n_classes, k);
    ck_assert_msg(!cf_onnx_write_model(&m, clf, NULL, NULL, NULL, 0, &e), "%s: %s", name, e.msg);
    cf_onnx_model_free(&m);
    cf_session s;
    cf_train_opts o = {0};
    FILE *quiet = fopen("/dev/null", "w");
    cf_session_init(&s, &o, quiet);
    cf_status st = cf_session_open_model(&s, clf, be, 1, n, &e);
    if (st && !strcmp(be, "cpu") && strstr(e.msg, "backend")) { /* a build without it */
        cf_session_free(&s);
        fclose(quiet);
        unlink(clf);
        return;
    }
    ck_assert_msg(!st, "%s on %s: %s", name, be, e.msg);
    float *x = read_floats(name, ".input.bin", (size_t)n * c * h * w);
    float *want = read_floats(name, ".probs.bin", (size_t)n * k);
    float *t = calloc((size_t)n * k, sizeof *t), *wt = malloc((size_t)n * sizeof *wt);
    float *got = malloc((size_t)n * k * sizeof *got);
    for (int i = 0; i < n; i++) t[i * k] = 1, wt[i] = 1;
    ck_assert_msg(!cf_net_run(s.net, x, t, wt, n, 0, 0, 0, NULL, NULL, got, &e), "%s: %s", name, e.msg);
    double worst = 0;
    for (int i = 0; i < n * k; i++) worst = fmax(worst, fabs(got[i] - want[i]));
    ck_assert_msg(worst < 1e-3, "%s on %s: probabilities differ from PyTorch's by %g", name, be, worst);
    free(x);
    free(want);
    free(t);
    free(wt);
    free(got);
    cf_session_free(&s);
    fclose(quiet);
    unlink(clf);
}

static void check_manifest(const char *be)
{
    char p[1200], name[128];
    snprintf(p, sizeof p, "%s/manifest.txt", fixdir);
    FILE *f = fopen(p, "r");
    ck_assert_msg(f != NULL, "cannot open %s", p);
    int n, c, h, w, k, count = 0;
    while (fscanf(f, "%127s %d %d %d %d %d", name, &n, &c, &h, &w, &k) == 6) {
        check_fixture(name, n, c, h, w, k, be);
        count++;
    }
    fclose(f);
    ck_assert_int_ge(count, 5);
}

START_TEST(fixtures_reference) { check_manifest("reference"); }
END_TEST

START_TEST(fixtures_cpu) { check_manifest("cpu"); }
END_TEST

/* torchvision counts parameters without batch norm's running statistics,
 * as clforge does. */
START_TEST(param_count_and_names)
{
    char onnx[1200];
    snprintf(onnx, sizeof onnx, "%s/tiny_resnet.onnx", fixdir);
    cf_error e = {0};
    cf_onnx_model m;
    ck_assert_msg(!cf_onnx_import(onnx, NULL, &m, &e), "%s", e.msg);
    long np = 0;
    ck_assert(!cf_model_summary(m.spec, NULL, &np, &e));
    ck_assert_int_eq(np, 78962);
    ck_assert_int_ge(cf_model_spec_find(m.spec, "stage1_b1_conv1"), 0); /* torchvision names as the preset's */
    ck_assert_int_ge(cf_model_spec_find(m.spec, "stage2_b1_proj_bn"), 0);
    ck_assert_int_ge(cf_model_spec_find(m.spec, "stage4_b1_add"), 0);
    ck_assert_int_ge(cf_model_spec_find(m.spec, "out"), 0);
    ck_assert_ptr_nonnull(cf_blob_find(&m.params, "bn1.running_var"));
    cf_onnx_model_free(&m);
    /* model.init_from = "x.onnx" gets the same tensors */
    cf_blob b;
    ck_assert_msg(!cf_onnx_init_tensors(onnx, &b, &e), "%s", e.msg);
    const cf_blob_tensor *t = cf_blob_find(&b, "stage2_b1_proj.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->ndim, 4);
    ck_assert_int_eq(t->shape[0], 16);
    ck_assert_int_eq(t->shape[1], 8);
    ck_assert_ptr_null(b.text);
    cf_blob_free(&b);
}
END_TEST

static void check_bad(const char *file, const char *want1, const char *want2)
{
    char onnx[1200];
    snprintf(onnx, sizeof onnx, "%s/%s", fixdir, file);
    cf_error e = {0};
    cf_onnx_model m;
    ck_assert_msg(cf_onnx_import(onnx, NULL, &m, &e) != CF_OK, "%s accepted", file);
    ck_assert_msg(strstr(e.msg, want1) && strstr(e.msg, want2), "%s: message '%s' lacks '%s'/'%s'", file, e.msg,
                  want1, want2);
    ck_assert_ptr_null(m.spec);
}

START_TEST(bad_files)
{
    check_bad("bad_erf.onnx", "node 'gelu_erf' (Erf)", "not supported");
    check_bad("bad_group.onnx", "node 'dwconv' (Conv)", "attribute 'group' = 3");
    check_bad("bad_ceil.onnx", "node 'pool_ceil' (MaxPool): attribute 'ceil_mode' = 1", "gives 4 outputs");
    check_bad("bad_dynamic.onnx", "graph input 'input': dimension 2 is symbolic ('H')", "fixed");
    check_bad("bad_noinit.onnx", "node 'conv1' (Conv)", "'w_missing'");
    check_bad("bad_truncated.onnx", "bad_truncated.onnx: not an ONNX model", "truncated");
    check_bad("bad_text.onnx", "bad_text.onnx: not an ONNX model", "");
    check_bad("no_such_file.onnx", "no_such_file.onnx", "");
}
END_TEST

Suite *cf_test_suite(void)
{
    set_dir();
    Suite *s = suite_create("onnx_import");
    TCase *t = tcase_create("import");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, fixtures_reference);
    tcase_add_test(t, fixtures_cpu);
    tcase_add_test(t, param_count_and_names);
    tcase_add_test(t, bad_files);
    suite_add_tcase(s, t);
    return s;
}
