/* The study loop: propose (strategy), launch (runner), watch epochs (median
 * rule, NaN check), record (journal), decide when to stop (completion
 * criteria), and keep trials.csv / best.cfg / tune_report.html current.
 *
 * Journal events, one JSON object per line (see docs/tuning.md):
 *   study    {"ev":"study","name":..,"strategy":..,"seed":..,"params":n,"keys":[..]}
 *   proposed {"ev":"proposed","trial":k,"epochs":E,"bracket":b,"rung":i,"parent":p,
 *             "config":c,"start":e0,"x":[native values]}   (e0 > 0: continues p after
 *             epoch e0 from its checkpoint; its curve starts with p's)
 *   epoch    {"ev":"epoch","trial":k,"epoch":e,"value":v}
 *   finished {"ev":"finished","trial":k,"value":v,"seconds":s}
 *   pruned   {"ev":"pruned","trial":k,"epoch":e,"value":v,"reason":..}
 *   failed   {"ev":"failed","trial":k,"reason":..}
 *   done     {"ev":"done","reason":..}
 * Every line carries "t", the study's elapsed seconds. On --resume a trial
 * with "proposed" but no terminal event was in flight: it runs again, with
 * the same id and values, from scratch (a continued one from its parent's
 * checkpoint again). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
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
    cf_error *jerr;         /* where journal() reports (the caller's err) */
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

const cf_tune_config *cf_study_config(const cf_study *s) { return &s->cfg; }
int cf_study_count(const cf_study *s) { return s->n; }
const cf_trial *cf_study_trial(const cf_study *s, int i) { return i >= 0 && i < s->n ? &s->t[i] : NULL; }
int cf_study_running(const cf_study *s) { return s->running; }
double cf_study_elapsed(const cf_study *s) { return s->t_offset + (mono() - s->t0); }
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

static int count_state(const cf_study *s, cf_trial_state st)
{
    int n = 0;
    for (int i = 0; i < s->n; i++) n += s->t[i].state == st;
    return n;
}

/* What tune.max_total_epochs is checked against: ended trials count the
 * epochs they trained, running and re-run ones their whole budget. */
static long committed_epochs(const cf_study *s)
{
    long e = 0;
    for (int i = 0; i < s->n; i++) {
        const cf_trial *t = &s->t[i];
        int open = t->state == CF_TRIAL_RUNNING || t->state == CF_TRIAL_PENDING;
        e += open ? t->epochs - t->start_epoch : cf_trial_epochs_run(t);
    }
    return e;
}

static cf_trial *new_trial(cf_study *s, cf_error *err)
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

static cf_status add_epoch(cf_trial *t, int epoch, double v, cf_error *err)
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
static cf_status inherit_curve(cf_study *s, cf_trial *t, cf_error *err)
{
    t->n_curve = 0;
    if (t->start_epoch <= 0) return CF_OK;
    const cf_trial *p = t->parent >= 0 && t->parent < s->n ? &s->t[t->parent] : NULL;
    if (!p || p->n_curve < t->start_epoch)
        return cf_error_set(err, CF_ERR_INVALID, "trial %d continues trial %d after epoch %d, which that trial never reached",
                            t->id, t->parent, t->start_epoch);
    for (int e = 1; e <= t->start_epoch; e++) CF_TRY(add_epoch(t, e, p->curve[e - 1], err));
    return CF_OK;
}

/* Trial directory of a given attempt (re-runs after a crash get .rN). */
static void trial_dir(const cf_study *s, int id, int attempt, char *buf, size_t n)
{
    if (attempt > 1) snprintf(buf, n, "%s/trials/%04d.r%d", s->dir, id, attempt);
    else snprintf(buf, n, "%s/trials/%04d", s->dir, id);
}

/* Directory of a finished trial's last attempt (the journal does not record
 * attempts, so look: later attempts have higher numbers). */
