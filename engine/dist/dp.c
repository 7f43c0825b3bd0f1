/* Data-parallel training: every rank trains on its shard of the same global
 * batch and applies the same averaged gradient, so the replicas never drift
 * apart. Gradients are reduced in buckets in reverse layer order (torch DDP's
 * scheme); with overlap a backward hook (cf_net_set_grad_hook) starts each
 * bucket's non-blocking allreduce as soon as its layers are done, and
 * cf_dp_grads waits for them before the optimizer. Without overlap the same
 * buckets are started after backward, so both paths add the same numbers in
 * the same order. Batch-norm statistics stay per rank (rank 0's are saved). */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "dist/dist.h"
#include "dist/dp.h"

#define EXTRA 3 /* weight sum, failed, stop: after the last bucket */

void cf_dp_init(cf_dp *dp)
{
    memset(dp, 0, sizeof *dp);
    dp->rank = cf_dist_rank();
    dp->size = cf_dist_size();
}

void cf_dp_free(cf_dp *dp)
{
    if (dp->hooked) cf_net_set_grad_hook(dp->hooked, NULL, NULL); /* the hook points at dp */
    dp->hooked = NULL;
    free(dp->buf);
    free(dp->order);
    free(dp->off);
    free(dp->first);
    free(dp->ready_at);
    dp->buf = NULL;
    dp->order = dp->first = dp->ready_at = NULL;
    dp->off = NULL;
}

cf_status cf_dp_check_mode(const cf_dp *dp, const char *kv, cf_error *err)
{
    if (!strcmp(kv, "dist_async"))
        return cf_error_set(err, CF_ERR_UNSUPPORTED,
                            "train.kv_store = \"dist_async\" is not supported: clforge has no parameter "
                            "server; asynchronous updates would apply stale gradients and make runs "
                            "unrepeatable. Use \"dist_sync\" (every step averages all ranks' gradients)");
    if (!strcmp(kv, "local") && dp->size > 1)
        return cf_error_set(err, CF_ERR_INVALID,
                            "train.kv_store = \"local\" but mpirun started %d ranks: each would train the "
                            "same model alone. Use \"dist_sync\" (or \"auto\"), or run without mpirun",
                            dp->size);
    return CF_OK;
}

void cf_dp_shard(const cf_dp *dp, int n, int per_rank, int b, int *off, int *len)
{
    long g = (long)per_rank * dp->size, start = (long)b * g;
    long l = n - start < g ? n - start : g;
    if (l < 0) l = 0;
    /* even split, so a short last batch keeps every rank busy */
    long q = l / dp->size, rem = l % dp->size;
    *len = (int)(q + (dp->rank < rem));
    *off = (int)(start + dp->rank * q + (dp->rank < rem ? dp->rank : rem));
}

int cf_dp_global_len(const cf_dp *dp, int n, int per_rank, int b)
{
    long g = (long)per_rank * dp->size, l = n - (long)b * g;
    return (int)(l < g ? (l > 0 ? l : 0) : g);
}

int cf_dp_batches(const cf_dp *dp, int n, int per_rank)
{
    long g = (long)per_rank * dp->size;
    return (int)((n + g - 1) / g);
}

