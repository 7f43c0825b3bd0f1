/* Opening a study: a new one writes its "study" event; --resume replays
 * the journal into trial records (no strategy state is needed).
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
 * finished/pruned/failed carry "worker":"host:rank" when the MPI runner ran them.
 * Every line carries "t", the study's elapsed seconds. On --resume a trial
 * with "proposed" but no terminal event was in flight: it runs again, with
 * the same id and values, from scratch (a continued one from its parent's
 * checkpoint again). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "tune/study_internal.h"

cf_status study_journal(cf_study *s, const char *fmt, ...)
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
/* An integer field of an event: 0 when absent, 1 when read, -1 when it is not
 * a whole number in int's range (an edited or damaged journal: converting
 * -inf or 1e300 to int is undefined; found by fuzz_journal). */
static int int_at(const char *line, const char *key, int *out)
{
    double v;
    if (!cf_tune_json_num_at(line, key, &v)) return 0;
    if (!(v >= -2147483648.0 && v <= 2147483647.0) || v != floor(v)) return -1;
    *out = (int)v;
    return 1;
}

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
                                "the journal belongs to a different study (strategy %s, seed %.0f, %.0f "
                                "parameters); refusing to mix them",
                                strat, seed, np);
        s->header_checked = 1;
        return CF_OK;
    }
    if (!s->header_checked) return cf_error_set(err, CF_ERR_INVALID, "journal does not start with a study event");
    if (!strcmp(ev, "done")) return CF_OK;
    int k = -1;
    if (int_at(line, "trial", &k) != 1 || k < 0 || k > s->n)
        return cf_error_set(err, CF_ERR_INVALID, "event without a valid trial id");
    if (!strcmp(ev, "proposed")) {
        if (k != s->n) return cf_error_set(err, CF_ERR_INVALID, "trial %d proposed out of order", k);
        cf_trial *tr = study_new_trial(s, err);
        if (!tr) return err ? err->status : CF_ERR_NOMEM;
        if (cf_tune_json_nums_at(line, "x", tr->x, s->cfg.space.n) != s->cfg.space.n)
            return cf_error_set(err, CF_ERR_INVALID, "trial %d: expected %d values in x", k, s->cfg.space.n);
        static const char *const keys[] = {"epochs", "bracket", "rung", "parent", "config", "start"};
        int *dst[] = {&tr->epochs, &tr->bracket, &tr->rung, &tr->parent, &tr->config_id, &tr->start_epoch};
        for (int i = 0; i < 6; i++)
            if (int_at(line, keys[i], dst[i]) < 0)
                return cf_error_set(err, CF_ERR_INVALID, "trial %d: '%s' is not an integer", k, keys[i]);
        tr->state = CF_TRIAL_RUNNING; /* until a terminal event says otherwise */
        tr->attempt = 1;
        return study_inherit_curve(s, tr, err);
    }
    if (k >= s->n) return cf_error_set(err, CF_ERR_INVALID, "event for unknown trial %d", k);
    cf_trial *tr = &s->t[k];
    if (!strcmp(ev, "epoch")) {
        int e = 0;
        if (int_at(line, "epoch", &e) < 0)
            return cf_error_set(err, CF_ERR_INVALID, "trial %d: 'epoch' is not an integer", k);
        cf_tune_json_num_at(line, "value", &v) || (v = NAN, 1);
        return study_add_epoch(tr, e, v, err);
    }
    if (!strcmp(ev, "finished") || !strcmp(ev, "pruned") || !strcmp(ev, "failed"))
        cf_tune_json_str_at(line, "worker", tr->worker, sizeof tr->worker);
    if (!strcmp(ev, "finished") || !strcmp(ev, "pruned")) {
        if (!cf_tune_json_num_at(line, "value", &tr->value)) tr->value = NAN;
        if (cf_tune_json_num_at(line, "seconds", &v)) tr->seconds = v;
        tr->state = ev[0] == 'f' ? CF_TRIAL_DONE : CF_TRIAL_PRUNED;
        if (tr->state == CF_TRIAL_PRUNED) {
            if (int_at(line, "epoch", &tr->pruned_epoch) < 0)
                return cf_error_set(err, CF_ERR_INVALID, "trial %d: 'epoch' is not an integer", k);
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

/* One process at a time per study directory: two tuners appending to one
 * journal interleave events and leave a study that no longer replays. A
 * POSIX record lock on <dir>/.lock is released by the kernel however the
 * holder dies, and, unlike flock, is not inherited by forked trial processes
 * that may outlive a killed tuner; the file names the holder. */
static cf_status lock_dir(cf_study *s, cf_error *err)
{
    char path[CF_TUNE_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/.lock", s->dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->lock_fd < 0) return cf_error_set(err, CF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(s->lock_fd, F_SETLK, &fl) != 0) {
        int e = errno;
        char who[256] = "";
        ssize_t n = pread(s->lock_fd, who, sizeof who - 1, 0);
        who[n > 0 ? n : 0] = 0;
        who[strcspn(who, "\n")] = 0;
        close(s->lock_fd);
        s->lock_fd = -1;
        if (e == EAGAIN || e == EACCES)
            return cf_error_set(err, CF_ERR_INVALID,
                                "%s: the study is in use by another clforge tune (%s); wait for it or stop it first",
                                s->dir, who[0] ? who : "holder unknown");
        return cf_error_set(err, CF_ERR_IO, "%s: cannot lock: %s", path, strerror(e));
    }
    char host[128] = "?", line[256];
    gethostname(host, sizeof host - 1);
    int n = snprintf(line, sizeof line, "pid %ld on %s\n", (long)getpid(), host);
    if (ftruncate(s->lock_fd, 0) != 0 || pwrite(s->lock_fd, line, (size_t)n, 0) != n)
        return cf_error_set(err, CF_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return CF_OK;
}

cf_status cf_study_open(cf_study **out, const cf_tune_config *cfg, const cf_study_opts *o,
                        cf_error *err)
{
    cf_study *s = calloc(1, sizeof *s);
    if (!s) return cf_error_set(err, CF_ERR_NOMEM, "study: out of memory");
    s->lock_fd = -1;
    s->cfg = *cfg;
    s->o = *o;
    s->t0 = study_mono();
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
    if (st == CF_OK) st = lock_dir(s, err);
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
        st = study_journal(s, "{\"ev\":\"study\",\"version\":1,\"name\":\"%s\",\"strategy\":\"%s\",\"seed\":%llu,"
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
    if (s->lock_fd >= 0) close(s->lock_fd); /* releases the lock */
    for (int i = 0; i < s->n; i++) {
        free(s->t[i].x);
        free(s->t[i].curve);
    }
    free(s->t);
    free(s);
}

