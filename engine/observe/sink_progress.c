/* clforge — the progress bar: one self-overwriting terminal line per batch,
 * cleared before the epoch's console line. */
#include "observe/sink.h"

static cf_status batch(cf_sink *s, const cf_ev_batch *ev, cf_error *err)
{
    FILE *f = s->state;
    int width = 24, done = ev->n_batches ? ev->batch * width / ev->n_batches : 0;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < done ? '=' : (i == done ? '>' : ' ');
    bar[width] = '\0';
    fprintf(f, "\repoch %d/%d [%s] %d/%d  loss %.4f  %.0f img/s  ETA %.0fs   ", ev->epoch, ev->epochs, bar,
            ev->batch, ev->n_batches, ev->loss, ev->images_per_sec, ev->eta_seconds);
    return cf_sink_flush(f, "progress bar", err);
}

static cf_status epoch(cf_sink *s, const cf_ev_epoch *ev, cf_error *err)
{
    (void)ev;
    fprintf(s->state, "\r%*s\r", 100, "");
    return cf_sink_flush(s->state, "progress bar", err);
}

cf_status cf_sink_progress_add(cf_sinks *l, FILE *out, cf_error *err)
{
    cf_sink s = {.name = "progress", .state = out, .batch = batch, .epoch = epoch};
    return cf_sinks_add(l, &s, err);
}
