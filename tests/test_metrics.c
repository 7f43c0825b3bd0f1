/* Metrics against a hand-computed confusion matrix, top-k, and the
 * learning-curve diagnosis on synthetic curves of each kind. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "observe/diagnosis.h"
#include "observe/metrics.h"

#define EPS 1e-12

/* truth \ pred   0  1  2  3
 *   0            5  1  0  0   row 6
 *   1            2  3  1  0   row 6
 *   2            0  1  4  0   row 5
 *   3            1  0  2  0   row 3  (class 3 is never predicted)
 * columns: 8, 5, 7, 0; correct 12 of 20. */
static const int CM[4][4] = {{5, 1, 0, 0}, {2, 3, 1, 0}, {0, 1, 4, 0}, {1, 0, 2, 0}};

static void fill(cf_confusion *c)
{
    ck_assert_int_eq(cf_confusion_init(c, 4, NULL), CF_OK);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            for (int n = 0; n < CM[i][j]; n++) cf_confusion_add(c, i, j);
}

START_TEST(test_hand_computed)
{
    cf_confusion c;
    fill(&c);
    cf_confusion_add(&c, 7, 0); /* out of range: ignored */
    cf_confusion_add(&c, 0, -1);
    ck_assert_int_eq(cf_confusion_total(&c), 20);
    cf_metrics_report r;
    cf_error err = {0};
    ck_assert_int_eq(cf_metrics_compute(&c, &r, &err), CF_OK);
    ck_assert_double_eq_tol(r.accuracy, 12.0 / 20, EPS);
    const double P[4] = {5.0 / 8, 3.0 / 5, 4.0 / 7, 0};
    const double R[4] = {5.0 / 6, 3.0 / 6, 4.0 / 5, 0};
    const double F[4] = {10.0 / 14, 6.0 / 11, 8.0 / 12, 0}; /* 2tp / (row + col) */
    const double S[4] = {11.0 / 14, 12.0 / 14, 12.0 / 15, 17.0 / 17};
    const long SUP[4] = {6, 6, 5, 3};
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(!isnan(r.per_class[i].precision), "class %d precision NaN", i);
        ck_assert_double_eq_tol(r.per_class[i].precision, P[i], EPS);
        ck_assert_double_eq_tol(r.per_class[i].recall, R[i], EPS);
        ck_assert_double_eq_tol(r.per_class[i].f1, F[i], EPS);
        ck_assert_double_eq_tol(r.per_class[i].specificity, S[i], EPS);
        ck_assert_int_eq(r.per_class[i].support, SUP[i]);
    }
    ck_assert_double_eq_tol(r.macro.precision, (P[0] + P[1] + P[2] + P[3]) / 4, EPS);
    ck_assert_double_eq_tol(r.macro.recall, (R[0] + R[1] + R[2] + R[3]) / 4, EPS);
    ck_assert_double_eq_tol(r.macro.f1, (F[0] + F[1] + F[2] + F[3]) / 4, EPS);
    ck_assert_double_eq_tol(r.weighted.precision, (6 * P[0] + 6 * P[1] + 5 * P[2] + 3 * P[3]) / 20, EPS);
    ck_assert_double_eq_tol(r.weighted.recall, 0.6, EPS); /* weighted recall == accuracy */
    ck_assert_double_eq_tol(r.weighted.f1, (6 * F[0] + 6 * F[1] + 5 * F[2] + 3 * F[3]) / 20, EPS);
    ck_assert_double_eq_tol(r.micro.precision, 0.6, EPS);
    ck_assert_double_eq_tol(r.micro.recall, 0.6, EPS);
    ck_assert_double_eq_tol(r.micro.f1, 0.6, EPS);
    ck_assert_double_eq_tol(r.micro.specificity, 52.0 / 60, EPS); /* sum TN / (sum TN + sum FP) */
    ck_assert_int_eq(r.macro.support, 20);

    char buf[2048];
    const char *names[4] = {"cat", "dog", "bird", "fish"};
    size_t n = cf_metrics_format(&r, names, buf, sizeof buf);
    ck_assert_uint_eq(n, strlen(buf));
    ck_assert_ptr_nonnull(strstr(buf, "fish"));
    ck_assert_ptr_nonnull(strstr(buf, "weighted avg"));
    ck_assert_ptr_null(strstr(buf, "specificity")); /* only for two classes */
    ck_assert_ptr_null(strstr(buf, "nan"));
    char small[16];
    ck_assert_uint_eq(cf_metrics_format(&r, names, small, sizeof small), n); /* truncation safe */
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    cf_metrics_report_free(&r);
    cf_confusion_free(&c);
}
END_TEST

