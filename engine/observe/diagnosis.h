/* clforge — reading the learning curves after training.
 *
 * Rules, in order (the first that matches wins; thresholds below, explained
 * in docs/report.md). err = 1 - accuracy; gap = validation err - training err.
 *
 *  lr_too_high     a loss became NaN/Inf; or the training loss ends >= 25 %
 *                  above its minimum; or (>= 5 epochs) the validation loss
 *                  changes direction >= 3 times, in at least half the
 *                  possible places, with mean swing >= 10 % of its median.
 *  overfitting     the validation loss is >= 10 % above its minimum at the end
 *                  (2+ epochs later, or >= 20 % above) while the training loss
 *                  kept falling; or the final gap is >= 10 points, training
 *                  err is at most half of validation err, and the gap grew
 *                  by >= 3 points since the first half of training.
 *  too_few_epochs  the (validation, else training) loss is at its minimum at
 *  / lr_too_low    the end and fell >= 1 %/epoch over the last (up to) 3
 *                  epochs; lr_too_low when the training loss fell < 30 % in
 *                  all since epoch 1 (slow from the start), else
 *                  too_few_epochs. One epoch only: too_few_epochs.
 *  underfitting    final training err >= 15 % and validation err >= 15 %.
 *  good_fit        none of the above.
 *
 * Accuracies may be NaN (not measured), validation values NaN when there was
 * no validation set: rules that need them are skipped. */
#ifndef CF_DIAGNOSIS_H
#define CF_DIAGNOSIS_H

#include <stddef.h>

#include "clforge/error.h"

#define CF_DIAG_TRAIN_RISE 0.25       /* train loss end vs min: unstable */
#define CF_DIAG_OSC_MIN_EPOCHS 5
#define CF_DIAG_OSC_MIN_CHANGES 3
#define CF_DIAG_OSC_SWING 0.10        /* mean |delta| / median val loss */
#define CF_DIAG_OVERFIT_RISE 0.10     /* val loss end vs min */
#define CF_DIAG_OVERFIT_RISE_FAST 0.20
#define CF_DIAG_OVERFIT_GAP 0.10      /* accuracy points */
#define CF_DIAG_OVERFIT_GAP_GROWTH 0.03
#define CF_DIAG_FALLING 0.01          /* relative loss drop per epoch */
#define CF_DIAG_FALLING_WINDOW 3
#define CF_DIAG_SLOW_TOTAL 0.30       /* total train loss drop below: lr too low */
#define CF_DIAG_UNDERFIT_ERR 0.15

typedef struct cf_epoch_record {
    int epoch; /* 1-based */
    double lr, train_loss, train_acc, val_loss, val_acc, seconds;
} cf_epoch_record;

/* Writes one to three sentences (what the curves show, then "Next: ...")
 * to text and the code ("overfitting", "good_fit", ...) to code; either
 * buffer may be NULL. Fails only on bad arguments (h NULL with n > 0). */
cf_status cf_diagnose(const cf_epoch_record *h, int n, char *text, size_t cap, char *code,
                      size_t code_cap);

/* The first `max` epoch records of a run's metrics.jsonl (a resumed run's
 * earlier epochs, so its diagnosis reads the whole curve). A missing file
 * gives none; an unreadable line ends the read. */
cf_status cf_epoch_records_read(const char *path, int max, cf_epoch_record *out, int *n, cf_error *err);

#endif
