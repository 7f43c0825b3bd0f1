/* The sgemm ceiling the bench compares clforge's GFLOP/s against: best of
 * several 1024^3 (and 512^3) products, for OpenBLAS (threads from
 * OPENBLAS_NUM_THREADS) and, built with -DWITH_DNNL, oneDNN's sgemm (threads
 * from OMP_NUM_THREADS), which the cpu backend uses when it has it. Prints
 * one "library GFLOP/s" line each. Built and run by bench/bench_cpu.py. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cblas.h>
#ifdef WITH_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void gemm(int lib, int n, const float *a, const float *b, float *c)
{
#ifdef WITH_DNNL
    if (lib == 1) {
        dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        return;
    }
#endif
    (void)lib;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
}

static double peak(int lib)
{
    double best = 0;
    int sizes[] = {512, 1024};
    for (int si = 0; si < 2; si++) {
        int n = sizes[si];
        float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
              *c = malloc(sizeof(float) * n * n);
        for (int i = 0; i < n * n; i++) {
            a[i] = (float)(i % 13) * 0.01f;
            b[i] = (float)(i % 7) * 0.01f;
        }
        for (int rep = 0; rep < 8; rep++) {
            int it = 0;
            double t0 = now(), t;
            do {
                gemm(lib, n, a, b, c);
                it++;
            } while ((t = now() - t0) < 0.1);
            double gf = 2.0 * n * n * n * it / t * 1e-9;
            if (gf > best) best = gf;
        }
        free(a);
        free(b);
        free(c);
    }
    return best;
}

int main(void)
{
    printf("openblas %.1f\n", peak(0));
#ifdef WITH_DNNL
    printf("onednn %.1f\n", peak(1));
#endif
    return 0;
}