static cf_status fingerprints(const cf_dp *dp, const cf_dp_fingerprint *fp, cf_error *err)
{
    cf_dp_fingerprint *all = cf_calloc((size_t)dp->size, sizeof *all);
    char(*hosts)[64] = cf_calloc((size_t)dp->size, sizeof *hosts);
    char me[64];
    snprintf(me, sizeof me, "%s", cf_dist_host());
    cf_status st = cf_dist_allgather(fp, all, sizeof *fp, err);
    if (!st) st = cf_dist_allgather(me, hosts, sizeof me, err);
    const cf_dp_fingerprint *a = &all[0];
    for (int r = 1; r < dp->size && !st; r++) {
        const cf_dp_fingerprint *b = &all[r];
        const char *h0 = hosts[0], *h = hosts[r];
        if (strncmp(a->version, b->version, sizeof a->version))
            st = cf_error_set(err, CF_ERR_INVALID,
                              "rank %d (%s) runs clforge %.32s, rank 0 (%s) runs %.32s: install the same "
                              "version on every node",
                              r, h, b->version, h0, a->version);
        else if (a->n_train != b->n_train || a->n_validation != b->n_validation || a->n_test != b->n_test ||
                 a->classes != b->classes || a->c != b->c || a->h != b->h || a->w != b->w)
            st = cf_error_set(err, CF_ERR_INVALID,
                              "rank %d (%s) read other data than rank 0 (%s): %d training / %d validation / "
                              "%d test images, %d classes, %dx%dx%d against %d / %d / %d, %d classes, "
                              "%dx%dx%d: every rank must read the same dataset (a shared filesystem or "
                              "identical copies)",
                              r, h, h0, b->n_train, b->n_validation, b->n_test, b->classes, b->c, b->h, b->w,
                              a->n_train, a->n_validation, a->n_test, a->classes, a->c, a->h, a->w);
        else if (a->config_crc != b->config_crc)
            st = cf_error_set(err, CF_ERR_INVALID,
                              "rank %d (%s) read a different config than rank 0 (%s) (crc32c %08x vs %08x): "
                              "every rank must read the same file with the same --set options",
                              r, h, h0, b->config_crc, a->config_crc);
        else if (a->parameters != b->parameters)
            st = cf_error_set(err, CF_ERR_INVALID, "rank %d (%s) built a model of %ld parameters, rank 0 %ld",
                              r, h, b->parameters, a->parameters);
    }
    free(all);
    free(hosts);
    return st;
}

static cf_status bcast_tensor(cf_net *net, cf_tensor *t, float *tmp, cf_error *err)
{
    cf_backend *b = cf_net_backend(net);
    size_t n = cf_tensor_numel(t);
    CF_TRY(cf_tensor_download(b, t, tmp, err));
    CF_TRY(cf_dist_bcast(tmp, n * sizeof *tmp, 0, err));
    return cf_tensor_upload(b, t, tmp, err);
}

/* Trainable parameters by owning node, last first (ties: last index first),
 * cut into buckets of at least bucket_mb (a parameter is never split). A
 * parameter no node names is final only when backward ends. */
static cf_status plan(cf_dp *dp, cf_net *net, cf_error *err)
{
    int np = cf_net_n_params(net), *node = cf_calloc((size_t)np + 1, sizeof *node);
    dp->order = cf_calloc((size_t)np + 1, sizeof *dp->order);
    dp->off = cf_calloc((size_t)np + 1, sizeof *dp->off);
    dp->first = cf_calloc((size_t)np + 2, sizeof *dp->first);
    dp->ready_at = cf_calloc((size_t)np + 1, sizeof *dp->ready_at);
    if (!node || !dp->order || !dp->off || !dp->first || !dp->ready_at) {
        free(node);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    }
    dp->n_order = 0;
    for (int i = np - 1; i >= 0; i--) {
        if (!cf_net_param_at(net, i)->trainable || cf_net_param_at(net, i)->frozen) continue; /* frozen: no gradient */
        int j = dp->n_order++, nd = cf_net_param_node(net, i);
        for (; j > 0 && node[j - 1] < nd; j--) { /* stable: by node, descending */
            dp->order[j] = dp->order[j - 1];
            node[j] = node[j - 1];
        }
        dp->order[j] = i;
        node[j] = nd;
    }
    double cap = dp->bucket_mb > 0 ? dp->bucket_mb * 1048576.0 / sizeof(float) : 0;
    size_t at = 0, in_bucket = 0;
    dp->n_buckets = 0;
    for (int j = 0; j < dp->n_order; j++) {
        if (j == 0 || (double)in_bucket >= cap) {
            dp->first[dp->n_buckets] = j;
            dp->ready_at[dp->n_buckets++] = node[j];
            in_bucket = 0;
        }
        dp->off[j] = at;
        size_t k = cf_tensor_numel(&cf_net_param_at(net, dp->order[j])->grad);
        at += k;
        in_bucket += k;
        dp->ready_at[dp->n_buckets - 1] = node[j]; /* its lowest node: the last to finish */
    }
    dp->first[dp->n_buckets] = dp->n_order;
    free(node);
    return CF_OK;
}

