/* clforge — the process group a run belongs to (MPI when launched by mpirun,
 * otherwise a world of one). The only layer that talks to MPI: train/ and
 * tune/ call these, tools/ initialises and finalises. Every call is
 * collective unless it says otherwise. */
#ifndef CLFORGE_DIST_H
#define CLFORGE_DIST_H

#include <stddef.h>
#include <stdint.h>
#include "clforge/error.h"

/* Join the launcher's world when there is one (OMPI_COMM_WORLD_SIZE /
 * PMIX_RANK / PMI_SIZE in the environment); a plain run never touches MPI.
 * A build without MPI started by mpirun with several ranks fails here with
 * one message (the caller prints it on rank 0 only). */
cf_status cf_dist_init(int *argc, char ***argv, cf_error *err);
void cf_dist_finalize(void);
/* Ends every rank (tools/ only: the library returns errors). */
void cf_dist_abort(int code);
int cf_dist_rank(void);
int cf_dist_size(void);
int cf_dist_active(void);       /* 1 when MPI was initialised (even with one rank) */
int cf_dist_built_with_mpi(void);
/* This rank's index among the ranks on its node (0 without MPI). */
int cf_dist_local_rank(void);
/* backend.device for this rank: a comma-separated list ("0,1,2,3") names one
 * device per local rank (entry local_rank mod count); anything else is
 * returned as it is. buf holds the entry. */
const char *cf_dist_device(const char *spec, char *buf, size_t cap);
/* This rank's host name (not collective). */
const char *cf_dist_host(void);
/* "host:rank,host:rank..." of every rank, in rank order (malloc'd). */
char *cf_dist_hosts(void);

cf_status cf_dist_allreduce_float(float *buf, size_t n, cf_error *err); /* in place, sum */
cf_status cf_dist_allreduce_double(double *buf, int n, cf_error *err);  /* in place, sum */
/* Non-blocking sum allreduce in place (the gradient buckets): started now,
 * finished by cf_dist_wait_all; buf must stay untouched until then. Every
 * rank starts the same sequence of them. */
cf_status cf_dist_iallreduce_float(float *buf, size_t n, cf_error *err);
/* Let started allreduces move on: Open MPI has no progress thread by
 * default and advances non-blocking collectives only inside MPI calls. */
void cf_dist_progress(void);
cf_status cf_dist_wait_all(cf_error *err);
cf_status cf_dist_max_int(int *v, cf_error *err);                       /* in place, max */
cf_status cf_dist_bcast(void *buf, size_t bytes, int root, cf_error *err);
/* Every rank's fixed-size record, in rank order, on every rank (all: size x bytes). */
cf_status cf_dist_allgather(const void *mine, void *all, size_t bytes, cf_error *err);

/* One status for the whole world. Every rank passes its own st/err; if any
 * rank failed, every rank returns the lowest failed rank's status, and err
 * holds that rank's message prefixed "rank K (host): " (when K != 0).
 * Without it a rank that failed alone leaves the others waiting forever in
 * the next collective. */
cf_status cf_dist_agree(cf_status st, cf_error *err);
/* 1 once cf_dist_agree returned a failure (every rank knows it, rank 0 says
 * it) or cf_dist_release was called: no rank waits for this one any more. */
int cf_dist_error_shared(void);
/* This rank has told the others to finish (the tuner's QUIT to its workers). */
void cf_dist_release(void);

/* check.c: every rank runs clforge `version` and read the same `what`
 * (crc: its text, e.g. the config with --set applied). */
cf_status cf_dist_same(const char *version, uint32_t crc, const char *what, cf_error *err);
const char *cf_dist_version(void); /* this clforge's version, as the ranks compare it */

/* Point to point, for the tuning runner (not collective). */
cf_status cf_dist_send(int dst, int tag, const void *buf, size_t bytes, cf_error *err);
/* Wait up to timeout_ms for a message from any rank: 1 = received (buf
 * malloc'd; src, tag and bytes set), 0 = nothing yet, -1 = error. */
int cf_dist_recv(int *src, int *tag, void **buf, size_t *bytes, int timeout_ms, cf_error *err);

#endif
