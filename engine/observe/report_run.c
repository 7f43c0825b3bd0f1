/* clforge — the run report: RUN_DIR/report.html from metrics.jsonl and
 * summary.json (see report.h; formats in docs/report.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json_parse.h"
#include "observe/diagnosis.h"
#include "observe/metrics.h"
#include "observe/report.h"
#include "observe/svg.h"

/* ---- reading the run directory ---------------------------------------------- */

typedef struct hist {
    int n, cap;
    double *epoch, *lr, *tl, *ta, *vl, *va, *vtop, *sec, *ips;
    int top_k; /* k of validation_topK when present, else 0 */
    int skipped;
} hist;

static void hist_free(hist *h)
{
    free(h->epoch);
    free(h->lr);
    free(h->tl);
    free(h->ta);
    free(h->vl);
    free(h->va);
    free(h->vtop);
    free(h->sec);
    free(h->ips);
}

static int hist_push(hist *h)
{
    if (h->n < h->cap) return 1;
    int nc = h->cap ? h->cap * 2 : 64;
    double **arrs[] = {&h->epoch, &h->lr, &h->tl, &h->ta, &h->vl, &h->va, &h->vtop, &h->sec, &h->ips};
    for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) {
        double *np = realloc(*arrs[i], (size_t)nc * sizeof *np);
        if (!np) return 0;
        *arrs[i] = np;
    }
    h->cap = nc;
    return 1;
}

static double num_or_nan(const cf_jval *o, const char *key) { return cf_jval_num(cf_jval_get(o, key), NAN); }

/* Missing file: ok with h->n = 0 and *found = 0. */
static cf_status read_metrics(const char *path, hist *h, int *found, cf_error *err)
{
    *found = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return CF_OK;
        return cf_error_set(err, CF_ERR_IO, "%s: %s", path, strerror(errno));
    }
    *found = 1;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    cf_status st = CF_OK;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        size_t i = 0;
        while (i < (size_t)len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n')) i++;
        if (i == (size_t)len) continue;
        cf_jval *o = NULL;
        if (cf_jval_parse(line, (size_t)len, path, &o, NULL) != CF_OK || o->type != CF_JVAL_OBJECT) {
            cf_jval_free(o);
            h->skipped++;
            continue;
        }
        if (!hist_push(h)) {
            cf_jval_free(o);
            st = cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        int n = h->n;
        double ep = num_or_nan(o, "epoch");
        h->epoch[n] = isfinite(ep) ? ep : n + 1;
        h->lr[n] = num_or_nan(o, "lr");
        h->tl[n] = num_or_nan(o, "train_loss");
        h->ta[n] = num_or_nan(o, "train_accuracy");
        h->vl[n] = num_or_nan(o, "validation_loss");
        h->va[n] = num_or_nan(o, "validation_accuracy");
        h->sec[n] = num_or_nan(o, "seconds");
        h->ips[n] = num_or_nan(o, "images_per_sec");
        h->vtop[n] = NAN;
        for (int j = 0; j < o->n; j++) {
            int k;
            char tail;
            if (sscanf(o->keys[j], "validation_top%d%c", &k, &tail) == 1 && k > 1 &&
                (h->top_k == 0 || h->top_k == k)) {
                h->top_k = k;
                h->vtop[n] = cf_jval_num(o->items[j], NAN);
            }
        }
        h->n++;
        cf_jval_free(o);
    }
    free(line);
    fclose(f);
    return st;
}

static void fmt_num(char *buf, size_t cap, const cf_jval *v, const char *fmt)
{
    double d = cf_jval_num(v, NAN);
    if (isfinite(d))
        snprintf(buf, cap, fmt, d);
    else
        snprintf(buf, cap, "&#8211;");
}

static void fmt_pct(char *buf, size_t cap, double d)
{
    if (isfinite(d))
        snprintf(buf, cap, "%.2f%%", 100 * d);
    else
        snprintf(buf, cap, "&#8211;");
}

static void card(cf_svgbuf *b, const char *label, const char *value_html)
{
    cf_svg_put(b, "<div class=\"card\"><span>");
    cf_svg_esc(b, label);
    cf_svg_put(b, "</span><b>");
    cf_svg_put(b, value_html);
    cf_svg_put(b, "</b></div>");
}

