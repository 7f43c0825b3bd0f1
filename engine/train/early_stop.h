/* clforge — early stopping with SageMaker's semantics.
 *
 * After each epoch the trainer passes the monitored value (validation
 * accuracy by default, maximize = 1; or e.g. validation loss, maximize = 0).
 *
 *  - Relative gain over the reference r (the last value that counted as an
 *    improvement): (v - r) / |r| when maximizing, (r - v) / |r| when
 *    minimizing; when r = 0 any strict gain counts. A gain that is not > 0, or
 *    is below `tolerance`, is "no improvement". The first finite value always
 *    improves; NaN never does.
 *  - Training stops after the epoch at which `patience` consecutive epochs
 *    brought no improvement, but never before epoch `min_epochs`.
 *  - Independently, best_value/best_epoch track the strictly best value seen
 *    (tolerance ignored): that is the epoch whose weights the trainer keeps.
 *    So with tolerance > 0 a small gain may be the best epoch yet still count
 *    towards patience. */
#ifndef CF_EARLY_STOP_H
#define CF_EARLY_STOP_H

#include <stddef.h>

#include "clforge/error.h"

typedef struct cf_early_stop {
    int min_epochs, patience, maximize;
    double tolerance;
    /* state */
    double ref;        /* value of the last improvement */
    int has_ref;
    int bad_epochs;    /* consecutive epochs without improvement */
    double best_value; /* strictly best value seen */
    int best_epoch;    /* its 1-based epoch; 0 before any finite value */
    int last_epoch;
    int is_best;       /* the last update set a new best (keep these weights) */
    int improved;      /* the last update counted as an improvement */
    int stopped;
} cf_early_stop;

/* patience < 1 is taken as 1. */
void cf_early_stop_init(cf_early_stop *es, int min_epochs, int patience, double tolerance,
                        int maximize);
/* epoch is 1-based. Returns 1 when training should stop after this epoch. */
int cf_early_stop_update(cf_early_stop *es, int epoch, double value);
/* A sentence for logs: "no improvement for 5 epochs (best 0.912 at epoch 7)". */
void cf_early_stop_reason(const cf_early_stop *es, char *buf, size_t cap);

/* Checkpoint state as doubles (count returned, min(count, cap) written). */
#define CF_EARLY_STOP_STATE_N 7
int cf_early_stop_state(const cf_early_stop *es, double *buf, int cap);
cf_status cf_early_stop_restore(cf_early_stop *es, const double *buf, int n, cf_error *err);

#endif
