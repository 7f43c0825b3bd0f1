/* clforge — multi-label metrics (see metrics_multilabel.h for the definitions). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "observe/metrics_multilabel.h"

cf_status cf_ml_init(cf_ml_counts *c, int k, cf_error *err)
{
    memset(c, 0, sizeof *c);
    if (k < 1) return cf_error_set(err, CF_ERR_INVALID, "multi-label metrics: %d labels", k);
    c->k = k;
    c->tp = calloc((size_t)k, sizeof *c->tp);
    c->fp = calloc((size_t)k, sizeof *c->fp);
    c->fn = calloc((size_t)k, sizeof *c->fn);
    if (!c->tp || !c->fp || !c->fn) {
        cf_ml_free(c);
        return cf_error_set(err, CF_ERR_NOMEM, "multi-label metrics: out of memory");
    }
    return CF_OK;
}

void cf_ml_free(cf_ml_counts *c)
{
    free(c->tp);
    free(c->fp);
    free(c->fn);
    memset(c, 0, sizeof *c);
}

void cf_ml_reset(cf_ml_counts *c)
{
    c->n = c->exact = c->wrong = 0;
    for (int j = 0; j < c->k; j++) c->tp[j] = c->fp[j] = c->fn[j] = 0;
}

int cf_ml_exact(const float *probs, const float *target, int k, float threshold)
{
    for (int j = 0; j < k; j++)
        if ((probs[j] > threshold) != (target[j] >= 0.5f)) return 0;
    return 1;
}

int cf_ml_add(cf_ml_counts *c, const float *probs, const float *target, float threshold)
{
    long wrong = 0;
    for (int j = 0; j < c->k; j++) {
        int p = probs[j] > threshold, t = target[j] >= 0.5f;
        c->tp[j] += p && t;
        c->fp[j] += p && !t;
        c->fn[j] += !p && t;
        wrong += p != t;
    }
    c->n++;
    c->wrong += wrong;
    c->exact += wrong == 0;
    return wrong == 0;
}

static double ratio(long a, long b) { return b > 0 ? (double)a / (double)b : 0.0; }

static void prf(cf_class_metrics *m, long tp, long fp, long fn)
{
    m->precision = ratio(tp, tp + fp);
    m->recall = ratio(tp, tp + fn);
    double s = m->precision + m->recall;
    m->f1 = s > 0 ? 2 * m->precision * m->recall / s : 0.0;
    m->specificity = 0; /* not reported for multi-label */
    m->support = tp + fn;
}

cf_status cf_ml_compute(const cf_ml_counts *c, cf_ml_report *r, cf_error *err)
{
    memset(r, 0, sizeof *r);
    r->k = c->k;
    r->n = c->n;
    if (!(r->per_label = calloc((size_t)(c->k > 0 ? c->k : 1), sizeof *r->per_label)))
        return cf_error_set(err, CF_ERR_NOMEM, "multi-label metrics: out of memory");
    long tp = 0, fp = 0, fn = 0;
    for (int j = 0; j < c->k; j++) {
        prf(&r->per_label[j], c->tp[j], c->fp[j], c->fn[j]);
        tp += c->tp[j], fp += c->fp[j], fn += c->fn[j];
        r->macro.precision += r->per_label[j].precision / c->k;
        r->macro.recall += r->per_label[j].recall / c->k;
        r->macro.f1 += r->per_label[j].f1 / c->k;
    }
    prf(&r->micro, tp, fp, fn);
    r->macro.support = r->micro.support;
    r->exact_match = ratio(c->exact, c->n);
    r->hamming_loss = c->n && c->k ? (double)c->wrong / ((double)c->n * c->k) : 0.0;
    return CF_OK;
}

void cf_ml_report_free(cf_ml_report *r)
{
    free(r->per_label);
    memset(r, 0, sizeof *r);
}

static const char *label_name(const char *const *names, int j, char *tmp, size_t n)
{
    if (names && names[j]) return names[j];
    snprintf(tmp, n, "%d", j);
    return tmp;
}

size_t cf_ml_format(const cf_ml_report *r, const char *const *names, char *buf, size_t cap)
{
    cf_sbuf b = {0};
    char tmp[16];
    cf_sbuf_printf(&b, "%-14s %9s %9s %9s %8s\n", "label", "precision", "recall", "f1", "support");
    for (int j = 0; j < r->k; j++) {
        const cf_class_metrics *m = &r->per_label[j];
        cf_sbuf_printf(&b, "%-14s %9.4f %9.4f %9.4f %8ld\n", label_name(names, j, tmp, sizeof tmp), m->precision,
                       m->recall, m->f1, m->support);
    }
    cf_sbuf_printf(&b, "%-14s %9.4f %9.4f %9.4f %8ld\n", "micro avg", r->micro.precision, r->micro.recall,
                   r->micro.f1, r->micro.support);
    cf_sbuf_printf(&b, "%-14s %9.4f %9.4f %9.4f %8ld\n", "macro avg", r->macro.precision, r->macro.recall,
                   r->macro.f1, r->macro.support);
    cf_sbuf_printf(&b, "exact match    %9.4f   hamming loss %.4f   (%ld samples)\n", r->exact_match,
                   r->hamming_loss, r->n);
    size_t len = b.s ? b.len : 0;
    if (cap) {
        size_t m = len < cap - 1 ? len : cap - 1;
        if (b.s) memcpy(buf, b.s, m);
        buf[m] = '\0';
    }
    cf_sbuf_free(&b);
    return len;
}

void cf_ml_json(cf_sbuf *b, const cf_ml_report *r, const char *const *names, double threshold)
{
    char tmp[16];
    cf_sbuf_printf(b, "\"multi_label\":true,\"micro_f1\":");
    cf_json_num(b, r->micro.f1);
    cf_sbuf_printf(b, ",\"macro_f1\":");
    cf_json_num(b, r->macro.f1);
    cf_sbuf_printf(b, ",\"exact_match\":");
    cf_json_num(b, r->exact_match);
    cf_sbuf_printf(b, ",\"hamming_loss\":");
    cf_json_num(b, r->hamming_loss);
    cf_sbuf_printf(b, ",\"threshold\":");
    cf_json_num(b, threshold);
    cf_sbuf_printf(b, ",\"micro\":{");
    cf_class_metrics_json(b, &r->micro, 0);
    cf_sbuf_printf(b, "},\"macro\":{");
    cf_class_metrics_json(b, &r->macro, 0);
    cf_sbuf_printf(b, "},\"per_class\":[");
    for (int j = 0; j < r->k; j++) {
        cf_sbuf_printf(b, "%s{\"class\":", j ? "," : "");
        cf_json_str(b, label_name(names, j, tmp, sizeof tmp));
        cf_sbuf_printf(b, ",");
        cf_class_metrics_json(b, &r->per_label[j], 0);
        cf_sbuf_printf(b, "}");
    }
    cf_sbuf_printf(b, "]");
}
