/* In-process runner for synthetic objectives: evaluates the function at
 * launch and queues its epoch and end events — no fork, no isolation, so
 * benchmarks and tests of the strategies run in milliseconds. It reports
 * exactly what the child of runner_local.c would (fault injection aside:
 * crashes and hangs need a real process and are refused here). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clforge/philox.h"
#include "tune/tune.h"

typedef struct inproc {
    const cf_tune_config *cfg;
    cf_tune_event *q;
    int qlen, qcap, running;
} inproc;

static int ip_push(inproc *r, const cf_tune_event *ev)
{
    if (r->qlen == r->qcap) {
        int nc = r->qcap ? r->qcap * 2 : 32;
        cf_tune_event *q = realloc(r->q, sizeof *q * (size_t)nc);
        if (!q) return -1;
        r->q = q;
        r->qcap = nc;
    }
    r->q[r->qlen++] = *ev;
    return 0;
}

static int ip_capacity(void *ctx)
{
    inproc *r = ctx;
    return r->cfg->max_parallel - r->running;
}

static cf_status ip_launch(void *ctx, const cf_tune_job *job, cf_error *err)
{
    inproc *r = ctx;
    const cf_tune_objective *o = &r->cfg->objective;
    double f = cf_tune_synthetic_eval(o->function, job->x);
    int E = job->epochs > 0 ? job->epochs : 1;
    cf_tune_event ev;
    double v = f;
    for (int e = job->start_epoch + 1; e <= E; e++) { /* a continued trial: only new epochs */
        cf_rng nr = cf_rng_make(r->cfg->seed, CF_RNG_TUNE, 0x5EED + (uint64_t)e, (uint64_t)job->trial_id);
        v = f + o->curve / e + (o->noise > 0 ? o->noise * cf_rng_normal(&nr) : 0.0);
        memset(&ev, 0, sizeof ev);
        ev.trial_id = job->trial_id;
        ev.kind = CF_TEV_EPOCH;
        ev.epoch = e;
        ev.n_metrics = 3;
        strcpy(ev.names[0], "train_loss");
        strcpy(ev.names[1], "validation_loss");
        strcpy(ev.names[2], "true_value");
        ev.values[0] = ev.values[1] = v;
        ev.values[2] = f;
        if (ip_push(r, &ev)) return cf_error_set(err, CF_ERR_NOMEM, "in-process runner: out of memory");
    }
    memset(&ev, 0, sizeof ev);
    ev.trial_id = job->trial_id;
    ev.kind = CF_TEV_OK;
    ev.n_metrics = 1;
    strcpy(ev.names[0], "validation_loss");
    ev.values[0] = v;
    if (ip_push(r, &ev)) return cf_error_set(err, CF_ERR_NOMEM, "in-process runner: out of memory");
    r->running++;
    return CF_OK;
}

static int ip_poll(void *ctx, cf_tune_event *ev, int timeout_ms, cf_error *err)
{
    inproc *r = ctx;
    if (r->qlen == 0) return 0;
    *ev = r->q[0];
    memmove(r->q, r->q + 1, sizeof *r->q * (size_t)(--r->qlen));
    if (ev->kind != CF_TEV_EPOCH) r->running--;
    return 1;
}

/* Stopping drops the trial's remaining epochs and ends it as stopped. */
static cf_status ip_stop(void *ctx, int trial_id, cf_error *err)
{
    inproc *r = ctx;
    int w = 0, ended = 0;
    for (int i = 0; i < r->qlen; i++) {
        if (r->q[i].trial_id == trial_id) {
            if (r->q[i].kind != CF_TEV_EPOCH) ended = 1;
            continue;
        }
        r->q[w++] = r->q[i];
    }
    r->qlen = w;
    if (ended) {
        cf_tune_event ev;
        memset(&ev, 0, sizeof ev);
        ev.trial_id = trial_id;
        ev.kind = CF_TEV_STOPPED;
        ip_push(r, &ev);
    }
    return CF_OK;
}

static void ip_destroy(void *ctx)
{
    inproc *r = ctx;
    free(r->q);
    free(r);
}

cf_status cf_tune_runner_inproc(cf_tune_runner *out, const cf_tune_config *cfg, cf_error *err)
{
    const cf_tune_objective *o = &cfg->objective;
    if (!o->function)
        return cf_error_set(err, CF_ERR_INVALID, "in-process runner: only synthetic objectives run in-process");
    if (o->fail_crash > 0 || o->fail_hang > 0)
        return cf_error_set(err, CF_ERR_INVALID,
                            "in-process runner: fail_crash and fail_hang need child processes");
    inproc *r = calloc(1, sizeof *r);
    if (!r) return cf_error_set(err, CF_ERR_NOMEM, "in-process runner: out of memory");
    r->cfg = cfg;
    out->ctx = r;
    out->capacity = ip_capacity;
    out->launch = ip_launch;
    out->poll = ip_poll;
    out->stop = ip_stop;
    out->destroy = ip_destroy;
    return CF_OK;
}
