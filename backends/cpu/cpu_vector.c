/* clforge cpu backend — the vector ops optimizers are written in. Each is
 * one streaming pass; b == 0 never reads y (stale NaN must not leak). */
#include <math.h>

#include "cpu_internal.h"

typedef struct {
    cf_op_kind kind;
    const float *x, *z;
    float *y;
    float a, b, c;
    double *partial; /* sumsq: one per thread */
} vec_job;

CPU_CLONES
static void vec_task(void *arg, int tid, long lo, long hi)
{
    const vec_job *j = arg;
    const float *x = j->x, *z = j->z;
    float *y = j->y;
    const float a = j->a, b = j->b, c = j->c;
    switch (j->kind) {
    case CF_OP_FILL:
        for (long i = lo; i < hi; i++) y[i] = a;
        break;
    case CF_OP_AXPBY:
        if (b == 0)
            for (long i = lo; i < hi; i++) y[i] = a * x[i];
        else
            for (long i = lo; i < hi; i++) y[i] = a * x[i] + b * y[i];
        break;
    case CF_OP_MUL:
        if (b == 0)
            for (long i = lo; i < hi; i++) y[i] = a * x[i] * z[i];
        else
            for (long i = lo; i < hi; i++) y[i] = a * x[i] * z[i] + b * y[i];
        break;
    case CF_OP_DIV:
        if (b == 0)
            for (long i = lo; i < hi; i++) y[i] = a * x[i] / (z[i] + c);
        else
            for (long i = lo; i < hi; i++) y[i] = a * x[i] / (z[i] + c) + b * y[i];
        break;
    case CF_OP_SQRT:
        for (long i = lo; i < hi; i++) y[i] = sqrtf(a * x[i]) + c;
        break;
    case CF_OP_SIGN:
        if (b == 0)
            for (long i = lo; i < hi; i++)
                y[i] = a * (float)((x[i] > 0) - (x[i] < 0));
        else
            for (long i = lo; i < hi; i++)
                y[i] = a * (float)((x[i] > 0) - (x[i] < 0)) + b * y[i];
        break;
    case CF_OP_MAX:
        for (long i = lo; i < hi; i++) y[i] = fmaxf(x[i], z[i]);
        break;
    case CF_OP_SUMSQ: {
        /* float lanes over blocks of 1024, blocks summed in double */
        double s = 0;
        for (long i0 = lo; i0 < hi; i0 += 1024) {
            long i1 = i0 + 1024 < hi ? i0 + 1024 : hi;
            float f = 0;
#pragma omp simd reduction(+ : f)
            for (long i = i0; i < i1; i++) f += x[i] * x[i];
            s += f;
        }
        j->partial[tid] = s;
        break;
    }
    default: break;
    }
}

cf_status cpu_vec(cpu_ctx *c, const cf_op *op, cf_error *err)
{
    static const char *names[] = {"fill", "axpby", "mul", "div", "sqrt", "sign", "max", "sumsq"};
    const char *name = names[op->kind - CF_OP_FILL];
    int nin = op->kind == CF_OP_FILL ? 0
              : (op->kind == CF_OP_MUL || op->kind == CF_OP_DIV || op->kind == CF_OP_MAX) ? 2
                                                                                          : 1;
    CF_TRY(cpu_need(op, nin, 1, name, err));
    vec_job j = {0};
    j.kind = op->kind;
    j.a = op->p.vec.a;
    j.b = op->p.vec.b;
    j.c = op->p.vec.c;
    j.y = cpu_data(op->out[0]);
    if (nin >= 1) j.x = cpu_data(op->in[0]);
    if (nin >= 2) {
        j.z = cpu_data(op->in[1]);
        CF_TRY(cpu_same_numel(op->in[0], op->in[1], name, err));
    }
    long n;
    if (op->kind == CF_OP_SUMSQ) {
        if (cf_tensor_numel(op->out[0]) != 1)
            return cpu_err(err, CF_ERR_INVALID, "cpu backend: sumsq: output %s has %zu elements, "
                           "expected 1", cpu_tname(op->out[0]), cf_tensor_numel(op->out[0]));
        n = (long)cf_tensor_numel(op->in[0]);
        double part[64] = {0};
        j.partial = part;
        int T = cpu_pool_size(c->pool);
        if (n < CPU_PAR_MIN || T > 64)
            vec_task(&j, 0, 0, n);
        else
            cpu_pool_run(c->pool, n, vec_task, &j);
        double s = 0;
        for (int t = 0; t < 64; t++) s += part[t];
        float r = (float)(j.a * s);
        j.y[0] = j.b == 0 ? r : r + j.b * j.y[0];
        return CF_OK;
    }
    n = (long)cf_tensor_numel(op->out[0]);
    if (nin >= 1) CF_TRY(cpu_same_numel(op->in[0], op->out[0], name, err));
    if (n < CPU_PAR_MIN)
        vec_task(&j, 0, 0, n);
    else
        cpu_pool_run(c->pool, n, vec_task, &j);
    return CF_OK;
}
