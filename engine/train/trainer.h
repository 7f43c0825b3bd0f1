/* clforge — the training session: config → data → model → backend →
 * optimizer/regularizers/augmentations → epochs → run directory. */
#ifndef CLFORGE_TRAINER_H
#define CLFORGE_TRAINER_H

#include <signal.h>

#include "clforge/clforge.h"

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
    volatile sig_atomic_t *stop; /* set asynchronously to stop after the batch */
    FILE *out;               /* progress (stdout) */
    FILE *warn;              /* warnings (stderr) */
} cf_train_opts;

/* Validate everything, train, evaluate, write the run directory. */
cf_status cf_train_run(const cf_train_opts *o, cf_error *err);

/* Evaluate a saved model on the test set (or the given IDX files). */
cf_status cf_eval_model(const char *model_path, const char *images, const char *labels,
                        const char *backend, int threads, int json, FILE *out, cf_error *err);

/* Top-k classes of images (JPEG/PGM/PPM) under a saved model. */
cf_status cf_predict(const char *model_path, const char *const *images, int n, int top_k,
                     const char *backend, int threads, int json, FILE *out, cf_error *err);

typedef struct cf_lr_find_opts {
    const char *config_path;
    const char *const *sets;
    int n_sets;
    double min_lr, max_lr;
    int steps;
    const char *report_path; /* .html or .svg */
    int json;
    FILE *out;
} cf_lr_find_opts;
/* Learning-rate range test: sweep, plot, suggest. */
cf_status cf_lr_find(const cf_lr_find_opts *o, cf_error *err);

/* Print the expanded model of a config (layers, shapes, parameters). */
cf_status cf_print_model(const char *config_path, const char *const *sets, int n_sets, FILE *out,
                         cf_error *err);

/* Top-level config tables (docs and validation). */
extern const cf_param_def cf_root_params[];
extern const cf_param_def cf_backend_params[];
extern const cf_param_def cf_data_params[];
extern const cf_param_def cf_train_params[];
extern const cf_param_def cf_early_stop_params[];
extern const cf_param_def cf_output_params[];

#endif
