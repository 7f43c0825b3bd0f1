/* clforge — the SVG drawing library of the HTML reports: hand-written SVG,
 * no scripts, no fonts (see svg.h). */
#include "observe/svg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a growing text buffer ------------------------------------------------ */

static void grow(cf_svgbuf *b, size_t need)
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

void cf_svg_put(cf_svgbuf *b, const char *s)
{
    size_t n = strlen(s);
    grow(b, n);
    if (b->oom) return;
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

void cf_svg_printf(cf_svgbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        cf_svg_put(b, tmp);
        return;
    }
    grow(b, (size_t)n);
    if (b->oom) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* HTML/XML text and attribute escaping. */
void cf_svg_esc(cf_svgbuf *b, const char *s)
{
    char one[2] = {0, 0};
    for (; s && *s; s++) {
        switch (*s) {
        case '<': cf_svg_put(b, "&lt;"); break;
        case '>': cf_svg_put(b, "&gt;"); break;
        case '&': cf_svg_put(b, "&amp;"); break;
        case '"': cf_svg_put(b, "&quot;"); break;
        case '\'': cf_svg_put(b, "&#39;"); break;
        default:
            one[0] = *s;
            cf_svg_put(b, one);
        }
    }
}

/* The same escaping straight to a stream (the tune report writes as it goes). */
void cf_svg_esc_file(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

cf_status cf_svg_write_atomic(const char *path, const cf_svgbuf *b, cf_error *err)
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

static void tick_label(char *buf, size_t cap, double v, double step, cf_svg_yfmt f)
{
    if (fabs(v) < 1e-12 * (fabs(step) + 1e-300)) v = 0;
    if (f == CF_SVG_PCT)
        snprintf(buf, cap, step * 100 >= 1 ? "%.0f%%" : "%.1f%%", v * 100);
    else
        snprintf(buf, cap, "%g", v);
}

enum { ML = 66, MR = 18, MT = 40, MB = 44 };

/* A full <svg> line chart. mark_x: a vertical marker (NaN: none). */
void cf_svg_chart(cf_svgbuf *b, const char *title, const char *xlabel, const char *ylabel,
                      const cf_svg_series *s, int ns, int xlog, int ylog, int xint, cf_svg_yfmt yf,
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
    cf_svg_printf(b, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", CF_SVG_CW, CF_SVG_CH);
    cf_svg_esc(b, title);
    cf_svg_put(b, "\"><title>");
    cf_svg_esc(b, title);
    cf_svg_printf(b, "</title><text class=\"ct\" x=\"%d\" y=\"20\">", ML);
    cf_svg_esc(b, title);
    cf_svg_put(b, "</text>");
    if (!(xlo <= xhi)) {
        cf_svg_printf(b, "<text class=\"nd\" x=\"%d\" y=\"%d\">no data</text></svg>\n", CF_SVG_CW / 2, CF_SVG_CH / 2);
        return;
    }
    axis_fit(&ax, xlo, xhi, xlog, 8, xint);
    axis_fit(&ay, ylo, yhi, ylog, 5, 0);
    const double px0 = ML, px1 = CF_SVG_CW - MR, py0 = CF_SVG_CH - MB, py1 = MT;
#define PX(v) (px0 + axis_t(&ax, (v)) * (px1 - px0))
#define PY(v) (py0 - axis_t(&ay, (v)) * (py0 - py1))
    /* grid and tick labels */
    char lab[64];
    cf_svg_printf(b, "<rect class=\"pa\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", px0,
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
                tick_label(lab, sizeof lab, v, a->log ? v : a->step, pass ? yf : CF_SVG_NUM);
                if (!pass) {
                    double x = PX(v);
                    cf_svg_printf(b,
                              "<line class=\"g\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                              "<text class=\"tx\" x=\"%.1f\" y=\"%.1f\">%s</text>",
                              x, py1, x, py0, x, py0 + 16, lab);
                } else {
                    double y = PY(v);
                    cf_svg_printf(b,
                              "<line class=\"g\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                              "<text class=\"ty\" x=\"%.1f\" y=\"%.1f\">%s</text>",
                              px0, y, px1, y, px0 - 6, y + 4, lab);
                }
            }
        }
    }
    cf_svg_printf(b, "<text class=\"xl\" x=\"%.1f\" y=\"%d\">", (px0 + px1) / 2, CF_SVG_CH - 6);
    cf_svg_esc(b, xlabel);
    cf_svg_printf(b, "</text><text class=\"yl\" transform=\"translate(14 %.1f) rotate(-90)\">",
              (py0 + py1) / 2);
    cf_svg_esc(b, ylabel);
    cf_svg_put(b, "</text>");
    if (isfinite(mark_x) && usable(&ax, mark_x) && axis_t(&ax, mark_x) >= 0 &&
        axis_t(&ax, mark_x) <= 1) {
        double x = PX(mark_x);
        cf_svg_printf(b, "<line class=\"mk\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, py1,
                  x, py0);
        int right = x > px1 - 60; /* keep the label inside the plot */
        cf_svg_printf(b, "<text class=\"mkl\" x=\"%.1f\" y=\"%.1f\"%s>", right ? x - 4 : x + 4,
                  py1 + 12, right ? " text-anchor=\"end\"" : "");
        cf_svg_esc(b, mark_label ? mark_label : "");
        cf_svg_put(b, "</text>");
    }
    /* cf_svg_series: broken at unusable points */
    for (int i = 0; i < ns; i++) {
        cf_svg_printf(b, "<path class=\"ln\" stroke=\"%s\"%s d=\"", s[i].color,
                  s[i].dashed ? " stroke-dasharray=\"6 4\"" : "");
        int pen = 0;
        for (int j = 0; j < s[i].n; j++) {
            if (!usable(&ax, s[i].x[j]) || !usable(&ay, s[i].y[j])) {
                pen = 0;
                continue;
            }
            cf_svg_printf(b, "%c%.1f %.1f", pen ? 'L' : 'M', PX(s[i].x[j]), PY(s[i].y[j]));
            pen = 1;
        }
        cf_svg_put(b, "\"/>");
        if (s[i].n <= 60)
            for (int j = 0; j < s[i].n; j++) {
                if (!usable(&ax, s[i].x[j]) || !usable(&ay, s[i].y[j])) continue;
                cf_svg_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"%s\"><title>", PX(s[i].x[j]),
                          PY(s[i].y[j]), s[i].color);
                cf_svg_esc(b, s[i].name);
                cf_svg_printf(b, " %g: %.6g</title></circle>", s[i].x[j], s[i].y[j]);
            }
    }
    /* legend, right-aligned on the title row */
    double lx = px1;
    for (int i = ns - 1; i >= 0; i--) {
        lx -= 30 + 7.0 * (double)strlen(s[i].name);
        cf_svg_printf(b,
                  "<line class=\"ln\" stroke=\"%s\"%s x1=\"%.1f\" y1=\"16\" x2=\"%.1f\" y2=\"16\"/>"
                  "<text class=\"lg\" x=\"%.1f\" y=\"20\">",
                  s[i].color, s[i].dashed ? " stroke-dasharray=\"6 4\"" : "", lx, lx + 20, lx + 24);
        cf_svg_esc(b, s[i].name);
        cf_svg_put(b, "</text>");
    }
    cf_svg_put(b, "</svg>\n");
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

void cf_svg_confusion(cf_svgbuf *b, const cf_confusion *c, const char *const *names)
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
    cf_svg_printf(b,
              "<svg class=\"cm\" viewBox=\"0 0 %d %d\" style=\"max-width:%dpx\" role=\"img\" "
              "aria-label=\"confusion matrix\"><title>Confusion matrix (rows: true class, "
              "columns: predicted class; colour: share of the row)</title>",
              w, h, w + 40);
    cf_svg_printf(b, "<text class=\"ct\" x=\"%d\" y=\"18\">true class \xe2\x86\x93 / predicted \xe2\x86\x92</text>",
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
            cf_svg_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>true ",
                      x, y, cell - 1, cell - 1, col);
            cf_svg_esc(b, names[i]);
            cf_svg_put(b, ", predicted ");
            cf_svg_esc(b, names[j]);
            cf_svg_printf(b, ": %ld (%.1f%% of the row)</title></rect>", v, 100 * f);
            if (cell >= 26)
                cf_svg_printf(b, "<text class=\"cv%s\" x=\"%d\" y=\"%d\">%ld</text>",
                          sqrt(f) > 0.55 ? " on" : "", x + cell / 2, y + cell / 2 + 4, v);
        }
        cf_svg_printf(b, "<text class=\"rl\" x=\"%d\" y=\"%d\">", left - 6, top + i * cell + cell / 2 + 4);
        cf_svg_esc(b, names[i]);
        cf_svg_put(b, "</text>");
    }
    for (int j = 0; j < k; j++) {
        int x = left + j * cell + cell / 2, y = top + k * cell + 8;
        cf_svg_printf(b, "<text class=\"cl\" transform=\"translate(%d %d) rotate(-45)\">", x, y);
        cf_svg_esc(b, names[j]);
        cf_svg_put(b, "</text>");
    }
    cf_svg_put(b, "</svg>\n");
}

