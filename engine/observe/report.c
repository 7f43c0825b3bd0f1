/* clforge — report.html and the lr-find plot: hand-written SVG, no scripts. */
#include "observe/report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "observe/diagnosis.h"
#include "core/json_parse.h"
#include "observe/metrics.h"

/* ---- a growing text buffer ------------------------------------------------ */

typedef struct rb {
    char *p;
    size_t len, cap;
    int oom;
} rb;

static void rb_grow(rb *b, size_t need)
{
    if (b->oom || b->len + need + 1 <= b->cap) return;
    size_t nc = b->cap ? b->cap : 1 << 16;
    while (nc < b->len + need + 1) nc *= 2;
    char *np = realloc(b->p, nc);
    if (!np) {
        b->oom = 1;
        return;
    }
    b->p = np;
    b->cap = nc;
}

static void rb_put(rb *b, const char *s)
{
    size_t n = strlen(s);
    rb_grow(b, n);
    if (b->oom) return;
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static void rb_printf(rb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rb_printf(rb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        rb_put(b, tmp);
        return;
    }
    rb_grow(b, (size_t)n);
    if (b->oom) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* HTML/XML text and attribute escaping. */
static void rb_esc(rb *b, const char *s)
{
    char one[2] = {0, 0};
    for (; s && *s; s++) {
        switch (*s) {
        case '<': rb_put(b, "&lt;"); break;
        case '>': rb_put(b, "&gt;"); break;
        case '&': rb_put(b, "&amp;"); break;
        case '"': rb_put(b, "&quot;"); break;
        case '\'': rb_put(b, "&#39;"); break;
        default:
            one[0] = *s;
            rb_put(b, one);
        }
    }
}

static cf_status write_atomic(const char *path, const rb *b, cf_error *err)
{
    if (b->oom) return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory building the report", path);
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp) return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
    snprintf(tmp, pl + 16, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        cf_status st = cf_error_set(err, CF_ERR_IO, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    size_t w = b->len ? fwrite(b->p, 1, b->len, f) : 0;
    int bad = w != b->len || fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        cf_status st = cf_error_set(err, CF_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        remove(tmp);
        free(tmp);
        return st;
    }
    free(tmp);
    return CF_OK;
}

/* ---- SVG line charts ------------------------------------------------------- */

typedef struct series {
    const char *name, *color;
    int dashed;
    const double *x, *y;
    int n;
} series;

typedef struct axis {
    double lo, hi; /* log10 units when log */
    int log;
    double step;   /* linear tick step */
} axis;

static double nice_step(double raw)
{
    if (!(raw > 0) || !isfinite(raw)) return 1;
    double p = pow(10, floor(log10(raw))), f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/* Fit an axis to [lo, hi] (data units). */
static void axis_fit(axis *a, double lo, double hi, int log, int ticks, int integer)
{
    a->log = log;
    if (log) {
        a->lo = floor(log10(lo) + 1e-9);
        a->hi = ceil(log10(hi) - 1e-9);
        if (a->hi <= a->lo) a->hi = a->lo + 1;
        return;
    }
    if (hi <= lo) {
        double d = lo != 0 ? fabs(lo) * 0.5 : 1;
        lo -= d;
        hi += d;
    }
    a->step = nice_step((hi - lo) / ticks);
    if (integer && a->step < 1) a->step = 1;
    a->lo = floor(lo / a->step + 1e-9) * a->step;
    a->hi = ceil(hi / a->step - 1e-9) * a->step;
    if (a->hi <= a->lo) a->hi = a->lo + a->step;
}

static double axis_t(const axis *a, double v)
{
    if (a->log) v = log10(v);
    return (v - a->lo) / (a->hi - a->lo);
}

static int usable(const axis *a, double v) { return isfinite(v) && (!a->log || v > 0); }

typedef enum ylabel_fmt { YF_NUM, YF_PCT } ylabel_fmt;

static void tick_label(char *buf, size_t cap, double v, double step, ylabel_fmt f)
{
    if (fabs(v) < 1e-12 * (fabs(step) + 1e-300)) v = 0;
    if (f == YF_PCT)
        snprintf(buf, cap, step * 100 >= 1 ? "%.0f%%" : "%.1f%%", v * 100);
    else
        snprintf(buf, cap, "%g", v);
}

enum { CW = 600, CH = 300, ML = 66, MR = 18, MT = 40, MB = 44 };

/* A full <svg> line chart. mark_x: a vertical marker (NaN: none). */
static void svg_chart(rb *b, const char *title, const char *xlabel, const char *ylabel,
                      const series *s, int ns, int xlog, int ylog, int xint, ylabel_fmt yf,
                      double mark_x, const char *mark_label)
{
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    axis ax = {0}, ay = {0};
    ax.log = xlog;
    ay.log = ylog;
    for (int i = 0; i < ns; i++)
        for (int j = 0; j < s[i].n; j++) {
            if (!usable(&ax, s[i].x[j]) || !usable(&ay, s[i].y[j])) continue;
            xlo = fmin(xlo, s[i].x[j]);
            xhi = fmax(xhi, s[i].x[j]);
            ylo = fmin(ylo, s[i].y[j]);
            yhi = fmax(yhi, s[i].y[j]);
        }
    rb_printf(b, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", CW, CH);
    rb_esc(b, title);
    rb_put(b, "\"><title>");
    rb_esc(b, title);
    rb_printf(b, "</title><text class=\"ct\" x=\"%d\" y=\"20\">", ML);
    rb_esc(b, title);
    rb_put(b, "</text>");
    if (!(xlo <= xhi)) {
        rb_printf(b, "<text class=\"nd\" x=\"%d\" y=\"%d\">no data</text></svg>\n", CW / 2, CH / 2);
        return;
    }
    axis_fit(&ax, xlo, xhi, xlog, 8, xint);
    axis_fit(&ay, ylo, yhi, ylog, 5, 0);
    const double px0 = ML, px1 = CW - MR, py0 = CH - MB, py1 = MT;
#define PX(v) (px0 + axis_t(&ax, (v)) * (px1 - px0))
#define PY(v) (py0 - axis_t(&ay, (v)) * (py0 - py1))
    /* grid and tick labels */
    char lab[64];
    rb_printf(b, "<rect class=\"pa\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", px0,
              py1, px1 - px0, py0 - py1);
    for (int pass = 0; pass < 2; pass++) {
        const axis *a = pass ? &ay : &ax;
        int nt = a->log ? (int)(a->hi - a->lo) : (int)floor((a->hi - a->lo) / a->step + 0.5);
        for (int i = 0; i <= nt; i++) {
            int subs = a->log && a->hi - a->lo <= 2 ? 3 : 1;
            for (int sidx = 0; sidx < subs; sidx++) {
                static const double mul[3] = {1, 2, 5};
                double v = a->log ? pow(10, a->lo + i) * mul[sidx] : a->lo + i * a->step;
                if (a->log && (log10(v) > a->hi + 1e-9)) continue;
                tick_label(lab, sizeof lab, v, a->log ? v : a->step, pass ? yf : YF_NUM);
                if (!pass) {
                    double x = PX(v);
                    rb_printf(b,
                              "<line class=\"g\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                              "<text class=\"tx\" x=\"%.1f\" y=\"%.1f\">%s</text>",
                              x, py1, x, py0, x, py0 + 16, lab);
                } else {
                    double y = PY(v);
                    rb_printf(b,
                              "<line class=\"g\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                              "<text class=\"ty\" x=\"%.1f\" y=\"%.1f\">%s</text>",
                              px0, y, px1, y, px0 - 6, y + 4, lab);
                }
            }
        }
    }
    rb_printf(b, "<text class=\"xl\" x=\"%.1f\" y=\"%d\">", (px0 + px1) / 2, CH - 6);
    rb_esc(b, xlabel);
    rb_printf(b, "</text><text class=\"yl\" transform=\"translate(14 %.1f) rotate(-90)\">",
              (py0 + py1) / 2);
    rb_esc(b, ylabel);
    rb_put(b, "</text>");
    if (isfinite(mark_x) && usable(&ax, mark_x) && axis_t(&ax, mark_x) >= 0 &&
        axis_t(&ax, mark_x) <= 1) {
        double x = PX(mark_x);
        rb_printf(b, "<line class=\"mk\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, py1,
                  x, py0);
        int right = x > px1 - 60; /* keep the label inside the plot */
        rb_printf(b, "<text class=\"mkl\" x=\"%.1f\" y=\"%.1f\"%s>", right ? x - 4 : x + 4,
                  py1 + 12, right ? " text-anchor=\"end\"" : "");
        rb_esc(b, mark_label ? mark_label : "");
        rb_put(b, "</text>");
    }
    /* series: broken at unusable points */
    for (int i = 0; i < ns; i++) {
        rb_printf(b, "<path class=\"ln\" stroke=\"%s\"%s d=\"", s[i].color,
                  s[i].dashed ? " stroke-dasharray=\"6 4\"" : "");
        int pen = 0;
        for (int j = 0; j < s[i].n; j++) {
            if (!usable(&ax, s[i].x[j]) || !usable(&ay, s[i].y[j])) {
                pen = 0;
                continue;
            }
            rb_printf(b, "%c%.1f %.1f", pen ? 'L' : 'M', PX(s[i].x[j]), PY(s[i].y[j]));
            pen = 1;
        }
        rb_put(b, "\"/>");
        if (s[i].n <= 60)
            for (int j = 0; j < s[i].n; j++) {
                if (!usable(&ax, s[i].x[j]) || !usable(&ay, s[i].y[j])) continue;
                rb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"%s\"><title>", PX(s[i].x[j]),
                          PY(s[i].y[j]), s[i].color);
                rb_esc(b, s[i].name);
                rb_printf(b, " %g: %.6g</title></circle>", s[i].x[j], s[i].y[j]);
            }
    }
    /* legend, right-aligned on the title row */
    double lx = px1;
    for (int i = ns - 1; i >= 0; i--) {
        lx -= 30 + 7.0 * (double)strlen(s[i].name);
        rb_printf(b,
                  "<line class=\"ln\" stroke=\"%s\"%s x1=\"%.1f\" y1=\"16\" x2=\"%.1f\" y2=\"16\"/>"
                  "<text class=\"lg\" x=\"%.1f\" y=\"20\">",
                  s[i].color, s[i].dashed ? " stroke-dasharray=\"6 4\"" : "", lx, lx + 20, lx + 24);
        rb_esc(b, s[i].name);
        rb_put(b, "</text>");
    }
    rb_put(b, "</svg>\n");
#undef PX
#undef PY
}

/* ---- confusion-matrix heat map ------------------------------------------- */

static void heat_color(double f, char *buf, size_t cap)
{
    /* white -> blue (#f7fbff -> #08306b), perceptually even enough for counts */
    static const int c0[3] = {247, 251, 255}, c1[3] = {8, 48, 107};
    if (!(f >= 0)) f = 0;
    if (f > 1) f = 1;
    f = sqrt(f); /* lift small off-diagonal counts so they stay visible */
    snprintf(buf, cap, "rgb(%d,%d,%d)", (int)(c0[0] + (c1[0] - c0[0]) * f),
             (int)(c0[1] + (c1[1] - c0[1]) * f), (int)(c0[2] + (c1[2] - c0[2]) * f));
}

static void svg_confusion(rb *b, const cf_confusion *c, const char *const *names)
{
    int k = c->k;
    int cell = k <= 4 ? 64 : k <= 10 ? 44 : k <= 20 ? 26 : 14;
    int label_w = 8;
    for (int i = 0; i < k; i++)
        if (names[i] && (int)strlen(names[i]) > label_w) label_w = (int)strlen(names[i]);
    if (label_w > 18) label_w = 18;
    int left = 24 + label_w * 7, top = 34, bottom = 20 + label_w * 6;
    int w = left + k * cell + 12, h = top + k * cell + bottom;
    if (w < left + 220) w = left + 220; /* room for the heading */
    rb_printf(b,
              "<svg class=\"cm\" viewBox=\"0 0 %d %d\" style=\"max-width:%dpx\" role=\"img\" "
              "aria-label=\"confusion matrix\"><title>Confusion matrix (rows: true class, "
              "columns: predicted class; colour: share of the row)</title>",
              w, h, w + 40);
    rb_printf(b, "<text class=\"ct\" x=\"%d\" y=\"18\">true class \xe2\x86\x93 / predicted \xe2\x86\x92</text>",
              left);
    char col[32];
    for (int i = 0; i < k; i++) {
        long row = 0;
        for (int j = 0; j < k; j++) row += c->m[(size_t)i * k + j];
        for (int j = 0; j < k; j++) {
            long v = c->m[(size_t)i * k + j];
            double f = row > 0 ? (double)v / (double)row : 0;
            heat_color(f, col, sizeof col);
            int x = left + j * cell, y = top + i * cell;
            rb_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>true ",
                      x, y, cell - 1, cell - 1, col);
            rb_esc(b, names[i]);
            rb_put(b, ", predicted ");
            rb_esc(b, names[j]);
            rb_printf(b, ": %ld (%.1f%% of the row)</title></rect>", v, 100 * f);
            if (cell >= 26)
                rb_printf(b, "<text class=\"cv%s\" x=\"%d\" y=\"%d\">%ld</text>",
                          sqrt(f) > 0.55 ? " on" : "", x + cell / 2, y + cell / 2 + 4, v);
        }
        rb_printf(b, "<text class=\"rl\" x=\"%d\" y=\"%d\">", left - 6, top + i * cell + cell / 2 + 4);
        rb_esc(b, names[i]);
        rb_put(b, "</text>");
    }
    for (int j = 0; j < k; j++) {
        int x = left + j * cell + cell / 2, y = top + k * cell + 8;
        rb_printf(b, "<text class=\"cl\" transform=\"translate(%d %d) rotate(-45)\">", x, y);
        rb_esc(b, names[j]);
        rb_put(b, "</text>");
    }
    rb_put(b, "</svg>\n");
}

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
    FILE *f = fopen(path, "rb");
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

static const char CSS[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "margin:0;background:#f4f5f7;color:#1d2330}"
    "main{max-width:1240px;margin:0 auto;padding:20px 24px 40px}"
    "h1{font-size:24px;margin:4px 0 2px}h2{font-size:17px;margin:0 0 10px}"
    ".sub{color:#5a6272;margin-bottom:16px}"
    ".cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:16px}"
    ".card{background:#fff;border-radius:8px;padding:10px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08);min-width:120px}"
    ".card b{display:block;font-size:20px}.card span{color:#5a6272;font-size:12px;text-transform:uppercase;letter-spacing:.04em}"
    "section{background:#fff;border-radius:8px;padding:16px 18px;margin-bottom:16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:16px}"
    ".dx{border-left:6px solid #2b8a3e}.dx.warn{border-left-color:#e8590c}.dx.bad{border-left-color:#c92a2a}"
    ".dx .code{font:12px monospace;background:#eef1f5;padding:2px 6px;border-radius:4px}"
    "svg{display:block;width:100%;height:auto}svg text{font-family:inherit}"
    ".pa{fill:#fcfcfd;stroke:#c9ced6}.g{stroke:#e6e9ee;stroke-width:1}"
    ".tx{font-size:11px;text-anchor:middle;fill:#5a6272}.ty{font-size:11px;text-anchor:end;fill:#5a6272}"
    ".xl,.yl{font-size:12px;text-anchor:middle;fill:#1d2330}.ct{font-size:14px;font-weight:600;fill:#1d2330}"
    ".lg{font-size:12px;fill:#1d2330}.ln{fill:none;stroke-width:2.2;stroke-linejoin:round}"
    ".mk{stroke:#868e96;stroke-dasharray:3 3}.mkl{font-size:11px;fill:#495057}.nd{fill:#868e96;text-anchor:middle}"
    ".cm{margin:0 auto}.cv{font-size:12px;text-anchor:middle;fill:#1d2330}.cv.on{fill:#fff}"
    ".rl{font-size:12px;text-anchor:end}.cl{font-size:12px;text-anchor:end}"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}"
    "th,td{padding:5px 10px;border-bottom:1px solid #e6e9ee;text-align:right}"
    "th:first-child,td:first-child{text-align:left}thead th{background:#f1f3f5}"
    "tr.avg td{background:#f8f9fa;font-weight:600}"
    "pre{background:#f1f3f5;padding:12px;border-radius:6px;overflow:auto;font-size:12px;max-height:480px}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}dt{color:#5a6272}dd{margin:0}"
    "details summary{cursor:pointer;font-weight:600}";

static void card(rb *b, const char *label, const char *value_html)
{
    rb_put(b, "<div class=\"card\"><span>");
    rb_esc(b, label);
    rb_put(b, "</span><b>");
    rb_put(b, value_html);
    rb_put(b, "</b></div>");
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

static void per_class_table(rb *b, const cf_jval *test, const cf_confusion *cm, int have_cm,
                            const char *const *names)
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
    int spec = k == 2;
    char a[32], p[32], r[32], f[32], s[32];
    rb_put(b, "<section><h2>Per-class metrics (test)</h2><table><thead><tr><th>class</th>"
              "<th>precision</th><th>recall</th><th>F1</th>");
    if (spec) rb_put(b, "<th>specificity</th>");
    rb_put(b, "<th>support</th></tr></thead><tbody>");
    for (int i = 0; i < k; i++) {
        rb_put(b, "<tr><td>");
        if (computed) {
            rb_esc(b, names[i]);
            snprintf(p, sizeof p, "%.4f", mr.per_class[i].precision);
            snprintf(r, sizeof r, "%.4f", mr.per_class[i].recall);
            snprintf(f, sizeof f, "%.4f", mr.per_class[i].f1);
            snprintf(s, sizeof s, "%.4f", mr.per_class[i].specificity);
            snprintf(a, sizeof a, "%ld", mr.per_class[i].support);
        } else {
            const cf_jval *o = cf_jval_at(pc, i);
            const char *nm = cf_jval_str(cf_jval_get(o, "class"), NULL);
            if (nm)
                rb_esc(b, nm);
            else
                rb_printf(b, "%d", i);
            fmt_num(p, sizeof p, cf_jval_get(o, "precision"), "%.4f");
            fmt_num(r, sizeof r, cf_jval_get(o, "recall"), "%.4f");
            fmt_num(f, sizeof f, cf_jval_get(o, "f1"), "%.4f");
            fmt_num(s, sizeof s, cf_jval_get(o, "specificity"), "%.4f");
            fmt_num(a, sizeof a, cf_jval_get(o, "support"), "%.0f");
        }
        rb_printf(b, "</td><td>%s</td><td>%s</td><td>%s</td>", p, r, f);
        if (spec) rb_printf(b, "<td>%s</td>", s);
        rb_printf(b, "<td>%s</td></tr>", a);
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
        rb_printf(b, "<tr class=\"avg\"><td>%s avg</td><td>%s</td><td>%s</td><td>%s</td>", avg[i], p, r, f);
        if (spec) rb_printf(b, "<td>%s</td>", s);
        rb_printf(b, "<td>%s</td></tr>", a);
    }
    rb_put(b, "</tbody></table>");
    if (computed) rb_put(b, "<p class=\"sub\">Computed from the confusion matrix.</p>");
    rb_put(b, "</section>\n");
    cf_metrics_report_free(&mr);
}

static void kv_row(rb *b, const char *key, const cf_jval *v)
{
    if (!v || v->type == CF_JVAL_ARRAY || v->type == CF_JVAL_OBJECT) return;
    rb_put(b, "<dt>");
    rb_esc(b, key);
    rb_put(b, "</dt><dd>");
    if (v->type == CF_JVAL_STRING)
        rb_esc(b, v->str);
    else if (v->type == CF_JVAL_BOOL)
        rb_put(b, v->num ? "yes" : "no");
    else if (v->type == CF_JVAL_NUMBER)
        rb_printf(b, "%g", v->num);
    else
        rb_put(b, "&#8211;");
    rb_put(b, "</dd>");
}

static void epoch_table(rb *b, const hist *h)
{
    char c[8][32];
    rb_put(b, "<section><details><summary>Per-epoch values</summary><table><thead><tr><th>epoch</th>"
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
        rb_put(b, "<tr>");
        for (int j = 0; j < 8; j++) rb_printf(b, "<td>%s</td>", c[j]);
        rb_put(b, "</tr>");
    }
    rb_put(b, "</tbody></table></details></section>\n");
}

static void build_report(rb *b, const hist *h, const cf_jval *sum, int have_metrics, int have_summary)
{
    const char *name = cf_jval_str(cf_jval_get(sum, "name"), "run");
    const char *status = cf_jval_str(cf_jval_get(sum, "status"), have_summary ? "unknown" : "no summary.json");
    const cf_jval *test = cf_jval_get(sum, "test");
    char v[128];

    rb_put(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>clforge report: ");
    rb_esc(b, name);
    rb_printf(b, "</title><style>%s</style></head><body><main>\n<h1>", CSS);
    rb_esc(b, name);
    rb_put(b, "</h1><div class=\"sub\">clforge training report &#183; status <b>");
    rb_esc(b, status);
    rb_put(b, "</b>");
    const char *backend = cf_jval_str(cf_jval_get(sum, "backend"), NULL);
    const char *device = cf_jval_str(cf_jval_get(sum, "device"), NULL);
    if (backend) {
        rb_put(b, " &#183; backend ");
        rb_esc(b, backend);
    }
    if (device) {
        rb_put(b, " (");
        rb_esc(b, device);
        rb_put(b, ")");
    }
    rb_put(b, "</div>\n<div class=\"cards\">");
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
    rb_put(b, "</div>\n");

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
        rb_printf(b, "<section class=\"dx%s\"><h2>Diagnosis", cls);
        if (dcode) {
            rb_put(b, " <span class=\"code\">");
            rb_esc(b, dcode);
            rb_put(b, "</span>");
        }
        rb_put(b, "</h2><p>");
        rb_esc(b, dtext);
        rb_put(b, "</p></section>\n");
    }

    /* curves */
    if (h->n > 0) {
        rb_put(b, "<section><h2>Learning curves</h2><div class=\"grid\">\n");
        series loss[2] = {{"training", "#1c7ed6", 0, h->epoch, h->tl, h->n},
                          {"validation", "#e8590c", 1, h->epoch, h->vl, h->n}};
        svg_chart(b, "Loss", "epoch", "loss", loss, 2, 0, 0, 1, YF_NUM, best, "best");
        char topname[32];
        snprintf(topname, sizeof topname, "validation top-%d", h->top_k);
        series acc[3] = {{"training", "#1c7ed6", 0, h->epoch, h->ta, h->n},
                         {"validation", "#e8590c", 1, h->epoch, h->va, h->n},
                         {topname, "#2f9e44", 1, h->epoch, h->vtop, h->n}};
        svg_chart(b, "Accuracy", "epoch", "accuracy", acc, h->top_k ? 3 : 2, 0, 0, 1, YF_PCT, best, "best");
        double lo = INFINITY, hi = 0;
        for (int i = 0; i < h->n; i++)
            if (h->lr[i] > 0 && isfinite(h->lr[i])) {
                lo = fmin(lo, h->lr[i]);
                hi = fmax(hi, h->lr[i]);
            }
        series lr[1] = {{"learning rate", "#7048e8", 0, h->epoch, h->lr, h->n}};
        svg_chart(b, "Learning rate", "epoch", "learning rate", lr, 1, 0, hi > 0 && hi / lo > 20, 1,
                  YF_NUM, NAN, NULL);
        rb_put(b, "</div>");
        if (h->skipped)
            rb_printf(b, "<p class=\"sub\">%d unreadable line%s of metrics.jsonl skipped.</p>",
                      h->skipped, h->skipped == 1 ? "" : "s");
        rb_put(b, "</section>\n");
    } else {
        rb_printf(b, "<section><h2>Learning curves</h2><p class=\"sub\">%s</p></section>\n",
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
                rb_put(b, "<section><h2>Confusion matrix (test)</h2>");
                double tl = cf_jval_num(cf_jval_get(test, "loss"), NAN);
                rb_printf(b, "<p class=\"sub\">%ld images", cf_confusion_total(&cm));
                if (isfinite(tacc)) rb_printf(b, ", accuracy %.2f%%", 100 * tacc);
                if (isfinite(tl)) rb_printf(b, ", loss %.4f", tl);
                rb_put(b, ". Rows are the true class, columns the predicted one; the colour is the "
                          "share of the row.</p>");
                svg_confusion(b, &cm, (const char *const *)names);
                rb_put(b, "</section>\n");
            }
            per_class_table(b, test, &cm, have_cm, (const char *const *)names);
        }
        free(names);
        free(numbered);
        cf_confusion_free(&cm);
    }

    if (h->n > 0) epoch_table(b, h);

    /* configuration and environment */
    rb_put(b, "<section><h2>Environment</h2><dl>");
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
    rb_put(b, "</dl></section>\n");
    const char *cfg = cf_jval_str(cf_jval_get(sum, "config"), NULL);
    if (cfg) {
        rb_put(b, "<section><h2>Configuration</h2><pre>");
        rb_esc(b, cfg);
        rb_put(b, "</pre></section>\n");
    }
    rb_put(b, "<p class=\"sub\">Written by clforge");
    const char *ver = cf_jval_str(cf_jval_get(sum, "version"), NULL);
    if (ver) {
        rb_put(b, " ");
        rb_esc(b, ver);
    }
    rb_put(b, ". Self-contained: no scripts, no network.</p></main></body></html>\n");
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
    rb b = {0};
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
    st = write_atomic(opath, &b, err);
done:
    free(b.p);
    cf_jval_free(sum);
    hist_free(&h);
    free(mpath);
    free(spath);
    free(opath);
    return st;
}

cf_status cf_report_lr_find(const char *path, const double *lr, const double *loss, int n,
                            double suggested, cf_error *err)
{
    if (!path || n < 0 || (n > 0 && (!lr || !loss)))
        return cf_error_set(err, CF_ERR_INVALID, "lr-find plot: bad arguments");
    rb b = {0};
    size_t pl = strlen(path);
    int svg_only = pl >= 4 && strcmp(path + pl - 4, ".svg") == 0;
    /* Diverged tails reach huge losses; clip the y range at 4x the first
     * loss so the useful part of the curve stays readable. */
    double *y = n > 0 ? malloc((size_t)n * sizeof *y) : NULL;
    if (n > 0 && !y) return cf_error_set(err, CF_ERR_NOMEM, "lr-find plot: out of memory");
    double first = NAN;
    for (int i = 0; i < n; i++)
        if (isfinite(loss[i])) {
            first = loss[i];
            break;
        }
    for (int i = 0; i < n; i++)
        y[i] = isfinite(loss[i]) && (!isfinite(first) || loss[i] <= 4 * fabs(first) + 1e-12) ? loss[i] : NAN;
    char label[64];
    snprintf(label, sizeof label, "suggested %.3g", suggested);
    series s[1] = {{"loss", "#1c7ed6", 0, lr, y, n}};
    if (svg_only) {
        rb_put(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        size_t at = b.len;
        svg_chart(&b, "Learning-rate range test", "learning rate", "loss", s, 1, 1, 0, 0, YF_NUM,
                  suggested, label);
        /* a standalone SVG needs its namespace and its own styles */
        if (!b.oom && b.len > at + 4) {
            rb out = {0};
            rb_put(&out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"");
            rb_printf(&out,
                      " width=\"%d\" height=\"%d\" style=\"font-family:system-ui,'DejaVu Sans',"
                      "sans-serif;background:#fff\"><style>%s</style>",
                      CW, CH, CSS);
            rb_put(&out, b.p + at);
            rb_put(&out, "</svg>\n");
            free(b.p);
            b = out;
        }
    } else {
        rb_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>clforge "
                      "lr-find</title><style>%s</style></head><body><main><h1>Learning-rate range test</h1>"
                      "<div class=\"sub\">%d steps; suggested learning rate <b>%.3g</b> (marked).</div><section>",
                  CSS, n, suggested);
        svg_chart(&b, "Loss against learning rate", "learning rate (log scale)", "loss", s, 1, 1, 0,
                  0, YF_NUM, suggested, label);
        rb_put(&b, "</section></main></body></html>\n");
    }
    free(y);
    cf_status st = write_atomic(path, &b, err);
    free(b.p);
    return st;
}
