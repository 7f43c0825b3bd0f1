/* clforge — early stopping; semantics in early_stop.h. */
#include "train/early_stop.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void cf_early_stop_init(cf_early_stop *es, int min_epochs, int patience, double tolerance,
                        int maximize)
{
    memset(es, 0, sizeof *es);
    es->min_epochs = min_epochs;
    es->patience = patience < 1 ? 1 : patience;
    es->tolerance = tolerance > 0 ? tolerance : 0;
    es->maximize = maximize != 0;
}

static double gain(const cf_early_stop *es, double from, double to)
{
    return es->maximize ? to - from : from - to;
}

int cf_early_stop_update(cf_early_stop *es, int epoch, double value)
{
    es->last_epoch = epoch;
    es->is_best = 0;
    es->improved = 0;
    if (isfinite(value)) {
        if (es->best_epoch == 0 || gain(es, es->best_value, value) > 0) {
            es->best_value = value;
            es->best_epoch = epoch;
            es->is_best = 1;
        }
        if (!es->has_ref) {
            es->improved = 1;
        } else {
            double g = gain(es, es->ref, value);
            double rel = es->ref != 0 ? g / fabs(es->ref) : (g > 0 ? INFINITY : 0);
            es->improved = g > 0 && rel >= es->tolerance;
        }
    }
    if (es->improved) {
        es->ref = value;
        es->has_ref = 1;
        es->bad_epochs = 0;
    } else {
        es->bad_epochs++;
    }
    es->stopped = es->bad_epochs >= es->patience && epoch >= es->min_epochs;
    return es->stopped;
}

void cf_early_stop_reason(const cf_early_stop *es, char *buf, size_t cap)
{
    if (!cap) return;
    if (!es->stopped) {
        snprintf(buf, cap, "not stopped");
        return;
    }
    snprintf(buf, cap,
             "early stopping after epoch %d: no improvement of at least %g (relative) for %d "
             "epoch%s; best %.6g at epoch %d",
             es->last_epoch, es->tolerance, es->bad_epochs, es->bad_epochs == 1 ? "" : "s",
             es->best_value, es->best_epoch);
}

#define ES_MAGIC 5151.0

int cf_early_stop_state(const cf_early_stop *es, double *buf, int cap)
{
    double st[CF_EARLY_STOP_STATE_N] = {ES_MAGIC,
                                        es->has_ref ? es->ref : 0.0,
                                        (double)es->has_ref,
                                        (double)es->bad_epochs,
                                        es->best_epoch ? es->best_value : 0.0,
                                        (double)es->best_epoch,
                                        (double)es->last_epoch};
    for (int i = 0; i < CF_EARLY_STOP_STATE_N && i < cap; i++) buf[i] = st[i];
    return CF_EARLY_STOP_STATE_N;
}

cf_status cf_early_stop_restore(cf_early_stop *es, const double *buf, int n, cf_error *err)
{
    if (n != CF_EARLY_STOP_STATE_N || buf[0] != ES_MAGIC || buf[3] < 0 || buf[5] < 0)
        return cf_error_set(err, CF_ERR_IO, "early stopping: checkpoint state is corrupt (%d values)", n);
    es->ref = buf[1];
    es->has_ref = buf[2] != 0;
    es->bad_epochs = (int)buf[3];
    es->best_value = buf[4];
    es->best_epoch = (int)buf[5];
    es->last_epoch = (int)buf[6];
    es->is_best = es->improved = es->stopped = 0;
    return CF_OK;
}
