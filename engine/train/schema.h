/* clforge — the schema: every config key declared once (engine sections here,
 * plugin sections in each plugin's table), and the checks driven by it. */
#ifndef CLFORGE_TRAIN_SCHEMA_H
#define CLFORGE_TRAIN_SCHEMA_H

#include <libconfig.h>
#include <stdio.h>

#include "clforge/clforge.h"
#include "core/config_file.h"

/* Engine sections (docs and validation). */
extern const cf_param_def cf_root_params[];
extern const cf_param_def cf_backend_params[];
extern const cf_param_def cf_data_params[];
extern const cf_param_def cf_train_params[];
extern const cf_param_def cf_early_stop_params[];
extern const cf_param_def cf_ema_params[];
extern const cf_param_def cf_output_params[];
extern const cf_param_def cf_tune_params[];
extern const cf_param_def cf_tune_objective_params[];
extern const cf_param_def cf_tune_param_params[];

/* A named table: "train.early_stopping" -> its keys. */
typedef struct cf_schema_section {
    const char *path;
    const cf_param_def *defs;
} cf_schema_section;
/* All engine sections, in reference order, ending with {NULL, NULL}. */
extern const cf_schema_section cf_schema_sections[];

/* The known name closest to `key` (edit distance <= max(1, len/3), a prefix,
 * or the initials: "lr" -> "learning_rate"); NULL when nothing is close. */
const char *cf_schema_suggest_names(const char *const *names, int n, const char *key);
const char *cf_schema_suggest(const cf_param_def *defs, const char *key);
/* "; did you mean 'x'?" or " (known: a, b, ...)" for an unknown key. */
void cf_schema_hint(const cf_param_def *defs, const char *key, char *buf, size_t cap);

/* How unknown keys are treated and where they came from. */
typedef struct cf_schema_opts {
    const cf_registry *reg;  /* plugin tables; NULL: plugin groups unchecked */
    int strict;              /* 0: unknown keys are warnings on `warn` */
    FILE *warn;
    const char *const *sets; /* the --set assignments applied to the tree */
    int n_sets;
    const char *json;        /* sets[0..n_json) came from this SageMaker JSON file */
    int n_json;
} cf_schema_opts;

/* Every key of the tree that came from a file (named file:line) and every
 * --set key (named "--set k=v") must be declared. */
cf_status cf_schema_check_config(const cf_config *c, const cf_schema_opts *o, cf_error *err);
/* Is the dotted path `key` ("optimizer.momentum", "regularizers.l2.lambda")
 * declared? Plugin keys are checked against the plugin `base` chooses for
 * that group (or `alt_plugins`, "sgd|adam", when the plugin itself is
 * tuned). The message has no location; callers prefix it. */
cf_status cf_schema_check_key(const config_t *base, const cf_registry *reg, const char *key,
                              const char *alt_plugins, cf_error *err);
/* The markdown reference (docs/config.md): engine sections, then the
 * parameters of every optimizer, regularizer and augmentation in reg. */
void cf_schema_print_reference(const cf_registry *reg, FILE *f);

#endif
