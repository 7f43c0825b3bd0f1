/* clforge — what a caller asks of a training session (train, tune trials,
 * eval, lr-find build one); shared by the session and the trainer. */
#ifndef CLFORGE_TRAIN_OPTS_H
#define CLFORGE_TRAIN_OPTS_H

#include <signal.h>
#include <stdio.h>

typedef struct cf_train_opts {
    const char *config_path;
    const char *const *sets; /* "key=value" overrides */
    int n_sets;
    const char *run_dir;     /* explicit run directory (else output.dir/name) */
    int json;                /* one JSON object per event on stdout */
    int quiet;
    int no_test;             /* never touch the test set (tuning trials) */
    int sagemaker_log;       /* Epoch[N] Train-accuracy=... lines */
    int epochs;              /* > 0: train.epochs; with a resumed run_dir this extends
                              * the run (refused when the lr schedule spans the total) */
    const char *hyperparameters; /* SageMaker hyperparameters JSON file */
    int allow_unknown;       /* unknown config keys are warnings (as strict_keys = false) */
    volatile sig_atomic_t *stop; /* set asynchronously to stop after the batch */
    FILE *out;               /* progress (stdout) */
    FILE *warn;              /* warnings (stderr) */
} cf_train_opts;

#endif
