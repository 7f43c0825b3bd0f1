/* The data pipeline: while one batch trains, N decode workers assemble
 * (decode, augment, normalise) the next into a second buffer — a bounded
 * queue of two batches, so memory depends on the batch size, never on the
 * dataset. Worker t makes samples t, t + N, ...; a sample's contents depend
 * only on (seed, epoch, sample), so batches are identical whatever N, and
 * with or without prefetching. N: data.workers for streamed image data (they
 * mostly wait on decoding while the backend's threads compute), one for
 * data already in memory (assembly is then a copy). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "data/prefetch.h"

#define MAX_WORKERS 64

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
    cf_batch buf[2];
    int next;     /* slot the next submission fills */
    int pending;  /* a job is queued or running */
    long job;     /* submissions so far: a worker runs each once */
    int running;  /* workers still on the current job */
    int quit;
    /* the job */
    const cf_dataset *d;
    const int *idx;
    int n, augment, slot;
    uint64_t epoch;
    cf_status st;
    int st_worker;
    cf_error err;
};

static void *worker(void *arg)
{
    worker_arg *wa = arg;
    cf_prefetch *p = wa->p;
    long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->job == seen) pthread_cond_wait(&p->cv, &p->mu);
        if (p->quit) break;
        seen = p->job;
        pthread_mutex_unlock(&p->mu);
        cf_error e = {0};
        cf_status st = cf_session_batch_part(p->s, p->d, p->idx, p->n, p->augment, p->epoch, &p->buf[p->slot],
                                             &p->scratch[wa->id], wa->id, p->nw, &e);
        pthread_mutex_lock(&p->mu);
        if (st && (!p->st || wa->id < p->st_worker)) { /* the lowest worker's error: the same every run */
            p->st = st;
            p->st_worker = wa->id;
            p->err = e;
        }
        if (--p->running == 0) pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void free_bufs(cf_prefetch *p)
{
    cf_batch_free(&p->buf[0]);
    cf_batch_free(&p->buf[1]);
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
    for (int i = 0; i < 2 && !st; i++) st = cf_batch_alloc(s, max_batch, &p->buf[i], err);
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
    p->d = d;
    p->idx = idx;
    p->n = n;
    p->augment = augment;
    p->epoch = epoch;
    p->slot = p->next;
    p->next ^= 1;
    p->pending = 1;
    p->st = CF_OK;
    p->running = p->nw;
    p->job++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

cf_status cf_prefetch_wait(cf_prefetch *p, cf_batch **out, cf_error *err)
{
    pthread_mutex_lock(&p->mu);
    while (p->pending && p->running) pthread_cond_wait(&p->cv, &p->mu);
    cf_status st = p->pending ? p->st : cf_error_set(err, CF_ERR_INVALID, "data pipeline: nothing submitted");
    if (p->pending && st && err) *err = p->err;
    *out = &p->buf[p->slot];
    p->pending = 0;
    pthread_mutex_unlock(&p->mu);
    return st;
}

void cf_prefetch_stop(cf_prefetch *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    while (p->pending && p->running) pthread_cond_wait(&p->cv, &p->mu); /* let a running job finish */
    p->quit = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nw; i++) pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free_bufs(p);
    free(p);
}