/* Fill a confusion matrix from summary test.confusion; 0 when absent/bad. */
static int load_confusion(const cf_jval *arr, cf_confusion *c)
{
    int k = cf_jval_len(arr);
    if (k < 1 || cf_confusion_init(c, k, NULL) != CF_OK) return 0;
    for (int i = 0; i < k; i++) {
        const cf_jval *row = cf_jval_at(arr, i);
        if (cf_jval_len(row) != k) {
            cf_confusion_free(c);
            return 0;
        }
        for (int j = 0; j < k; j++) {
            double v = cf_jval_num(cf_jval_at(row, j), NAN);
            if (!(v >= 0)) {
                cf_confusion_free(c);
                return 0;
            }
            c->m[(size_t)i * k + j] = (long)v;
        }
    }
    return 1;
}

static void per_class_table(cf_svgbuf *b, const char *split, const cf_jval *test, const cf_confusion *cm,
                            int have_cm, const char *const *names)
{
    const cf_jval *pc = cf_jval_get(test, "per_class");
    int k = cf_jval_len(pc);
    cf_metrics_report mr = {0};
    int computed = 0;
    if (k == 0 && have_cm && cf_metrics_compute(cm, &mr, NULL) == CF_OK) {
        computed = 1;
        k = mr.k;
    }
    if (k == 0) return;
    int multi = cf_jval_get(test, "multi_label") != NULL; /* sets of labels: no confusion, no specificity */
    int spec = k == 2 && !multi;
    char a[32], p[32], r[32], f[32], s[32];
    if (multi) {
        char mi[32], ma[32], ex[32], hl[32], th[32];
        fmt_num(mi, sizeof mi, cf_jval_get(test, "micro_f1"), "%.4f");
        fmt_num(ma, sizeof ma, cf_jval_get(test, "macro_f1"), "%.4f");
        fmt_num(ex, sizeof ex, cf_jval_get(test, "exact_match"), "%.4f");
        fmt_num(hl, sizeof hl, cf_jval_get(test, "hamming_loss"), "%.4f");
        fmt_num(th, sizeof th, cf_jval_get(test, "threshold"), "%g");
        cf_svg_printf(b, "<section><h2>Per-label metrics (test, multi-label)</h2><p class=\"sub\">micro F1 %s, "
                      "macro F1 %s, exact match %s, Hamming loss %s; a label is predicted when its probability "
                      "exceeds %s.</p><table><thead><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th>",
                      mi, ma, ex, hl, th);
    } else
        cf_svg_printf(b, "<section><h2>Per-class metrics (%s)</h2><table><thead><tr><th>class</th>"
                      "<th>precision</th><th>recall</th><th>F1</th>", split);
    if (spec) cf_svg_put(b, "<th>specificity</th>");
    cf_svg_put(b, "<th>support</th></tr></thead><tbody>");
    for (int i = 0; i < k; i++) {
        cf_svg_put(b, "<tr><td>");
        if (computed) {
            cf_svg_esc(b, names[i]);
            snprintf(p, sizeof p, "%.4f", mr.per_class[i].precision);
            snprintf(r, sizeof r, "%.4f", mr.per_class[i].recall);
            snprintf(f, sizeof f, "%.4f", mr.per_class[i].f1);
            snprintf(s, sizeof s, "%.4f", mr.per_class[i].specificity);
            snprintf(a, sizeof a, "%ld", mr.per_class[i].support);
        } else {
            const cf_jval *o = cf_jval_at(pc, i);
            const char *nm = cf_jval_str(cf_jval_get(o, "class"), NULL);
            if (nm)
                cf_svg_esc(b, nm);
            else
                cf_svg_printf(b, "%d", i);
            fmt_num(p, sizeof p, cf_jval_get(o, "precision"), "%.4f");
            fmt_num(r, sizeof r, cf_jval_get(o, "recall"), "%.4f");
            fmt_num(f, sizeof f, cf_jval_get(o, "f1"), "%.4f");
            fmt_num(s, sizeof s, cf_jval_get(o, "specificity"), "%.4f");
            fmt_num(a, sizeof a, cf_jval_get(o, "support"), "%.0f");
        }
        cf_svg_printf(b, "</td><td>%s</td><td>%s</td><td>%s</td>", p, r, f);
        if (spec) cf_svg_printf(b, "<td>%s</td>", s);
        cf_svg_printf(b, "<td>%s</td></tr>", a);
    }
    /* averages are over all samples: their support is the total */
    double total_support = 0;
    for (int i = 0; !computed && i < k; i++)
        total_support += cf_jval_num(cf_jval_get(cf_jval_at(pc, i), "support"), 0);
    const char *avg[3] = {"macro", "micro", "weighted"};
    for (int i = 0; i < 3; i++) {
        if (computed) {
            const cf_class_metrics *m = i == 0 ? &mr.macro : i == 1 ? &mr.micro : &mr.weighted;
            snprintf(p, sizeof p, "%.4f", m->precision);
            snprintf(r, sizeof r, "%.4f", m->recall);
            snprintf(f, sizeof f, "%.4f", m->f1);
            snprintf(s, sizeof s, "%.4f", m->specificity);
            snprintf(a, sizeof a, "%ld", m->support);
        } else {
            const cf_jval *o = cf_jval_get(test, avg[i]);
            if (!o) continue;
            fmt_num(p, sizeof p, cf_jval_get(o, "precision"), "%.4f");
            fmt_num(r, sizeof r, cf_jval_get(o, "recall"), "%.4f");
            fmt_num(f, sizeof f, cf_jval_get(o, "f1"), "%.4f");
            fmt_num(s, sizeof s, cf_jval_get(o, "specificity"), "%.4f");
            fmt_num(a, sizeof a, cf_jval_get(o, "support"), "%.0f");
            if (!cf_jval_get(o, "support") && total_support > 0)
                snprintf(a, sizeof a, "%.0f", total_support);
        }
        cf_svg_printf(b, "<tr class=\"avg\"><td>%s avg</td><td>%s</td><td>%s</td><td>%s</td>", avg[i], p, r, f);
        if (spec) cf_svg_printf(b, "<td>%s</td>", s);
        cf_svg_printf(b, "<td>%s</td></tr>", a);
    }
    cf_svg_put(b, "</tbody></table>");
    if (computed) cf_svg_put(b, "<p class=\"sub\">Computed from the confusion matrix.</p>");
    cf_svg_put(b, "</section>\n");
    cf_metrics_report_free(&mr);
}

