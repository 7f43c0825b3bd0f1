/* clforge — the run report: one self-contained report.html per run.
 *
 * Reads RUN_DIR/metrics.jsonl (one JSON object per epoch) and
 * RUN_DIR/summary.json (formats in docs/report.md) and writes
 * RUN_DIR/report.html: inline CSS and SVG only — no scripts, no fonts, no
 * network — so it opens anywhere and can be attached to a mail. Missing keys
 * and a missing file (but not both) are tolerated: the report shows what is
 * there; unreadable metrics lines (a run killed mid-write) are skipped and
 * counted. The file is written atomically (temp file + rename). */
#ifndef CF_REPORT_H
#define CF_REPORT_H

#include "clforge/error.h"

cf_status cf_report_write(const char *run_dir, cf_error *err);

/* The LR range test plot: loss against learning rate (log axis) with the
 * suggested rate marked. path ending in ".svg" gets a bare SVG document,
 * anything else a small HTML page. Non-finite losses are left out. */
cf_status cf_report_lr_find(const char *path, const double *lr, const double *loss, int n,
                            double suggested, cf_error *err);

#endif
