/* Allreduce time of a model's gradient (4 bytes x parameters) in MPI_FLOAT
 * buckets of 4 MiB, as engine/dist/dp.c sends it; median of REPS after a
 * barrier. Built and run by bench/mpi_scaling.sh:
 *   mpicc -O2 -o mpi_allreduce bench/mpi_allreduce.c
 *   mpirun -np 2 ./mpi_allreduce 235146 421642 272186 25557032 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#define REPS 15
#define BUCKET (1 << 20)

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int a = 1; a < argc; a++) {
        long n = atol(argv[a]);
        float *g = calloc((size_t)n, sizeof *g);
        double t[REPS];
        for (int r = 0; r < REPS; r++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            for (long off = 0; off < n; off += BUCKET)
                MPI_Allreduce(MPI_IN_PLACE, g + off, (int)(n - off < BUCKET ? n - off : BUCKET), MPI_FLOAT, MPI_SUM,
                              MPI_COMM_WORLD);
            t[r] = MPI_Wtime() - t0;
        }
        qsort(t, REPS, sizeof *t, cmp);
        double bytes = 4.0 * (double)n, med = t[REPS / 2];
        /* bus bandwidth: what a ring moves per rank, 2(N-1)/N x bytes, per second */
        if (rank == 0)
            printf("params %ld  bytes %.0f  allreduce %.3f ms  bus bandwidth %.2f GB/s\n", n, bytes, med * 1e3,
                   2.0 * (size - 1) / size * bytes / med / 1e9);
        free(g);
    }
    MPI_Finalize();
    return 0;
}