static void kv_row(cf_svgbuf *b, const char *key, const cf_jval *v)
{
    if (!v || v->type == CF_JVAL_ARRAY || v->type == CF_JVAL_OBJECT) return;
    cf_svg_put(b, "<dt>");
    cf_svg_esc(b, key);
    cf_svg_put(b, "</dt><dd>");
    if (v->type == CF_JVAL_STRING)
        cf_svg_esc(b, v->str);
    else if (v->type == CF_JVAL_BOOL)
        cf_svg_put(b, v->num ? "yes" : "no");
    else if (v->type == CF_JVAL_NUMBER)
        cf_svg_printf(b, "%g", v->num);
    else
        cf_svg_put(b, "&#8211;");
    cf_svg_put(b, "</dd>");
}

static void epoch_table(cf_svgbuf *b, const hist *h)
{
    char c[8][32];
    cf_svg_put(b, "<section><details><summary>Per-epoch values</summary><table><thead><tr><th>epoch</th>"
              "<th>learning rate</th><th>train loss</th><th>train acc</th><th>val loss</th>"
              "<th>val acc</th><th>seconds</th><th>images/s</th></tr></thead><tbody>");
    for (int i = 0; i < h->n; i++) {
        double v[8] = {h->epoch[i], h->lr[i], h->tl[i], h->ta[i], h->vl[i], h->va[i], h->sec[i], h->ips[i]};
        const char *fm[8] = {"%.0f", "%.4g", "%.4f", NULL, "%.4f", NULL, "%.1f", "%.0f"};
        for (int j = 0; j < 8; j++) {
            if (!fm[j])
                fmt_pct(c[j], sizeof c[j], v[j]);
            else if (isfinite(v[j]))
                snprintf(c[j], sizeof c[j], fm[j], v[j]);
            else
                snprintf(c[j], sizeof c[j], "&#8211;");
        }
        cf_svg_put(b, "<tr>");
        for (int j = 0; j < 8; j++) cf_svg_printf(b, "<td>%s</td>", c[j]);
        cf_svg_put(b, "</tr>");
    }
    cf_svg_put(b, "</tbody></table></details></section>\n");
}

