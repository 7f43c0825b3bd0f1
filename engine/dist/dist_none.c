/* The world without MPI: one rank. Started by mpirun anyway (several copies
 * that would each train alone), init says so instead of training N times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dist/dist.h"

static int g_env_rank;
static char g_host[256];

static int env_int(const char *a, const char *b)
{
    const char *v = getenv(a);
    if (!v) v = getenv(b);
    return v ? atoi(v) : -1;
}

cf_status cf_dist_init(int *argc, char ***argv, cf_error *err)
{
    (void)argc;
    (void)argv;
    if (gethostname(g_host, sizeof g_host - 1)) snprintf(g_host, sizeof g_host, "localhost");
    if (getenv("CLFORGE_NO_MPI")) return CF_OK;
    int size = env_int("OMPI_COMM_WORLD_SIZE", "PMI_SIZE");
    int rank = env_int("OMPI_COMM_WORLD_RANK", "PMI_RANK");
    if (size > 1) {
        g_env_rank = rank > 0 ? rank : 0;
        return cf_error_set(err, CF_ERR_UNSUPPORTED,
                            "started by mpirun with %d ranks, but this clforge was built without MPI "
                            "(./configure found no mpicc, or --disable-mpi): each rank would work alone. "
                            "Install Open MPI (libopenmpi-dev), rerun ./configure (it prints \"checking for "
                            "MPI... yes\") and make, or run without mpirun",
                            size);
    }
    return CF_OK;
}

void cf_dist_finalize(void) {}
void cf_dist_abort(int code) { exit(code); }
/* the launcher's rank, so that only rank 0 prints init's error */
int cf_dist_rank(void) { return g_env_rank; }
int cf_dist_size(void) { return 1; }
int cf_dist_error_shared(void) { return 0; }
void cf_dist_release(void) {}
int cf_dist_local_rank(void) { return 0; }
int cf_dist_active(void) { return 0; }
int cf_dist_built_with_mpi(void) { return 0; }
const char *cf_dist_host(void) { return g_host[0] ? g_host : "localhost"; }

char *cf_dist_hosts(void)
{
    char *s = malloc(strlen(cf_dist_host()) + 8);
    if (s) sprintf(s, "%s:0", cf_dist_host());
    return s;
}

cf_status cf_dist_allreduce_float(float *buf, size_t n, cf_error *err) { return CF_OK; }
cf_status cf_dist_allreduce_double(double *buf, int n, cf_error *err) { return CF_OK; }
cf_status cf_dist_iallreduce_float(float *buf, size_t n, cf_error *err) { return CF_OK; }
void cf_dist_progress(void) {}
cf_status cf_dist_wait_all(cf_error *err) { return CF_OK; }
cf_status cf_dist_max_int(int *v, cf_error *err) { return CF_OK; }
cf_status cf_dist_bcast(void *buf, size_t bytes, int root, cf_error *err) { return CF_OK; }
cf_status cf_dist_allgather(const void *mine, void *all, size_t bytes, cf_error *err)
{
    memcpy(all, mine, bytes);
    return CF_OK;
}
cf_status cf_dist_agree(cf_status st, cf_error *err) { return st; }
cf_status cf_dist_send(int dst, int tag, const void *buf, size_t bytes, cf_error *err)
{
    return cf_error_set(err, CF_ERR_UNSUPPORTED, "built without MPI");
}
int cf_dist_recv(int *src, int *tag, void **buf, size_t *bytes, int timeout_ms, cf_error *err)
{
    cf_error_set(err, CF_ERR_UNSUPPORTED, "built without MPI");
    return -1;
}
