/* clforge tuner — internal API shared by the files of engine/tune/,
 * tools/tune_cmd.c and tests/test_tune.c. Not installed: the public contracts stay in
 * the clforge/ headers.
 *
 * Shape of a study: a tune config (tune_config.c) describes a search space
 * (space.c) and a strategy (grid/random/bayes/hyperband/asha). The study loop
 * (study.c) asks the strategy for the next trial, hands it to a runner (an
 * interface; runner_local.c forks one child per trial), feeds epoch results
 * to the median rule (median.c), and records every event in an fsync'd
 * journal (journal.c) from which --resume rebuilds the trial table.
 * Strategies are functions of the trial table, so resume needs no strategy
 * state of its own. */
#ifndef CLFORGE_TUNE_H
#define CLFORGE_TUNE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "clforge/error.h"

#define CF_TUNE_KEY_MAX 128
#define CF_TUNE_REASON_MAX 256
#define CF_TUNE_PATH_MAX 1024

/* ---- search space --------------------------------------------------------- */
typedef enum { CF_TP_CONTINUOUS, CF_TP_INTEGER, CF_TP_CATEGORICAL } cf_tune_ptype;
typedef enum { CF_TS_LINEAR, CF_TS_LOG, CF_TS_REVLOG } cf_tune_scale;

typedef struct cf_tune_param {
    char key[CF_TUNE_KEY_MAX]; /* dotted config path, or x1..xd for synthetic objectives */
    cf_tune_ptype type;
    cf_tune_scale scale;
    double min, max;           /* continuous / integer */
    int steps;                 /* grid points for a continuous range (0 = not given) */
    int n_values;              /* categorical */
    char **values;
    int values_are_numbers;    /* categorical values written as numbers: emit them bare */
    int line;                  /* source line, for messages */
} cf_tune_param;

typedef struct cf_tune_space {
    int n;
    cf_tune_param *p;
} cf_tune_space;

/* A point holds native values: the number itself for continuous/integer
 * (integers stored as exact doubles), the value index for categorical. */
double cf_tune_to_unit(const cf_tune_param *p, double v);   /* -> [0,1] in the scaled space */
double cf_tune_from_unit(const cf_tune_param *p, double u); /* rounds integers, clamps */
void cf_tune_sample(const cf_tune_space *s, uint64_t seed, uint64_t stream, uint64_t index,
                    double *x);
/* Text of one value as a --set override takes it ("0.01", "64", "adam"). */
void cf_tune_format_value(const cf_tune_param *p, double v, char *buf, size_t n);
/* Number of grid points of p (categorical: values, integer: all or steps). */
cf_status cf_tune_grid_size(const cf_tune_param *p, long *out, cf_error *err);
double cf_tune_grid_value(const cf_tune_param *p, long i);
void cf_tune_space_free(cf_tune_space *s);

/* GP encoding: continuous/integer -> 1 unit dim, categorical -> one-hot. */
int cf_tune_encoded_dim(const cf_tune_space *s);
void cf_tune_encode(const cf_tune_space *s, const double *x, double *z);
/* Decode a relaxed encoded point (argmax of each one-hot group, integer rounding). */
void cf_tune_decode(const cf_tune_space *s, const double *z, double *x);

/* ---- tune configuration ------------------------------------------------- */
typedef enum {
    CF_STRAT_GRID,
    CF_STRAT_RANDOM,
    CF_STRAT_BAYESIAN,
    CF_STRAT_HYPERBAND,
    CF_STRAT_ASHA
} cf_tune_strategy_kind;

typedef enum { CF_SYN_NONE = 0, CF_SYN_BRANIN, CF_SYN_HARTMANN6 } cf_tune_synthetic;

typedef struct cf_tune_objective {
    char metric[64];      /* "validation:accuracy" */
    char json_key[64];    /* "validation_accuracy" */
    int maximize;
    cf_tune_synthetic function; /* a synthetic objective instead of training */
    double noise;         /* synthetic: Gaussian noise sd added to every report */
    double curve;         /* synthetic: report f(x) + curve / epoch at each epoch */
    double epoch_seconds; /* synthetic: sleep per epoch (to exercise timeouts, resume) */
    double fail_crash, fail_nan, fail_hang; /* synthetic fault injection: fraction of trials */
} cf_tune_objective;

