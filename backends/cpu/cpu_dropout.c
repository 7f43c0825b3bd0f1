/* clforge cpu backend — inverted dropout with the shared Philox mask, so a
 * seed gives the same mask on every backend. */
#include "clforge/philox.h"
#include "cpu_internal.h"

typedef struct {
    const float *x;
    float *y, *mask;
    const float *dy, *m;
    float *dx;
    float rate, keep_scale;
    uint64_t seed, counter;
    int acc;
} do_job;

CPU_CLONES
static void dropout_fwd_task(void *arg, int tid, long b, long e)
{
    const do_job *j = arg;
    for (long i = b; i < e; i++) {
        float u = cf_philox_uniform(j->seed, j->counter, (uint64_t)i);
        float m = u >= j->rate ? j->keep_scale : 0.0f;
        j->mask[i] = m;
        j->y[i] = j->x[i] * m;
    }
}

CPU_CLONES
static void dropout_bwd_task(void *arg, int tid, long b, long e)
{
    const do_job *j = arg;
    if (j->acc)
        for (long i = b; i < e; i++) j->dx[i] += j->dy[i] * j->m[i];
    else
        for (long i = b; i < e; i++) j->dx[i] = j->dy[i] * j->m[i];
}

cf_status cpu_dropout(cpu_ctx *c, const cf_op *op, cf_error *err)
{
    do_job j = {0};
    j.acc = op->accumulate != 0;
    if (op->kind == CF_OP_DROPOUT_FWD) {
        CF_TRY(cpu_need(op, 1, 2, "dropout_fwd", err));
        CF_TRY(cpu_same_numel(op->in[0], op->out[0], "dropout_fwd", err));
        CF_TRY(cpu_same_numel(op->in[0], op->out[1], "dropout_fwd", err));
        j.rate = op->p.dropout.rate;
        if (!(j.rate >= 0.0f && j.rate < 1.0f))
            return cpu_err(err, CF_ERR_INVALID, "cpu backend: dropout_fwd: rate %g not in [0, 1)",
                           (double)j.rate);
        j.keep_scale = 1.0f / (1.0f - j.rate);
        j.seed = op->p.dropout.seed;
        j.counter = op->p.dropout.counter;
        j.x = cpu_data(op->in[0]);
        j.y = cpu_data(op->out[0]);
        j.mask = cpu_data(op->out[1]);
        long n = (long)cf_tensor_numel(op->out[0]);
        /* Philox is ~10x the cost of a copy per element: split earlier */
        if (n < CPU_PAR_MIN / 8)
            dropout_fwd_task(&j, 0, 0, n);
        else
            cpu_pool_run(c->pool, n, dropout_fwd_task, &j);
        return CF_OK;
    }
    CF_TRY(cpu_need(op, 2, 1, "dropout_bwd", err));
    CF_TRY(cpu_same_numel(op->in[0], op->in[1], "dropout_bwd", err));
    CF_TRY(cpu_same_numel(op->in[0], op->out[0], "dropout_bwd", err));
    j.dy = cpu_data(op->in[0]);
    j.m = cpu_data(op->in[1]);
    j.dx = cpu_data(op->out[0]);
    long n = (long)cf_tensor_numel(op->out[0]);
    if (n < CPU_PAR_MIN)
        dropout_bwd_task(&j, 0, 0, n);
    else
        cpu_pool_run(c->pool, n, dropout_bwd_task, &j);
    return CF_OK;
}