static void finished_dir(const cf_study *s, const cf_trial *t, char *buf, size_t n)
{
    for (int a = t->attempt > 16 ? t->attempt : 16; a > 1; a--) {
        trial_dir(s, t->id, a, buf, n);
        if (cf_file_exists(buf)) return;
    }
    trial_dir(s, t->id, 1, buf, n);
}

/* Can a promotion of `parent` to `epochs` continue from the parent's
 * checkpoint? Training trials need <trial dir>/run/checkpoints/last.ckpt
 * (the local runner's layout); synthetic ones have no state. */
static int can_continue(const cf_study *s, const cf_trial *parent, int epochs)
{
    if (!s->cfg.promote_continue || parent->state != CF_TRIAL_DONE || parent->n_curve != parent->epochs ||
        parent->epochs >= epochs)
        return 0;
    if (s->cfg.objective.function) return 1;
    char d[CF_TUNE_PATH_MAX + 64], ck[CF_TUNE_PATH_MAX + 128];
    finished_dir(s, parent, d, sizeof d);
    snprintf(ck, sizeof ck, "%s/run/checkpoints/last.ckpt", d);
    return cf_file_exists(ck);
}

static cf_status journal(cf_study *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cf_status journal(cf_study *s, const char *fmt, ...)
{
    char line[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 40, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof line - 40)
        return cf_error_set(s->jerr, CF_ERR_INVALID, "journal: event too long");
    /* close the object with the elapsed time */
    snprintf(line + n - 1, sizeof line - (size_t)n + 1, ",\"t\":%.3f}", cf_study_elapsed(s));
    return cf_journal_append(s->j, line, s->jerr);
}

/* ---- replay --------------------------------------------------------------- */
static cf_status replay_line(void *user, const char *line, int lineno, cf_error *err)
{
    cf_study *s = user;
    char ev[32];
    double v, t;
    if (!cf_tune_json_str_at(line, "ev", ev, sizeof ev))
        return cf_error_set(err, CF_ERR_INVALID, "not a journal event");
    if (cf_tune_json_num_at(line, "t", &t) && t > s->t_offset) s->t_offset = t;
    if (!strcmp(ev, "study")) {
        char strat[32] = "";
        double seed = -1, np = -1;
        cf_tune_json_str_at(line, "strategy", strat, sizeof strat);
        cf_tune_json_num_at(line, "seed", &seed);
        cf_tune_json_num_at(line, "params", &np);
        if (strcmp(strat, cf_tune_strategy_name(s->cfg.strategy)) || seed != (double)s->cfg.seed ||
            np != s->cfg.space.n)
            return cf_error_set(err, CF_ERR_INVALID,
                                "the journal belongs to a different study (strategy %s, seed %.0f, %d "
                                "parameters); refusing to mix them",
                                strat, seed, (int)np);
        s->header_checked = 1;
        return CF_OK;
    }
    if (!s->header_checked) return cf_error_set(err, CF_ERR_INVALID, "journal does not start with a study event");
    if (!strcmp(ev, "done")) return CF_OK;
    double id = -1;
    if (!cf_tune_json_num_at(line, "trial", &id) || id < 0 || id > s->n)
        return cf_error_set(err, CF_ERR_INVALID, "event without a valid trial id");
    int k = (int)id;
    if (!strcmp(ev, "proposed")) {
        if (k != s->n) return cf_error_set(err, CF_ERR_INVALID, "trial %d proposed out of order", k);
        cf_trial *tr = new_trial(s, err);
        if (!tr) return err ? err->status : CF_ERR_NOMEM;
        if (cf_tune_json_nums_at(line, "x", tr->x, s->cfg.space.n) != s->cfg.space.n)
            return cf_error_set(err, CF_ERR_INVALID, "trial %d: expected %d values in x", k, s->cfg.space.n);
        if (cf_tune_json_num_at(line, "epochs", &v)) tr->epochs = (int)v;
        if (cf_tune_json_num_at(line, "bracket", &v)) tr->bracket = (int)v;
        if (cf_tune_json_num_at(line, "rung", &v)) tr->rung = (int)v;
        if (cf_tune_json_num_at(line, "parent", &v)) tr->parent = (int)v;
        if (cf_tune_json_num_at(line, "config", &v)) tr->config_id = (int)v;
        if (cf_tune_json_num_at(line, "start", &v)) tr->start_epoch = (int)v;
        tr->state = CF_TRIAL_RUNNING; /* until a terminal event says otherwise */
        tr->attempt = 1;
        return inherit_curve(s, tr, err);
    }
    if (k >= s->n) return cf_error_set(err, CF_ERR_INVALID, "event for unknown trial %d", k);
    cf_trial *tr = &s->t[k];
    if (!strcmp(ev, "epoch")) {
        double e = 0;
        cf_tune_json_num_at(line, "epoch", &e);
        cf_tune_json_num_at(line, "value", &v) || (v = NAN, 1);
        return add_epoch(tr, (int)e, v, err);
    }
    if (!strcmp(ev, "finished") || !strcmp(ev, "pruned")) {
        if (!cf_tune_json_num_at(line, "value", &tr->value)) tr->value = NAN;
        if (cf_tune_json_num_at(line, "seconds", &v)) tr->seconds = v;
        tr->state = ev[0] == 'f' ? CF_TRIAL_DONE : CF_TRIAL_PRUNED;
        if (tr->state == CF_TRIAL_PRUNED) {
            if (cf_tune_json_num_at(line, "epoch", &v)) tr->pruned_epoch = (int)v;
            cf_tune_json_str_at(line, "reason", tr->reason, sizeof tr->reason);
        }
        return CF_OK;
    }
    if (!strcmp(ev, "failed")) {
        tr->state = CF_TRIAL_FAILED;
        cf_tune_json_str_at(line, "reason", tr->reason, sizeof tr->reason);
        if (cf_tune_json_num_at(line, "seconds", &v)) tr->seconds = v;
        return CF_OK;
    }
    (void)lineno;
    return cf_error_set(err, CF_ERR_INVALID, "unknown event '%s'", ev);
}

cf_status cf_study_open(cf_study **out, const cf_tune_config *cfg, const cf_study_opts *o,
                        cf_error *err)
{
    cf_study *s = calloc(1, sizeof *s);
    if (!s) return cf_error_set(err, CF_ERR_NOMEM, "study: out of memory");
    s->cfg = *cfg;
    s->o = *o;
    s->t0 = mono();
    snprintf(s->dir, sizeof s->dir, "%s", o->dir);
    char jpath[CF_TUNE_PATH_MAX + 32];
    snprintf(jpath, sizeof jpath, "%s/journal.jsonl", s->dir);
    cf_status st = CF_OK;
    struct stat sb;
    int exists = stat(jpath, &sb) == 0;
    if (o->resume && !exists) {
        st = cf_error_set(err, CF_ERR_IO, "%s: no journal to resume from", jpath);
    } else if (!o->resume && exists && sb.st_size > 0) {
        st = cf_error_set(err, CF_ERR_INVALID,
                          "%s: a study already ran here; use --resume %s to continue it, or "
                          "choose another directory",
                          jpath, s->dir);
    }
    if (st == CF_OK) st = cf_mkdir_p(s->dir, err);
    if (st == CF_OK && o->resume) {
        st = cf_journal_replay(jpath, replay_line, s, err);
        if (st == CF_OK) {
            /* trials in flight at the crash run again */
            for (int i = 0; i < s->n; i++)
                if (s->t[i].state == CF_TRIAL_RUNNING) s->t[i].state = CF_TRIAL_PENDING;
        }
    }
    if (st == CF_OK) st = cf_journal_open(&s->j, jpath, err);
    if (st == CF_OK && !o->resume) {
        char keys[4096] = "";
        size_t kl = 0;
        for (int i = 0; i < cfg->space.n && kl + 300 < sizeof keys; i++) {
            char e[280];
            cf_tune_json_escape(cfg->space.p[i].key, e, sizeof e);
            kl += (size_t)snprintf(keys + kl, sizeof keys - kl, "%s\"%s\"", i ? "," : "", e);
        }
        char name[300];
        cf_tune_json_escape(cfg->name, name, sizeof name);
        s->jerr = err;
        st = journal(s, "{\"ev\":\"study\",\"version\":1,\"name\":\"%s\",\"strategy\":\"%s\",\"seed\":%llu,"
                        "\"params\":%d,\"keys\":[%s]}",
                     name, cf_tune_strategy_name(cfg->strategy), (unsigned long long)cfg->seed,
                     cfg->space.n, keys);
    }
    if (st == CF_OK) st = cf_strategy_create(&s->strat, &s->cfg, err);
    if (st == CF_OK) {
        if (o->runner) {
            s->runner = *o->runner;
        } else if (o->in_process) {
            st = cf_tune_runner_inproc(&s->runner, &s->cfg, err);
            s->own_runner = st == CF_OK;
        } else {
            st = cf_tune_runner_local(&s->runner, &s->cfg, o->exe, 0, err);
            s->own_runner = st == CF_OK;
        }
    }
    if (st != CF_OK) {
        cf_study_close(s);
        return st;
    }
    *out = s;
    return CF_OK;
}

void cf_study_close(cf_study *s)
{
    if (!s) return;
    if (s->own_runner && s->runner.destroy) s->runner.destroy(s->runner.ctx);
    if (s->strat.destroy) s->strat.destroy(s->strat.ctx);
    cf_journal_close(s->j);
    for (int i = 0; i < s->n; i++) {
        free(s->t[i].x);
        free(s->t[i].curve);
    }
    free(s->t);
    free(s);
}

/* ---- running ----------------------------------------------------------------- */
static cf_status launch(cf_study *s, cf_trial *t, cf_error *err)
{
    const cf_tune_space *sp = &s->cfg.space;
    int n = sp->n;
    char(*vals)[128] = calloc((size_t)n + 1, sizeof *vals);
    const char **kp = calloc((size_t)n + 1, sizeof *kp), **vp = calloc((size_t)n + 1, sizeof *vp);
    if (!vals || !kp || !vp) {
        free(vals);
        free(kp);
        free(vp);
        return cf_error_set(err, CF_ERR_NOMEM, "study: out of memory");
    }
    for (int i = 0; i < n; i++) {
        cf_tune_format_value(&sp->p[i], t->x[i], vals[i], sizeof vals[i]);
        kp[i] = sp->p[i].key;
        vp[i] = vals[i];
    }
    char dir[CF_TUNE_PATH_MAX + 64], from[CF_TUNE_PATH_MAX + 64] = "";
    t->attempt++;
    trial_dir(s, t->id, t->attempt, dir, sizeof dir);
    if (t->start_epoch > 0) finished_dir(s, &s->t[t->parent], from, sizeof from);
    cf_tune_job job = {t->id, t->epochs, n, kp, vp, t->x, dir, t->start_epoch, from};
    cf_status st = inherit_curve(s, t, err);
    if (st == CF_OK) st = s->runner.launch(s->runner.ctx, &job, err);
    free(vals);
    free(kp);
    free(vp);
    if (st != CF_OK) return st;
    t->state = CF_TRIAL_RUNNING;
    t->stop_requested = 0;
    t->seconds = cf_study_elapsed(s); /* start time until it ends */
    s->live++;
    s->running++;
    if (s->o.cb) s->o.cb(s->o.user, s, t, CF_STUDY_EV_LAUNCH);
    return CF_OK;
}

static cf_status propose_and_launch(cf_study *s, int *launched, cf_next_result *res, cf_error *err)
{
    *launched = 0;
    /* re-runs first (in flight at a crash), in id order */
    for (int i = 0; i < s->n; i++)
        if (s->t[i].state == CF_TRIAL_PENDING) {
            CF_TRY(launch(s, &s->t[i], err));
            *launched = 1;
            *res = CF_NEXT_LAUNCH;
            return CF_OK;
        }
    /* Over budget: only a trial's end (pruned ones free epochs) can change that. */
    int ended = s->n - s->running - count_state(s, CF_TRIAL_PENDING);
    if (s->over_budget && ended == s->over_budget_ended) {
        *res = s->live > 0 ? CF_NEXT_WAIT : CF_NEXT_DONE;
        return CF_OK;
    }
    double *x = calloc((size_t)s->cfg.space.n + 1, sizeof(double));
    if (!x) return cf_error_set(err, CF_ERR_NOMEM, "study: out of memory");
    cf_proposal p = {x, s->cfg.epochs, -1, -1, -1, -1};
    *res = s->strat.next(s->strat.ctx, s, &p, err);
    if (*res == CF_NEXT_ERROR) {
        free(x);
        return err && err->status ? err->status : CF_ERR_INVALID;
    }
    if (*res != CF_NEXT_LAUNCH) {
        free(x);
        return CF_OK;
    }
    int start = p.parent >= 0 && p.parent < s->n && can_continue(s, &s->t[p.parent], p.epochs)
                    ? s->t[p.parent].epochs
                    : 0;
    if (s->cfg.max_total_epochs > 0 && committed_epochs(s) + p.epochs - start > s->cfg.max_total_epochs) {
        /* Not launched: the strategies propose from the trial table alone, so
         * asking again after the running trials end (a pruned one frees
         * epochs) gives the same or a better-informed proposal. */
        free(x);
        s->over_budget = 1;
        s->over_budget_ended = ended;
        *res = s->live > 0 ? CF_NEXT_WAIT : CF_NEXT_DONE;
        return CF_OK;
    }
    s->over_budget = 0;
    cf_trial *t = new_trial(s, err);
    if (!t) {
        free(x);
        return CF_ERR_NOMEM;
    }
    memcpy(t->x, x, sizeof(double) * (size_t)s->cfg.space.n);
    free(x);
    t->epochs = p.epochs;
    t->bracket = p.bracket;
    t->rung = p.rung;
    t->parent = p.parent;
    t->config_id = p.config_id >= 0 ? p.config_id : t->id;
    t->start_epoch = start;
    char xs[8192];
    size_t o = 0;
    for (int i = 0; i < s->cfg.space.n && o + 32 < sizeof xs; i++) {
        char num[40];
        cf_tune_json_num(t->x[i], num, sizeof num);
        o += (size_t)snprintf(xs + o, sizeof xs - o, "%s%s", i ? "," : "", num);
    }
    CF_TRY(journal(s, "{\"ev\":\"proposed\",\"trial\":%d,\"epochs\":%d,\"bracket\":%d,\"rung\":%d,"
                      "\"parent\":%d,\"config\":%d,\"start\":%d,\"x\":[%s]}",
                   t->id, t->epochs, t->bracket, t->rung, t->parent, t->config_id, t->start_epoch, xs));
    CF_TRY(launch(s, t, err));
    *launched = 1;
    return CF_OK;
}

static void update_stall(cf_study *s, const cf_trial *t)
{
    if (t->state != CF_TRIAL_DONE) {
        s->since_improve++;
        return;
    }
    double v = t->value;
    if (!s->have_best_for_stall) {
        s->have_best_for_stall = 1;
        s->best_for_stall = v;
        s->since_improve = 0;
        return;
    }
    double b = s->best_for_stall;
    double gain = s->cfg.objective.maximize ? v - b : b - v;
    if (gain >= 0.01 * fabs(b) && gain > 0) {
        s->best_for_stall = v;
        s->since_improve = 0;
    } else {
        if (cf_tune_better(&s->cfg, v, b)) s->best_for_stall = v; /* small gain: keep the best, still stalled */
        s->since_improve++;
    }
}

static void write_outputs(cf_study *s, int final)
{
    char p[CF_TUNE_PATH_MAX + 32];
    cf_error e;
    snprintf(p, sizeof p, "%s/trials.csv", s->dir);
    cf_tune_write_csv(s, p, &e);
    if (cf_study_best(s) >= 0) {
        snprintf(p, sizeof p, "%s/best.cfg", s->dir);
        cf_tune_write_best_cfg(s, p, &e);
    }
    if (final || s->n % 10 == 0) {
        snprintf(p, sizeof p, "%s/tune_report.html", s->dir);
        cf_tune_write_html(s, p, &e);
    }
}

static cf_status end_trial(cf_study *s, cf_trial *t, cf_trial_state st, const char *reason, cf_error *err)
{
    t->state = st;
    t->seconds = cf_study_elapsed(s) - t->seconds;
    s->running--;
    char r[CF_TUNE_REASON_MAX * 2], num[40];
    if (reason) snprintf(t->reason, sizeof t->reason, "%s", reason);
    cf_tune_json_escape(t->reason, r, sizeof r);
    if (st == CF_TRIAL_DONE) {
        cf_tune_json_num(t->value, num, sizeof num);
        CF_TRY(journal(s, "{\"ev\":\"finished\",\"trial\":%d,\"value\":%s,\"seconds\":%.3f}", t->id, num,
                       t->seconds));
    } else if (st == CF_TRIAL_PRUNED) {
        cf_tune_json_num(t->value, num, sizeof num);
        CF_TRY(journal(s, "{\"ev\":\"pruned\",\"trial\":%d,\"epoch\":%d,\"value\":%s,\"seconds\":%.3f,"
                          "\"reason\":\"%s\"}",
                       t->id, t->pruned_epoch, num, t->seconds, r));
    } else {
        CF_TRY(journal(s, "{\"ev\":\"failed\",\"trial\":%d,\"seconds\":%.3f,\"reason\":\"%s\"}", t->id,
                       t->seconds, r));
    }
    update_stall(s, t);
    if (s->o.cb) s->o.cb(s->o.user, s, t, CF_STUDY_EV_END);
    write_outputs(s, 0);
    return CF_OK;
}

static int uses_median(const cf_study *s)
{
    return s->cfg.early_stopping && s->cfg.strategy != CF_STRAT_HYPERBAND &&
           s->cfg.strategy != CF_STRAT_ASHA;
}

static cf_status on_epoch(cf_study *s, cf_trial *t, const cf_tune_event *ev, cf_error *err)
{
    if (t->state != CF_TRIAL_RUNNING || t->stop_requested) return CF_OK; /* late line after a stop */
    const cf_tune_objective *o = &s->cfg.objective;
    double v = cf_tune_event_metric(ev, o->json_key);
    int e = ev->epoch > 0 ? ev->epoch : t->n_curve + 1;
    char reason[CF_TUNE_REASON_MAX];
    reason[0] = 0;
    /* a NaN/Inf loss or objective fails the trial: training has diverged */
    for (int i = 0; i < ev->n_metrics; i++)
        if (!isfinite(ev->values[i]) && (strstr(ev->names[i], "loss") || !strcmp(ev->names[i], o->json_key))) {
            snprintf(reason, sizeof reason, "%s is %s at epoch %d (diverged)", ev->names[i],
                     isnan(ev->values[i]) ? "NaN" : "infinite", e);
            break;
        }
    if (!reason[0]) {
        int present = 0;
        for (int i = 0; i < ev->n_metrics; i++) present |= !strcmp(ev->names[i], o->json_key);
        if (!present)
            snprintf(reason, sizeof reason, "epoch %d reports no '%s' (objective %s)", e, o->json_key,
                     o->metric);
    }
    if (reason[0]) {
        t->stop_requested = 1;
        s->runner.stop(s->runner.ctx, t->id, err);
        return end_trial(s, t, CF_TRIAL_FAILED, reason, err);
    }
    if (e != t->n_curve + 1) return CF_OK;
    CF_TRY(add_epoch(t, e, v, err));
    char num[40];
    cf_tune_json_num(v, num, sizeof num);
    CF_TRY(journal(s, "{\"ev\":\"epoch\",\"trial\":%d,\"epoch\":%d,\"value\":%s}", t->id, e, num));
    if (s->o.cb) s->o.cb(s->o.user, s, t, CF_STUDY_EV_EPOCH);
    if (uses_median(s) && (t->epochs <= 0 || e < t->epochs)) {
        /* earlier trials: finished ones with id <= k - max_parallel (order independent) */
        int lim = t->id - s->cfg.max_parallel;
        const cf_trial **pool = malloc(sizeof *pool * (size_t)(lim + 2 > 0 ? lim + 2 : 1));
        if (!pool) return cf_error_set(err, CF_ERR_NOMEM, "study: out of memory");
        int np = 0;
        for (int i = 0; i <= lim; i++)
            if (s->t[i].state == CF_TRIAL_DONE || s->t[i].state == CF_TRIAL_PRUNED) pool[np++] = &s->t[i];
        int stop = cf_median_should_stop(pool, np, t, e, o->maximize, s->cfg.es_min_epochs,
                                         s->cfg.es_min_trials);
        free(pool);
        if (stop) {
            t->stop_requested = 1;
            t->pruned_epoch = e;
            t->value = v;
            s->runner.stop(s->runner.ctx, t->id, err);
            snprintf(reason, sizeof reason, "median rule at epoch %d", e);
            return end_trial(s, t, CF_TRIAL_PRUNED, reason, err);
        }
    }
    return CF_OK;
}

static cf_status on_end(cf_study *s, cf_trial *t, const cf_tune_event *ev, cf_error *err)
{
    s->live--;
    if (t->state != CF_TRIAL_RUNNING) return CF_OK; /* already pruned/failed; process now gone */
    if (ev->kind == CF_TEV_OK) {
        double v = cf_tune_event_metric(ev, s->cfg.objective.json_key);
        if (isnan(v) && t->n_curve > 0) v = t->curve[t->n_curve - 1];
        if (!isfinite(v)) {
            char r[CF_TUNE_REASON_MAX];
            snprintf(r, sizeof r, "finished without reporting '%s'", s->cfg.objective.json_key);
            return end_trial(s, t, CF_TRIAL_FAILED, r, err);
        }
        t->value = v;
        return end_trial(s, t, CF_TRIAL_DONE, "", err);
    }
    if (ev->kind == CF_TEV_STOPPED)
        return end_trial(s, t, CF_TRIAL_FAILED, "stopped", err);
    return end_trial(s, t, CF_TRIAL_FAILED, ev->reason[0] ? ev->reason : "failed", err);
}

/* Why the study should stop launching, or NULL. */
static const char *should_stop(cf_study *s)
{
    const cf_tune_config *c = &s->cfg;
    if (s->o.stop_flag && *s->o.stop_flag) return "interrupted";
    if (c->max_wall_seconds > 0 && cf_study_elapsed(s) >= c->max_wall_seconds) return "max_wall_seconds reached";
    int pending = count_state(s, CF_TRIAL_PENDING);
    if (c->max_trials > 0 && s->n - pending >= c->max_trials && pending == 0) return "max_trials reached";
    int b = cf_study_best(s);
    if (c->has_target && b >= 0 && !cf_tune_better(c, c->target, s->t[b].value)) return "target reached";
    if (c->no_improvement_trials > 0 && s->have_best_for_stall && s->since_improve >= c->no_improvement_trials)
        return "no improvement >= 1% for no_improvement_trials trials";
    int failed = count_state(s, CF_TRIAL_FAILED);
    int lim = c->max_parallel > 3 ? c->max_parallel : 3;
    if (failed >= lim && count_state(s, CF_TRIAL_DONE) + count_state(s, CF_TRIAL_PRUNED) == 0)
        return "every trial so far failed";
    return NULL;
}

cf_status cf_study_run(cf_study *s, cf_error *err)
{
    s->jerr = err;
    cf_status st = CF_OK;
    int exhausted = 0;
    const char *why = NULL;
    /* the stall counter replays from the finished trials */
    for (int i = 0; i < s->n; i++)
        if (s->t[i].state != CF_TRIAL_PENDING && s->t[i].state != CF_TRIAL_RUNNING) update_stall(s, &s->t[i]);
    for (;;) {
        why = should_stop(s);
        /* wall time and interrupts end running trials too */
        if (why && (!strcmp(why, "interrupted") || !strncmp(why, "max_wall", 8))) break;
        while (!why && !exhausted && s->runner.capacity(s->runner.ctx) > 0 &&
               s->live < s->cfg.max_parallel) {
            int launched = 0;
            cf_next_result res = CF_NEXT_WAIT;
            st = propose_and_launch(s, &launched, &res, err);
            if (st != CF_OK) goto fail;
            if (res == CF_NEXT_DONE) exhausted = 1;
            if (!launched) break;
            why = should_stop(s);
        }
        if (s->live == 0) {
            if (why || exhausted) break;
            st = cf_error_set(err, CF_ERR_INVALID, "study: the strategy waits but nothing is running");
            goto fail;
        }
        cf_tune_event ev;
        int r = s->runner.poll(s->runner.ctx, &ev, 500, err);
        if (r < 0) {
            st = err && err->status ? err->status : CF_ERR_IO;
            goto fail;
        }
        if (r == 0) {
            if (s->o.cb) s->o.cb(s->o.user, s, NULL, CF_STUDY_EV_TICK);
            continue;
        }
        if (ev.trial_id < 0 || ev.trial_id >= s->n) continue;
        cf_trial *t = &s->t[ev.trial_id];
        if (ev.kind == CF_TEV_EPOCH) st = on_epoch(s, t, &ev, err);
        else st = on_end(s, t, &ev, err);
        if (st != CF_OK) goto fail;
    }
    if (!why && exhausted) {
        if (s->over_budget) why = "max_total_epochs reached";
        else if (s->cfg.strategy != CF_STRAT_HYPERBAND) why = "search space exhausted";
        else if (s->cfg.max_total_epochs > 0 && !s->cfg.hb_brackets)
            why = "every hyperband bracket that fits in max_total_epochs ran";
        else why = "every hyperband bracket ran";
    }
    snprintf(s->stop_reason, sizeof s->stop_reason, "%s", why ? why : "done");
    if (s->live > 0) {
        /* interrupted or out of wall time: stop the running trials. Interrupted
         * ones stay "in flight" in the journal and run again on --resume;
         * wall-time ones are recorded as failed. */
        int wall = !strncmp(s->stop_reason, "max_wall", 8);
        for (int i = 0; i < s->n; i++)
            if (s->t[i].state == CF_TRIAL_RUNNING) s->runner.stop(s->runner.ctx, i, err);
        while (s->live > 0) {
            cf_tune_event ev;
            int r = s->runner.poll(s->runner.ctx, &ev, 1000, err);
            if (r < 0) break;
            if (r == 0 || ev.kind == CF_TEV_EPOCH || ev.trial_id < 0 || ev.trial_id >= s->n) continue;
            s->live--;
            cf_trial *t = &s->t[ev.trial_id];
            if (t->state != CF_TRIAL_RUNNING) continue;
            if (wall) {
                end_trial(s, t, CF_TRIAL_FAILED, "stopped at the study's max_wall_seconds", err);
            } else {
                t->state = CF_TRIAL_PENDING;
                s->running--;
            }
        }
    }
    if (strcmp(s->stop_reason, "interrupted")) {
        char r[200];
        cf_tune_json_escape(s->stop_reason, r, sizeof r);
        st = journal(s, "{\"ev\":\"done\",\"reason\":\"%s\"}", r);
    }
    write_outputs(s, 1);
    if (st == CF_OK && !strcmp(s->stop_reason, "every trial so far failed")) {
        const char *last = "";
        for (int i = 0; i < s->n; i++)
            if (s->t[i].state == CF_TRIAL_FAILED) last = s->t[i].reason;
        return cf_error_set(err, CF_ERR_INVALID, "every trial failed; last reason: %s", last);
    }
    return st;
fail:
    write_outputs(s, 1);
    return st;
}