/* ---- the stylesheet the charts' classes need (the reports embed it) ---- */

const char cf_svg_css[] =
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

/* ---- plot frames written to a stream (the tune report) ---------------------- */

double cf_svg_plot_x(const cf_svg_plot *p, double x)
{
    double a = p->logx ? log(p->x0) : p->x0, b = p->logx ? log(p->x1) : p->x1;
    double v = p->logx ? log(x) : x;
    return p->L + (b > a ? (v - a) / (b - a) : 0.5) * (p->W - p->L - p->R);
}
double cf_svg_plot_y(const cf_svg_plot *p, double y)
{
    double a = p->y0, b = p->y1, v = y;
    if (p->logy) {
        a = log(a);
        b = log(b);
        v = log(y > p->y0 ? y : p->y0);
    }
    return p->T + (b > a ? (b - v) / (b - a) : 0.5) * (p->H - p->T - p->B);
}

void cf_svg_plot_begin(cf_svg_plot *p, FILE *f, const char *title, const char *xl, const char *yl)
{
    p->f = f;
    if (p->y1 <= p->y0) {
        p->y0 -= 0.5;
        p->y1 += 0.5;
    }
    double pad = 0.05 * (p->y1 - p->y0), ys[2] = {p->y0, p->y1};
    if (p->logy) { /* the same 5 % margin, in log space */
        double k = pow(p->y1 / p->y0, 0.05);
        p->y0 /= k;
        p->y1 *= k;
    } else {
        p->y0 -= pad;
        p->y1 += pad;
    }
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' class='plot'>", p->W, p->H);
    fprintf(f, "<rect x='%d' y='%d' width='%d' height='%d' fill='#fff' stroke='#999'/>", p->L, p->T,
            p->W - p->L - p->R, p->H - p->T - p->B);
    fprintf(f, "<text x='%d' y='14' font-size='13' font-weight='bold'>", p->L);
    cf_svg_esc_file(f, title);
    fprintf(f, "</text><text x='%d' y='%d' font-size='11' text-anchor='middle'>", (p->W + p->L - p->R) / 2,
            p->H - 4);
    cf_svg_esc_file(f, xl);
    fprintf(f, "</text><text x='12' y='%d' font-size='11' transform='rotate(-90 12 %d)' text-anchor='middle'>",
            (p->H + p->T - p->B) / 2, (p->H + p->T - p->B) / 2);
    cf_svg_esc_file(f, yl);
    fputs("</text>", f);
    /* end-point tick labels (and "log" when the axis is logarithmic) */
    if (p->logy)
        fprintf(f, "<text x='%d' y='%d' font-size='10' fill='#666'>log scale</text>", p->L + 4, p->T + 12);
    for (int i = 0; i < 2; i++)
        fprintf(f, "<text x='%d' y='%.1f' font-size='10' text-anchor='end'>%.4g</text>", p->L - 3,
                cf_svg_plot_y(p, ys[i]) + 3, ys[i]);
    if (p->categorical) return;
    fprintf(f, "<text x='%d' y='%d' font-size='10'>%.4g</text>", p->L, p->H - p->B + 12, p->x0);
    fprintf(f, "<text x='%d' y='%d' font-size='10' text-anchor='end'>%.4g</text>", p->W - p->R,
            p->H - p->B + 12, p->x1);
}
