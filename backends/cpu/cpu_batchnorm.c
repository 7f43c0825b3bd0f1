/* clforge cpu backend — batch normalisation over (N, H, W) per channel.
 * Channels are split over the pool; statistics are summed in double (two
 * passes: mean, then centred variance) so they match the reference closely
 * on large batches. */
#include <math.h>
#include <string.h>

#include "cpu_internal.h"

/* Plane sums: vector lanes in float (each sums only HW/16 values), planes
 * combined in double. */
CPU_CLONES
static float plane_sum(const float *p, long n)
{
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (long i = 0; i < n; i++) s += p[i];
    return s;
}

CPU_CLONES
static float plane_devsq(const float *p, long n, float mean)
{
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (long i = 0; i < n; i++) s += (p[i] - mean) * (p[i] - mean);
    return s;
}

CPU_CLONES
static void plane_bwd_sums(const float *g, const float *x, long n, float mean, float invstd,
                           double *sdy, double *sdyx)
{
    float a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (long i = 0; i < n; i++) {
        a += g[i];
        b += g[i] * ((x[i] - mean) * invstd);
    }
    *sdy += a;
    *sdyx += b;
}

CPU_CLONES
static void plane_affine(const float *x, float *y, long n, float scale, float shift)
{
    for (long i = 0; i < n; i++) y[i] = x[i] * scale + shift;
}

typedef struct {
    long N, C, HW;
    const float *x, *gamma, *beta, *dy, *mean, *invstd, *rmean, *rvar;
    float *y, *dx, *dgamma, *dbeta, *smean, *sinvstd, *rm_out, *rv_out;
    float eps, momentum;
    int acc;
} bn_job;

static void bn_train_task(void *arg, int tid, long b, long e)
{
    const bn_job *j = arg;
    const double M = (double)j->N * j->HW;
    for (long c = b; c < e; c++) {
        double s = 0;
        for (long n = 0; n < j->N; n++) s += plane_sum(j->x + (n * j->C + c) * j->HW, j->HW);
        double mean = s / M, v = 0;
        for (long n = 0; n < j->N; n++)
            v += plane_devsq(j->x + (n * j->C + c) * j->HW, j->HW, (float)mean);
        double var = v / M;
        float invstd = (float)(1.0 / sqrt(var + j->eps));
        float g = j->gamma ? j->gamma[c] : 1.0f, bt = j->beta ? j->beta[c] : 0.0f;
        float fm = (float)mean, scale = g * invstd, shift = bt - fm * scale;
        for (long n = 0; n < j->N; n++)
            plane_affine(j->x + (n * j->C + c) * j->HW, j->y + (n * j->C + c) * j->HW, j->HW,
                         scale, shift);
        if (j->smean) j->smean[c] = fm;
        if (j->sinvstd) j->sinvstd[c] = invstd;
        float mom = j->momentum;
        if (j->rm_out) j->rm_out[c] = (1.0f - mom) * j->rm_out[c] + mom * fm;
        if (j->rv_out) {
            double unb = M > 1 ? var * M / (M - 1) : var;
            j->rv_out[c] = (1.0f - mom) * j->rv_out[c] + mom * (float)unb;
        }
    }
}

static void bn_eval_task(void *arg, int tid, long b, long e)
{
    const bn_job *j = arg;
    for (long c = b; c < e; c++) {
        float invstd = 1.0f / sqrtf(j->rvar[c] + j->eps);
        float g = j->gamma ? j->gamma[c] : 1.0f, bt = j->beta ? j->beta[c] : 0.0f;
        float scale = g * invstd, shift = bt - j->rmean[c] * scale;
        for (long n = 0; n < j->N; n++)
            plane_affine(j->x + (n * j->C + c) * j->HW, j->y + (n * j->C + c) * j->HW, j->HW,
                         scale, shift);
    }
}

static void bn_bwd_task(void *arg, int tid, long b, long e)
{
    const bn_job *j = arg;
    const double M = (double)j->N * j->HW;
    for (long c = b; c < e; c++) {
        const float mean = j->mean[c], invstd = j->invstd[c];
        double sdy = 0, sdyx = 0;
        for (long n = 0; n < j->N; n++)
            plane_bwd_sums(j->dy + (n * j->C + c) * j->HW, j->x + (n * j->C + c) * j->HW, j->HW,
                           mean, invstd, &sdy, &sdyx);
        float g = j->gamma ? j->gamma[c] : 1.0f;
        /* dx = g*invstd/M * (M dy - sum dy - xhat * sum dy*xhat) */
        float k1 = (float)(g * invstd), k2 = (float)(sdy / M), k3 = (float)(sdyx / M);
        for (long n = 0; n < j->N; n++) {
            const float *xp = j->x + (n * j->C + c) * j->HW;
            const float *gp = j->dy + (n * j->C + c) * j->HW;
            float *dp = j->dx + (n * j->C + c) * j->HW;
            if (j->acc)
                for (long i = 0; i < j->HW; i++)
                    dp[i] += k1 * (gp[i] - k2 - (xp[i] - mean) * invstd * k3);
            else
                for (long i = 0; i < j->HW; i++)
                    dp[i] = k1 * (gp[i] - k2 - (xp[i] - mean) * invstd * k3);
        }
        if (j->dgamma) j->dgamma[c] = (j->acc ? j->dgamma[c] : 0.0f) + (float)sdyx;
        if (j->dbeta) j->dbeta[c] = (j->acc ? j->dbeta[c] : 0.0f) + (float)sdy;
    }
}

