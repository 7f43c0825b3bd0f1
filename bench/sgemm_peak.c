/* The OpenBLAS sgemm ceiling the bench compares clforge's GFLOP/s against:
 * best of several 1024^3 (and 512^3) products with the thread count of
 * OPENBLAS_NUM_THREADS. Built and run by bench/bench_cpu.py. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cblas.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void)
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
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n,
                            0.0f, c, n);
                it++;
            } while ((t = now() - t0) < 0.1);
            double gf = 2.0 * n * n * n * it / t * 1e-9;
            if (gf > best) best = gf;
        }
        free(a);
        free(b);
        free(c);
    }
    printf("%.1f\n", best);
    return 0;
}
