/* clforge — classification metrics; see metrics.h for the conventions. */
#include "observe/metrics.h"
#include "core/util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cf_status cf_confusion_init(cf_confusion *c, int k, cf_error *err)
{
    c->k = 0;
    c->m = NULL;
    if (k < 1 || k > 100000)
        return cf_error_set(err, CF_ERR_INVALID, "confusion matrix: bad class count %d", k);
    c->m = calloc((size_t)k * (size_t)k, sizeof *c->m);
    if (!c->m)
        return cf_error_set(err, CF_ERR_NOMEM, "confusion matrix: out of memory for %d classes", k);
    c->k = k;
    return CF_OK;
}

void cf_confusion_free(cf_confusion *c)
{
    if (!c) return;
    free(c->m);
    c->m = NULL;
    c->k = 0;
}

void cf_confusion_reset(cf_confusion *c)
{
    if (c->m) memset(c->m, 0, (size_t)c->k * (size_t)c->k * sizeof *c->m);
}

void cf_confusion_add(cf_confusion *c, int truth, int pred)
{
    if (truth < 0 || truth >= c->k || pred < 0 || pred >= c->k) return;
    c->m[(size_t)truth * (size_t)c->k + (size_t)pred]++;
}

cf_status cf_confusion_merge(cf_confusion *c, const cf_confusion *o, cf_error *err)
{
    if (c->k != o->k)
        return cf_error_set(err, CF_ERR_INVALID, "confusion matrix: merging %d classes into %d",
                            o->k, c->k);
    for (size_t i = 0; i < (size_t)c->k * (size_t)c->k; i++) c->m[i] += o->m[i];
    return CF_OK;
}

long cf_confusion_total(const cf_confusion *c)
{
    long t = 0;
    for (size_t i = 0; i < (size_t)c->k * (size_t)c->k; i++) t += c->m[i];
    return t;
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }
static double f1_of(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0.0; }

cf_status cf_metrics_compute(const cf_confusion *c, cf_metrics_report *out, cf_error *err)
{
    memset(out, 0, sizeof *out);
    if (!c || c->k < 1 || !c->m)
        return cf_error_set(err, CF_ERR_INVALID, "metrics: empty confusion matrix");
    int k = c->k;
    out->per_class = calloc((size_t)k, sizeof *out->per_class);
    if (!out->per_class) return cf_error_set(err, CF_ERR_NOMEM, "metrics: out of memory");
    out->k = k;
    long total = cf_confusion_total(c), correct = 0;
    double sum_tn = 0, sum_fp = 0;
    for (int i = 0; i < k; i++) {
        long tp = c->m[(size_t)i * k + i], row = 0, col = 0;
        for (int j = 0; j < k; j++) {
            row += c->m[(size_t)i * k + j];
            col += c->m[(size_t)j * k + i];
        }
        long fp = col - tp, fn = row - tp, tn = total - tp - fp - fn;
        cf_class_metrics *m = &out->per_class[i];
        m->precision = ratio((double)tp, (double)col);
        m->recall = ratio((double)tp, (double)row);
        m->f1 = f1_of(m->precision, m->recall);
        m->specificity = ratio((double)tn, (double)(tn + fp));
        m->support = row;
        correct += tp;
        sum_tn += (double)tn;
        sum_fp += (double)fp;
        out->macro.precision += m->precision / k;
        out->macro.recall += m->recall / k;
        out->macro.f1 += m->f1 / k;
        out->macro.specificity += m->specificity / k;
        double w = ratio((double)row, (double)total);
        out->weighted.precision += w * m->precision;
        out->weighted.recall += w * m->recall;
        out->weighted.f1 += w * m->f1;
        out->weighted.specificity += w * m->specificity;
    }
    out->accuracy = ratio((double)correct, (double)total);
    /* Pooled counts: every error is one FP and one FN, so micro P = R = acc. */
    out->micro.precision = out->accuracy;
    out->micro.recall = out->accuracy;
    out->micro.f1 = out->accuracy;
    out->micro.specificity = ratio(sum_tn, sum_tn + sum_fp);
    out->macro.support = out->micro.support = out->weighted.support = total;
    return CF_OK;
}

