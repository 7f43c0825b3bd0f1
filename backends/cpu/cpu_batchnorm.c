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

/* ---- blocked layout (nChw8c / nChw16c, cpu_layout.c) ------------------------
 * Channel c of image n, pixel i sits at n*C*HW + (c/B)*HW*B + i*B + c%B, so
 * the B channels of a pixel are one vector. Images are split over the pool
 * (C/B blocks are too few to share out); per-thread channel sums in double
 * are reduced on the caller. */
#define BNB_MAX 16
typedef struct {
    long N, C, HW;
    int B, pass;
    const float *x, *dy;
    float *y, *dx;
    const float *mean, *invstd; /* [C]: pass 1 centre, affine/dx coefficients */
    const float *k1, *k2, *k3;  /* [C]: y = x k1 + k2, or dx = k1 (dy - k2 - xh k3) */
    double *part;               /* [threads][2C] */
    int acc;
} bnb_job;

CPU_CLONES
static void bnb_sums_task(void *arg, int tid, long b, long e)
{
    const bnb_job *j = arg;
    const int B = j->B;
    const long CB = j->C / B;
    double *p = j->part + (size_t)tid * 2 * j->C;
    for (long n = b; n < e; n++)
        for (long cb = 0; cb < CB; cb++) {
            size_t off = (size_t)n * j->C * j->HW + (size_t)cb * j->HW * B;
            const float *x = j->x + off, *dy = j->dy ? j->dy + off : NULL;
            const float *m = j->mean + cb * B, *is = j->invstd ? j->invstd + cb * B : NULL;
            float s1[BNB_MAX] = {0}, s2[BNB_MAX] = {0};
            if (j->pass == 0) /* sum x */
                for (long i = 0; i < j->HW; i++)
                    for (int l = 0; l < B; l++) s1[l] += x[i * B + l];
            else if (j->pass == 1) /* sum (x - mean)^2 */
                for (long i = 0; i < j->HW; i++)
                    for (int l = 0; l < B; l++) {
                        float d = x[i * B + l] - m[l];
                        s1[l] += d * d;
                    }
            else /* sum dy, sum dy xhat */
                for (long i = 0; i < j->HW; i++)
                    for (int l = 0; l < B; l++) {
                        float g = dy[i * B + l];
                        s1[l] += g;
                        s2[l] += g * ((x[i * B + l] - m[l]) * is[l]);
                    }
            for (int l = 0; l < B; l++) {
                p[cb * B + l] += s1[l];
                p[j->C + cb * B + l] += s2[l];
            }
        }
}

CPU_CLONES
static void bnb_apply_task(void *arg, int tid, long b, long e)
{
    const bnb_job *j = arg;
    const int B = j->B;
    const long CB = j->C / B;
    for (long n = b; n < e; n++)
        for (long cb = 0; cb < CB; cb++) {
            size_t off = (size_t)n * j->C * j->HW + (size_t)cb * j->HW * B;
            const float *x = j->x + off, *k1 = j->k1 + cb * B, *k2 = j->k2 + cb * B;
            if (!j->dy) { /* y = x k1 + k2 */
                float *y = j->y + off;
                for (long i = 0; i < j->HW; i++)
                    for (int l = 0; l < B; l++) y[i * B + l] = x[i * B + l] * k1[l] + k2[l];
                continue;
            }
            const float *dy = j->dy + off, *k3 = j->k3 + cb * B, *m = j->mean + cb * B,
                        *is = j->invstd + cb * B;
            float *dx = j->dx + off;
            if (j->acc)
                for (long i = 0; i < j->HW; i++)
                    for (int l = 0; l < B; l++)
                        dx[i * B + l] +=
                            k1[l] * (dy[i * B + l] - k2[l] - (x[i * B + l] - m[l]) * is[l] * k3[l]);
            else
                for (long i = 0; i < j->HW; i++)
                    for (int l = 0; l < B; l++)
                        dx[i * B + l] =
                            k1[l] * (dy[i * B + l] - k2[l] - (x[i * B + l] - m[l]) * is[l] * k3[l]);
        }
}

/* Channel sums of pass `pass` over all images into out[2C] (double). */
static void bnb_reduce(cpu_ctx *c, bnb_job *j, int pass, double *out)
{
    int T = cpu_pool_size(c->pool);
    memset(j->part, 0, sizeof(double) * 2 * (size_t)j->C * (size_t)T);
    j->pass = pass;
    cpu_pool_run(c->pool, j->N, bnb_sums_task, j);
    memset(out, 0, sizeof(double) * 2 * (size_t)j->C);
    for (int t = 0; t < T; t++)
        for (long i = 0; i < 2 * j->C; i++) out[i] += j->part[(size_t)t * 2 * j->C + i];
}

