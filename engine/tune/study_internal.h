/* The study's state, shared by study_trials.c (bookkeeping), study_open.c
 * (new or resumed from the journal) and study.c (the run loop). */
#ifndef CLFORGE_TUNE_STUDY_INTERNAL_H
#define CLFORGE_TUNE_STUDY_INTERNAL_H

#include <stddef.h>

#include "tune/tune.h"


struct cf_study {
    cf_tune_config cfg;     /* shallow copy; the space stays owned by the caller */
    char dir[CF_TUNE_PATH_MAX];
    cf_trial *t;
    int n, cap;
    cf_journal *j;
    cf_tune_runner runner;
    int own_runner;
    cf_tune_strategy strat;
    cf_study_opts o;
    double t0, t_offset;
    int live;               /* processes running (includes pruned ones still exiting) */
    int running;            /* trials in state RUNNING */
    char stop_reason[160];
    int over_budget;        /* the last proposal did not fit in tune.max_total_epochs ... */
    int over_budget_ended;  /* ... when this many trials had ended */
    int since_improve;      /* finished trials since the best last improved by >= 1 % */
    double best_for_stall;
    int have_best_for_stall;
    char header_checked;
    int lock_fd;            /* <dir>/.lock, write-locked; -1 if none */
    cf_error *jerr;         /* where journal() reports (the caller's err) */
};

double study_mono(void);
int study_count_state(const cf_study *s, cf_trial_state st);
/* What tune.max_total_epochs is checked against: ended trials count the
 * epochs they trained, running and re-run ones their whole budget. */
long study_committed_epochs(const cf_study *s);
cf_trial *study_new_trial(cf_study *s, cf_error *err);
cf_status study_add_epoch(cf_trial *t, int epoch, double v, cf_error *err);
/* A continued trial's learning curve starts with its parent's epochs. */
cf_status study_inherit_curve(cf_study *s, cf_trial *t, cf_error *err);
/* Trial directory of a given attempt (re-runs after a crash get .rN). */
void study_trial_dir(const cf_study *s, int id, int attempt, char *buf, size_t n);
/* Directory of a finished trial's last attempt. */
void study_finished_dir(const cf_study *s, const cf_trial *t, char *buf, size_t n);
/* Can a promotion of `parent` to `epochs` continue from its checkpoint? */
int study_can_continue(const cf_study *s, const cf_trial *parent, int epochs);
/* Append one journal event (a JSON object; "t" is added). */
cf_status study_journal(cf_study *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
