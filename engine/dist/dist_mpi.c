/* The world on Open MPI (or any MPI): initialised only when a launcher
 * started this process, so a plain `clforge train` never needs mpirun. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dist/dist.h"

static int g_active, g_rank, g_size = 1, g_shared, g_local;
static char g_host[256];

static int launched(void)
{
    /* Children of a tuning worker inherit the launcher's variables but are
     * processes of their own, never members of the world. */
    if (getenv("CLFORGE_NO_MPI")) return 0;
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE");
}

static cf_status mpi_err(cf_error *err, int rc, const char *what)
{
    char s[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(rc, s, &n);
    return cf_error_set(err, CF_ERR_IO, "MPI %s failed: %s", what, s);
}
#define MPI_TRY(call, what)                                                                         \
    do {                                                                                            \
        int rc_ = (call);                                                                           \
        if (rc_ != MPI_SUCCESS) return mpi_err(err, rc_, what);                                      \
    } while (0)

cf_status cf_dist_init(int *argc, char ***argv, cf_error *err)
{
    if (gethostname(g_host, sizeof g_host - 1)) snprintf(g_host, sizeof g_host, "localhost");
    if (g_active || !launched()) return CF_OK;
    int provided;
    /* FUNNELED: only the main thread calls MPI (the prefetch thread never does) */
    MPI_TRY(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "init");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    MPI_Comm node; /* the ranks sharing this node's memory: one device each */
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_rank(node, &g_local);
        MPI_Comm_free(&node);
    }
    g_active = 1;
    setenv("CLFORGE_NO_MPI", "1", 1); /* for the processes this one starts */
    return CF_OK;
}

void cf_dist_finalize(void)
{
    if (g_active) MPI_Finalize();
    g_active = 0;
}

void cf_dist_abort(int code)
{
    if (g_active) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

int cf_dist_rank(void) { return g_rank; }
int cf_dist_error_shared(void) { return g_shared; }
void cf_dist_release(void) { g_shared = 1; }
int cf_dist_local_rank(void) { return g_local; }
int cf_dist_size(void) { return g_size; }
int cf_dist_active(void) { return g_active; }
int cf_dist_built_with_mpi(void) { return 1; }
const char *cf_dist_host(void) { return g_host[0] ? g_host : "localhost"; }

char *cf_dist_hosts(void)
{
    char mine[256], *all = calloc((size_t)g_size, sizeof mine);
    char *out = calloc((size_t)g_size, sizeof mine + 16);
    if (!all || !out) {
        free(all);
        free(out);
        return NULL;
    }
    snprintf(mine, sizeof mine, "%s", cf_dist_host());
    cf_error e;
    if (g_size > 1 && cf_dist_allgather(mine, all, sizeof mine, &e)) snprintf(all, sizeof mine, "%s", mine);
    else if (g_size == 1) memcpy(all, mine, sizeof mine);
    size_t at = 0;
    for (int r = 0; r < g_size; r++)
        at += (size_t)sprintf(out + at, "%s%s:%d", r ? "," : "", all + (size_t)r * sizeof mine, r);
    free(all);
    return out;
}

cf_status cf_dist_allreduce_float(float *buf, size_t n, cf_error *err)
{
    if (g_size == 1) return CF_OK;
    /* int counts: reduce in pieces well under INT_MAX */
    for (size_t at = 0; at < n; at += (size_t)1 << 28) {
        size_t k = n - at < ((size_t)1 << 28) ? n - at : (size_t)1 << 28;
        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, buf + at, (int)k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "allreduce");
    }
    return CF_OK;
}

/* the requests started and not yet waited for */
static MPI_Request *g_req;
static int g_nreq, g_capreq;

cf_status cf_dist_iallreduce_float(float *buf, size_t n, cf_error *err)
{
    if (g_size == 1) return CF_OK;
    for (size_t at = 0; at < n; at += (size_t)1 << 28) {
        size_t k = n - at < ((size_t)1 << 28) ? n - at : (size_t)1 << 28;
        if (g_nreq == g_capreq) {
            int cap = g_capreq ? 2 * g_capreq : 64;
            MPI_Request *r = realloc(g_req, (size_t)cap * sizeof *r);
            if (!r) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
            g_req = r;
            g_capreq = cap;
        }
        MPI_TRY(MPI_Iallreduce(MPI_IN_PLACE, buf + at, (int)k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &g_req[g_nreq]),
                "allreduce");
        g_nreq++;
    }
    return CF_OK;
}