START_TEST(test_binary_and_merge)
{
    cf_confusion a, b;
    ck_assert_int_eq(cf_confusion_init(&a, 2, NULL), CF_OK);
    ck_assert_int_eq(cf_confusion_init(&b, 2, NULL), CF_OK);
    /* TP=8 FN=2 (class 1 truth), TN=85 FP=5 */
    for (int i = 0; i < 8; i++) cf_confusion_add(&a, 1, 1);
    for (int i = 0; i < 2; i++) cf_confusion_add(&a, 1, 0);
    for (int i = 0; i < 85; i++) cf_confusion_add(&b, 0, 0);
    for (int i = 0; i < 5; i++) cf_confusion_add(&b, 0, 1);
    ck_assert_int_eq(cf_confusion_merge(&a, &b, NULL), CF_OK);
    cf_metrics_report r;
    ck_assert_int_eq(cf_metrics_compute(&a, &r, NULL), CF_OK);
    ck_assert_double_eq_tol(r.per_class[1].recall, 0.8, EPS);           /* sensitivity */
    ck_assert_double_eq_tol(r.per_class[1].specificity, 85.0 / 90, EPS);
    ck_assert_double_eq_tol(r.per_class[1].precision, 8.0 / 13, EPS);
    ck_assert_double_eq_tol(r.per_class[0].specificity, 0.8, EPS);      /* mirror */
    char buf[1024];
    cf_metrics_format(&r, NULL, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "specificity"));
    cf_metrics_report_free(&r);
    cf_confusion c3;
    cf_error err = {0};
    ck_assert_int_eq(cf_confusion_init(&c3, 3, NULL), CF_OK);
    ck_assert_int_eq(cf_confusion_merge(&a, &c3, &err), CF_ERR_INVALID);
    cf_confusion_free(&c3);
    ck_assert_int_eq(cf_confusion_init(&c3, 0, &err), CF_ERR_INVALID);
    ck_assert_ptr_null(c3.m);
    ck_assert_ptr_nonnull(strstr(err.msg, "class count"));
    cf_confusion_free(&a);
    cf_confusion_free(&b);
}
END_TEST

START_TEST(test_empty_matrix)
{
    cf_confusion c;
    ck_assert_int_eq(cf_confusion_init(&c, 3, NULL), CF_OK);
    cf_metrics_report r;
    ck_assert_int_eq(cf_metrics_compute(&c, &r, NULL), CF_OK);
    for (int i = 0; i < 3; i++) {
        ck_assert(r.per_class[i].precision == 0 && r.per_class[i].recall == 0 && r.per_class[i].f1 == 0);
    }
    ck_assert(r.accuracy == 0 && !isnan(r.macro.f1));
    cf_metrics_report_free(&r);
    cf_confusion_free(&c);
}
END_TEST

START_TEST(test_topk)
{
    const float p[4] = {0.1f, 0.5f, 0.2f, 0.2f};
    ck_assert_int_eq(cf_topk_hit(p, 4, 1, 1), 1);
    ck_assert_int_eq(cf_topk_hit(p, 4, 2, 1), 0);
    ck_assert_int_eq(cf_topk_hit(p, 4, 2, 2), 1); /* tie with class 3: lower index ranks first */
    ck_assert_int_eq(cf_topk_hit(p, 4, 3, 2), 0);
    ck_assert_int_eq(cf_topk_hit(p, 4, 3, 3), 1);
    ck_assert_int_eq(cf_topk_hit(p, 4, 0, 4), 1);
    ck_assert_int_eq(cf_topk_hit(p, 4, 4, 5), 0); /* label out of range */
    ck_assert_int_eq(cf_topk_hit(p, 4, 1, 0), 0);
    ck_assert_int_eq(cf_argmax(p, 4), 1);
    const float q[3] = {NAN, 0.3f, 0.2f};
    ck_assert_int_eq(cf_topk_hit(q, 3, 0, 2), 0);
    ck_assert_int_eq(cf_topk_hit(q, 3, 2, 2), 1);
    ck_assert_int_eq(cf_argmax(q, 3), 1);
}
END_TEST

