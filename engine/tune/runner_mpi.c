/* The MPI trial runner (`mpirun -np N clforge tune`): rank 0 runs the study
 * (strategy, journal, outputs) and hands one trial at a time to each of
 * ranks 1..N-1; a worker runs it with the local runner (a forked child, so a
 * crashing trial is a failed trial, not a dead rank) and sends back every
 * per-epoch value and the end, which is what lets ASHA, hyperband and the
 * median rule act while other trials still run. Messages (dist/dist.h):
 * JOB and STOP and QUIT go to a worker, EVENT comes back. A lost rank ends
 * the whole job (Open MPI does that); the journal on rank 0 is fsync'd per
 * event, so `clforge tune --resume` continues with nothing lost or run twice. */
#include <stdlib.h>
#include <string.h>

#include "dist/dist.h"
#include "tune/tune.h"

enum { TAG_JOB = 11, TAG_STOP, TAG_QUIT, TAG_EVENT };

/* ---- the job on the wire: ints, the point, then NUL-terminated strings ---- */
typedef struct wire {
    char *b;
    size_t n, cap;
} wire;

static int put(wire *w, const void *p, size_t k)
{
    if (w->n + k > w->cap) {
        size_t c = (w->cap + k) * 2;
        char *nb = realloc(w->b, c);
        if (!nb) return -1;
        w->b = nb;
        w->cap = c;
    }
    memcpy(w->b + w->n, p, k);
    w->n += k;
    return 0;
}

static int put_str(wire *w, const char *s) { return put(w, s ? s : "", strlen(s ? s : "") + 1); }

static cf_status encode(const cf_tune_job *j, int nx, wire *w, cf_error *err)
{
    int head[6] = {j->trial_id, j->epochs, j->n, j->start_epoch, nx, j->continue_from != NULL};
    int bad = put(w, head, sizeof head) || put(w, j->x, (size_t)nx * sizeof *j->x) || put_str(w, j->dir) ||
              put_str(w, j->continue_from);
    for (int i = 0; i < j->n && !bad; i++) bad = put_str(w, j->keys[i]) || put_str(w, j->values[i]);
    return bad ? cf_error_set(err, CF_ERR_NOMEM, "mpi runner: out of memory") : CF_OK;
}

/* A decoded job points into its message buffer. */
typedef struct job_msg {
    cf_tune_job job;
    double *x;
    const char **kv; /* keys, then values */
} job_msg;

static cf_status decode(char *b, size_t n, job_msg *m, cf_error *err)
{
    int head[6];
    memset(m, 0, sizeof *m);
    if (n < sizeof head) return cf_error_set(err, CF_ERR_INVALID, "mpi runner: short job message");
    memcpy(head, b, sizeof head);
    size_t at = sizeof head, xs = (size_t)head[4] * sizeof(double);
    if (head[2] < 0 || head[4] < 0 || at + xs > n) return cf_error_set(err, CF_ERR_INVALID, "mpi runner: bad job message");
    m->x = malloc(xs ? xs : 1);
    m->kv = calloc((size_t)head[2] * 2 + 1, sizeof *m->kv);
    if (!m->x || !m->kv) return cf_error_set(err, CF_ERR_NOMEM, "mpi runner: out of memory");
    memcpy(m->x, b + at, xs);
    at += xs;
    const char *str[2];
    for (int i = 0; i < 2 + head[2] * 2; i++) {
        if (at >= n) return cf_error_set(err, CF_ERR_INVALID, "mpi runner: truncated job message");
        const char *s = b + at;
        at += strlen(s) + 1;
        if (i < 2) str[i] = s;
        else m->kv[(i - 2) / 2 + ((i - 2) % 2) * head[2]] = s;
    }
    m->job = (cf_tune_job){head[0], head[1], head[2], m->kv, m->kv + head[2], m->x, str[0], head[3],
                           head[5] ? str[1] : NULL};
    return CF_OK;
}

static void job_msg_free(job_msg *m)
{
    free(m->x);
    free(m->kv);
}

/* ---- rank 0: the runner the study drives ------------------------------------ */
typedef struct coord {
    const cf_tune_config *cfg;
    int n;     /* world size; workers are ranks 1..n-1 */
    int *busy; /* trial id per rank, -1 idle */
} coord;

static int co_capacity(void *ctx)
{
    coord *c = ctx;
    int k = 0;
    for (int r = 1; r < c->n; r++) k += c->busy[r] < 0;
    return k;
}

static cf_status co_launch(void *ctx, const cf_tune_job *job, cf_error *err)
{
    coord *c = ctx;
    int r = 1;
    while (r < c->n && c->busy[r] >= 0) r++;
    if (r == c->n) return cf_error_set(err, CF_ERR_INVALID, "mpi runner: no idle worker");
    wire w = {0};
    cf_status st = encode(job, c->cfg->space.n, &w, err);
    if (!st) st = cf_dist_send(r, TAG_JOB, w.b, w.n, err);
    free(w.b);
    if (!st) c->busy[r] = job->trial_id;
    return st;
}

