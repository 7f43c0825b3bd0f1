/* The data pipeline: one worker thread assembles (decodes, augments,
 * normalises) the next batch into a second buffer while the current batch
 * trains. Batch contents depend only on (seed, epoch, sample), so results are
 * identical with and without prefetching. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "data/prefetch.h"

struct cf_prefetch {
    cf_session *s;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cf_batch buf[2];
    int next;     /* slot the next submission fills */
    int pending;  /* a job is queued or running */
    int done;     /* the job finished */
    int quit;
    /* the job */
    const cf_dataset *d;
    const int *idx;
    int n, augment, slot;
    uint64_t epoch;
    cf_status st;
    cf_error err;
};

static void *worker(void *arg)
{
    cf_prefetch *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && !(p->pending && !p->done)) pthread_cond_wait(&p->cv, &p->mu);
        if (p->quit) break;
        pthread_mutex_unlock(&p->mu);
        cf_error e = {0};
        cf_status st = cf_session_batch_into(p->s, p->d, p->idx, p->n, p->augment, p->epoch,
                                             &p->buf[p->slot], &e);
        pthread_mutex_lock(&p->mu);
        p->st = st;
        p->err = e;
        p->done = 1;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

cf_status cf_prefetch_start(cf_prefetch **out, cf_session *s, int max_batch, cf_error *err)
{
    cf_prefetch *p = cf_calloc(1, sizeof *p);
    if (!p) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    p->s = s;
    for (int i = 0; i < 2; i++)
        if (cf_batch_alloc(s, max_batch, &p->buf[i], err)) {
            cf_batch_free(&p->buf[0]);
            free(p);
            return CF_ERR_NOMEM;
        }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->th, NULL, worker, p)) {
        cf_batch_free(&p->buf[0]);
        cf_batch_free(&p->buf[1]);
        free(p);
        return cf_error_set(err, CF_ERR_NOMEM, "cannot start the data pipeline thread");
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
    p->done = 0;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

cf_status cf_prefetch_wait(cf_prefetch *p, cf_batch **out, cf_error *err)
{
    pthread_mutex_lock(&p->mu);
    while (p->pending && !p->done) pthread_cond_wait(&p->cv, &p->mu);
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
    while (p->pending && !p->done) pthread_cond_wait(&p->cv, &p->mu); /* let a running job finish */
    p->quit = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    cf_batch_free(&p->buf[0]);
    cf_batch_free(&p->buf[1]);
    free(p);
}
