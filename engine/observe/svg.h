/* clforge — the SVG drawing library of the HTML reports (report.html, the
 * lr-find plot, tune_report.html): hand-written SVG, no scripts, no fonts, no
 * network, so a report opens anywhere and can be attached to a mail.
 *
 *  - a growing text buffer with XML escaping, written atomically;
 *  - line charts (linear or log axes, broken at non-finite points, a
 *    vertical marker) and a confusion-matrix heat map, styled by the classes
 *    in cf_svg_css;
 *  - plot frames drawn straight to a stream (axes box, title, end ticks),
 *    into which the tune report draws its own points and curves. */
#ifndef CF_SVG_H
#define CF_SVG_H

#include <stddef.h>
#include <stdio.h>

#include "clforge/error.h"
#include "observe/metrics.h"

/* ---- text buffer ---- */
typedef struct cf_svgbuf {
    char *p;
    size_t len, cap;
    int oom; /* sticky: checked once, by cf_svg_write_atomic */
} cf_svgbuf;

void cf_svg_put(cf_svgbuf *b, const char *s);
void cf_svg_printf(cf_svgbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* HTML/XML text and attribute escaping. */
void cf_svg_esc(cf_svgbuf *b, const char *s);
void cf_svg_esc_file(FILE *f, const char *s);
/* b to path: temp file, fsync, rename. */
cf_status cf_svg_write_atomic(const char *path, const cf_svgbuf *b, cf_error *err);

/* ---- charts ---- */
typedef struct cf_svg_series {
    const char *name, *color;
    int dashed;
    const double *x, *y;
    int n;
} cf_svg_series;

typedef enum cf_svg_yfmt { CF_SVG_NUM, CF_SVG_PCT } cf_svg_yfmt;

enum { CF_SVG_CW = 600, CF_SVG_CH = 300 }; /* a chart's viewBox */

/* A full <svg> line chart. xint: integer x ticks; mark_x: a vertical marker
 * (NaN: none) labelled mark_label. */
void cf_svg_chart(cf_svgbuf *b, const char *title, const char *xlabel, const char *ylabel,
                  const cf_svg_series *s, int ns, int xlog, int ylog, int xint, cf_svg_yfmt yf,
                  double mark_x, const char *mark_label);
/* Rows: true class, columns: predicted; colour: the cell's share of its row. */
void cf_svg_confusion(cf_svgbuf *b, const cf_confusion *c, const char *const *names);

/* The stylesheet of the charts' classes and of the report pages. */
extern const char cf_svg_css[];

/* ---- plot frames on a stream ---- */
typedef struct cf_svg_plot {
    FILE *f;
    double x0, x1, y0, y1;
    int logx, W, H, L, R, T, B;
    int logy;        /* values spanning orders of magnitude (e.g. Branin, losses) */
    int categorical; /* x is a category index: names are drawn by the caller, no end ticks */
} cf_svg_plot;

/* Pixel coordinates of a data point. */
double cf_svg_plot_x(const cf_svg_plot *p, double x);
double cf_svg_plot_y(const cf_svg_plot *p, double y);
/* Opens <svg> (the caller closes it) with the frame, title, axis labels and
 * end-point ticks; widens a degenerate y range and adds a 5 % margin. */
void cf_svg_plot_begin(cf_svg_plot *p, FILE *f, const char *title, const char *xl, const char *yl);

#endif