typedef struct cf_tune_config {
    char config_path[CF_TUNE_PATH_MAX]; /* the training config holding the tune group */
    char name[128];
    cf_tune_strategy_kind strategy;
    cf_tune_objective objective;
    cf_tune_space space;
    int max_trials, max_parallel; /* max_trials 0 = unlimited (grid: the whole grid) */
    uint64_t seed;
    double max_wall_seconds;   /* 0 = none */
    int has_target;
    double target;
    int no_improvement_trials; /* 0 = off; stop after N trials without a >= 1 % gain */
    double trial_timeout;      /* seconds, 0 = none */
    int early_stopping;        /* median rule */
    int es_min_epochs, es_min_trials;
    int epochs;                /* epochs per trial for non-multi-fidelity strategies; 0 = config's */
    int min_epochs, max_epochs, eta; /* hyperband / asha resource, in epochs */
    int hb_brackets;           /* hyperband: brackets to run (0 = s_max+1, or as many as
                                * max_total_epochs allows) */
    long max_total_epochs;     /* 0 = none: no trial is launched past this many epochs */
    int promote_continue;      /* hyperband/asha: a promoted configuration continues from its
                                * parent's checkpoint (1) or trains again from scratch (0) */
    int initial_trials;        /* bayesian: random start-up trials */
    int use_log_ei;            /* bayesian: optimise log EI (default) or EI */
    int restart_period;        /* bayesian: N > 1: N-1 of every N proposals may restart (basin.c); 0 off */
    double restart_tol;        /* bayesian: a basin is converged below this fraction of the range of y */
} cf_tune_config;

/* Parse the tune group alone: search-space keys stay abstract (unchecked). */
cf_status cf_tune_config_load(const char *path, cf_tune_config *cfg, cf_error *err);
/* How `clforge tune` loads it: --set overrides (tune.* and training keys)
 * applied first, then every key of the file, every --set key and every
 * search-space key checked by the schema (core/schema.c); `resolved` (if not NULL) gets
 * the config text after the overrides (malloc'ed), the trials' base config. */
typedef struct cf_tune_load_opts {
    const char *const *sets;
    int n_sets;
    int allow_unknown; /* unknown keys are warnings on warn (as strict_keys = false) */
    FILE *warn;
    char **resolved;
} cf_tune_load_opts;
cf_status cf_tune_config_load_opts(const char *path, const cf_tune_load_opts *lo, cf_tune_config *cfg,
                                   cf_error *err);
void cf_tune_config_free(cf_tune_config *cfg);
const char *cf_tune_strategy_name(cf_tune_strategy_kind k);

/* ---- trials -------------------------------------------------------------- */
typedef enum {
    CF_TRIAL_PENDING = 0, /* proposed, not running (new, or in flight at a crash) */
    CF_TRIAL_RUNNING,
    CF_TRIAL_DONE,
    CF_TRIAL_PRUNED,
    CF_TRIAL_FAILED
} cf_trial_state;
const char *cf_trial_state_name(cf_trial_state s);

typedef struct cf_trial {
    int id;
    double *x;            /* space.n native values */
    int epochs;           /* budget */
    int bracket, rung;    /* hyperband/asha bookkeeping, -1 otherwise */
    int parent;           /* trial promoted from (same configuration), -1 otherwise */
    int config_id;        /* configuration identity across promotions */
    int start_epoch;      /* epochs inherited from the parent (continued promotion), else 0;
                           * curve[0..start_epoch-1] are the parent's */
    cf_trial_state state;
    int n_curve;          /* objective after each epoch 1..n_curve */
    double *curve;
    double value;         /* final objective (NAN unless DONE/PRUNED) */
    double seconds;
    int pruned_epoch;
    int stop_requested;   /* pruned or failed while its process still runs */
    int attempt;          /* runs of this trial (re-run after a crash) */
    char reason[CF_TUNE_REASON_MAX];
    char worker[64];      /* host:rank that ran it (MPI runner), "" when local */
} cf_trial;

/* ---- runner interface: how trials are executed ---------------------------
 * A local runner forks children; a later MPI runner can implement the same
 * four calls with one trial per rank. */
