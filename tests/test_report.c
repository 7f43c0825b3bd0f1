/* The JSON reader, report.html from fixture run directories, and the lr-find
 * plot. CF_REPORT_OUT=DIR keeps the fixture report in DIR (used by
 * tests/test_report_render.sh to screenshot it). */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json_parse.h"
#include "observe/report.h"

/* ---- JSON reader ---- */

START_TEST(test_json_values)
{
    const char *t = "{\"a\": [1, -2.5e3, true, false, null, \"x\\ty\\u00e9\\ud83d\\ude00\"],"
                    " \"b\": {\"c\": NaN, \"d\": -Infinity}, \"a2\": {}, \"e\": []}";
    cf_jval *v = NULL;
    cf_error err = {0};
    ck_assert_msg(cf_jval_parse(t, strlen(t), "t", &v, &err) == CF_OK, "%s", err.msg);
    const cf_jval *a = cf_jval_get(v, "a");
    ck_assert_int_eq(cf_jval_len(a), 6);
    ck_assert_double_eq(cf_jval_num(cf_jval_at(a, 0), 0), 1);
    ck_assert_double_eq(cf_jval_num(cf_jval_at(a, 1), 0), -2500);
    ck_assert_double_eq(cf_jval_num(cf_jval_at(a, 2), 0), 1);
    ck_assert_int_eq(cf_jval_at(a, 4)->type, CF_JVAL_NULL);
    ck_assert_double_eq(cf_jval_num(cf_jval_at(a, 4), 7), 7);
    ck_assert_str_eq(cf_jval_str(cf_jval_at(a, 5), ""), "x\ty\xc3\xa9\xf0\x9f\x98\x80");
    ck_assert(isnan(cf_jval_num(cf_jval_path(v, "b.c"), 0)));
    ck_assert(isinf(cf_jval_num(cf_jval_path(v, "b.d"), 0)));
    ck_assert_ptr_null(cf_jval_path(v, "b.zz"));
    ck_assert_ptr_null(cf_jval_path(v, "a.c"));
    ck_assert_ptr_null(cf_jval_at(a, 6));
    ck_assert_int_eq(cf_jval_len(cf_jval_get(v, "a2")), 0);
    ck_assert_str_eq(cf_jval_str(NULL, "dflt"), "dflt");
    cf_jval_free(v);
}
END_TEST

START_TEST(test_json_errors)
{
    const char *bad[] = {"", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "\"abc", "tru", "1 2",
                         "{\"a\":\"\\q\"}", "[\"\x01\"]", "01x", "{1:2}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cf_jval *v = (cf_jval *)1;
        cf_error err = {0};
        ck_assert_msg(cf_jval_parse(bad[i], strlen(bad[i]), "bad.json", &v, &err) == CF_ERR_INVALID,
                      "accepted: %s", bad[i]);
        ck_assert_ptr_null(v);
        ck_assert_msg(strncmp(err.msg, "bad.json:1:", 11) == 0, "message: %s", err.msg);
    }
    cf_error err = {0};
    cf_jval *v;
    const char *two = "{\n  \"a\": [1,\n   x]}";
    ck_assert_int_eq(cf_jval_parse(two, strlen(two), "f", &v, &err), CF_ERR_INVALID);
    ck_assert_msg(strncmp(err.msg, "f:3:4:", 6) == 0, "%s", err.msg);
    char deep[200];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = 0;
    ck_assert_int_eq(cf_jval_parse(deep, strlen(deep), "deep", &v, &err), CF_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "deep"));
    ck_assert_int_eq(cf_jval_parse_file("/nonexistent/x.json", &v, &err), CF_ERR_IO);
}
END_TEST

