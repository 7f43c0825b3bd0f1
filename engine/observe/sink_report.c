/* clforge — RUN_DIR/report.html at the end of the run, from the files the
 * metrics.jsonl and summary.json sinks wrote (so it is added after them). The
 * report is a convenience: failing to write it is a warning, never the run's
 * failure; a stale report.html of an earlier (resumed) part is removed then,
 * so the console's list of written files stays true. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/util.h"
#include "observe/report.h"
#include "observe/sink.h"

typedef struct report {
    FILE *warn;
    char *run_dir;
} report;

static cf_status open_(cf_sink *s, const cf_ev_open *ev, cf_error *err)
{
    report *r = s->state;
    if (!(r->run_dir = cf_strdup(ev->run_dir))) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    return CF_OK;
}

static cf_status end(cf_sink *s, const cf_ev_end *ev, cf_error *err)
{
    (void)ev;
    (void)err;
    report *r = s->state;
    cf_error e2;
    if (r->run_dir && cf_report_write(r->run_dir, &e2)) {
        char path[1200];
        snprintf(path, sizeof path, "%s/report.html", r->run_dir);
        unlink(path);
        if (r->warn) fprintf(r->warn, "warning: report.html not written: %s\n", e2.msg);
    }
    return CF_OK;
}

static void free_(cf_sink *s)
{
    report *r = s->state;
    free(r->run_dir);
    free(r);
}

cf_status cf_sink_report_add(cf_sinks *l, FILE *warn, cf_error *err)
{
    report *r = calloc(1, sizeof *r);
    if (!r) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    r->warn = warn;
    cf_sink s = {.name = "report.html", .state = r, .open = open_, .end = end, .free = free_};
    return cf_sinks_add(l, &s, err);
}