void cf_dist_progress(void)
{
    int done;
    if (g_nreq) MPI_Testall(g_nreq, g_req, &done, MPI_STATUSES_IGNORE);
}

cf_status cf_dist_wait_all(cf_error *err)
{
    int n = g_nreq;
    g_nreq = 0;
    if (n) MPI_TRY(MPI_Waitall(n, g_req, MPI_STATUSES_IGNORE), "allreduce wait");
    return CF_OK;
}

cf_status cf_dist_allreduce_double(double *buf, int n, cf_error *err)
{
    if (g_size == 1) return CF_OK;
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "allreduce");
    return CF_OK;
}

cf_status cf_dist_max_int(int *v, cf_error *err)
{
    if (g_size == 1) return CF_OK;
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "allreduce");
    return CF_OK;
}

cf_status cf_dist_bcast(void *buf, size_t bytes, int root, cf_error *err)
{
    if (g_size == 1) return CF_OK;
    for (size_t at = 0; at < bytes; at += (size_t)1 << 30) {
        size_t k = bytes - at < ((size_t)1 << 30) ? bytes - at : (size_t)1 << 30;
        MPI_TRY(MPI_Bcast((char *)buf + at, (int)k, MPI_BYTE, root, MPI_COMM_WORLD), "broadcast");
    }
    return CF_OK;
}

cf_status cf_dist_allgather(const void *mine, void *all, size_t bytes, cf_error *err)
{
    if (g_size == 1) {
        memcpy(all, mine, bytes);
        return CF_OK;
    }
    MPI_TRY(MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, MPI_COMM_WORLD), "allgather");
    return CF_OK;
}

cf_status cf_dist_agree(cf_status st, cf_error *err)
{
    if (g_size == 1) return st;
    int *all = malloc((size_t)g_size * sizeof *all);
    if (!all) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    int mine = (int)st;
    cf_error e;
    if (cf_dist_allgather(&mine, all, sizeof mine, &e)) {
        free(all);
        *err = e;
        return e.status;
    }
    int k = -1;
    for (int r = 0; r < g_size && k < 0; r++)
        if (all[r]) k = r;
    cf_status out = k >= 0 ? (cf_status)all[k] : CF_OK;
    free(all);
    if (k < 0) return CF_OK;
    char msg[CF_ERROR_MSG_MAX];
    if (g_rank == k) {
        if (k) snprintf(msg, sizeof msg, "rank %d (%s): %s", k, cf_dist_host(), err->msg);
        else snprintf(msg, sizeof msg, "%s", err->msg);
    }
    if (cf_dist_bcast(msg, sizeof msg, k, &e)) {
        *err = e;
        return e.status;
    }
    msg[sizeof msg - 1] = 0;
    g_shared = 1;
    return cf_error_set(err, out, "%s", msg);
}

cf_status cf_dist_send(int dst, int tag, const void *buf, size_t bytes, cf_error *err)
{
    MPI_TRY(MPI_Send(buf, (int)bytes, MPI_BYTE, dst, tag, MPI_COMM_WORLD), "send");
    return CF_OK;
}

int cf_dist_recv(int *src, int *tag, void **buf, size_t *bytes, int timeout_ms, cf_error *err)
{
    struct timespec t0, now, nap = {0, 1000000}; /* 1 ms: a poll, not a spin */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int flag = 0;
        MPI_Status ps;
        int rc = MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &ps);
        if (rc != MPI_SUCCESS) {
            mpi_err(err, rc, "probe");
            return -1;
        }
        if (flag) {
            int n = 0;
            MPI_Get_count(&ps, MPI_BYTE, &n);
            char *b = malloc((size_t)n + 1);
            if (!b) {
                cf_error_set(err, CF_ERR_NOMEM, "out of memory");
                return -1;
            }
            rc = MPI_Recv(b, n, MPI_BYTE, ps.MPI_SOURCE, ps.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS) {
                free(b);
                mpi_err(err, rc, "receive");
                return -1;
            }
            b[n] = 0;
            *src = ps.MPI_SOURCE;
            *tag = ps.MPI_TAG;
            *buf = b;
            *bytes = (size_t)n;
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        double ms = (now.tv_sec - t0.tv_sec) * 1e3 + (now.tv_nsec - t0.tv_nsec) / 1e6;
        if (ms >= timeout_ms) return 0;
        nanosleep(&nap, NULL);
    }
}