static const float *in_opt(const cf_op *op, int i)
{
    return op->in[i] && op->in[i]->buf ? cpu_data(op->in[i]) : NULL;
}
static float *out_opt(const cf_op *op, int i)
{
    return op->out[i] && op->out[i]->buf ? cpu_data(op->out[i]) : NULL;
}

cf_status cpu_batchnorm(cpu_ctx *c, const cf_op *op, cf_error *err)
{
    static const char *names[] = {"batchnorm_fwd_train", "batchnorm_fwd_eval", "batchnorm_bwd"};
    const char *name = names[op->kind - CF_OP_BATCHNORM_FWD_TRAIN];
    const int bwd = op->kind == CF_OP_BATCHNORM_BWD;
    /* every slot the header lists is required (as in the reference) */
    CF_TRY(cpu_need(op, op->kind == CF_OP_BATCHNORM_FWD_TRAIN ? 3 : 5,
                    op->kind == CF_OP_BATCHNORM_FWD_TRAIN ? 5 : (bwd ? 3 : 1), name, err));
    if (!bwd && !(op->p.bn.eps > 0.0f))
        return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: eps must be > 0 (got %g)", name,
                       (double)op->p.bn.eps);
    const cf_tensor *x = bwd ? op->in[1] : op->in[0];
    if (x->ndim < 2)
        return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: %s must be [N,C] or [N,C,H,W]", name,
                       cpu_tname(x));
    bn_job j = {0};
    j.N = x->shape[0];
    j.C = x->shape[1];
    j.HW = j.C ? (long)(cf_tensor_row(x) / (size_t)j.C) : 0;
    j.eps = op->p.bn.eps;
    j.momentum = op->p.bn.momentum;
    j.acc = op->accumulate != 0;
    CF_TRY(cpu_same_numel(x, op->out[0], name, err));
    /* every per-channel tensor given must have C elements */
    for (int i = bwd ? 2 : 1; i < 5; i++)
        if (op->in[i] && op->in[i]->buf && cf_tensor_numel(op->in[i]) != (size_t)j.C)
            return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: %s has %zu elements, not C = %ld",
                           name, cpu_tname(op->in[i]), cf_tensor_numel(op->in[i]), j.C);
    for (int i = 1; i < 5; i++)
        if (op->out[i] && op->out[i]->buf && cf_tensor_numel(op->out[i]) != (size_t)j.C)
            return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: %s has %zu elements, not C = %ld",
                           name, cpu_tname(op->out[i]), cf_tensor_numel(op->out[i]), j.C);
    if (j.N == 0 || j.C == 0 || j.HW == 0) return CF_OK;
    cpu_task_fn fn;
    switch (op->kind) {
    case CF_OP_BATCHNORM_FWD_TRAIN:
        j.x = cpu_data(x);
        j.gamma = in_opt(op, 1);
        j.beta = in_opt(op, 2);
        j.y = cpu_data(op->out[0]);
        j.smean = out_opt(op, 1);
        j.sinvstd = out_opt(op, 2);
        j.rm_out = out_opt(op, 3);
        j.rv_out = out_opt(op, 4);
        fn = bn_train_task;
        break;
    case CF_OP_BATCHNORM_FWD_EVAL:
        j.x = cpu_data(x);
        j.gamma = in_opt(op, 1);
        j.beta = in_opt(op, 2);
        j.rmean = cpu_data(op->in[3]);
        j.rvar = cpu_data(op->in[4]);
        j.y = cpu_data(op->out[0]);
        fn = bn_eval_task;
        break;
    default:
        j.dy = cpu_data(op->in[0]);
        j.x = cpu_data(x);
        j.gamma = in_opt(op, 2);
        j.mean = cpu_data(op->in[3]);
        j.invstd = cpu_data(op->in[4]);
        j.dx = cpu_data(op->out[0]);
        j.dgamma = out_opt(op, 1);
        j.dbeta = out_opt(op, 2);
        fn = bn_bwd_task;
        break;
    }
    if (j.N * j.C * j.HW < CPU_PAR_MIN)
        fn(&j, 0, 0, j.C);
    else
        cpu_pool_run(c->pool, j.C, fn, &j);
    return CF_OK;
}
