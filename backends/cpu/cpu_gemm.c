/* clforge cpu backend — GEMM, split over our own pool.
 *
 * OpenBLAS is set to one thread (see cpu_internal.h); a large product is cut
 * into as many column (or row) panels as there are threads and each panel is
 * one single-threaded sgemm. Panels are multiples of 16 so each one keeps
 * whole micro-kernel tiles.
 *
 * Which sgemm: with oneDNN built in, dnnl_sgemm (its JIT picks AVX-512 where
 * the CPU has it); measured at least as fast as OpenBLAS 0.3.21 on every
 * dense-layer and im2col shape of the bench models, and 1.8-2.2x faster when
 * OPENBLAS_CORETYPE holds OpenBLAS to its AVX2 kernels (docs/cpu-backend.md).
 * CLFORGE_CPU_GEMM=openblas|dnnl overrides the choice. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#ifdef CF_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

#include "cpu_internal.h"

static pthread_once_t gemm_once = PTHREAD_ONCE_INIT;
static int gemm_dnnl; /* process-wide, like the environment it comes from */

static void gemm_choose(void)
{
#ifdef CF_HAVE_DNNL
    const char *g = getenv("CLFORGE_CPU_GEMM");
    gemm_dnnl = !(g && strcmp(g, "openblas") == 0);
#endif
}

const char *cpu_gemm_library(void)
{
    pthread_once(&gemm_once, gemm_choose);
    return gemm_dnnl ? "oneDNN sgemm" : "OpenBLAS sgemm";
}

void cpu_sgemm_1(int transa, int transb, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* C = beta C, and beta == 0 must not read C */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
        return;
    }
#ifdef CF_HAVE_DNNL
    pthread_once(&gemm_once, gemm_choose);
    if (gemm_dnnl) {
        cpu_omp_one_thread();
        if (dnnl_sgemm(transa ? 'T' : 'N', transb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb,
                       beta, C, ldc) == dnnl_success)
            return;
    }
#endif
    cblas_sgemm(CblasRowMajor, transa ? CblasTrans : CblasNoTrans,
                transb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

typedef struct {
    int transa, transb, M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int lda, ldb, ldc;
    int split_n; /* 1: split columns of C, 0: rows */
    int unit;    /* panel granularity */
} gemm_job;

static void gemm_task(void *arg, int tid, long b, long e)
{
    const gemm_job *j = arg;
    long lo = b * j->unit, hi = e * j->unit;
    if (j->split_n) {
        if (hi > j->N) hi = j->N;
        if (hi <= lo) return;
        /* columns lo..hi of op(B) */
        const float *B = j->transb ? j->B + (size_t)lo * j->ldb : j->B + lo;
        cpu_sgemm_1(j->transa, j->transb, j->M, (int)(hi - lo), j->K, j->alpha, j->A, j->lda, B,
                    j->ldb, j->beta, j->C + lo, j->ldc);
    } else {
        if (hi > j->M) hi = j->M;
        if (hi <= lo) return;
        const float *A = j->transa ? j->A + lo : j->A + (size_t)lo * j->lda;
        cpu_sgemm_1(j->transa, j->transb, (int)(hi - lo), j->N, j->K, j->alpha, A, j->lda, j->B,
                    j->ldb, j->beta, j->C + (size_t)lo * j->ldc, j->ldc);
    }
}

void cpu_sgemm(cpu_ctx *c, int transa, int transb, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    int T = cpu_pool_size(c->pool);
    double flops = 2.0 * M * N * (K > 0 ? K : 1);
    if (T <= 1 || flops < 2e5) {
        cpu_sgemm_1(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    gemm_job j = {transa, transb, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, 0, 16};
    j.split_n = N >= M;
    long len = j.split_n ? N : M;
    if (len < 32) j.unit = 1;
    long units = (len + j.unit - 1) / j.unit;
    cpu_pool_run(c->pool, units, gemm_task, &j);
}
