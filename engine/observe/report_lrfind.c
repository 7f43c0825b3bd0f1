/* clforge — the learning-rate range test plot (see report.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observe/report.h"
#include "observe/svg.h"

cf_status cf_report_lr_find(const char *path, const double *lr, const double *loss, int n,
                            double suggested, cf_error *err)
{
    if (!path || n < 0 || (n > 0 && (!lr || !loss)))
        return cf_error_set(err, CF_ERR_INVALID, "lr-find plot: bad arguments");
    cf_svgbuf b = {0};
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
    cf_svg_series s[1] = {{"loss", "#1c7ed6", 0, lr, y, n}};
    if (svg_only) {
        cf_svg_put(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        size_t at = b.len;
        cf_svg_chart(&b, "Learning-rate range test", "learning rate", "loss", s, 1, 1, 0, 0, CF_SVG_NUM,
                  suggested, label);
        /* a standalone SVG needs its namespace and its own styles */
        if (!b.oom && b.len > at + 4) {
            cf_svgbuf out = {0};
            cf_svg_put(&out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"");
            cf_svg_printf(&out,
                      " width=\"%d\" height=\"%d\" style=\"font-family:system-ui,'DejaVu Sans',"
                      "sans-serif;background:#fff\"><style>%s</style>",
                      CF_SVG_CW, CF_SVG_CH, cf_svg_css);
            cf_svg_put(&out, b.p + at);
            cf_svg_put(&out, "</svg>\n");
            free(b.p);
            b = out;
        }
    } else {
        cf_svg_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>clforge "
                      "lr-find</title><style>%s</style></head><body><main><h1>Learning-rate range test</h1>"
                      "<div class=\"sub\">%d steps; suggested learning rate <b>%.3g</b> (marked).</div><section>",
                  cf_svg_css, n, suggested);
        cf_svg_chart(&b, "Loss against learning rate", "learning rate (log scale)", "loss", s, 1, 1, 0,
                  0, CF_SVG_NUM, suggested, label);
        cf_svg_put(&b, "</section></main></body></html>\n");
    }
    free(y);
    cf_status st = cf_svg_write_atomic(path, &b, err);
    free(b.p);
    return st;
}
