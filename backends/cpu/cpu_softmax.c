/* clforge cpu backend — row softmax, forward and backward. Rows are short
 * (class counts), so rows are split over the pool only for large batches. */
#include <math.h>

#include "cpu_internal.h"

typedef struct {
    const float *x, *dy, *y;
    float *out;
    long F;
    int acc;
} sm_job;

static void softmax_fwd_task(void *arg, int tid, long b, long e)
{
    const sm_job *j = arg;
    for (long n = b; n < e; n++) {
        const float *x = j->x + n * j->F;
        float *y = j->out + n * j->F;
        float m = x[0];
        for (long k = 1; k < j->F; k++) m = x[k] > m ? x[k] : m;
        float s = 0;
        for (long k = 0; k < j->F; k++) {
            y[k] = expf(x[k] - m);
            s += y[k];
        }
        float inv = 1.0f / s;
        for (long k = 0; k < j->F; k++) y[k] *= inv;
    }
}

static void softmax_bwd_task(void *arg, int tid, long b, long e)
{
    const sm_job *j = arg;
    for (long n = b; n < e; n++) {
        const float *dy = j->dy + n * j->F, *y = j->y + n * j->F;
        float *dx = j->out + n * j->F;
        float s = 0;
        for (long k = 0; k < j->F; k++) s += dy[k] * y[k];
        if (j->acc)
            for (long k = 0; k < j->F; k++) dx[k] += y[k] * (dy[k] - s);
        else
            for (long k = 0; k < j->F; k++) dx[k] = y[k] * (dy[k] - s);
    }
}

cf_status cpu_softmax(cpu_ctx *c, const cf_op *op, cf_error *err)
{
    sm_job j = {0};
    j.acc = op->accumulate != 0;
    const int fwd = op->kind == CF_OP_SOFTMAX_FWD;
    const char *name = fwd ? "softmax_fwd" : "softmax_bwd";
    CF_TRY(cpu_need(op, fwd ? 1 : 2, 1, name, err));
    const cf_tensor *x = op->in[0];
    CF_TRY(cpu_same_numel(x, op->out[0], name, err));
    if (!fwd) CF_TRY(cpu_same_numel(x, op->in[1], name, err));
    long N = x->shape[0];
    j.F = (long)cf_tensor_row(x);
    if (N == 0 || j.F == 0) return CF_OK;
    j.out = cpu_data(op->out[0]);
    if (fwd)
        j.x = cpu_data(x);
    else {
        j.dy = cpu_data(x);
        j.y = cpu_data(op->in[1]);
    }
    cpu_task_fn fn = fwd ? softmax_fwd_task : softmax_bwd_task;
    if (N * j.F < CPU_PAR_MIN)
        fn(&j, 0, 0, N);
    else
        cpu_pool_run(c->pool, N, fn, &j);
    return CF_OK;
}