/* ---- diagnosis ---- */

static int mk(cf_epoch_record *h, int n, const double *tl, const double *vl, const double *ta,
              const double *va)
{
    for (int i = 0; i < n; i++)
        h[i] = (cf_epoch_record){i + 1, 0.01, tl[i], ta ? ta[i] : NAN, vl ? vl[i] : NAN,
                                 va ? va[i] : NAN, 1.0};
    return n;
}

static void expect(const cf_epoch_record *h, int n, const char *code, const char *word)
{
    char text[1024], c[64];
    ck_assert_int_eq(cf_diagnose(h, n, text, sizeof text, c, sizeof c), CF_OK);
    ck_assert_msg(strcmp(c, code) == 0, "expected %s, got %s: %s", code, c, text);
    ck_assert_msg(strstr(text, "Next:") != NULL, "no next step in: %s", text);
    if (word) ck_assert_msg(strstr(text, word) != NULL, "'%s' not in: %s", word, text);
}

START_TEST(test_diag_good_fit)
{
    cf_epoch_record h[8];
    const double tl[] = {0.6, 0.4, 0.33, 0.30, 0.29, 0.285, 0.283, 0.282};
    const double vl[] = {0.55, 0.42, 0.36, 0.34, 0.335, 0.333, 0.334, 0.333};
    const double ta[] = {0.80, 0.86, 0.89, 0.90, 0.91, 0.915, 0.918, 0.92};
    const double va[] = {0.82, 0.86, 0.88, 0.89, 0.895, 0.898, 0.90, 0.90};
    expect(h, mk(h, 8, tl, vl, ta, va), "good_fit", "90.0%");
}
END_TEST

START_TEST(test_diag_overfit_u)
{
    cf_epoch_record h[7];
    const double tl[] = {0.5, 0.3, 0.2, 0.12, 0.08, 0.06, 0.05};
    const double vl[] = {0.45, 0.35, 0.30, 0.32, 0.36, 0.42, 0.48};
    const double ta[] = {0.83, 0.90, 0.94, 0.96, 0.98, 0.985, 0.99};
    const double va[] = {0.85, 0.88, 0.90, 0.90, 0.895, 0.89, 0.885};
    expect(h, mk(h, 7, tl, vl, ta, va), "overfitting", "epoch 3");
}
END_TEST

START_TEST(test_diag_overfit_gap)
{
    cf_epoch_record h[6];
    const double tl[] = {0.5, 0.3, 0.2, 0.1, 0.05, 0.02};
    const double vl[] = {0.5, 0.45, 0.43, 0.43, 0.43, 0.43};
    const double ta[] = {0.85, 0.90, 0.95, 0.98, 0.99, 1.0};
    const double va[] = {0.85, 0.86, 0.86, 0.86, 0.86, 0.86};
    expect(h, mk(h, 6, tl, vl, ta, va), "overfitting", "gap 14.0 points");
}
END_TEST

START_TEST(test_diag_underfit)
{
    cf_epoch_record h[6];
    const double tl[] = {0.9, 0.75, 0.72, 0.71, 0.705, 0.703};
    const double vl[] = {0.85, 0.76, 0.73, 0.72, 0.718, 0.717};
    const double ta[] = {0.70, 0.74, 0.75, 0.755, 0.757, 0.758};
    const double va[] = {0.71, 0.73, 0.74, 0.745, 0.746, 0.746};
    expect(h, mk(h, 6, tl, vl, ta, va), "underfitting", "75.8%");
}
END_TEST

