/* clforge — run events and the sinks that turn them into output.
 *
 * The trainer reports what happens (the run directory is ready, the run
 * starts, a batch trained, an epoch ended, a checkpoint was written, a note
 * for the reader, the test evaluation, the end) to a list of sinks; every
 * output format (console line, progress bar, --json, metrics.jsonl,
 * metrics.csv, SageMaker log lines, summary.json, report.html, TensorBoard)
 * is one sink in one file. A new format is one more file and one
 * cf_sink_*_add call. Callbacks are optional; each returns a cf_status, and a
 * sink that fails (disk full) fails the run with its message. Sinks get
 * events in the order they were added. */
#ifndef CF_SINK_H
#define CF_SINK_H

#include <stdint.h>
#include <stdio.h>

#include "clforge/error.h"
#include "observe/metrics.h"
#include "observe/metrics_multilabel.h"

/* The run directory exists (fresh, or a resumed one after its checkpoint was
 * read); file sinks create or truncate their files here. */
typedef struct cf_ev_open {
    const char *run_dir;
    int resuming;
    int resume_epoch; /* epochs the checkpoint holds (0: starting afresh) */
} cf_ev_open;

typedef struct cf_ev_start {
    const char *name, *run_dir, *backend, *device, *version;
    int train_samples, validation_samples, epochs;
    int resume_epoch; /* > 0: continuing after this epoch */
    long parameters, step;
    const char *const *overrides; /* "key=value" settings of this run (a tune trial's parameters) */
    int n_overrides;
} cf_ev_start;

typedef struct cf_ev_batch {
    int epoch, epochs, batch, n_batches; /* batch: 1-based, done so far */
    double loss, images_per_sec, eta_seconds;
} cf_ev_batch;

typedef struct cf_ev_epoch {
    int epoch, epochs;
    long step;
    double lr, train_loss, train_accuracy;
    int has_validation;
    double validation_loss, validation_accuracy, validation_topk; /* 0 without validation */
    int top_k;                     /* 0: no top-k metric */
    double seconds;                /* training and validation */
    double images_per_sec;         /* training only */
    /* multi-label runs (the accuracies are exact-match); with validation */
    int multi_label;
    double validation_micro_f1, validation_macro_f1, validation_hamming;
    /* per-class precision/recall/F1 of the validation split (NULL: none) and
     * the class names (NULL: numbered) */
    const cf_metrics_report *validation_metrics;
    const char *const *class_names;
} cf_ev_epoch;

typedef struct cf_ev_checkpoint {
    const char *path, *kind; /* "best", "epoch", "last" */
    int epoch;
    long step;
} cf_ev_checkpoint;

/* The test set, evaluated once after training. */
typedef struct cf_ev_eval {
    const char *split;
    int epoch; /* the epochs trained: the step it belongs to */
    double loss, accuracy, topk;
    int top_k;
    long n;
    const cf_ml_report *ml;     /* multi-label: the per-label report (accuracy = exact match); else NULL */
    const char *const *names;   /* ml's label names (NULL: numbered) */
} cf_ev_eval;

/* Everything summary.json holds. status is the run's outcome so far; the
 * dispatcher sets it (and message) when an end sink fails, so later sinks
 * report that failure. */
typedef struct cf_ev_end {
    cf_status status;
    const char *message;        /* error text when status != CF_OK */
    const char *outcome;        /* "completed", "failed", "interrupted" */
    const char *name, *run_dir, *backend, *device, *device_version, *optimizer, *version;
    const char *config_text;
    uint64_t seed;
    double wall_seconds;
    int epochs_run, best_epoch;
    long steps, parameters;
    double train_loss, train_accuracy, validation_loss, validation_accuracy;
    int train_samples, validation_samples;
    int have_test;
    double test_loss, test_accuracy, test_topk;
    int top_k;
    long test_samples;
    int k;                          /* classes */
    const char *const *class_names; /* k names */
    const cf_confusion *confusion;  /* test confusion matrix, when have_test */
    const cf_confusion *validation_confusion; /* the last epoch's (NULL: none); names: class_names */
    const char *diagnosis_code, *diagnosis_text;
    long skipped;                      /* unreadable data files left out (train, validation, test) */
    const char *const *skipped_files;  /* the first n_skipped_files of them */
    int n_skipped_files;
    int world_size;                 /* ranks of a data-parallel run (1: one process) */
    const char *hosts;              /* "host:rank,..." (NULL: not known) */
    double allreduce_seconds;       /* in gradient allreduce, over allreduce_steps steps */
    long allreduce_steps;
    /* multi-label runs: the test report replaces the confusion matrix (NULL:
     * single-label); validation's F1s and Hamming loss at the last epoch */
    const cf_ml_report *test_ml;
    double threshold;
    int multi_label;
    double validation_micro_f1, validation_macro_f1, validation_hamming;
} cf_ev_end;