typedef struct cf_tune_job {
    int trial_id;
    int epochs;      /* 0 = do not override train.epochs */
    int n;           /* overrides */
    const char *const *keys;
    const char *const *values;
    const double *x; /* native point (synthetic objectives evaluate it directly) */
    const char *dir; /* trial directory: run dir, logs */
    int start_epoch; /* > 0: continue the trial in continue_from (a finished trial's
                      * directory) after this many epochs instead of starting afresh */
    const char *continue_from;
} cf_tune_job;

typedef enum { CF_TEV_EPOCH = 1, CF_TEV_OK, CF_TEV_FAILED, CF_TEV_STOPPED } cf_tune_event_kind;

#define CF_TUNE_MAX_METRICS 64 /* the epoch line: losses, accuracies, macro P/R/F1, each class's recall */
typedef struct cf_tune_event {
    int trial_id;
    cf_tune_event_kind kind;
    int epoch;
    int n_metrics;
    char names[CF_TUNE_MAX_METRICS][48];
    double values[CF_TUNE_MAX_METRICS];
    char reason[CF_TUNE_REASON_MAX];
    char worker[64]; /* host:rank (MPI runner), "" for a local child */
} cf_tune_event;

typedef struct cf_tune_runner {
    void *ctx;
    int (*capacity)(void *ctx);
    cf_status (*launch)(void *ctx, const cf_tune_job *job, cf_error *err);
    /* Wait up to timeout_ms for one event; 1 = ev filled, 0 = nothing yet. */
    int (*poll)(void *ctx, cf_tune_event *ev, int timeout_ms, cf_error *err);
    /* Ask a running trial to stop (pruning): it later ends with CF_TEV_STOPPED. */
    cf_status (*stop)(void *ctx, int trial_id, cf_error *err);
    void (*destroy)(void *ctx);
} cf_tune_runner;

/* Local process runner. exe: the program to run as `exe train CONFIG ...`;
 * with cfg->objective.function set, children evaluate the synthetic function
 * instead of exec'ing anything. */
cf_status cf_tune_runner_local(cf_tune_runner *out, const cf_tune_config *cfg, const char *exe,
                               int final_test, cf_error *err);

/* MPI runner (runner_mpi.c), under mpirun: on rank 0 the study's runner,
 * one trial per worker rank; on ranks 1..N-1 cf_tune_worker_mpi runs the
 * trials rank 0 sends (each with the local runner) until the study ends. */
cf_status cf_tune_runner_mpi(cf_tune_runner *out, const cf_tune_config *cfg, cf_error *err);
cf_status cf_tune_worker_mpi(const cf_tune_config *cfg, const char *exe, cf_error *err);

/* In-process runner: synthetic objectives only, no isolation (benchmarks, tests). */
cf_status cf_tune_runner_inproc(cf_tune_runner *out, const cf_tune_config *cfg, cf_error *err);

double cf_tune_event_metric(const cf_tune_event *ev, const char *name); /* NAN if absent */
/* Parse one JSON line of a trial's --json output into an event. */
cf_status cf_tune_parse_event_line(const char *line, cf_tune_event *ev, cf_error *err);

/* ---- synthetic objectives -------------------------------------------------- */
int cf_tune_synthetic_dim(cf_tune_synthetic f);
double cf_tune_synthetic_eval(cf_tune_synthetic f, const double *x);
double cf_tune_synthetic_optimum(cf_tune_synthetic f); /* global minimum */
const char *cf_tune_synthetic_name(cf_tune_synthetic f);
/* Writes epoch events (JSON lines) to fd; faults already decided by the caller. */
void cf_tune_synthetic_child(const cf_tune_config *cfg, const cf_tune_job *job, int fd);

/* ---- Gaussian process (gp.c) ------------------------------------------------ */
typedef struct cf_gp {
    int d, n;
    double *X;         /* n x d, inputs (already projected to the valid lattice) */
    double *y;         /* n, standardised targets */
    double y_mean, y_sd;
    double *ls;        /* d length scales */
    double signal;     /* signal variance */
    double noise;      /* noise variance */
    double *L;         /* n x n Cholesky factor (row-major, lower) */
    double *alpha;     /* K^-1 (y - mu) */
    double mu;         /* constant prior mean (standardised units), see gp.c */
} cf_gp;