static void build_report(cf_svgbuf *b, const hist *h, const cf_jval *sum, int have_metrics, int have_summary)
{
    const char *name = cf_jval_str(cf_jval_get(sum, "name"), "run");
    const char *status = cf_jval_str(cf_jval_get(sum, "status"), have_summary ? "unknown" : "no summary.json");
    const cf_jval *test = cf_jval_get(sum, "test");
    char v[128];

    cf_svg_put(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>clforge report: ");
    cf_svg_esc(b, name);
    cf_svg_printf(b, "</title><style>%s</style></head><body><main>\n<h1>", cf_svg_css);
    cf_svg_esc(b, name);
    cf_svg_put(b, "</h1><div class=\"sub\">clforge training report &#183; status <b>");
    cf_svg_esc(b, status);
    cf_svg_put(b, "</b>");
    const char *backend = cf_jval_str(cf_jval_get(sum, "backend"), NULL);
    const char *device = cf_jval_str(cf_jval_get(sum, "device"), NULL);
    if (backend) {
        cf_svg_put(b, " &#183; backend ");
        cf_svg_esc(b, backend);
    }
    if (device) {
        cf_svg_put(b, " (");
        cf_svg_esc(b, device);
        cf_svg_put(b, ")");
    }
    cf_svg_put(b, "</div>\n<div class=\"cards\">");
    double tacc = cf_jval_num(cf_jval_get(test, "accuracy"), NAN);
    if (isfinite(tacc)) {
        fmt_pct(v, sizeof v, tacc);
        card(b, "test accuracy", v);
    }
    for (int i = 0; test && test->type == CF_JVAL_OBJECT && i < test->n; i++) {
        int k;
        char tail;
        if (sscanf(test->keys[i], "top%d%c", &k, &tail) == 1 && isfinite(cf_jval_num(test->items[i], NAN))) {
            char lab[32];
            snprintf(lab, sizeof lab, "test top-%d", k);
            fmt_pct(v, sizeof v, test->items[i]->num);
            card(b, lab, v);
        }
    }
    double vacc = cf_jval_num(cf_jval_path(sum, "validation.accuracy"), NAN);
    if (!isfinite(vacc) && h->n > 0) vacc = h->va[h->n - 1];
    if (isfinite(vacc)) {
        fmt_pct(v, sizeof v, vacc);
        card(b, "validation accuracy", v);
    }
    double ep = cf_jval_num(cf_jval_get(sum, "epochs_run"), h->n > 0 ? h->epoch[h->n - 1] : NAN);
    if (isfinite(ep)) {
        snprintf(v, sizeof v, "%.0f", ep);
        card(b, "epochs", v);
    }
    double best = cf_jval_num(cf_jval_get(sum, "best_epoch"), NAN);
    if (isfinite(best)) {
        snprintf(v, sizeof v, "%.0f", best);
        card(b, "best epoch", v);
    }
    double wall = cf_jval_num(cf_jval_get(sum, "wall_seconds"), NAN);
    if (isfinite(wall)) {
        long ws = lround(wall);
        if (wall >= 120)
            snprintf(v, sizeof v, "%ld min %02ld s", ws / 60, ws % 60);
        else
            snprintf(v, sizeof v, "%.1f s", wall);
        card(b, "wall time", v);
    }
    if (h->n > 0 && isfinite(h->ips[h->n - 1])) {
        snprintf(v, sizeof v, "%.0f", h->ips[h->n - 1]);
        card(b, "images/s", v);
    }
    cf_svg_put(b, "</div>\n");

    /* diagnosis: from the summary, else read from the curves here */
    const char *dcode = cf_jval_str(cf_jval_path(sum, "diagnosis.code"), NULL);
    const char *dtext = cf_jval_str(cf_jval_path(sum, "diagnosis.text"), NULL);
    char code_buf[64], text_buf[1024];
    if (!dtext && h->n > 0) {
        cf_epoch_record *rec = calloc((size_t)h->n, sizeof *rec);
        if (rec) {
            for (int i = 0; i < h->n; i++)
                rec[i] = (cf_epoch_record){(int)h->epoch[i], h->lr[i], h->tl[i], h->ta[i],
                                           h->vl[i], h->va[i], h->sec[i]};
            if (cf_diagnose(rec, h->n, text_buf, sizeof text_buf, code_buf, sizeof code_buf) == CF_OK) {
                dtext = text_buf;
                dcode = code_buf;
            }
            free(rec);
        }
    }
    if (dtext) {
        const char *cls = !dcode || strcmp(dcode, "good_fit") == 0 ? ""
                          : strcmp(dcode, "lr_too_high") == 0      ? " bad"
                                                                    : " warn";
        cf_svg_printf(b, "<section class=\"dx%s\"><h2>Diagnosis", cls);
        if (dcode) {
            cf_svg_put(b, " <span class=\"code\">");
            cf_svg_esc(b, dcode);
            cf_svg_put(b, "</span>");
        }
        cf_svg_put(b, "</h2><p>");
        cf_svg_esc(b, dtext);
        cf_svg_put(b, "</p></section>\n");
    }

    /* curves */
    if (h->n > 0) {
        cf_svg_put(b, "<section><h2>Learning curves</h2><div class=\"grid\">\n");
        cf_svg_series loss[2] = {{"training", "#1c7ed6", 0, h->epoch, h->tl, h->n},
                          {"validation", "#e8590c", 1, h->epoch, h->vl, h->n}};
        cf_svg_chart(b, "Loss", "epoch", "loss", loss, 2, 0, 0, 1, CF_SVG_NUM, best, "best");
        char topname[32];
        snprintf(topname, sizeof topname, "validation top-%d", h->top_k);
        cf_svg_series acc[3] = {{"training", "#1c7ed6", 0, h->epoch, h->ta, h->n},
                         {"validation", "#e8590c", 1, h->epoch, h->va, h->n},
                         {topname, "#2f9e44", 1, h->epoch, h->vtop, h->n}};
        cf_svg_chart(b, "Accuracy", "epoch", "accuracy", acc, h->top_k ? 3 : 2, 0, 0, 1, CF_SVG_PCT, best, "best");
        double lo = INFINITY, hi = 0;
        for (int i = 0; i < h->n; i++)
            if (h->lr[i] > 0 && isfinite(h->lr[i])) {
                lo = fmin(lo, h->lr[i]);
                hi = fmax(hi, h->lr[i]);
            }
        cf_svg_series lr[1] = {{"learning rate", "#7048e8", 0, h->epoch, h->lr, h->n}};
        cf_svg_chart(b, "Learning rate", "epoch", "learning rate", lr, 1, 0, hi > 0 && hi / lo > 20, 1,
                  CF_SVG_NUM, NAN, NULL);
        cf_svg_put(b, "</div>");
        if (h->skipped)
            cf_svg_printf(b, "<p class=\"sub\">%d unreadable line%s of metrics.jsonl skipped.</p>",
                      h->skipped, h->skipped == 1 ? "" : "s");
        cf_svg_put(b, "</section>\n");
    } else {
        cf_svg_printf(b, "<section><h2>Learning curves</h2><p class=\"sub\">%s</p></section>\n",
                  have_metrics ? "metrics.jsonl holds no epochs." : "No metrics.jsonl in the run directory.");
    }

    /* test set: confusion matrix and per-class table */
    if (test) {
        const cf_jval *cls = cf_jval_get(test, "classes");
        cf_confusion cm = {0};
        int have_cm = load_confusion(cf_jval_get(test, "confusion"), &cm);
        int k = have_cm ? cm.k : cf_jval_len(cf_jval_get(test, "per_class"));
        char **names = k > 0 ? calloc((size_t)k, sizeof *names) : NULL;
        char (*numbered)[16] = k > 0 ? calloc((size_t)k, sizeof *numbered) : NULL;
        if (names && numbered) {
            for (int i = 0; i < k; i++) {
                const char *nm = cf_jval_str(cf_jval_at(cls, i), NULL);
                if (!nm) nm = cf_jval_str(cf_jval_path(cf_jval_at(cf_jval_get(test, "per_class"), i), "class"), NULL);
                snprintf(numbered[i], sizeof numbered[i], "%d", i);
                names[i] = (char *)(nm ? nm : numbered[i]);
            }
            if (have_cm) {
                cf_svg_put(b, "<section><h2>Confusion matrix (test)</h2>");
                double tl = cf_jval_num(cf_jval_get(test, "loss"), NAN);
                cf_svg_printf(b, "<p class=\"sub\">%ld images", cf_confusion_total(&cm));
                if (isfinite(tacc)) cf_svg_printf(b, ", accuracy %.2f%%", 100 * tacc);
                if (isfinite(tl)) cf_svg_printf(b, ", loss %.4f", tl);
                cf_svg_put(b, ". Rows are the true class, columns the predicted one; the colour is the "
                          "share of the row.</p>");
                cf_svg_confusion(b, &cm, (const char *const *)names);
                cf_svg_put(b, "</section>\n");
            }
            per_class_table(b, "test", test, &cm, have_cm, (const char *const *)names);
        }
        free(names);
        free(numbered);
        cf_confusion_free(&cm);
    }

    /* validation: the last epoch's per-class metrics (summary.json validation.per_class) */
    const cf_jval *val = cf_jval_get(sum, "validation");
    if (val && cf_jval_len(cf_jval_get(val, "per_class")) > 0) {
        cf_confusion none = {0};
        per_class_table(b, "validation, last epoch", val, &none, 0, NULL);
    }

    if (h->n > 0) epoch_table(b, h);

    /* configuration and environment */
    cf_svg_put(b, "<section><h2>Environment</h2><dl>");
    static const char *const top_keys[] = {"version", "backend", "device", "seed", "status"};
    for (size_t i = 0; i < sizeof top_keys / sizeof top_keys[0]; i++)
        kv_row(b, top_keys[i], cf_jval_get(sum, top_keys[i]));
    const cf_jval *env = cf_jval_get(sum, "environment");
    for (int i = 0; env && env->type == CF_JVAL_OBJECT && i < env->n; i++) {
        int dup = 0; /* the trainer may repeat backend/device there */
        for (size_t j = 0; j < sizeof top_keys / sizeof top_keys[0]; j++)
            if (strcmp(env->keys[i], top_keys[j]) == 0 && cf_jval_get(sum, top_keys[j])) dup = 1;
        if (!dup) kv_row(b, env->keys[i], env->items[i]);
    }
    cf_svg_put(b, "</dl></section>\n");
    const char *cfg = cf_jval_str(cf_jval_get(sum, "config"), NULL);
    if (cfg) {
        cf_svg_put(b, "<section><h2>Configuration</h2><pre>");
        cf_svg_esc(b, cfg);
        cf_svg_put(b, "</pre></section>\n");
    }
    cf_svg_put(b, "<p class=\"sub\">Written by clforge");
    const char *ver = cf_jval_str(cf_jval_get(sum, "version"), NULL);
    if (ver) {
        cf_svg_put(b, " ");
        cf_svg_esc(b, ver);
    }
    cf_svg_put(b, ". Self-contained: no scripts, no network.</p></main></body></html>\n");
}

static char *join(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, file);
    return p;
}