static cf_status bn_blocked(cpu_ctx *c, const cf_op *op, long N, long C, long HW, int B,
                            cf_error *err)
{
    int T = cpu_pool_size(c->pool);
    size_t nd = 2 * (size_t)C * (size_t)T + 2 * (size_t)C, nf = 6 * (size_t)C;
    double *part = (double *)cpu_scratch(c, nd * sizeof(double) + nf * sizeof(float), err);
    if (!part) return err ? err->status : CF_ERR_NOMEM;
    double *sum = part + 2 * (size_t)C * (size_t)T;
    float *mean = (float *)(sum + 2 * C), *invstd = mean + C, *k1 = invstd + C, *k2 = k1 + C,
          *k3 = k2 + C;
    const double M = (double)N * HW;
    bnb_job j = {N, C, HW, B, 0, NULL, NULL, NULL, NULL, mean, NULL, k1, k2, k3, part, 0};
    const float *gamma = in_opt(op, op->kind == CF_OP_BATCHNORM_BWD ? 2 : 1);
    if (op->kind == CF_OP_BATCHNORM_FWD_EVAL) {
        const float *beta = in_opt(op, 2), *rm = cpu_data(op->in[3]), *rv = cpu_data(op->in[4]);
        for (long ch = 0; ch < C; ch++) {
            float is = 1.0f / sqrtf(rv[ch] + op->p.bn.eps), g = gamma ? gamma[ch] : 1.0f;
            k1[ch] = g * is;
            k2[ch] = (beta ? beta[ch] : 0.0f) - rm[ch] * k1[ch];
        }
        j.x = cpu_data(op->in[0]);
        j.y = cpu_data(op->out[0]);
    } else if (op->kind == CF_OP_BATCHNORM_FWD_TRAIN) {
        const float *beta = in_opt(op, 2);
        float *smean = out_opt(op, 1), *sinv = out_opt(op, 2), *rm = out_opt(op, 3),
              *rv = out_opt(op, 4);
        j.x = cpu_data(op->in[0]);
        j.y = cpu_data(op->out[0]);
        bnb_reduce(c, &j, 0, sum);
        for (long ch = 0; ch < C; ch++) mean[ch] = (float)(sum[ch] / M);
        bnb_reduce(c, &j, 1, sum);
        float mom = op->p.bn.momentum;
        for (long ch = 0; ch < C; ch++) {
            double var = sum[ch] / M;
            float is = (float)(1.0 / sqrt(var + op->p.bn.eps)), g = gamma ? gamma[ch] : 1.0f;
            k1[ch] = g * is;
            k2[ch] = (beta ? beta[ch] : 0.0f) - mean[ch] * k1[ch];
            if (smean) smean[ch] = mean[ch];
            if (sinv) sinv[ch] = is;
            if (rm) rm[ch] = (1.0f - mom) * rm[ch] + mom * mean[ch];
            if (rv) rv[ch] = (1.0f - mom) * rv[ch] + mom * (float)(M > 1 ? var * M / (M - 1) : var);
        }
    } else {
        j.dy = cpu_data(op->in[0]);
        j.x = cpu_data(op->in[1]);
        j.mean = cpu_data(op->in[3]);
        j.invstd = cpu_data(op->in[4]);
        j.dx = cpu_data(op->out[0]);
        j.acc = op->accumulate != 0;
        bnb_reduce(c, &j, 2, sum);
        float *dg = out_opt(op, 1), *dbt = out_opt(op, 2);
        for (long ch = 0; ch < C; ch++) {
            float g = gamma ? gamma[ch] : 1.0f;
            k1[ch] = (float)(g * j.invstd[ch]);
            k2[ch] = (float)(sum[ch] / M);
            k3[ch] = (float)(sum[C + ch] / M);
            if (dg) dg[ch] = (j.acc ? dg[ch] : 0.0f) + (float)sum[C + ch];
            if (dbt) dbt[ch] = (j.acc ? dbt[ch] : 0.0f) + (float)sum[ch];
        }
    }
    cpu_pool_run(c->pool, N, bnb_apply_task, &j);
    cf_buffer *ob = op->out[0]->buf;
    const cf_buffer *xb = (op->kind == CF_OP_BATCHNORM_BWD ? op->in[1] : op->in[0])->buf;
    ob->blk = B;
    memcpy(ob->dims, xb->dims, sizeof ob->dims);
    return CF_OK;
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
    /* blocked when x (and dy, and dx if it is added to) share one blocked layout */
    const cf_buffer *xb = x->buf;
    int blk = x->ndim == 4 && xb->blk && xb->dims[0] == j.N && xb->dims[1] == j.C &&
              (long)xb->dims[2] * xb->dims[3] == j.HW && xb->blk <= BNB_MAX;
    if (blk && bwd) {
        const cf_buffer *gb = op->in[0]->buf, *ob = op->out[0]->buf;
        blk = gb->blk == xb->blk && !memcmp(gb->dims, xb->dims, sizeof gb->dims) &&
              (!j.acc || (ob->blk == xb->blk && !memcmp(ob->dims, xb->dims, sizeof ob->dims)));
    }
    if (blk) return bn_blocked(c, op, j.N, j.C, j.HW, xb->blk, err);
    CF_TRY(cpu_plain_operands(c, op, err));
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