typedef struct cf_sink cf_sink;
struct cf_sink {
    const char *name;
    void *state;
    cf_status (*open)(cf_sink *s, const cf_ev_open *ev, cf_error *err);
    cf_status (*start)(cf_sink *s, const cf_ev_start *ev, cf_error *err);
    cf_status (*batch)(cf_sink *s, const cf_ev_batch *ev, cf_error *err);
    cf_status (*epoch)(cf_sink *s, const cf_ev_epoch *ev, cf_error *err);
    cf_status (*checkpoint)(cf_sink *s, const cf_ev_checkpoint *ev, cf_error *err);
    cf_status (*note)(cf_sink *s, const char *text, cf_error *err); /* a line for people */
    cf_status (*eval)(cf_sink *s, const cf_ev_eval *ev, cf_error *err);
    cf_status (*end)(cf_sink *s, const cf_ev_end *ev, cf_error *err);
    void (*free)(cf_sink *s);
};

typedef struct cf_sinks {
    cf_sink *v;
    int n, cap;
} cf_sinks;

cf_status cf_sinks_add(cf_sinks *l, const cf_sink *s, cf_error *err);
/* Move front's sinks before l's (front ends empty; on failure it is freed). */
cf_status cf_sinks_prepend(cf_sinks *l, cf_sinks *front, cf_error *err);
void cf_sinks_free(cf_sinks *l);
/* Each event goes to every sink that takes it, even after one failed; the
 * first failure is returned. */
cf_status cf_sinks_open(cf_sinks *l, const cf_ev_open *ev, cf_error *err);
cf_status cf_sinks_start(cf_sinks *l, const cf_ev_start *ev, cf_error *err);
cf_status cf_sinks_batch(cf_sinks *l, const cf_ev_batch *ev, cf_error *err);
cf_status cf_sinks_epoch(cf_sinks *l, const cf_ev_epoch *ev, cf_error *err);
cf_status cf_sinks_checkpoint(cf_sinks *l, const cf_ev_checkpoint *ev, cf_error *err);
cf_status cf_sinks_note(cf_sinks *l, const char *text, cf_error *err);
cf_status cf_sinks_eval(cf_sinks *l, const cf_ev_eval *ev, cf_error *err);
/* A failure becomes the run's outcome when it had none: ev->status, message
 * and outcome ("failed") are updated for the sinks after it (err must not be
 * NULL). */
cf_status cf_sinks_end(cf_sinks *l, cf_ev_end *ev, cf_error *err);

/* ---- the sinks (one file each) ---- */
/* Human-readable lines on out (start, each epoch, notes, the test result). */
cf_status cf_sink_console_add(cf_sinks *l, FILE *out, cf_error *err);
/* "\repoch 1/5 [====>   ] ..." on out; add only when out is a terminal. */
cf_status cf_sink_progress_add(cf_sinks *l, FILE *out, cf_error *err);
/* One JSON object per event on out (--json; docs/cli.md). */
cf_status cf_sink_json_add(cf_sinks *l, FILE *out, cf_error *err);
/* Epoch[N] Train-accuracy=... lines as SageMaker's metric regexes expect. */
cf_status cf_sink_sagemaker_add(cf_sinks *l, FILE *out, cf_error *err);
/* RUN_DIR/metrics.jsonl: one line per epoch, values a seeded run reproduces. */
cf_status cf_sink_jsonl_add(cf_sinks *l, cf_error *err);
/* RUN_DIR/metrics.csv: the same per epoch, with timings. */
cf_status cf_sink_csv_add(cf_sinks *l, cf_error *err);
/* RUN_DIR/summary.json at the end, whatever the outcome. */
cf_status cf_sink_summary_add(cf_sinks *l, cf_error *err);
/* RUN_DIR/report.html from metrics.jsonl + summary.json (add after both);
 * a report that cannot be written is a warning on warn (NULL: silent). */
cf_status cf_sink_report_add(cf_sinks *l, FILE *warn, cf_error *err);
/* RUN_DIR/tb/events.out.tfevents.<time>.<host> (docs/tensorboard.md). */
cf_status cf_sink_tensorboard_add(cf_sinks *l, cf_error *err);

/* Append text to RUN_DIR/name and make it durable; the file sinks' writer. */
cf_status cf_sink_append(const char *run_dir, const char *name, const char *text, size_t len,
                         cf_error *err);

/* The epoch's fields of metrics.jsonl ("epoch":1,"lr":...), shared with --json. */
struct cf_sbuf;
void cf_sink_epoch_fields(struct cf_sbuf *b, const cf_ev_epoch *ev);
/* Flush a stream the sinks print to; a failed write is an error. */
cf_status cf_sink_flush(FILE *f, const char *what, cf_error *err);

#endif
