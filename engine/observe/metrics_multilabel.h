/* clforge — multi-label metrics: each sample has a set of labels (a multi-hot
 * target row), each label is predicted when its probability exceeds a
 * threshold. Per label precision/recall/F1 (one-vs-rest counts), micro
 * (pooled counts) and macro (unweighted mean over labels; macro F1 is the
 * mean of the per-label F1s, as scikit-learn's f1_score(average="macro")),
 * exact-match (subset) accuracy and Hamming loss (wrong label decisions /
 * (samples x labels)). Zero divisions give 0, never NaN, as in metrics.h. */
#ifndef CF_METRICS_MULTILABEL_H
#define CF_METRICS_MULTILABEL_H

#include "clforge/error.h"
#include "observe/metrics.h"

typedef struct cf_ml_counts {
    int k;
    long n, exact, wrong; /* samples, samples with every label right, wrong label decisions */
    long *tp, *fp, *fn;   /* per label */
} cf_ml_counts;

cf_status cf_ml_init(cf_ml_counts *c, int k, cf_error *err);
void cf_ml_free(cf_ml_counts *c);
void cf_ml_reset(cf_ml_counts *c);
/* One sample: label j is true when target[j] >= 0.5, predicted when
 * probs[j] > threshold. Returns 1 when every label is right. */
int cf_ml_add(cf_ml_counts *c, const float *probs, const float *target, float threshold);
/* 1 when every label of the sample is right (what cf_ml_add counts as exact). */
int cf_ml_exact(const float *probs, const float *target, int k, float threshold);

typedef struct cf_ml_report {
    int k;
    long n;
    cf_class_metrics *per_label; /* support: samples having the label */
    cf_class_metrics micro, macro;
    double exact_match, hamming_loss;
} cf_ml_report;

cf_status cf_ml_compute(const cf_ml_counts *c, cf_ml_report *out, cf_error *err);
void cf_ml_report_free(cf_ml_report *r);

/* A text table (label, precision, recall, f1, support; micro and macro
 * averages; exact match, Hamming loss). names may be NULL. Like snprintf. */
size_t cf_ml_format(const cf_ml_report *r, const char *const *names, char *buf, size_t cap);

/* The report's JSON members (no braces): "multi_label": true, "micro_f1",
 * "macro_f1", "exact_match", "hamming_loss", "threshold", "micro", "macro"
 * and "per_class" (one object per label, as single-label summaries have). */
struct cf_sbuf;
void cf_ml_json(struct cf_sbuf *b, const cf_ml_report *r, const char *const *names, double threshold);

#endif