static int co_poll(void *ctx, cf_tune_event *ev, int timeout_ms, cf_error *err)
{
    coord *c = ctx;
    int src, tag;
    void *buf;
    size_t n;
    int r = cf_dist_recv(&src, &tag, &buf, &n, timeout_ms, err);
    if (r <= 0) return r;
    if (tag != TAG_EVENT || n != sizeof *ev) {
        free(buf);
        cf_error_set(err, CF_ERR_INVALID, "mpi runner: unexpected message (tag %d, %zu bytes) from rank %d", tag, n, src);
        return -1;
    }
    memcpy(ev, buf, sizeof *ev);
    free(buf);
    if (ev->kind != CF_TEV_EPOCH && src > 0 && src < c->n) c->busy[src] = -1;
    return 1;
}

static cf_status co_stop(void *ctx, int trial_id, cf_error *err)
{
    coord *c = ctx;
    for (int r = 1; r < c->n; r++)
        if (c->busy[r] == trial_id) return cf_dist_send(r, TAG_STOP, &trial_id, sizeof trial_id, err);
    return CF_OK;
}

static void co_destroy(void *ctx)
{
    coord *c = ctx;
    cf_error e;
    int zero = 0;
    for (int r = 1; r < c->n; r++) cf_dist_send(r, TAG_QUIT, &zero, sizeof zero, &e);
    cf_dist_release(); /* the workers leave: an error of the tuner's own needs no MPI_Abort */
    free(c->busy);
    free(c);
}

cf_status cf_tune_runner_mpi(cf_tune_runner *out, const cf_tune_config *cfg, cf_error *err)
{
    if (cf_dist_size() < 2)
        return cf_error_set(err, CF_ERR_INVALID, "the MPI runner needs mpirun -np 2 or more (rank 0 + workers)");
    coord *c = calloc(1, sizeof *c);
    if (c) c->busy = malloc((size_t)cf_dist_size() * sizeof *c->busy);
    if (!c || !c->busy) {
        free(c);
        return cf_error_set(err, CF_ERR_NOMEM, "mpi runner: out of memory");
    }
    c->cfg = cfg;
    c->n = cf_dist_size();
    for (int r = 0; r < c->n; r++) c->busy[r] = -1;
    *out = (cf_tune_runner){c, co_capacity, co_launch, co_poll, co_stop, co_destroy};
    return CF_OK;
}

/* ---- ranks 1..N-1: run what rank 0 sends -------------------------------------- */
static cf_status report(const cf_tune_event *ev, const char *me, cf_error *err)
{
    cf_tune_event e = *ev;
    snprintf(e.worker, sizeof e.worker, "%s", me);
    return cf_dist_send(0, TAG_EVENT, &e, sizeof e, err);
}

cf_status cf_tune_worker_mpi(const cf_tune_config *cfg, const char *exe, cf_error *err)
{
    cf_tune_runner lr;
    CF_TRY(cf_tune_runner_local(&lr, cfg, exe, 0, err));
    char me[64];
    snprintf(me, sizeof me, "%.50s:%d", cf_dist_host(), cf_dist_rank());
    int busy = 0;
    cf_status st = CF_OK;
    while (!st) {
        int src, tag;
        void *buf;
        size_t n;
        /* while a trial runs, wait on its output (below), not on rank 0 */
        int r = cf_dist_recv(&src, &tag, &buf, &n, busy ? 0 : 200, err);
        if (r < 0) {
            st = err->status ? err->status : CF_ERR_IO;
            break;
        }
        if (r == 1) {
            if (tag == TAG_QUIT) {
                free(buf);
                break;
            }
            if (tag == TAG_STOP && n == sizeof(int)) {
                int id;
                memcpy(&id, buf, sizeof id);
                lr.stop(lr.ctx, id, err);
            } else if (tag == TAG_JOB) {
                job_msg m;
                cf_error je = {0};
                cf_status js = decode(buf, n, &m, &je);
                if (!js) js = lr.launch(lr.ctx, &m.job, &je);
                if (js) { /* the trial fails, the worker carries on */
                    cf_tune_event fe = {.trial_id = m.job.trial_id, .kind = CF_TEV_FAILED};
                    snprintf(fe.reason, sizeof fe.reason, "%s", je.msg);
                    st = report(&fe, me, err);
                } else {
                    busy = 1;
                }
                job_msg_free(&m);
            }
            free(buf);
        }
        cf_tune_event ev;
        /* (the local runner reads its children only while it waits: not 0 ms) */
        while (!st && busy && (r = lr.poll(lr.ctx, &ev, 20, err)) == 1) {
            st = report(&ev, me, err);
            if (ev.kind != CF_TEV_EPOCH) busy = 0;
        }
        if (r < 0 && !st) st = err->status ? err->status : CF_ERR_IO;
    }
    lr.destroy(lr.ctx);
    return st;
}
