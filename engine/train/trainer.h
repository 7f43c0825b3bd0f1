/* clforge — the training session: config → data → model → backend →
 * optimizer/regularizers/augmentations → epochs → run directory. */
#ifndef CLFORGE_TRAINER_H
#define CLFORGE_TRAINER_H

#include "clforge/clforge.h"

#include "train/train_opts.h"

/* Validate everything, train, evaluate, write the run directory. */
cf_status cf_train_run(const cf_train_opts *o, cf_error *err);

/* Evaluate a saved model on its test set, the given IDX files, or data (a
 * path in any format). */
cf_status cf_eval_model(const char *model_path, const char *images, const char *labels, const char *data,
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

/* The config tables moved to core/schema.h. */
#include "train/schema.h"

#endif