/* ---- report ---- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    if (p) p[n] = 0;
    fclose(f);
    return p;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

static char tmpdir[256];

static void setup_dir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cf_report_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_dir(const char *d)
{
    DIR *dh = opendir(d);
    if (!dh) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(dh)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", d, e->d_name);
            unlink(p);
        }
    closedir(dh);
    rmdir(d);
}

static void copy_fixture(const char *dir, const char *file)
{
    const char *src = getenv("CF_TEST_SRCDIR");
    char from[512], to[512];
    snprintf(from, sizeof from, "%s/tests/fixtures/run1/%s", src ? src : ".", file);
    snprintf(to, sizeof to, "%s/%s", dir, file);
    char *t = slurp(from);
    ck_assert_msg(t != NULL, "fixture %s missing (CF_TEST_SRCDIR)", from);
    spit(to, t);
    free(t);
}

static char *report_of(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/report.html", dir);
    return slurp(p);
}

/* No scripts, no external resources: the file must stand alone. */
static void assert_self_contained(const char *h)
{
    ck_assert_ptr_null(strstr(h, "<script"));
    ck_assert_ptr_null(strstr(h, "<link"));
    ck_assert_ptr_null(strstr(h, "src="));
    ck_assert_ptr_null(strstr(h, "url("));
    ck_assert_ptr_null(strstr(h, "http"));
    ck_assert_ptr_null(strstr(h, "nan"));
    ck_assert_int_eq(count(h, "<svg"), count(h, "</svg>"));
    ck_assert_ptr_nonnull(strstr(h, "</html>"));
}

START_TEST(test_report_fixture)
{
    const char *keep = getenv("CF_REPORT_OUT");
    char dir[256];
    if (keep && *keep) {
        snprintf(dir, sizeof dir, "%s", keep);
        mkdir(dir, 0755);
    } else {
        setup_dir();
        snprintf(dir, sizeof dir, "%s", tmpdir);
    }
    copy_fixture(dir, "metrics.jsonl");
    copy_fixture(dir, "summary.json");
    cf_error err = {0};
    ck_assert_msg(cf_report_write(dir, &err) == CF_OK, "%s", err.msg);
    char *h = report_of(dir);
    ck_assert_ptr_nonnull(h);
    assert_self_contained(h);
    ck_assert_int_eq(count(h, "<svg"), 4); /* loss, accuracy, learning rate, confusion */
    ck_assert_ptr_nonnull(strstr(h, "aria-label=\"Loss\""));
    ck_assert_ptr_nonnull(strstr(h, "aria-label=\"Accuracy\""));
    ck_assert_ptr_nonnull(strstr(h, "aria-label=\"Learning rate\""));
    ck_assert_ptr_nonnull(strstr(h, "aria-label=\"confusion matrix\""));
    ck_assert_ptr_nonnull(strstr(h, "validation top-5"));
    ck_assert_int_eq(count(h, "<rect x="), 100);             /* 10x10 heat-map cells */
    ck_assert_ptr_nonnull(strstr(h, ">712</text>"));          /* Shirt recall cell count */
    ck_assert_ptr_nonnull(strstr(h, "T-shirt/top"));
    ck_assert_ptr_nonnull(strstr(h, "Ankle boot"));
    ck_assert_ptr_nonnull(strstr(h, "macro avg"));
    ck_assert_ptr_nonnull(strstr(h, "weighted avg"));
    ck_assert_ptr_nonnull(strstr(h, "micro avg"));
    ck_assert_int_eq(count(h, "<td>10000</td></tr>"), 3); /* average rows: total support */
    ck_assert_ptr_nonnull(strstr(h, "good_fit"));
    ck_assert_ptr_nonnull(strstr(h, "90.71%"));               /* test accuracy */
    ck_assert_ptr_nonnull(strstr(h, "lr_schedule = { type = &quot;cosine&quot;")); /* config, escaped */
    ck_assert_ptr_nonnull(strstr(h, "AMD EPYC"));
    ck_assert_ptr_nonnull(strstr(h, "reference"));
    free(h);
    if (!(keep && *keep)) rm_dir(dir);
}
END_TEST

