/* clforge cpu backend — loss functions: softmax cross-entropy, mean squared
 * error and multi-class hinge, forward (per-sample loss and prediction) and
 * backward. Tiny next to the layers, so single-threaded. */
#include <math.h>
#include <string.h>

#include "cpu_internal.h"

static const float *opt_data(const cf_tensor *t) { return t && t->buf ? cpu_data(t) : NULL; }
static float *opt_out(const cf_tensor *t) { return t && t->buf ? cpu_data(t) : NULL; }

/* First maximum of a row. */
static long row_argmax(const float *r, long K)
{
    long a = 0;
    for (long k = 1; k < K; k++)
        if (r[k] > r[a]) a = k;
    return a;
}

static cf_status check_io(const cf_op *op, const char *name, long *N, long *K, cf_error *err)
{
    CF_TRY(cpu_need(op, 2, 0, name, err));
    const cf_tensor *x = op->in[0], *t = op->in[1], *w = op->in[2];
    *N = x->shape[0];
    *K = (long)cf_tensor_row(x);
    CF_TRY(cpu_same_numel(x, t, name, err));
    if (w && w->buf && cf_tensor_numel(w) != (size_t)*N)
        return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: weight %s has %zu elements, not %ld",
                       name, cpu_tname(w), cf_tensor_numel(w), *N);
    return CF_OK;
}

/* Forward outputs, as in the reference: probs in slot 0 (softmax_xent only;
 * the slot must be empty for the others), loss [N] in slot 1 (required),
 * pred [N] in slot 2 (optional). */
static cf_status fwd_outputs(const cf_op *op, const char *name, long N, long K, float **loss,
                             float **pred, cf_error *err)
{
    if (op->kind == CF_OP_SOFTMAX_XENT_FWD) {
        if (!op->out[0] || !op->out[0]->buf || cf_tensor_numel(op->out[0]) != (size_t)(N * K))
            return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: out[0] (probs) must be [%ld,%ld]",
                           name, N, K);
    } else if (op->out[0]) {
        return cpu_err(err, CF_ERR_INVALID,
                       "cpu backend: %s: out[0] must be empty (loss goes in out[1], pred in out[2])",
                       name);
    }
    if (!op->out[1] || !op->out[1]->buf || cf_tensor_numel(op->out[1]) != (size_t)N)
        return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: out[1] (loss) must have %ld elements",
                       name, N);
    if (op->out[2] && (!op->out[2]->buf || cf_tensor_numel(op->out[2]) != (size_t)N))
        return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: out[2] (pred) must have %ld elements",
                       name, N);
    *loss = cpu_data(op->out[1]);
    *pred = opt_out(op->out[2]);
    return CF_OK;
}

cf_status cpu_loss(cpu_ctx *c, const cf_op *op, cf_error *err)
{
    static const char *names[] = {"softmax_xent_fwd", "softmax_xent_bwd", "mse_fwd",
                                  "mse_bwd",          "hinge_fwd",        "hinge_bwd"};
    const char *name = names[op->kind - CF_OP_SOFTMAX_XENT_FWD];
    long N, K;
    CF_TRY(check_io(op, name, &N, &K, err));
    const float *X = cpu_data(op->in[0]), *T = cpu_data(op->in[1]), *Wt = opt_data(op->in[2]);
    const float scale = op->p.loss.scale;
    const int acc = op->accumulate != 0;
    if (K == 0) return CF_OK;

    switch (op->kind) {
    case CF_OP_SOFTMAX_XENT_FWD: {
        float *loss, *pred, *probs = cpu_data(op->out[0]) ;
        CF_TRY(fwd_outputs(op, name, N, K, &loss, &pred, err));
        for (long n = 0; n < N; n++) {
            const float *x = X + n * K, *t = T + n * K;
            long a = row_argmax(x, K);
            float m = x[a];
            /* Each exp once when the row fits on the stack (evaluation's
             * cost at small K); the same doubles either way. */
            double s = 0, e[256];
            int keep = K <= 256;
            for (long k = 0; k < K; k++) {
                double v = exp((double)x[k] - m);
                if (keep) e[k] = v;
                s += v;
            }
            double lse = log(s);
            for (long k = 0; k < K; k++) probs[n * K + k] = (float)((keep ? e[k] : exp((double)x[k] - m)) / s);
            {
                double l = 0;
                for (long k = 0; k < K; k++)
                    if (t[k] != 0) l -= (double)t[k] * ((double)x[k] - m - lse);
                loss[n] = (float)((Wt ? Wt[n] : 1.0f) * l);
            }
            if (pred) pred[n] = (float)a;
        }
        return CF_OK;
    }
    case CF_OP_MSE_FWD: {
        float *loss, *pred;
        CF_TRY(fwd_outputs(op, name, N, K, &loss, &pred, err));
        for (long n = 0; n < N; n++) {
            const float *x = X + n * K, *t = T + n * K;
            {
                double s = 0;
                for (long k = 0; k < K; k++) s += ((double)x[k] - t[k]) * ((double)x[k] - t[k]);
                loss[n] = (float)((Wt ? Wt[n] : 1.0f) * s / (double)K);
            }
            if (pred) pred[n] = (float)row_argmax(x, K);
        }
        return CF_OK;
    }
    case CF_OP_HINGE_FWD: {
        float *loss, *pred;
        CF_TRY(fwd_outputs(op, name, N, K, &loss, &pred, err));
        for (long n = 0; n < N; n++) {
            const float *x = X + n * K, *t = T + n * K;
            {
                long y = row_argmax(t, K);
                double s = 0;
                for (long k = 0; k < K; k++) {
                    if (k == y) continue;
                    double mgn = 1.0 - x[y] + x[k];
                    if (mgn > 0) s += mgn;
                }
                loss[n] = (float)((Wt ? Wt[n] : 1.0f) * s / (double)K);
            }
            if (pred) pred[n] = (float)row_argmax(x, K);
        }
        return CF_OK;
    }
    default: break;
    }

    /* backward: out[0] = d input */
    if (!op->out[0] || !op->out[0]->buf)
        return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: output 0 is missing", name);
    CF_TRY(cpu_same_numel(op->in[0], op->out[0], name, err));
    float *D = cpu_data(op->out[0]);
    if (!acc) memset(D, 0, sizeof(float) * (size_t)(N * K));
    for (long n = 0; n < N; n++) {
        const float *x = X + n * K, *t = T + n * K;
        float *d = D + n * K;
        float s = scale * (Wt ? Wt[n] : 1.0f);
        switch (op->kind) {
        case CF_OP_SOFTMAX_XENT_BWD:
            for (long k = 0; k < K; k++) d[k] += s * (x[k] - t[k]);
            break;
        case CF_OP_MSE_BWD: {
            float f = s * 2.0f / (float)K;
            for (long k = 0; k < K; k++) d[k] += f * (x[k] - t[k]);
            break;
        }
        default: { /* hinge */
            long y = row_argmax(t, K);
            float f = s / (float)K;
            for (long k = 0; k < K; k++) {
                if (k == y) continue;
                if (1.0f - x[y] + x[k] > 0) {
                    d[k] += f;
                    d[y] -= f;
                }
            }
            break;
        }
        }
    }
    return CF_OK;
}

