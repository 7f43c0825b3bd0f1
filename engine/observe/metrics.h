/* clforge — classification metrics: confusion matrix, per-class precision,
 * recall, F1, specificity, support, and macro/micro/weighted averages.
 *
 * Conventions (those of scikit-learn's classification_report with
 * zero_division=0): a class never predicted has precision 0, a class absent
 * from the truth has recall 0, F1 is 0 when precision + recall is 0 — never
 * NaN. Macro averages every class equally (absent ones included), weighted
 * averages by support, micro pools the counts (for single-label data micro
 * precision = recall = F1 = accuracy). Specificity TN / (TN + FP) is computed
 * one-vs-rest for every class; it is the usual companion of recall (=
 * sensitivity) when there are two classes. */
#ifndef CF_METRICS_H
#define CF_METRICS_H

#include <stddef.h>

#include "clforge/error.h"

/* m[truth * k + pred]: row = true class, column = predicted class. */
typedef struct cf_confusion {
    int k;
    long *m;
} cf_confusion;

cf_status cf_confusion_init(cf_confusion *c, int k, cf_error *err);
void cf_confusion_free(cf_confusion *c);
void cf_confusion_reset(cf_confusion *c);
/* Out-of-range labels are ignored (callers validate labels at load time). */
void cf_confusion_add(cf_confusion *c, int truth, int pred);
/* c += o (same k); for reducing per-thread or per-rank matrices. */
cf_status cf_confusion_merge(cf_confusion *c, const cf_confusion *o, cf_error *err);
long cf_confusion_total(const cf_confusion *c);

typedef struct cf_class_metrics {
    double precision, recall, f1, specificity;
    long support; /* true samples of the class; for averages, all samples */
} cf_class_metrics;

typedef struct cf_metrics_report {
    int k;
    cf_class_metrics *per_class;
    double accuracy;
    cf_class_metrics macro, micro, weighted;
} cf_metrics_report;

cf_status cf_metrics_compute(const cf_confusion *c, cf_metrics_report *out, cf_error *err);
void cf_metrics_report_free(cf_metrics_report *r);

/* A text table like scikit-learn's classification_report, with accuracy and
 * (for two classes, or always when with_specificity) a specificity column.
 * names may be NULL (classes are numbered). Truncates to cap; returns the
 * length it needed (like snprintf). */
size_t cf_metrics_format(const cf_metrics_report *r, const char *const *names, char *buf,
                         size_t cap);

/* 1 when `label` is among the k most probable classes. Ties are broken by
 * class index (lower first), as a stable descending sort would; a NaN
 * probability never ranks above a number. */
int cf_topk_hit(const float *probs, int k_classes, int label, int k);
/* Index of the largest probability (first on ties); -1 when k_classes < 1. */
int cf_argmax(const float *probs, int k_classes);

/* "precision":…,"recall":…,"f1":…[,"specificity":…],"support":N (no braces). */
struct cf_sbuf;
void cf_class_metrics_json(struct cf_sbuf *b, const cf_class_metrics *m, int with_specificity);

#endif
