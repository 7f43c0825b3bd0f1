/* clforge — training checkpoints: weights, optimizer slots, the learning-rate
 * schedule's and early stopping's state, epoch and step, in one blob file, so
 * a resumed run continues byte-identically. */
#ifndef CF_CHECKPOINT_H
#define CF_CHECKPOINT_H

#include "train/early_stop.h"
#include "train/session.h"

cf_status cf_checkpoint_save(cf_session *s, const char *path, int epoch, long step, const cf_early_stop *es,
                             cf_error *err);
/* Restores everything cf_checkpoint_save wrote into s (whose net, optimizer
 * and schedule are built from the same config) and es. */
cf_status cf_checkpoint_load(cf_session *s, const char *path, int *epoch, long *step, cf_early_stop *es,
                             cf_error *err);

#endif