/* Sigmoid + binary cross-entropy (multi-label), as the reference: per label
 * (1 - t + c t) softplus(x) - c t x with c = pos_weight[k] (in[3], optional). */
static double softplus(double x) { return (x > 0 ? x : 0) + log1p(exp(-fabs(x))); }

cf_status cpu_bce(cpu_ctx *c, const cf_op *op, cf_error *err)
{
    (void)c;
    const char *name = op->kind == CF_OP_SIGMOID_BCE_FWD ? "sigmoid_bce_fwd" : "sigmoid_bce_bwd";
    long N, K;
    CF_TRY(check_io(op, name, &N, &K, err));
    const cf_tensor *pwt = op->in[3];
    if (pwt && pwt->buf && cf_tensor_numel(pwt) != (size_t)K)
        return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: pos_weight %s has %zu elements, not %ld", name,
                       cpu_tname(pwt), cf_tensor_numel(pwt), K);
    const float *X = cpu_data(op->in[0]), *T = cpu_data(op->in[1]), *Wt = opt_data(op->in[2]),
                *PW = opt_data(pwt);
    if (K == 0) return CF_OK;
    if (op->kind == CF_OP_SIGMOID_BCE_FWD) {
        float *probs = NULL, *loss, *pred;
        if (op->out[0]) {
            if (!op->out[0]->buf || cf_tensor_numel(op->out[0]) != (size_t)(N * K))
                return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: out[0] (probs) must be [%ld,%ld]", name, N,
                               K);
            probs = cpu_data(op->out[0]);
        }
        if (!op->out[1] || !op->out[1]->buf || cf_tensor_numel(op->out[1]) != (size_t)N)
            return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: out[1] (loss) must have %ld elements", name, N);
        if (op->out[2] && (!op->out[2]->buf || cf_tensor_numel(op->out[2]) != (size_t)N))
            return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: out[2] (pred) must have %ld elements", name, N);
        loss = cpu_data(op->out[1]);
        pred = opt_out(op->out[2]);
        for (long n = 0; n < N; n++) {
            const float *x = X + n * K, *t = T + n * K;
            double l = 0;
            for (long k = 0; k < K; k++) {
                double cw = PW ? PW[k] : 1.0;
                l += (1.0 - t[k] + cw * t[k]) * softplus(x[k]) - cw * t[k] * x[k];
                if (probs) probs[n * K + k] = (float)(1.0 / (1.0 + exp(-(double)x[k])));
            }
            loss[n] = (float)((Wt ? Wt[n] : 1.0f) * l / (double)K);
            if (pred) pred[n] = (float)row_argmax(x, K);
        }
        return CF_OK;
    }
    if (!op->out[0] || !op->out[0]->buf)
        return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: output 0 is missing", name);
    CF_TRY(cpu_same_numel(op->in[0], op->out[0], name, err));
    float *D = cpu_data(op->out[0]);
    for (long n = 0; n < N; n++) {
        double s = (double)op->p.loss.scale * (Wt ? Wt[n] : 1.0f) / (double)K;
        for (long k = 0; k < K; k++) {
            long i = n * K + k;
            double cw = PW ? PW[k] : 1.0, p = X[i], t = T[i];
            float d = (float)(s * ((1.0 - t + cw * t) * p - cw * t));
            D[i] = op->accumulate ? D[i] + d : d;
        }
    }
    return CF_OK;
}
