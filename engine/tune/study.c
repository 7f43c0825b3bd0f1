/* The study loop: propose (strategy), launch (runner), watch epochs (median
 * rule, NaN check), record (journal), decide when to stop (completion
 * criteria), and keep trials.csv / best.cfg / tune_report.html current.
 * Journal format: study_open.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "tune/study_internal.h"

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
    study_trial_dir(s, t->id, t->attempt, dir, sizeof dir);
    if (t->start_epoch > 0) study_finished_dir(s, &s->t[t->parent], from, sizeof from);
    cf_tune_job job = {t->id, t->epochs, n, kp, vp, t->x, dir, t->start_epoch, from};
    cf_status st = study_inherit_curve(s, t, err);
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
    int ended = s->n - s->running - study_count_state(s, CF_TRIAL_PENDING);
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
    int start = p.parent >= 0 && p.parent < s->n && study_can_continue(s, &s->t[p.parent], p.epochs)
                    ? s->t[p.parent].epochs
                    : 0;
    if (s->cfg.max_total_epochs > 0 && study_committed_epochs(s) + p.epochs - start > s->cfg.max_total_epochs) {
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
    cf_trial *t = study_new_trial(s, err);
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
    CF_TRY(study_journal(s, "{\"ev\":\"proposed\",\"trial\":%d,\"epochs\":%d,\"bracket\":%d,\"rung\":%d,"
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

/* trials.csv, best.cfg and tune_report.html. A failure between trials is
 * not fatal (the files are rewritten after the next trial and at the end,
 * and the journal holds the study); at the end it is the study's error, so
 * that the "wrote ..." line never names a file that was not written. */
static cf_status write_outputs(cf_study *s, int final, cf_error *err)
{
    char p[CF_TUNE_PATH_MAX + 32];
    cf_error e;
    cf_error *ep = final ? err : &e;
    cf_status st;
    snprintf(p, sizeof p, "%s/trials.csv", s->dir);
    if ((st = cf_tune_write_csv(s, p, ep)) && final) return st;
    if (cf_study_best(s) >= 0) {
        snprintf(p, sizeof p, "%s/best.cfg", s->dir);
        if ((st = cf_tune_write_best_cfg(s, p, ep)) && final) return st;
    }
    if (final || s->n % 10 == 0) {
        snprintf(p, sizeof p, "%s/tune_report.html", s->dir);
        if ((st = cf_tune_write_html(s, p, ep)) && final) return st;
    }
    return CF_OK;
}

static cf_status end_trial(cf_study *s, cf_trial *t, cf_trial_state st, const char *reason, cf_error *err)
{
    t->state = st;
    t->seconds = cf_study_elapsed(s) - t->seconds;
    s->running--;
    char r[CF_TUNE_REASON_MAX * 2], num[40];
    if (reason) snprintf(t->reason, sizeof t->reason, "%s", reason);
    cf_tune_json_escape(t->reason, r, sizeof r);
    char w[128] = ""; /* who ran it, so trials.csv keeps the worker after --resume */
    if (t->worker[0]) snprintf(w, sizeof w, ",\"worker\":\"%s\"", t->worker);
    if (st == CF_TRIAL_DONE) {
        cf_tune_json_num(t->value, num, sizeof num);
        CF_TRY(study_journal(s, "{\"ev\":\"finished\",\"trial\":%d,\"value\":%s,\"seconds\":%.3f%s}", t->id, num,
                       t->seconds, w));
    } else if (st == CF_TRIAL_PRUNED) {
        cf_tune_json_num(t->value, num, sizeof num);
        CF_TRY(study_journal(s, "{\"ev\":\"pruned\",\"trial\":%d,\"epoch\":%d,\"value\":%s,\"seconds\":%.3f,"
                          "\"reason\":\"%s\"%s}",
                       t->id, t->pruned_epoch, num, t->seconds, r, w));
    } else {
        CF_TRY(study_journal(s, "{\"ev\":\"failed\",\"trial\":%d,\"seconds\":%.3f,\"reason\":\"%s\"%s}", t->id,
                       t->seconds, r, w));
    }
    update_stall(s, t);
    if (s->o.cb) s->o.cb(s->o.user, s, t, CF_STUDY_EV_END);
    return write_outputs(s, 0, err);
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
    CF_TRY(study_add_epoch(t, e, v, err));
    char num[40];
    cf_tune_json_num(v, num, sizeof num);
    CF_TRY(study_journal(s, "{\"ev\":\"epoch\",\"trial\":%d,\"epoch\":%d,\"value\":%s}", t->id, e, num));
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
    int pending = study_count_state(s, CF_TRIAL_PENDING);
    if (c->max_trials > 0 && s->n - pending >= c->max_trials && pending == 0) return "max_trials reached";
    int b = cf_study_best(s);
    if (c->has_target && b >= 0 && !cf_tune_better(c, c->target, s->t[b].value)) return "target reached";
    if (c->no_improvement_trials > 0 && s->have_best_for_stall && s->since_improve >= c->no_improvement_trials)
        return "no improvement >= 1% for no_improvement_trials trials";
    int failed = study_count_state(s, CF_TRIAL_FAILED);
    int lim = c->max_parallel > 3 ? c->max_parallel : 3;
    if (failed >= lim && study_count_state(s, CF_TRIAL_DONE) + study_count_state(s, CF_TRIAL_PRUNED) == 0)
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
        if (ev.worker[0]) snprintf(t->worker, sizeof t->worker, "%s", ev.worker);
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
        st = study_journal(s, "{\"ev\":\"done\",\"reason\":\"%s\"}", r);
    }
    if (st == CF_OK) st = write_outputs(s, 1, err);
    else write_outputs(s, 1, NULL);
    if (st == CF_OK && !strcmp(s->stop_reason, "every trial so far failed")) {
        const char *last = "";
        for (int i = 0; i < s->n; i++)
            if (s->t[i].state == CF_TRIAL_FAILED) last = s->t[i].reason;
        return cf_error_set(err, CF_ERR_INVALID, "every trial failed; last reason: %s", last);
    }
    return st;
fail:
    write_outputs(s, 1, NULL); /* the first error is the one reported */
    return st;
}

