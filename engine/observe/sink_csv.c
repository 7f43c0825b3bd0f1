/* clforge — RUN_DIR/metrics.csv: the per-epoch metrics with timings, for
 * spreadsheets. A resumed run appends to it. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "observe/sink.h"

typedef struct csv { char *run_dir; } csv;

static cf_status open_(cf_sink *s, const cf_ev_open *ev, cf_error *err)
{
    csv *c = s->state;
    if (!(c->run_dir = cf_strdup(ev->run_dir))) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    if (ev->resuming) return CF_OK;
    char path[1200];
    snprintf(path, sizeof path, "%s/metrics.csv", ev->run_dir);
    const char *hdr = "epoch,lr,train_loss,train_accuracy,validation_loss,validation_accuracy,seconds,images_per_sec\n";
    return cf_write_file_atomic(path, hdr, strlen(hdr), err);
}

static cf_status epoch(cf_sink *s, const cf_ev_epoch *ev, cf_error *err)
{
    csv *c = s->state;
    char line[512];
    int n = snprintf(line, sizeof line, "%d,%.8g,%.8g,%.8g,%.8g,%.8g,%.3f,%.1f\n", ev->epoch, ev->lr, ev->train_loss,
                     ev->train_accuracy, ev->validation_loss, ev->validation_accuracy, ev->seconds,
                     ev->images_per_sec);
    return cf_sink_append(c->run_dir, "metrics.csv", line, (size_t)n, err);
}

static void free_(cf_sink *s)
{
    csv *c = s->state;
    free(c->run_dir);
    free(c);
}

cf_status cf_sink_csv_add(cf_sinks *l, cf_error *err)
{
    csv *c = calloc(1, sizeof *c);
    if (!c) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    cf_sink s = {.name = "metrics.csv", .state = c, .open = open_, .epoch = epoch, .free = free_};
    return cf_sinks_add(l, &s, err);
}