/* Bucket k's gradients into buf, scaled by this rank's weight sum (zeros
 * when it adds nothing). */
static cf_status fill_bucket(cf_dp *dp, cf_net *net, int k, int have, cf_error *err)
{
    cf_backend *b = cf_net_backend(net);
    for (int j = dp->first[k]; j < dp->first[k + 1]; j++) {
        cf_net_param *p = cf_net_param_at(net, dp->order[j]);
        float *g = dp->buf + dp->off[j];
        size_t n = cf_tensor_numel(&p->grad);
        if (have) {
            CF_TRY(cf_tensor_download(b, &p->grad, g, err));
            for (size_t i = 0; i < n; i++) g[i] *= (float)dp->wsum;
        } else
            memset(g, 0, n * sizeof *g);
    }
    return CF_OK;
}

/* Bucket k's allreduce (the last one with the flags behind it). */
static cf_status start_bucket(cf_dp *dp, int k, cf_error *err)
{
    size_t from = k < dp->n_buckets ? dp->off[dp->first[k]] : dp->n;
    size_t to = k + 1 < dp->n_buckets ? dp->off[dp->first[k + 1]] : dp->n + EXTRA;
    dp->next = k + 1;
    return cf_dist_iallreduce_float(dp->buf + from, to - from, err);
}

/* The backward hook: every bucket whose layers are all done starts, except
 * the last, which carries the step's flags and starts in cf_dp_grads. */
static cf_status grad_hook(void *ctx, cf_net *net, int node, cf_error *err)
{
    cf_dp *dp = ctx;
    if (!dp->armed) return CF_OK; /* a backward outside the training step */
    while (dp->next < dp->n_buckets - 1 && dp->ready_at[dp->next] >= 0 && dp->ready_at[dp->next] >= node)
    {
        CF_TRY(fill_bucket(dp, net, dp->next, dp->wsum > 0, err));
        CF_TRY(start_bucket(dp, dp->next, err));
    }
    cf_dist_progress();
    return CF_OK;
}

void cf_dp_begin(cf_dp *dp, double wsum)
{
    dp->wsum = wsum;
    dp->next = 0;
    dp->armed = dp->size > 1 && dp->overlap;
}

cf_status cf_dp_check(cf_dp *dp, cf_status st, const cf_dp_fingerprint *fp, cf_error *err)
{
    if (dp->size == 1) return st;
    CF_TRY(cf_dist_agree(st, err));
    return cf_dist_agree(fingerprints(dp, fp, err), err);
}

cf_status cf_dp_start(cf_dp *dp, cf_net *net, cf_status st, cf_error *err)
{
    if (dp->size == 1) return st;
    CF_TRY(cf_dist_agree(st, err));
    size_t most = 0;
    dp->n = 0;
    for (int i = 0; i < cf_net_n_params(net); i++) {
        cf_net_param *p = cf_net_param_at(net, i);
        size_t k = cf_tensor_numel(&p->value);
        if (k > most) most = k;
        if (p->trainable && !p->frozen) dp->n += k; /* frozen (train.freeze): no gradient to average */
    }
    dp->buf = malloc((dp->n + EXTRA) * sizeof *dp->buf);
    if (!st) st = plan(dp, net, err);
    if (!st && dp->overlap) {
        cf_net_set_grad_hook(net, grad_hook, dp);
        dp->hooked = net;
    }
    float *tmp = malloc((most ? most : 1) * sizeof *tmp);
    if (!dp->buf || !tmp) st = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < cf_net_n_params(net) && !st; i++) {
        cf_net_param *p = cf_net_param_at(net, i);
        st = bcast_tensor(net, &p->value, tmp, err);
        for (int k = 0; p->trainable && p->slots && k < cf_net_slots(net) && !st; k++)
            st = bcast_tensor(net, &p->slots[k], tmp, err);
    }
    free(tmp);
    if (!st) cf_net_params_changed(net);
    return cf_dist_agree(st, err);
}