cf_status cf_report_write(const char *run_dir, cf_error *err)
{
    if (!run_dir || !*run_dir) return cf_error_set(err, CF_ERR_INVALID, "report: no run directory given");
    char *mpath = join(run_dir, "metrics.jsonl"), *spath = join(run_dir, "summary.json"),
         *opath = join(run_dir, "report.html");
    hist h = {0};
    cf_jval *sum = NULL;
    cf_svgbuf b = {0};
    cf_status st = CF_OK;
    int have_metrics = 0, have_summary = 0;
    if (!mpath || !spath || !opath) {
        st = cf_error_set(err, CF_ERR_NOMEM, "report: out of memory");
        goto done;
    }
    if ((st = read_metrics(mpath, &h, &have_metrics, err)) != CF_OK) goto done;
    if (access(spath, F_OK) == 0) {
        if ((st = cf_jval_parse_file(spath, &sum, err)) != CF_OK) {
            cf_error_prefix(err, "report");
            goto done;
        }
        if (sum->type != CF_JVAL_OBJECT) {
            st = cf_error_set(err, CF_ERR_IO, "report: %s is not a JSON object", spath);
            goto done;
        }
        have_summary = 1;
    }
    if (!have_metrics && !have_summary) {
        st = cf_error_set(err, CF_ERR_IO, "report: %s has neither metrics.jsonl nor summary.json", run_dir);
        goto done;
    }
    build_report(&b, &h, sum, have_metrics, have_summary);
    st = cf_svg_write_atomic(opath, &b, err);
done:
    free(b.p);
    cf_jval_free(sum);
    hist_free(&h);
    free(mpath);
    free(spath);
    free(opath);
    return st;
}
