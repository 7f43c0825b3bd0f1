/* Multi-label metrics against a prediction set computed by hand. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "observe/metrics_multilabel.h"

#define EPS 1e-12

/* 4 samples, 3 labels, threshold 0.5 (strictly above predicts):
 *   probs            target   predicted  wrong
 *   .9  .2  .6       1 0 0    {0,2}      1 (label 2 false positive)
 *   .1  .8  .4       0 1 1    {1}        1 (label 2 missed)
 *   .7  .7  .7       1 1 1    {0,1,2}    0 (exact)
 *   .5  .1  .2       0 0 1    {}         1 (0.5 is not above; label 2 missed)
 * label 0: tp 2 fp 0 fn 0 -> P 1, R 1, F1 1, support 2
 * label 1: tp 2 fp 0 fn 0 -> P 1, R 1, F1 1, support 2
 * label 2: tp 1 fp 1 fn 2 -> P 1/2, R 1/3, F1 2/5, support 3
 * micro: tp 5 fp 1 fn 2 -> P 5/6, R 5/7, F1 10/13; macro F1 = (1 + 1 + 2/5) / 3 = 0.8
 * exact match 1/4; Hamming loss 3 / 12. */
static const float P[4][3] = {{.9f, .2f, .6f}, {.1f, .8f, .4f}, {.7f, .7f, .7f}, {.5f, .1f, .2f}};
static const float T[4][3] = {{1, 0, 0}, {0, 1, 1}, {1, 1, 1}, {0, 0, 1}};

START_TEST(test_hand_computed)
{
    cf_ml_counts c;
    ck_assert_int_eq(cf_ml_init(&c, 3, NULL), CF_OK);
    int exact = 0;
    for (int i = 0; i < 4; i++) {
        int e = cf_ml_add(&c, P[i], T[i], 0.5f);
        ck_assert_int_eq(e, cf_ml_exact(P[i], T[i], 3, 0.5f));
        exact += e;
    }
    ck_assert_int_eq(exact, 1);
    cf_ml_report r;
    ck_assert_int_eq(cf_ml_compute(&c, &r, NULL), CF_OK);
    ck_assert_double_eq_tol(r.per_label[0].f1, 1, EPS);
    ck_assert_double_eq_tol(r.per_label[1].precision, 1, EPS);
    ck_assert_double_eq_tol(r.per_label[2].precision, 0.5, EPS);
    ck_assert_double_eq_tol(r.per_label[2].recall, 1.0 / 3, EPS);
    ck_assert_double_eq_tol(r.per_label[2].f1, 0.4, EPS);
    ck_assert_int_eq(r.per_label[2].support, 3);
    ck_assert_double_eq_tol(r.micro.precision, 5.0 / 6, EPS);
    ck_assert_double_eq_tol(r.micro.recall, 5.0 / 7, EPS);
    ck_assert_double_eq_tol(r.micro.f1, 10.0 / 13, EPS);
    ck_assert_double_eq_tol(r.macro.precision, (1 + 1 + 0.5) / 3, EPS);
    ck_assert_double_eq_tol(r.macro.recall, (1 + 1 + 1.0 / 3) / 3, EPS);
    ck_assert_double_eq_tol(r.macro.f1, 0.8, EPS);
    ck_assert_int_eq(r.micro.support, 7);
    ck_assert_double_eq_tol(r.exact_match, 0.25, EPS);
    ck_assert_double_eq_tol(r.hamming_loss, 0.25, EPS);
    /* the text table and the JSON carry the same numbers */
    char buf[2048];
    const char *names[3] = {"cat", "dog", "bird"};
    size_t need = cf_ml_format(&r, names, buf, sizeof buf);
    ck_assert_uint_lt(need, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "bird              0.5000    0.3333    0.4000        3"));
    ck_assert_ptr_nonnull(strstr(buf, "micro avg         0.8333    0.7143    0.7692        7"));
    ck_assert_ptr_nonnull(strstr(buf, "exact match       0.2500   hamming loss 0.2500"));
    cf_sbuf b = {0};
    cf_ml_json(&b, &r, names, 0.5);
    ck_assert_ptr_nonnull(b.s);
    ck_assert_ptr_nonnull(strstr(b.s, "\"multi_label\":true,\"micro_f1\":0.7692307692"));
    ck_assert_ptr_nonnull(strstr(b.s, "\"macro_f1\":0.8,"));
    ck_assert_ptr_nonnull(strstr(b.s, "{\"class\":\"bird\",\"precision\":0.5,\"recall\":0.3333333333,\"f1\":0.4,\"support\":3}"));
    cf_sbuf_free(&b);
    /* reset: the counts start again */
    cf_ml_reset(&c);
    ck_assert_int_eq(c.n, 0);
    ck_assert_int_eq(c.tp[0] + c.fp[2] + c.fn[2], 0);
    cf_ml_report_free(&r);
    cf_ml_free(&c);
}
END_TEST

/* No samples, a label never true and never predicted: zeros, never NaN. */
START_TEST(test_zero_division)
{
    cf_ml_counts c;
    ck_assert_int_eq(cf_ml_init(&c, 2, NULL), CF_OK);
    cf_ml_report r;
    ck_assert_int_eq(cf_ml_compute(&c, &r, NULL), CF_OK);
    ck_assert_double_eq(r.micro.f1, 0);
    ck_assert_double_eq(r.hamming_loss, 0);
    ck_assert_double_eq(r.exact_match, 0);
    cf_ml_report_free(&r);
    const float p[2] = {0.9f, 0.1f}, t[2] = {1, 0};
    cf_ml_add(&c, p, t, 0.5f);
    ck_assert_int_eq(cf_ml_compute(&c, &r, NULL), CF_OK);
    ck_assert(!isnan(r.per_label[1].f1) && r.per_label[1].f1 == 0);
    ck_assert_double_eq_tol(r.macro.f1, 0.5, EPS); /* the absent label counts, as scikit-learn's zero_division=0 */
    ck_assert_double_eq_tol(r.micro.f1, 1, EPS);
    ck_assert_double_eq_tol(r.exact_match, 1, EPS);
    cf_ml_report_free(&r);
    cf_ml_free(&c);
    ck_assert_int_ne(cf_ml_init(&c, 0, NULL), CF_OK);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("metrics_multilabel");
    TCase *t = tcase_create("metrics");
    tcase_add_test(t, test_hand_computed);
    tcase_add_test(t, test_zero_division);
    suite_add_tcase(s, t);
    return s;
}
