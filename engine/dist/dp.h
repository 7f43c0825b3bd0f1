/* clforge — data-parallel training over the world (dist.h): shards of each
 * global batch, averaged gradients, parameters from rank 0, and the checks
 * that every rank runs the same thing. With one rank every call is a no-op,
 * so a plain run is unchanged bit for bit. */
#ifndef CLFORGE_DIST_DP_H
#define CLFORGE_DIST_DP_H

#include "model/net.h"

typedef struct cf_dp {
    int rank, size;
    float *buf; /* trainable gradients, then weight sum, failure flag, stop flag */
    size_t n;   /* gradient floats */
    double allreduce_s; /* seconds in cf_dp_grads: the allreduce time not hidden behind backward */
    long steps;
    /* Set before cf_dp_start (train.allreduce_overlap, train.bucket_mb). */
    int overlap;
    double bucket_mb;
    /* The bucket plan: trainable parameters in reverse layer order (the order
     * backward finishes them), cut into buckets of about bucket_mb; both
     * paths reduce the same buckets, so overlap never changes a bit. */
    int n_order, *order;  /* parameter indices */
    size_t *off;          /* per order entry: its floats in buf */
    int n_buckets, *first; /* bucket k: order[first[k] .. first[k+1]) */
    int *ready_at;         /* bucket k is final once backward has done this node */
    int armed, next;       /* this step's hook is live; the next bucket to start */
    double wsum;
    cf_net *hooked; /* the net whose backward calls this dp (cf_dp_free unhooks it) */
} cf_dp;

/* What every rank must agree on before training. */
typedef struct cf_dp_fingerprint {
    char version[32];
    uint32_t config_crc;
    int n_train, n_validation, n_test, classes, c, h, w;
    long parameters;
} cf_dp_fingerprint;

void cf_dp_init(cf_dp *dp);
void cf_dp_free(cf_dp *dp); /* before the net is freed */
/* train.kv_store under this world: "auto" follows the launcher; "local" with
 * several ranks and "dist_async" are refused with the reason. */
cf_status cf_dp_check_mode(const cf_dp *dp, const char *kv_store, cf_error *err);
/* This rank's part [*off, *off + *len) of global batch b of n samples, whose
 * size is per_rank x ranks (SageMaker: mini_batch_size is per machine). */
void cf_dp_shard(const cf_dp *dp, int n, int per_rank, int b, int *off, int *len);
int cf_dp_batches(const cf_dp *dp, int n, int per_rank);
int cf_dp_global_len(const cf_dp *dp, int n, int per_rank, int b); /* samples in global batch b */
/* Before the run directory exists: every rank's setup status
 * (cf_dist_agree), then the fingerprints compared with rank 0's. */
cf_status cf_dp_check(cf_dp *dp, cf_status st, const cf_dp_fingerprint *fp, cf_error *err);
/* The start of training (after a resume's checkpoint load): every rank's
 * status again, then rank 0's parameters and optimizer state broadcast, so
 * that every rank starts from exactly the same weights. */
cf_status cf_dp_start(cf_dp *dp, cf_net *net, cf_status st, cf_error *err);
/* Before this rank's forward/backward of a training step (wsum: its
 * samples' weight sum): with overlap, backward starts each bucket's
 * allreduce as soon as its gradients are final. */
void cf_dp_begin(cf_dp *dp, double wsum);
/* After backward: grads become the weighted mean over the global batch
 * (this rank's grads were averaged over its own weight sum wsum). st: this
 * rank's status of the step; stop: this rank was asked to stop. Every rank
 * returns the same status, at the same step. */
cf_status cf_dp_grads(cf_dp *dp, cf_net *net, double wsum, cf_status st, int stop, cf_error *err);
/* Every rank's running statistics (the net's non-trainable parameters, i.e.
 * batch-norm means and variances) replaced by their mean over the ranks. */
cf_status cf_dp_average_stats(cf_dp *dp, cf_net *net, cf_error *err);
/* Sums over ranks (epoch statistics). */
cf_status cf_dp_sum(cf_dp *dp, double *v, int n, cf_error *err);

#endif