START_TEST(test_report_metrics_only)
{
    /* no summary.json; one torn line from a killed run; diagnosis computed here */
    setup_dir();
    char p[512];
    snprintf(p, sizeof p, "%s/metrics.jsonl", tmpdir);
    spit(p, "{\"epoch\":1,\"lr\":0.1,\"train_loss\":0.9,\"train_accuracy\":0.7,\"validation_loss\":0.8,\"validation_accuracy\":0.72}\n"
            "\n"
            "{\"epoch\":2,\"lr\":0.1,\"train_loss\":0.6,\"train_accuracy\":0.8,\"validation_loss\":0.55,\"validation_accuracy\":0.81}\n"
            "{\"epoch\":3,\"lr\":0.1,\"train_loss\":0.45,\"train_accuracy\":0.85,\"validation_loss\":0.42,\"validation_accuracy\":0.85}\n"
            "{\"epoch\":4,\"lr\":0.1,\"train_lo");
    cf_error err = {0};
    ck_assert_msg(cf_report_write(tmpdir, &err) == CF_OK, "%s", err.msg);
    char *h = report_of(tmpdir);
    ck_assert_ptr_nonnull(h);
    assert_self_contained(h);
    ck_assert_int_eq(count(h, "<svg"), 3);
    ck_assert_ptr_nonnull(strstr(h, "too_few_epochs"));
    ck_assert_ptr_nonnull(strstr(h, "1 unreadable line of metrics.jsonl skipped"));
    ck_assert_ptr_nonnull(strstr(h, "no summary.json"));
    free(h);
    rm_dir(tmpdir);
}
END_TEST

START_TEST(test_report_diverged)
{
    /* the trainer writes non-finite values as null: the curves break there and
     * the diagnosis (computed here, no summary) says the rate was too high */
    setup_dir();
    char p[512];
    snprintf(p, sizeof p, "%s/metrics.jsonl", tmpdir);
    spit(p, "{\"epoch\":1,\"lr\":1.5,\"train_loss\":2.1,\"train_accuracy\":0.3,\"validation_loss\":1.9,\"validation_accuracy\":0.35}\n"
            "{\"epoch\":2,\"lr\":1.5,\"train_loss\":null,\"train_accuracy\":0.1,\"validation_loss\":null,\"validation_accuracy\":0.1}\n");
    cf_error err = {0};
    ck_assert_msg(cf_report_write(tmpdir, &err) == CF_OK, "%s", err.msg);
    char *h = report_of(tmpdir);
    ck_assert_ptr_nonnull(h);
    assert_self_contained(h);
    ck_assert_ptr_nonnull(strstr(h, "lr_too_high"));
    ck_assert_ptr_nonnull(strstr(h, "class=\"dx bad\""));
    ck_assert_ptr_nonnull(strstr(h, "NaN at epoch 2"));
    free(h);
    rm_dir(tmpdir);
}
END_TEST

START_TEST(test_report_summary_only)
{
    /* no metrics; test block with a confusion matrix but no per_class: the
     * table is computed; class names need escaping; binary -> specificity */
    setup_dir();
    char p[512];
    snprintf(p, sizeof p, "%s/summary.json", tmpdir);
    spit(p, "{\"name\":\"a<b>&c\",\"status\":\"failed\",\"backend\":\"cpu\",\"test\":{\"accuracy\":0.93,\"top3\":0.995,"
            "\"classes\":[\"<neg>\",\"pos\"],\"confusion\":[[85,5],[2,8]]},"
            "\"environment\":{\"threads\":4,\"gpu\":null,\"fast\":true,\"backend\":\"cpu\"}}");
    cf_error err = {0};
    ck_assert_msg(cf_report_write(tmpdir, &err) == CF_OK, "%s", err.msg);
    char *h = report_of(tmpdir);
    ck_assert_ptr_nonnull(h);
    assert_self_contained(h);
    ck_assert_ptr_null(strstr(h, "<neg>"));
    ck_assert_ptr_null(strstr(h, "a<b>"));
    ck_assert_ptr_nonnull(strstr(h, "&lt;neg&gt;"));
    ck_assert_ptr_nonnull(strstr(h, "a&lt;b&gt;&amp;c"));
    ck_assert_ptr_nonnull(strstr(h, "<th>specificity</th>"));
    ck_assert_ptr_nonnull(strstr(h, "<td>0.6154</td>"));   /* precision of pos: 8/13 */
    ck_assert_ptr_nonnull(strstr(h, "<td>0.9444</td>"));   /* specificity of pos: 85/90 */
    ck_assert_ptr_nonnull(strstr(h, "Computed from the confusion matrix"));
    ck_assert_ptr_nonnull(strstr(h, "test top-3</span><b>99.50%"));
    ck_assert_int_eq(count(h, "<dt>backend</dt>"), 1); /* not repeated from environment */
    ck_assert_ptr_nonnull(strstr(h, "<dt>threads</dt><dd>4</dd>"));
    ck_assert_ptr_nonnull(strstr(h, "<dt>fast</dt><dd>yes</dd>"));
    ck_assert_ptr_nonnull(strstr(h, "No metrics.jsonl"));
    ck_assert_int_eq(count(h, "<svg"), 1);
    free(h);
    /* a corrupt summary is an error naming the file and place */
    spit(p, "{\"name\": \"x\",\n \"test\": [1,}\n");
    ck_assert_int_eq(cf_report_write(tmpdir, &err), CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "summary.json:2:") != NULL, "%s", err.msg);
    rm_dir(tmpdir);
}
END_TEST

