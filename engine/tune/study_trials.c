/* Study bookkeeping: accessors, trial records, learning curves, trial
 * directories, the epoch budget. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "tune/study_internal.h"

double study_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

const cf_tune_config *cf_study_config(const cf_study *s) { return &s->cfg; }
int cf_study_count(const cf_study *s) { return s->n; }
const cf_trial *cf_study_trial(const cf_study *s, int i) { return i >= 0 && i < s->n ? &s->t[i] : NULL; }
int cf_study_running(const cf_study *s) { return s->running; }
double cf_study_elapsed(const cf_study *s) { return s->t_offset + (study_mono() - s->t0); }
const char *cf_study_stop_reason(const cf_study *s) { return s->stop_reason; }
const char *cf_study_dir(const cf_study *s) { return s->dir; }

const char *cf_trial_state_name(cf_trial_state st)
{
    switch (st) {
    case CF_TRIAL_PENDING: return "pending";
    case CF_TRIAL_RUNNING: return "running";
    case CF_TRIAL_DONE: return "done";
    case CF_TRIAL_PRUNED: return "pruned";
    case CF_TRIAL_FAILED: return "failed";
    }
    return "?";
}

bool cf_tune_better(const cf_tune_config *cfg, double a, double b)
{
    if (!isfinite(a)) return false;
    if (!isfinite(b)) return true;
    return cfg->objective.maximize ? a > b : a < b;
}

/* Best finished trial. For multi-fidelity strategies only trials with the
 * largest budget that has a finished trial compete: a 1-epoch score is not
 * comparable with a full-length one. */
int cf_study_best(const cf_study *s)
{
    int top_budget = 0;
    int mf = s->cfg.strategy == CF_STRAT_HYPERBAND || s->cfg.strategy == CF_STRAT_ASHA;
    if (mf)
        for (int i = 0; i < s->n; i++)
            if (s->t[i].state == CF_TRIAL_DONE && s->t[i].epochs > top_budget) top_budget = s->t[i].epochs;
    int best = -1;
    for (int i = 0; i < s->n; i++) {
        const cf_trial *t = &s->t[i];
        if (t->state != CF_TRIAL_DONE || (mf && t->epochs != top_budget)) continue;
        if (best < 0 || cf_tune_better(&s->cfg, t->value, s->t[best].value)) best = i;
    }
    return best;
}

int cf_trial_epochs_run(const cf_trial *t)
{
    return t->n_curve > t->start_epoch ? t->n_curve - t->start_epoch : 0;
}

int cf_study_total_epochs(const cf_study *s)
{
    int e = 0;
    for (int i = 0; i < s->n; i++) e += cf_trial_epochs_run(&s->t[i]);
    return e;
}

int study_count_state(const cf_study *s, cf_trial_state st)
{
    int n = 0;
    for (int i = 0; i < s->n; i++) n += s->t[i].state == st;
    return n;
}

/* What tune.max_total_epochs is checked against: ended trials count the
 * epochs they trained, running and re-run ones their whole budget. */
long study_committed_epochs(const cf_study *s)
{
    long e = 0;
    for (int i = 0; i < s->n; i++) {
        const cf_trial *t = &s->t[i];
        int open = t->state == CF_TRIAL_RUNNING || t->state == CF_TRIAL_PENDING;
        e += open ? t->epochs - t->start_epoch : cf_trial_epochs_run(t);
    }
    return e;
}

cf_trial *study_new_trial(cf_study *s, cf_error *err)
{
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 64;
        cf_trial *t = realloc(s->t, sizeof *t * (size_t)nc);
        if (!t) {
            cf_error_set(err, CF_ERR_NOMEM, "study: out of memory");
            return NULL;
        }
        s->t = t;
        s->cap = nc;
    }
    cf_trial *t = &s->t[s->n];
    memset(t, 0, sizeof *t);
    t->x = calloc((size_t)s->cfg.space.n + 1, sizeof(double));
    if (!t->x) {
        cf_error_set(err, CF_ERR_NOMEM, "study: out of memory");
        return NULL;
    }
    t->id = s->n++;
    t->bracket = t->rung = t->parent = -1;
    t->config_id = t->id;
    t->value = NAN;
    return t;
}

cf_status study_add_epoch(cf_trial *t, int epoch, double v, cf_error *err)
{
    if (epoch != t->n_curve + 1) return CF_OK; /* repeated or out of order: keep the first */
    double *c = realloc(t->curve, sizeof(double) * (size_t)epoch);
    if (!c) return cf_error_set(err, CF_ERR_NOMEM, "study: out of memory");
    t->curve = c;
    t->curve[epoch - 1] = v;
    t->n_curve = epoch;
    return CF_OK;
}

/* A continued trial's learning curve starts with its parent's epochs. */
cf_status study_inherit_curve(cf_study *s, cf_trial *t, cf_error *err)
{
    t->n_curve = 0;
    if (t->start_epoch <= 0) return CF_OK;
    const cf_trial *p = t->parent >= 0 && t->parent < s->n ? &s->t[t->parent] : NULL;
    if (!p || p->n_curve < t->start_epoch)
        return cf_error_set(err, CF_ERR_INVALID, "trial %d continues trial %d after epoch %d, which that trial never reached",
                            t->id, t->parent, t->start_epoch);
    for (int e = 1; e <= t->start_epoch; e++) CF_TRY(study_add_epoch(t, e, p->curve[e - 1], err));
    return CF_OK;
}

/* Trial directory of a given attempt (re-runs after a crash get .rN). */
void study_trial_dir(const cf_study *s, int id, int attempt, char *buf, size_t n)
{
    if (attempt > 1) snprintf(buf, n, "%s/trials/%04d.r%d", s->dir, id, attempt);
    else snprintf(buf, n, "%s/trials/%04d", s->dir, id);
}

/* Directory of a finished trial's last attempt (the journal does not record
 * attempts, so look: later attempts have higher numbers). */
void study_finished_dir(const cf_study *s, const cf_trial *t, char *buf, size_t n)
{
    for (int a = t->attempt > 16 ? t->attempt : 16; a > 1; a--) {
        study_trial_dir(s, t->id, a, buf, n);
        if (cf_file_exists(buf)) return;
    }
    study_trial_dir(s, t->id, 1, buf, n);
}

/* Can a promotion of `parent` to `epochs` continue from the parent's
 * checkpoint? Training trials need <trial dir>/run/checkpoints/last.ckpt
 * (the local runner's layout); synthetic ones have no state. */
int study_can_continue(const cf_study *s, const cf_trial *parent, int epochs)
{
    if (!s->cfg.promote_continue || parent->state != CF_TRIAL_DONE || parent->n_curve != parent->epochs ||
        parent->epochs >= epochs)
        return 0;
    if (s->cfg.objective.function) return 1;
    char d[CF_TUNE_PATH_MAX + 64], ck[CF_TUNE_PATH_MAX + 128];
    study_finished_dir(s, parent, d, sizeof d);
    snprintf(ck, sizeof ck, "%s/run/checkpoints/last.ckpt", d);
    return cf_file_exists(ck);
}
