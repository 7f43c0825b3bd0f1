/* clforge cpu backend — elementwise add and activations (forward and
 * backward), split over the pool in contiguous element ranges. As in the
 * reference, act_bwd takes the slope from x (the left derivative at a kink),
 * and add is a forward op (no accumulate). */
#include <math.h>

#include "cpu_internal.h"

typedef struct {
    const float *a, *b; /* add: a, b; act fwd: x; act bwd: dy, x */
    float *out;
    cf_act act;
    float alpha;
    int acc;
} ew_job;

CPU_CLONES
static void add_task(void *arg, int tid, long b, long e)
{
    const ew_job *j = arg;
    const float *x = j->a, *z = j->b;
    float *y = j->out;
    for (long i = b; i < e; i++) y[i] = x[i] + z[i];
}

static inline float sigmoid_slope(float x)
{
    float s = 1.0f / (1.0f + expf(-x));
    return s * (1.0f - s);
}
static inline float tanh_slope(float x)
{
    float t = tanhf(x);
    return 1.0f - t * t;
}
static inline float gelu_cdf(float x) { return 0.5f * (1.0f + erff(x * 0.70710678118654752f)); }

CPU_CLONES
static void act_fwd_task(void *arg, int tid, long b, long e)
{
    const ew_job *j = arg;
    const float *x = j->a;
    float *y = j->out;
    const float al = j->alpha;
    switch (j->act) {
    case CF_ACT_NONE: for (long i = b; i < e; i++) y[i] = x[i]; break;
    case CF_ACT_RELU: for (long i = b; i < e; i++) y[i] = x[i] > 0 ? x[i] : 0.0f; break;
    case CF_ACT_LEAKY_RELU: for (long i = b; i < e; i++) y[i] = x[i] > 0 ? x[i] : al * x[i]; break;
    case CF_ACT_SIGMOID: for (long i = b; i < e; i++) y[i] = 1.0f / (1.0f + expf(-x[i])); break;
    case CF_ACT_TANH: for (long i = b; i < e; i++) y[i] = tanhf(x[i]); break;
    case CF_ACT_ELU:
        for (long i = b; i < e; i++) y[i] = x[i] > 0 ? x[i] : al * expm1f(x[i]);
        break;
    case CF_ACT_GELU: for (long i = b; i < e; i++) y[i] = x[i] * gelu_cdf(x[i]); break;
    default: break;
    }
}

#define ACC_STORE(expr)                                                                            \
    do {                                                                                           \
        if (j->acc)                                                                                \
            for (long i = b; i < e; i++) dx[i] += (expr);                                          \
        else                                                                                       \
            for (long i = b; i < e; i++) dx[i] = (expr);                                           \
    } while (0)

CPU_CLONES
static void act_bwd_task(void *arg, int tid, long b, long e)
{
    const ew_job *j = arg;
    const float *dy = j->a, *x = j->b;
    float *dx = j->out;
    const float al = j->alpha;
    switch (j->act) {
    case CF_ACT_NONE: ACC_STORE(dy[i]); break;
    case CF_ACT_RELU: ACC_STORE(x[i] > 0 ? dy[i] : 0.0f); break;
    case CF_ACT_LEAKY_RELU: ACC_STORE(x[i] > 0 ? dy[i] : al * dy[i]); break;
    case CF_ACT_SIGMOID: ACC_STORE(dy[i] * sigmoid_slope(x[i])); break;
    case CF_ACT_TANH: ACC_STORE(dy[i] * tanh_slope(x[i])); break;
    case CF_ACT_ELU: ACC_STORE(x[i] > 0 ? dy[i] : dy[i] * al * expf(x[i])); break;
    case CF_ACT_GELU:
        ACC_STORE(dy[i] * (gelu_cdf(x[i]) +
                           x[i] * 0.39894228040143268f * expf(-0.5f * x[i] * x[i])));
        break;
    default: break;
    }
}

static void run_elems(cpu_ctx *c, long n, cpu_task_fn fn, void *j)
{
    if (n < CPU_PAR_MIN)
        fn(j, 0, 0, n);
    else
        cpu_pool_run(c->pool, n, fn, j);
}

/* one pass: add, then the activation, while the range is in cache */
static void add_act_task(void *arg, int tid, long b, long e)
{
    const ew_job *j = arg;
    for (long c0 = b; c0 < e; c0 += 4096) {
        long c1 = e - c0 < 4096 ? e : c0 + 4096;
        if (j->b) add_task(arg, tid, c0, c1);
        act_fwd_task(arg, tid, c0, c1);
    }
}

void cpu_add_act_inplace(cpu_ctx *c, float *y, const float *z, long n, cf_act act, float alpha)
{
    ew_job j = {.a = y, .b = z, .out = y, .act = act, .alpha = alpha};
    run_elems(c, n, add_act_task, &j);
}

cf_status cpu_act(cpu_ctx *c, const cf_op *op, cf_error *err)
{
    ew_job j = {0};
    j.acc = op->accumulate != 0;
    j.act = op->p.act.act;
    j.alpha = op->p.act.alpha;
    switch (op->kind) {
    case CF_OP_ADD:
        CF_TRY(cpu_need(op, 2, 1, "add", err));
        CF_TRY(cpu_same_numel(op->in[0], op->in[1], "add", err));
        CF_TRY(cpu_same_numel(op->in[0], op->out[0], "add", err));
        j.a = cpu_data(op->in[0]);
        j.b = cpu_data(op->in[1]);
        j.out = cpu_data(op->out[0]);
        run_elems(c, (long)cf_tensor_numel(op->out[0]), add_task, &j);
        return CF_OK;
    case CF_OP_ACT_FWD:
        CF_TRY(cpu_need(op, 1, 1, "act_fwd", err));
        CF_TRY(cpu_same_numel(op->in[0], op->out[0], "act_fwd", err));
        if ((int)j.act < 0 || j.act >= CF_ACT_COUNT)
            return cpu_err(err, CF_ERR_INVALID, "cpu backend: act_fwd: unknown activation %d",
                           (int)j.act);
        j.a = cpu_data(op->in[0]);
        j.out = cpu_data(op->out[0]);
        run_elems(c, (long)cf_tensor_numel(op->out[0]), act_fwd_task, &j);
        return CF_OK;
    case CF_OP_ACT_BWD:
        if ((int)j.act < 0 || j.act >= CF_ACT_COUNT)
            return cpu_err(err, CF_ERR_INVALID, "cpu backend: act_bwd: unknown activation %d",
                           (int)j.act);
        /* the slope is recomputed from x: y (input 2) is not needed */
        CF_TRY(cpu_need(op, 2, 1, "act_bwd", err));
        CF_TRY(cpu_same_numel(op->in[0], op->in[1], "act_bwd", err));
        CF_TRY(cpu_same_numel(op->in[0], op->out[0], "act_bwd", err));
        j.a = cpu_data(op->in[0]);
        j.b = cpu_data(op->in[1]);
        j.out = cpu_data(op->out[0]);
        run_elems(c, (long)cf_tensor_numel(op->out[0]), act_bwd_task, &j);
        return CF_OK;
    default: break;
    }
    return cpu_err(err, CF_ERR_UNSUPPORTED, "cpu backend: activation: unexpected op %d",
                   (int)op->kind);
}
