/* clforge cpu backend — fully connected layers as three GEMMs; the bias is
 * written into y first and the GEMM adds onto it (beta = 1), so the bias
 * costs no extra pass over y. */
#include <string.h>

#include "cpu_internal.h"

cf_status cpu_dense(cpu_ctx *c, const cf_op *op, cf_error *err)
{
    const int acc = op->accumulate != 0;
    switch (op->kind) {
    case CF_OP_DENSE_FWD: {
        CF_TRY(cpu_need(op, 2, 1, "dense_fwd", err));
        const cf_tensor *x = op->in[0], *w = op->in[1], *b = op->in[2], *y = op->out[0];
        int N = x->shape[0], O = w->shape[0];
        long I = (long)cf_tensor_row(x);
        if (O <= 0 || cf_tensor_numel(w) != (size_t)O * (size_t)I ||
            cf_tensor_numel(y) != (size_t)N * (size_t)O || (b && b->buf && cf_tensor_numel(b) != (size_t)O))
            return cpu_err(err, CF_ERR_INVALID,
                           "cpu backend: dense_fwd: shapes do not match: x %s [%d x %ld], "
                           "W %s %zu elements, y %s %zu elements",
                           cpu_tname(x), N, I, cpu_tname(w), cf_tensor_numel(w), cpu_tname(y),
                           cf_tensor_numel(y));
        float *Y = cpu_data(y);
        float beta = 0;
        if (b && b->buf) {
            const float *B = cpu_data(b);
            for (int n = 0; n < N; n++) memcpy(Y + (size_t)n * O, B, sizeof(float) * (size_t)O);
            beta = 1;
        }
        cpu_sgemm(c, 0, 1, N, O, (int)I, 1.0f, cpu_data(x), (int)I, cpu_data(w), (int)I, beta, Y,
                  O);
        return CF_OK;
    }
    case CF_OP_DENSE_BWD_DATA: {
        CF_TRY(cpu_need(op, 2, 1, "dense_bwd_data", err));
        const cf_tensor *dy = op->in[0], *w = op->in[1], *dx = op->out[0];
        int N = dy->shape[0];
        long O = (long)cf_tensor_row(dy);
        long I = O > 0 ? (long)(cf_tensor_numel(w) / (size_t)O) : 0;
        if (O <= 0 || (long)w->shape[0] != O || cf_tensor_numel(dx) != (size_t)N * (size_t)I)
            return cpu_err(err, CF_ERR_INVALID,
                           "cpu backend: dense_bwd_data: shapes do not match: dy %s [%d x %ld], "
                           "W %s %zu elements, dx %s %zu elements",
                           cpu_tname(dy), N, O, cpu_tname(w), cf_tensor_numel(w), cpu_tname(dx),
                           cf_tensor_numel(dx));
        cpu_sgemm(c, 0, 0, N, (int)I, (int)O, 1.0f, cpu_data(dy), (int)O, cpu_data(w), (int)I,
                  acc ? 1.0f : 0.0f, cpu_data(dx), (int)I);
        return CF_OK;
    }
    case CF_OP_DENSE_BWD_WEIGHT: {
        CF_TRY(cpu_need(op, 2, 1, "dense_bwd_weight", err));
        const cf_tensor *dy = op->in[0], *x = op->in[1], *dw = op->out[0], *db = op->out[1];
        int N = dy->shape[0];
        long O = (long)cf_tensor_row(dy), I = (long)cf_tensor_row(x);
        if (x->shape[0] != N || cf_tensor_numel(dw) != (size_t)O * (size_t)I ||
            (db && db->buf && cf_tensor_numel(db) != (size_t)O))
            return cpu_err(err, CF_ERR_INVALID,
                           "cpu backend: dense_bwd_weight: shapes do not match: dy %s [%d x %ld], "
                           "x %s [%d x %ld], dW %s %zu elements",
                           cpu_tname(dy), N, O, cpu_tname(x), x->shape[0], I, cpu_tname(dw),
                           cf_tensor_numel(dw));
        const float *DY = cpu_data(dy);
        cpu_sgemm(c, 1, 0, (int)O, (int)I, N, 1.0f, DY, (int)O, cpu_data(x), (int)I,
                  acc ? 1.0f : 0.0f, cpu_data(dw), (int)I);
        if (db && db->buf) {
            float *DB = cpu_data(db);
            if (!acc) memset(DB, 0, sizeof(float) * (size_t)O);
            for (int n = 0; n < N; n++) {
                const float *r = DY + (size_t)n * O;
                for (long o = 0; o < O; o++) DB[o] += r[o];
            }
        }
        return CF_OK;
    }
    default: break;
    }
    return cpu_err(err, CF_ERR_UNSUPPORTED, "cpu backend: dense: unexpected op %d", (int)op->kind);
}