void cf_metrics_report_free(cf_metrics_report *r)
{
    if (!r) return;
    free(r->per_class);
    r->per_class = NULL;
    r->k = 0;
}

typedef struct sbuf {
    char *p;
    size_t cap, len;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->len < b->cap ? b->cap - b->len : 0;
    int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0) b->len += (size_t)n;
}

size_t cf_metrics_format(const cf_metrics_report *r, const char *const *names, char *buf,
                         size_t cap)
{
    sbuf b = {buf, cap, 0};
    if (cap) buf[0] = 0;
    int spec = r->k == 2;
    int w = 12;
    for (int i = 0; names && i < r->k; i++)
        if (names[i] && (int)strlen(names[i]) > w) w = (int)strlen(names[i]);
    sb_printf(&b, "%*s %9s %9s %9s %s%9s\n", w, "", "precision", "recall", "f1-score",
              spec ? "specificity " : "", "support");
    char num[32];
    for (int i = 0; i < r->k; i++) {
        const cf_class_metrics *m = &r->per_class[i];
        const char *nm = names && names[i] ? names[i] : NULL;
        if (!nm) {
            snprintf(num, sizeof num, "%d", i);
            nm = num;
        }
        sb_printf(&b, "%*s %9.4f %9.4f %9.4f ", w, nm, m->precision, m->recall, m->f1);
        if (spec) sb_printf(&b, "%11.4f ", m->specificity);
        sb_printf(&b, "%9ld\n", m->support);
    }
    sb_printf(&b, "\n%*s %9s %9s %9.4f %s%9ld\n", w, "accuracy", "", "", r->accuracy,
              spec ? "            " : "", r->micro.support);
    const struct {
        const char *n;
        const cf_class_metrics *m;
    } rows[] = {{"macro avg", &r->macro}, {"micro avg", &r->micro}, {"weighted avg", &r->weighted}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        sb_printf(&b, "%*s %9.4f %9.4f %9.4f ", w, rows[i].n, rows[i].m->precision,
                  rows[i].m->recall, rows[i].m->f1);
        if (spec) sb_printf(&b, "%11.4f ", rows[i].m->specificity);
        sb_printf(&b, "%9ld\n", rows[i].m->support);
    }
    return b.len;
}

/* Does class j rank strictly above class l? NaN sorts last; ties by index. */
static int ranks_above(const float *p, int j, int l)
{
    int nj = isnan(p[j]), nl = isnan(p[l]);
    if (nj || nl) return !nj ? 1 : (nl && j < l);
    return p[j] > p[l] || (p[j] == p[l] && j < l);
}

int cf_topk_hit(const float *probs, int k_classes, int label, int k)
{
    if (label < 0 || label >= k_classes || k < 1) return 0;
    int above = 0;
    for (int j = 0; j < k_classes && above < k; j++)
        if (j != label && ranks_above(probs, j, label)) above++;
    return above < k;
}

int cf_argmax(const float *probs, int k_classes)
{
    if (k_classes < 1) return -1;
    int best = 0;
    for (int j = 1; j < k_classes; j++)
        if (ranks_above(probs, j, best)) best = j;
    return best;
}

void cf_class_metrics_json(cf_sbuf *b, const cf_class_metrics *m, int with_specificity)
{
    cf_sbuf_printf(b, "\"precision\":");
    cf_json_num(b, m->precision);
    cf_sbuf_printf(b, ",\"recall\":");
    cf_json_num(b, m->recall);
    cf_sbuf_printf(b, ",\"f1\":");
    cf_json_num(b, m->f1);
    if (with_specificity) {
        cf_sbuf_printf(b, ",\"specificity\":");
        cf_json_num(b, m->specificity);
    }
    cf_sbuf_printf(b, ",\"support\":%ld", m->support);
}