double cf_gp_matern52(const double *a, const double *b, int d, const double *ls, double signal);
/* Set data (copied), standardising y. Hyperparameters untouched. */
cf_status cf_gp_set_data(cf_gp *gp, int n, int d, const double *X, const double *y, cf_error *err);
/* Factorise with the current hyperparameters. */
cf_status cf_gp_factor(cf_gp *gp, cf_error *err);
/* Fit hyperparameters by maximising the log marginal likelihood (plus weak
 * priors), multi-start L-BFGS in log space; then factorise. */
cf_status cf_gp_fit(cf_gp *gp, uint64_t seed, int fixed_noise, cf_error *err);
double cf_gp_log_marginal(const cf_gp *gp, double *grad /* d+2 or NULL */);
/* Posterior mean and variance in the original y units. */
void cf_gp_predict(const cf_gp *gp, const double *x, double *mean, double *var);
void cf_gp_free(cf_gp *gp);
/* Expected improvement for minimisation below `best`, and its log. */
double cf_ei(double mean, double sd, double best);
double cf_log_ei(double mean, double sd, double best);

/* Converged basins (basin.c): peels them off best first; writes their
 * centres (nb x d) and marks their members in in_basin; returns nb. */
int cf_tune_peel_basins(int n, int d, const double *Z, const double *y, const double *ls, double corr,
                        int min_points, int window, double tol, double *centres, unsigned char *in_basin);

/* Box-constrained minimiser (projected L-BFGS, Armijo backtracking). f
 * returns the value at x and writes the gradient to g. Used for the GP
 * hyperparameters and the acquisition search. Returns the final value; x is
 * updated in place. */
typedef double (*cf_opt_fn)(const double *x, double *g, void *user);
double cf_opt_minimize(cf_opt_fn f, void *user, int n, double *x, const double *lo,
                       const double *hi, int max_iter);

/* ---- study ------------------------------------------------------------------- */
typedef struct cf_study cf_study;

/* LAUNCH: p filled; WAIT: retry after a trial finishes; DONE: nothing more to
 * try; ERROR: err says why (the study stops). */
typedef enum { CF_NEXT_LAUNCH = 0, CF_NEXT_WAIT, CF_NEXT_DONE, CF_NEXT_ERROR } cf_next_result;
typedef struct cf_proposal {
    double *x; /* space.n values, filled by the strategy (buffer provided) */
    int epochs, bracket, rung, parent, config_id;
} cf_proposal;

typedef struct cf_tune_strategy {
    void *ctx;
    cf_next_result (*next)(void *ctx, const cf_study *s, cf_proposal *p, cf_error *err);
    void (*destroy)(void *ctx);
} cf_tune_strategy;

cf_status cf_strategy_grid(cf_tune_strategy *out, const cf_tune_config *cfg, cf_error *err);
cf_status cf_strategy_random(cf_tune_strategy *out, const cf_tune_config *cfg, cf_error *err);
cf_status cf_strategy_bayes(cf_tune_strategy *out, const cf_tune_config *cfg, cf_error *err);
cf_status cf_strategy_hyperband(cf_tune_strategy *out, const cf_tune_config *cfg, cf_error *err);
cf_status cf_strategy_asha(cf_tune_strategy *out, const cf_tune_config *cfg, cf_error *err);
cf_status cf_strategy_create(cf_tune_strategy *out, const cf_tune_config *cfg, cf_error *err);

/* Hyperband bracket table (Li et al. 2018, Algorithm 1):
 *   s_max = floor(log_eta(R / r_min)), B = (s_max + 1) R;
 *   bracket s = s_max..0: n = ceil(B / R * eta^s / (s + 1)), r = R eta^-s;
 *   rung i = 0..s: n_i = floor(n eta^-i), r_i = r eta^i (epochs, rounded). */
typedef struct cf_hb_rung {
    int n, r;
} cf_hb_rung;
int cf_hyperband_smax(int r_min, int R, int eta);
/* Fills rungs[0..s] of bracket index b (b = 0 is s = s_max); returns rung count. */
int cf_hyperband_bracket(int r_min, int R, int eta, int b, cf_hb_rung *rungs, int max_rungs);
/* Epochs a bracket trains: continued promotions train only r_i - r_{i-1}. */
long cf_hyperband_cost(const cf_hb_rung *rungs, int nr, int continued);
/* The study's g-th bracket (g = 0, 1, ...; s cycles s_max..0) under
 * tune.brackets and tune.max_total_epochs: call with g = 0, 1, ... in order and
 * *left = max_total_epochs, which each bracket's cost is taken from. A bracket
 * that does not fit keeps the largest n whose cost fits (at least one
 * configuration must reach R). Returns its rung count, 0 once the plan ends. */
