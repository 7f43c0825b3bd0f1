/* clforge cpu backend — a small fork/join thread pool.
 *
 * One job at a time (ops run in order). Workers spin briefly after a job so
 * back-to-back ops (a layer's GEMM, then its activation) do not pay a wake-up
 * each, then sleep on a condition variable so an idle pool costs nothing. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "cpu_internal.h"

/* Spin iterations before sleeping (~20-50 us on current CPUs). */
#define CPU_SPIN 20000

struct cpu_pool {
    int n;                 /* threads including the caller */
    pthread_t *tids;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_cond_t done_cv;
    atomic_uint gen;       /* bumped per job */
    atomic_int pending;    /* workers still running the current job */
    int stop;
    /* current job */
    cpu_task_fn fn;
    void *arg;
    long total;
    int chunks;
};

typedef struct {
    cpu_pool *p;
    int tid;
} worker_arg;

static void chunk_range(long n, int chunks, int i, long *b, long *e)
{
    long base = n / chunks, rem = n % chunks;
    *b = i * base + (i < rem ? i : rem);
    *e = *b + base + (i < rem ? 1 : 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *varg)
{
    worker_arg *wa = varg;
    cpu_pool *p = wa->p;
    int tid = wa->tid;
    free(wa);
    /* gen is 0 when workers are created; a job may be published before
     * this thread first runs, so start from 0, not from the current value */
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
               spins < CPU_SPIN) {
            cpu_relax();
            spins++;
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load(&p->gen)) == seen && !p->stop)
                pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (p->stop) return NULL;
        seen = g;
        if (tid < p->chunks) {
            long b, e;
            chunk_range(p->total, p->chunks, tid, &b, &e);
            if (e > b) p->fn(p->arg, tid, b, e);
        }
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

cf_status cpu_pool_create(int nthreads, cpu_pool **out, cf_error *err)
{
    cpu_pool *p = calloc(1, sizeof *p);
    if (!p) return cpu_err(err, CF_ERR_NOMEM, "cpu backend: out of memory for the thread pool");
    p->n = nthreads < 1 ? 1 : nthreads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    if (p->n > 1) {
        p->tids = calloc((size_t)p->n, sizeof *p->tids);
        if (!p->tids) {
            free(p);
            return cpu_err(err, CF_ERR_NOMEM, "cpu backend: out of memory for the thread pool");
        }
        for (int i = 1; i < p->n; i++) {
            worker_arg *wa = malloc(sizeof *wa);
            if (wa) {
                wa->p = p;
                wa->tid = i;
            }
            int rc = wa ? pthread_create(&p->tids[i], NULL, worker_main, wa) : ENOMEM;
            if (rc != 0) {
                free(wa);
                p->n = i; /* destroy joins the ones started */
                cpu_pool_destroy(p);
                return cpu_err(err, CF_ERR_BACKEND,
                               "cpu backend: cannot start worker thread %d (error %d)", i, rc);
            }
        }
    }
    *out = p;
    return CF_OK;
}

void cpu_pool_destroy(cpu_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->tids[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done_cv);
    free(p->tids);
    free(p);
}

int cpu_pool_size(const cpu_pool *p) { return p ? p->n : 1; }

void cpu_pool_run_n(cpu_pool *p, long n, int max_chunks, cpu_task_fn fn, void *arg)
{
    if (n <= 0) return;
    int chunks = p->n < max_chunks ? p->n : max_chunks;
    if (chunks > n) chunks = (int)n;
    if (chunks <= 1) {
        fn(arg, 0, 0, n);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    p->total = n;
    p->chunks = chunks;
    atomic_store(&p->pending, p->n - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    long b, e;
    chunk_range(n, chunks, 0, &b, &e);
    fn(arg, 0, b, e);

    int spins = 0;
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0 && spins < CPU_SPIN) {
        cpu_relax();
        spins++;
    }
    if (atomic_load(&p->pending) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done_cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

void cpu_pool_run(cpu_pool *p, long n, cpu_task_fn fn, void *arg)
{
    cpu_pool_run_n(p, n, p->n, fn, arg);
}
