/* The data pipeline: N decode workers fill a bounded ring of batches ahead
 * of training (CF_PREFETCH_DEPTH buffers: the one training, the rest queued),
 * so memory depends on the batch size, never on the dataset. Worker t makes
 * samples t, t + N, ... of each batch and goes straight on to the next queued
 * batch: no barrier between batches, so a worker the scheduler wakes late
 * (the cores are shared with the backend's threads) costs nothing while the
 * queue is full. A sample's contents depend only on (seed, epoch, sample), so
 * batches are identical whatever N, and with or without prefetching. N:
 * data.workers for streamed image data, one for data already in memory
 * (assembly is then a copy). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "train/prefetch.h"

#define MAX_WORKERS 64

typedef struct job {
    const cf_dataset *d;
    const int *idx;
    int n, augment;
    uint64_t epoch;
    int running;       /* workers still on it */
    cf_status st;
    int st_worker;
    cf_error err;
} job;

typedef struct worker_arg {
    struct cf_prefetch *p;
    int id;
} worker_arg;

struct cf_prefetch {
    cf_session *s;
    int nw;
    pthread_t th[MAX_WORKERS];
    worker_arg args[MAX_WORKERS];
    cf_batch scratch[MAX_WORKERS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cf_batch buf[CF_PREFETCH_DEPTH];
    job jobs[CF_PREFETCH_DEPTH];
    long submitted, consumed; /* job j lives in slot j % depth */
    int quit;
};

static void *worker(void *arg)
{
    worker_arg *wa = arg;
    cf_prefetch *p = wa->p;
    long next = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && next >= p->submitted) pthread_cond_wait(&p->cv, &p->mu);
        if (p->quit) break;
        job *j = &p->jobs[next % CF_PREFETCH_DEPTH];
        cf_batch *out = &p->buf[next % CF_PREFETCH_DEPTH];
        pthread_mutex_unlock(&p->mu);
        cf_error e = {0};
        cf_status st = cf_session_batch_part(p->s, j->d, j->idx, j->n, j->augment, j->epoch, out,
                                             &p->scratch[wa->id], wa->id, p->nw, &e);
        pthread_mutex_lock(&p->mu);
        if (st && (!j->st || wa->id < j->st_worker)) { /* the lowest worker's error: the same every run */
            j->st = st;
            j->st_worker = wa->id;
            j->err = e;
        }
        if (--j->running == 0) pthread_cond_broadcast(&p->cv);
        next++;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void free_bufs(cf_prefetch *p)
{
    for (int i = 0; i < CF_PREFETCH_DEPTH; i++) cf_batch_free(&p->buf[i]);
    for (int i = 0; i < MAX_WORKERS; i++) cf_batch_free(&p->scratch[i]);
}

cf_status cf_prefetch_start(cf_prefetch **out, cf_session *s, int max_batch, cf_error *err)
{
    cf_prefetch *p = cf_calloc(1, sizeof *p);
    if (!p) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    p->s = s;
    int streamed = s->train.src && !s->train.x;
    p->nw = streamed ? cf_params_int(s->pd, "workers") : 1;
    if (p->nw <= 0) p->nw = cf_data_workers_default();
    if (p->nw > MAX_WORKERS) p->nw = MAX_WORKERS;
    cf_status st = CF_OK;
    for (int i = 0; i < CF_PREFETCH_DEPTH && !st; i++) st = cf_batch_alloc(s, max_batch, &p->buf[i], err);
    for (int i = 0; i < p->nw && !st; i++) st = cf_batch_alloc_scratch(s, &p->scratch[i], err);
    if (st) {
        free_bufs(p);
        free(p);
        return st;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    int started = 0;
    for (int i = 0; i < p->nw; i++) {
        p->args[i] = (worker_arg){p, i};
        if (pthread_create(&p->th[i], NULL, worker, &p->args[i])) break;
        started++;
    }
    if (started < p->nw) {
        pthread_mutex_lock(&p->mu);
        p->quit = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < started; i++) pthread_join(p->th[i], NULL);
        free_bufs(p);
        free(p);
        return cf_error_set(err, CF_ERR_NOMEM, "cannot start the data pipeline threads");
    }
    *out = p;
    return CF_OK;
}

void cf_prefetch_submit(cf_prefetch *p, const cf_dataset *d, const int *idx, int n, int augment,
                        uint64_t epoch)
{
    pthread_mutex_lock(&p->mu);
    /* The caller keeps at most CF_PREFETCH_DEPTH - 1 queued besides the batch it holds. */
    job *j = &p->jobs[p->submitted % CF_PREFETCH_DEPTH];
    *j = (job){d, idx, n, augment, epoch, p->nw, CF_OK, 0, {0}};
    p->submitted++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

cf_status cf_prefetch_wait(cf_prefetch *p, cf_batch **out, cf_error *err)
{
    pthread_mutex_lock(&p->mu);
    if (p->consumed >= p->submitted) {
        pthread_mutex_unlock(&p->mu);
        return cf_error_set(err, CF_ERR_INVALID, "data pipeline: nothing submitted");
    }
    job *j = &p->jobs[p->consumed % CF_PREFETCH_DEPTH];
    while (j->running) pthread_cond_wait(&p->cv, &p->mu);
    cf_status st = j->st;
    if (st && err) *err = j->err;
    *out = &p->buf[p->consumed % CF_PREFETCH_DEPTH];
    p->consumed++;
    pthread_mutex_unlock(&p->mu);
    return st;
}

void cf_prefetch_stop(cf_prefetch *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    for (long k = p->consumed; k < p->submitted; k++) /* let queued jobs finish: they read idx */
        while (p->jobs[k % CF_PREFETCH_DEPTH].running) pthread_cond_wait(&p->cv, &p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nw; i++) pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free_bufs(p);
    free(p);
}