int cf_hyperband_planned(const cf_tune_config *cfg, int g, long *left, cf_hb_rung *rungs, int max_rungs);
/* Epochs of the smallest first bracket (eta^s_max configurations, one reaching R). */
long cf_hyperband_min_cost(const cf_tune_config *cfg);

/* Median stopping rule (SageMaker "auto"): stop `t` after epoch `epoch` when
 * its objective then is worse than the median, over the finished trials in
 * `pool`, of each one's running average of the objective up to that epoch. */
bool cf_median_should_stop(const cf_trial *const *pool, int n_pool, const cf_trial *t, int epoch,
                           int maximize, int min_epochs, int min_trials);

typedef enum {
    CF_STUDY_EV_LAUNCH,
    CF_STUDY_EV_EPOCH,
    CF_STUDY_EV_END, /* done, pruned or failed: look at the trial's state */
    CF_STUDY_EV_TICK /* nothing happened for a while (live display refresh) */
} cf_study_ev;
typedef void (*cf_study_cb)(void *user, const cf_study *s, const cf_trial *t, cf_study_ev ev);

typedef struct cf_study_opts {
    const char *dir;     /* runs/<name> */
    int resume;
    const char *exe;     /* program for training trials */
    cf_study_cb cb;
    void *user;
    cf_tune_runner *runner; /* NULL: local runner (or in-process when in_process) */
    int in_process;          /* synthetic objectives: evaluate without child processes */
    volatile int *stop_flag; /* set by a signal handler: stop launching, wait, finish */
} cf_study_opts;

cf_status cf_study_open(cf_study **out, const cf_tune_config *cfg, const cf_study_opts *o,
                        cf_error *err);
cf_status cf_study_run(cf_study *s, cf_error *err);
void cf_study_close(cf_study *s);

/* Read-only views used by strategies, reports and the CLI. */
const cf_tune_config *cf_study_config(const cf_study *s);
int cf_study_count(const cf_study *s);
const cf_trial *cf_study_trial(const cf_study *s, int i); /* by index == id */
int cf_study_best(const cf_study *s);                      /* trial id or -1 */
int cf_study_running(const cf_study *s);
double cf_study_elapsed(const cf_study *s);
const char *cf_study_stop_reason(const cf_study *s);
const char *cf_study_dir(const cf_study *s);
int cf_study_total_epochs(const cf_study *s);
/* Epochs a trial trained itself (a continued promotion inherits its parent's
 * first start_epoch epochs). */
int cf_trial_epochs_run(const cf_trial *t);
/* better(a, b): a strictly better than b for the objective's goal. */
bool cf_tune_better(const cf_tune_config *cfg, double a, double b);

/* ---- journal (journal.c) --------------------------------------------------- */
typedef struct cf_journal cf_journal;
cf_status cf_journal_open(cf_journal **out, const char *path, cf_error *err);
cf_status cf_journal_append(cf_journal *j, const char *line, cf_error *err); /* adds \n, fsyncs */
void cf_journal_close(cf_journal *j);
/* Replay: calls fn for each complete line; a torn last line is cut off. */
cf_status cf_journal_replay(const char *path, cf_status (*fn)(void *user, const char *line,
                                                               int lineno, cf_error *err),
                            void *user, cf_error *err);

/* Minimal flat JSON reading for journal and trial lines (jsonl.c). */
int cf_tune_json_num_at(const char *line, const char *key, double *out);
int cf_tune_json_str_at(const char *line, const char *key, char *out, size_t n);
/* Array of numbers under key: returns count (<= max), -1 if absent. */
int cf_tune_json_nums_at(const char *line, const char *key, double *out, int max);
void cf_tune_json_escape(const char *s, char *out, size_t n);
/* Writes a double as JSON (non-finite -> null). */
void cf_tune_json_num(double v, char *out, size_t n);

/* ---- outputs (report.c) -------------------------------------------------------- */
cf_status cf_tune_write_csv(const cf_study *s, const char *path, cf_error *err);
cf_status cf_tune_write_best_cfg(const cf_study *s, const char *path, cf_error *err);
cf_status cf_tune_write_html(const cf_study *s, const char *path, cf_error *err);

#endif