START_TEST(test_report_missing)
{
    setup_dir();
    cf_error err = {0};
    ck_assert_int_eq(cf_report_write(tmpdir, &err), CF_ERR_IO);
    ck_assert_msg(strstr(err.msg, "neither metrics.jsonl nor summary.json") != NULL, "%s", err.msg);
    ck_assert_int_eq(cf_report_write("/nonexistent/run", &err), CF_ERR_IO);
    ck_assert_int_eq(cf_report_write(NULL, &err), CF_ERR_INVALID);
    rm_dir(tmpdir);
}
END_TEST

START_TEST(test_lr_find)
{
    setup_dir();
    enum { N = 100 };
    double lr[N], loss[N];
    for (int i = 0; i < N; i++) {
        lr[i] = 1e-6 * pow(10, 6.0 * i / (N - 1));
        double x = log10(lr[i]);
        loss[i] = i > 95 ? (i == 99 ? NAN : 1e6) : 2.3 - 1.5 / (1 + exp(-(x + 3) * 3)) + (x > -1 ? (x + 1) * 4 : 0);
    }
    char p[512];
    cf_error err = {0};
    snprintf(p, sizeof p, "%s/lr_find.html", tmpdir);
    ck_assert_msg(cf_report_lr_find(p, lr, loss, N, 3e-3, &err) == CF_OK, "%s", err.msg);
    char *h = slurp(p);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(count(h, "<svg"), 1);
    ck_assert_ptr_nonnull(strstr(h, "suggested 0.003"));
    ck_assert_ptr_nonnull(strstr(h, "class=\"mk\""));
    ck_assert_ptr_null(strstr(h, "nan"));
    ck_assert_ptr_nonnull(strstr(h, ">1e-06<"));          /* log axis decades */
    free(h);
    snprintf(p, sizeof p, "%s/lr_find.svg", tmpdir);
    ck_assert_int_eq(cf_report_lr_find(p, lr, loss, N, 3e-3, &err), CF_OK);
    h = slurp(p);
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_nonnull(strstr(h, "xmlns=\"http://www.w3.org/2000/svg\""));
    ck_assert_int_eq(count(h, "<svg"), 2);
    free(h);
    ck_assert_int_eq(cf_report_lr_find(p, NULL, loss, N, 1e-3, &err), CF_ERR_INVALID);
    ck_assert_int_eq(cf_report_lr_find("/nonexistent/dir/x.svg", lr, loss, N, 1e-3, &err), CF_ERR_IO);
    rm_dir(tmpdir);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("report");
    TCase *j = tcase_create("json");
    tcase_add_test(j, test_json_values);
    tcase_add_test(j, test_json_errors);
    suite_add_tcase(s, j);
    TCase *r = tcase_create("report");
    tcase_add_test(r, test_report_fixture);
    tcase_add_test(r, test_report_metrics_only);
    tcase_add_test(r, test_report_diverged);
    tcase_add_test(r, test_report_summary_only);
    tcase_add_test(r, test_report_missing);
    tcase_add_test(r, test_lr_find);
    suite_add_tcase(s, r);
    return s;
}