cf_status cf_dp_grads(cf_dp *dp, cf_net *net, double wsum, cf_status st, int stop, cf_error *err)
{
    if (dp->size == 1) return st;
    double t0 = cf_now();
    float *g = dp->buf;
    int have = !st && wsum > 0; /* an empty shard (short last batch) adds nothing */
    if (!dp->armed) dp->next = 0; /* no overlap (or no step began): every bucket is started here */
    dp->armed = 0;
    dp->wsum = wsum;
    cf_error e;
    /* every rank starts every bucket, also one that failed (with zeros); the
     * flags travel in the last one, with the gradients' tail */
    int last = dp->n_buckets ? dp->n_buckets - 1 : 0;
    for (int k = dp->next; k <= last; k++) {
        if (k < dp->n_buckets && fill_bucket(dp, net, k, have, &e)) {
            if (!st) *err = e;
            st = st ? st : e.status;
            have = 0;
            fill_bucket(dp, net, k, 0, &e); /* zeros: cannot fail */
        }
        if (k == last) {
            g[dp->n] = have ? (float)wsum : 0.0f;
            g[dp->n + 1] = st ? 1.0f : 0.0f;
            g[dp->n + 2] = stop ? 1.0f : 0.0f;
        }
        if (start_bucket(dp, k, &e)) {
            *err = e;
            return e.status;
        }
    }
    if (cf_dist_wait_all(&e)) {
        *err = e;
        return e.status;
    }
    if (g[dp->n + 1] > 0) return cf_dist_agree(st, err);
    if (g[dp->n + 2] > 0) /* every rank stops at this step; agreeing marks it shared */
        return cf_dist_agree(cf_error_set(err, CF_ERR_INTERRUPTED, "interrupted (a rank was asked to stop)"), err);
    float inv = g[dp->n] > 0 ? 1.0f / g[dp->n] : 0.0f;
    cf_backend *b = cf_net_backend(net);
    for (int j = 0; j < dp->n_order; j++) {
        cf_net_param *p = cf_net_param_at(net, dp->order[j]);
        size_t k = cf_tensor_numel(&p->grad);
        float *v = g + dp->off[j];
        for (size_t i = 0; i < k; i++) v[i] *= inv;
        CF_TRY(cf_tensor_upload(b, &p->grad, v, err));
    }
    dp->allreduce_s += cf_now() - t0;
    dp->steps++;
    return CF_OK;
}

cf_status cf_dp_average_stats(cf_dp *dp, cf_net *net, cf_error *err)
{
    if (dp->size == 1) return CF_OK;
    cf_backend *b = cf_net_backend(net);
    int changed = 0;
    for (int i = 0; i < cf_net_n_params(net); i++) {
        cf_net_param *p = cf_net_param_at(net, i);
        if (p->trainable || p->frozen) continue; /* frozen batch norms keep their statistics */
        size_t k = cf_tensor_numel(&p->value);
        float *v = malloc(k * sizeof *v);
        if (!v) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        cf_status st = cf_tensor_download(b, &p->value, v, err);
        if (!st) st = cf_dist_allreduce_float(v, k, err);
        for (size_t j = 0; j < k && !st; j++) v[j] /= (float)dp->size;
        if (!st) st = cf_tensor_upload(b, &p->value, v, err);
        free(v);
        if (st) return st;
        changed = 1;
    }
    if (changed) cf_net_params_changed(net); /* folded batch norms are recomputed */
    return CF_OK;
}

cf_status cf_dp_sum(cf_dp *dp, double *v, int n, cf_error *err)
{
    return dp->size == 1 ? CF_OK : cf_dist_allreduce_double(v, n, err);
}