START_TEST(test_diag_lr_high)
{
    cf_epoch_record h[8];
    const double tl_nan[] = {2.3, NAN};
    expect(h, mk(h, 2, tl_nan, NULL, NULL, NULL), "lr_too_high", "NaN at epoch 2");
    const double vl_inf[] = {0.5, INFINITY};
    const double tl2[] = {0.6, 0.5};
    expect(h, mk(h, 2, tl2, vl_inf, NULL, NULL), "lr_too_high", "infinite");
    const double tl_up[] = {0.8, 0.6, 0.7, 0.9, 1.2};
    expect(h, mk(h, 5, tl_up, NULL, NULL, NULL), "lr_too_high", "rose");
    const double tl_osc[] = {0.7, 0.65, 0.6, 0.62, 0.58, 0.6, 0.57, 0.59};
    const double vl_osc[] = {0.6, 0.9, 0.5, 1.0, 0.55, 0.95, 0.6, 0.9};
    const double ta[] = {0.7, 0.72, 0.74, 0.74, 0.75, 0.75, 0.76, 0.76};
    const double va[] = {0.72, 0.6, 0.75, 0.55, 0.74, 0.6, 0.75, 0.6};
    expect(h, mk(h, 8, tl_osc, vl_osc, ta, va), "lr_too_high", "oscillates");
}
END_TEST

START_TEST(test_diag_still_falling)
{
    cf_epoch_record h[5];
    const double tl[] = {0.6, 0.45, 0.38, 0.33};
    const double vl[] = {0.55, 0.44, 0.38, 0.34};
    const double ta[] = {0.78, 0.84, 0.87, 0.88};
    const double va[] = {0.80, 0.84, 0.86, 0.875};
    expect(h, mk(h, 4, tl, vl, ta, va), "too_few_epochs", "still falling");
    const double tl_slow[] = {2.2, 2.1, 2.0, 1.9, 1.8};
    const double vl_slow[] = {2.15, 2.05, 1.95, 1.85, 1.76};
    const double ta_slow[] = {0.30, 0.33, 0.37, 0.41, 0.45};
    const double va_slow[] = {0.31, 0.34, 0.38, 0.42, 0.46};
    expect(h, mk(h, 5, tl_slow, vl_slow, ta_slow, va_slow), "lr_too_low", "raise the learning rate");
    expect(h, mk(h, 1, tl, vl, ta, va), "too_few_epochs", "one epoch");
}
END_TEST

START_TEST(test_diag_edge)
{
    cf_epoch_record h[6];
    char text[256], code[32];
    ck_assert_int_eq(cf_diagnose(NULL, 0, text, sizeof text, code, sizeof code), CF_OK);
    ck_assert_str_eq(code, "no_data");
    ck_assert_int_eq(cf_diagnose(NULL, 3, text, sizeof text, code, sizeof code), CF_ERR_INVALID);
    /* no validation set, flat training loss, good accuracy */
    const double tl[] = {0.5, 0.3, 0.245, 0.242, 0.241, 0.2405};
    const double ta[] = {0.85, 0.9, 0.92, 0.925, 0.926, 0.926};
    expect(h, mk(h, 6, tl, NULL, ta, NULL), "good_fit", "no validation set");
    /* small buffers truncate safely; NULL buffers are allowed */
    ck_assert_int_eq(cf_diagnose(h, 6, text, 8, code, 4), CF_OK);
    ck_assert_uint_eq(strlen(text), 7);
    ck_assert_str_eq(code, "goo");
    ck_assert_int_eq(cf_diagnose(h, 6, NULL, 0, NULL, 0), CF_OK);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *t = tcase_create("metrics");
    tcase_add_test(t, test_hand_computed);
    tcase_add_test(t, test_binary_and_merge);
    tcase_add_test(t, test_empty_matrix);
    tcase_add_test(t, test_topk);
    suite_add_tcase(s, t);
    TCase *d = tcase_create("diagnosis");
    tcase_add_test(d, test_diag_good_fit);
    tcase_add_test(d, test_diag_overfit_u);
    tcase_add_test(d, test_diag_overfit_gap);
    tcase_add_test(d, test_diag_underfit);
    tcase_add_test(d, test_diag_lr_high);
    tcase_add_test(d, test_diag_still_falling);
    tcase_add_test(d, test_diag_edge);
    suite_add_tcase(s, d);
    return s;
}
