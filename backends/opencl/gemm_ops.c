/* clforge OpenCL backend — dense and convolution ops: CLBlast SGEMM plus layout kernels.
 *
 * Convolution is im2col + one GEMM per chunk of G images, in a "channel-major"
 * layout ([C*R*S][G*P*Q] columns, [K][G*P*Q] outputs) so that a whole chunk is a
 * single plain SGEMM: the same CLBlast routine as dense layers, hence one set
 * of CLBlast kernels to compile per process. G is chosen so scratch stays
 * within o->conv_ws_budget (64 MiB unless CLFORGE_OPENCL_CONV_WS says otherwise). */
#include <clblast_c.h>
#include <stdio.h>

#include "internal.h"

/* Row-major C[m,n] = alpha op(A) op(B) + beta C. */
static cf_status gemm(cf_ocl *o, const char *opname, int ta, int tb, size_t m, size_t n, size_t k,
                      cl_mem A, size_t lda, cl_mem B, size_t ldb, float beta, cl_mem C, size_t ldc,
                      cf_error *err)
{
    if (m == 0 || n == 0) return CF_OK;
    if (k == 0) {
        if (beta != 0.0f) return CF_OK;
        int total = (int)(m * ldc);
        return cf_ocl_run1d(o, CF_k_fill, total, err, "mif", C, total, 0.0);
    }
    double t0 = o->profile ? cf_ocl_now() : 0.0;
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor,
                                       ta ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       tb ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, 1.0f,
                                       A, 0, lda, B, 0, ldb, beta, C, 0, ldc, &o->queue, NULL);
    o->cnt.gemms++;
    if (s != CLBlastSuccess)
        return cf_ocl_fail(err, s == CLBlastOpenCLOutOfResources || s == CLBlastOpenCLOutOfHostMemory ||
                                        s == CLBlastTempBufferAllocFailure ||
                                        s == CLBlastInsufficientMemoryTemp
                                    ? CF_ERR_NOMEM
                                    : CF_ERR_BACKEND,
                           "opencl: %s: CLBlastSgemm(m=%zu, n=%zu, k=%zu) failed: %s (%d)", opname,
                           m, n, k, cf_ocl_error_name((cl_int)s), (int)s);
    if (o->profile) {
        clFinish(o->queue);
        o->kprof_s[CF_K_COUNT] += cf_ocl_now() - t0;
        o->kprof_n[CF_K_COUNT]++;
    }
    return CF_OK;
}

/* CLBlast builds its GEMM program from source at the first call in each
 * context and keeps it only in memory (no disk cache of its own); PoCL's
 * POCL_CACHE_DIR or the GPU driver's cache make that rebuild cheap after the
 * first run. Pay it here, once per context, so the first training step is not
 * slowed and a CLBlast failure surfaces when the backend is opened. */
cf_status cf_ocl_warm_gemm(cf_ocl *o, cf_error *err)
{
    double t0 = cf_ocl_now();
    cl_mem c;
    CF_TRY(cf_ocl_ws(o, CF_WS_SMALL, 64 * sizeof(float), &c, err));
    CF_TRY(gemm(o, "warm-up", 0, 1, 2, 2, 2, o->dummy, 2, o->dummy, 2, 0.0f, c, 2, err));
    cl_int rc = cf_ocl_finish(o);
    if (rc != CL_SUCCESS) return cf_ocl_clfail(err, "clFinish", rc, "(CLBlast warm-up)");
    cf_ocl_log(o, "CLBlast SGEMM ready in %.3f s (built from source; PoCL/driver cache applies)",
               cf_ocl_now() - t0);
    return CF_OK;
}

cf_status cf_ocl_dense(cf_ocl *o, const cf_op *op, cf_error *err)
{
    const char *nm = cf_ocl_op_name(op->kind);
    int acc = op->accumulate != 0;
    float beta = acc ? 1.0f : 0.0f;
    switch (op->kind) {
    case CF_OP_DENSE_FWD: {
        cf_tensor *x = op->in[0], *w = op->in[1], *b = op->in[2], *y = op->out[0];
        if (!x || !w || !y)
            return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: needs x, W and y", nm);
        size_t N = (size_t)x->shape[0], O = (size_t)w->shape[0], I = O ? cf_tensor_numel(w) / O : 0;
        if (cf_tensor_numel(x) != N * I || cf_tensor_numel(y) != N * O || (b && cf_tensor_numel(b) != O))
            return cf_ocl_fail(err, CF_ERR_INVALID,
                               "opencl: %s: shapes disagree: x %zu elements, W [%zu,%zu], y %zu "
                               "elements", nm, cf_tensor_numel(x), O, I, cf_tensor_numel(y));
        CF_TRY(gemm(o, nm, 0, 1, N, O, I, x->buf->mem, I, w->buf->mem, I, 0.0f, y->buf->mem, O,
                    err));
        if (!b) return CF_OK;
        int n = (int)(N * O);
        return cf_ocl_run1d(o, CF_k_bias_rows, n, err, "ttii", y, b, n, (int)O);
    }
    case CF_OP_DENSE_BWD_DATA: {
        cf_tensor *dy = op->in[0], *w = op->in[1], *dx = op->out[0];
        if (!dy || !w || !dx)
            return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: needs dy, W and dx", nm);
        size_t N = (size_t)dy->shape[0], O = (size_t)w->shape[0], I = O ? cf_tensor_numel(w) / O : 0;
        if (cf_tensor_numel(dy) != N * O || cf_tensor_numel(dx) != N * I)
            return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: shapes disagree with W [%zu,%zu]",
                               nm, O, I);
        return gemm(o, nm, 0, 0, N, I, O, dy->buf->mem, O, w->buf->mem, I, beta, dx->buf->mem, I,
                    err);
    }
    case CF_OP_DENSE_BWD_WEIGHT: {
        cf_tensor *dy = op->in[0], *x = op->in[1], *dw = op->out[0], *db = op->out[1];
        if (!dy || !x || (!dw && !db))
            return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: needs dy, x and dW", nm);
        size_t N = (size_t)dy->shape[0], O = N ? cf_tensor_numel(dy) / N : 0,
               I = N ? cf_tensor_numel(x) / N : 0;
        if ((size_t)x->shape[0] != N || (dw && cf_tensor_numel(dw) != O * I) ||
            (db && cf_tensor_numel(db) != O))
            return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: shapes disagree (N=%zu O=%zu I=%zu)",
                               nm, N, O, I);
        if (dw)
            CF_TRY(gemm(o, nm, 1, 0, O, I, N, dy->buf->mem, O, x->buf->mem, I, beta, dw->buf->mem,
                        I, err));
        if (db)
            CF_TRY(cf_ocl_run1d(o, CF_k_colsum, O, err, "ttiii", db, dy, (int)N, (int)O, acc));
        return CF_OK;
    }
    default: return CF_ERR_UNSUPPORTED;
    }
}

typedef struct conv_geom {
    int N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw;
} conv_geom;

static cf_status conv_geometry(const cf_op *op, const cf_tensor *x, const cf_tensor *w,
                               const cf_tensor *y, conv_geom *g, cf_error *err)
{
    const char *nm = cf_ocl_op_name(op->kind);
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4)
        return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: x, w and y must be 4-D (NCHW)", nm);
    g->N = x->shape[0], g->C = x->shape[1], g->H = x->shape[2], g->W = x->shape[3];
    g->K = w->shape[0], g->R = w->shape[2], g->S = w->shape[3];
    g->P = y->shape[2], g->Q = y->shape[3];
    g->sh = op->p.conv.stride_h, g->sw = op->p.conv.stride_w;
    g->ph = op->p.conv.pad_h, g->pw = op->p.conv.pad_w;
    if (g->sh < 1 || g->sw < 1 || g->ph < 0 || g->pw < 0)
        return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: bad stride %dx%d or pad %dx%d", nm,
                           g->sh, g->sw, g->ph, g->pw);
    int P = (g->H + 2 * g->ph - g->R) / g->sh + 1, Q = (g->W + 2 * g->pw - g->S) / g->sw + 1;
    if (w->shape[1] != g->C || y->shape[0] != g->N || y->shape[1] != g->K || P != g->P ||
        Q != g->Q)
        return cf_ocl_fail(err, CF_ERR_INVALID,
                           "opencl: %s: shapes disagree: x [%d,%d,%d,%d], w [%d,%d,%d,%d], y "
                           "[%d,%d,%d,%d] (expected P=%d Q=%d)", nm, g->N, g->C, g->H, g->W,
                           w->shape[0], w->shape[1], g->R, g->S, y->shape[0], y->shape[1], g->P,
                           g->Q, P, Q);
    return CF_OK;
}

cf_status cf_ocl_conv(cf_ocl *o, const cf_op *op, cf_error *err)
{
    const char *nm = cf_ocl_op_name(op->kind);
    cf_tensor *x, *w, *y, *b = NULL, *z = NULL, *dw = NULL;
    int acc = op->accumulate != 0, act = CF_ACT_NONE;
    float alpha = 0.0f;
    switch (op->kind) {
    case CF_OP_CONV2D_FWD: x = op->in[0], w = op->in[1], b = op->in[2], y = op->out[0]; break;
    case CF_OP_CONV2D_FWD_ACT:
        x = op->in[0], w = op->in[1], b = op->in[2], z = op->in[3], y = op->out[0];
        act = (int)op->p.conv_act.act, alpha = op->p.conv_act.alpha;
        if (act < 0 || act >= CF_ACT_COUNT)
            return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: unknown activation %d", nm, act);
        break;
    case CF_OP_CONV2D_BWD_DATA: y = op->in[0], w = op->in[1], x = op->out[0]; break;
    case CF_OP_CONV2D_BWD_WEIGHT:
        y = op->in[0], x = op->in[1], dw = op->out[0], b = op->out[1], w = dw;
        break;
    default: return CF_ERR_UNSUPPORTED;
    }
    int fwd = op->kind == CF_OP_CONV2D_FWD || op->kind == CF_OP_CONV2D_FWD_ACT;
    if (!x || !y || (!w && !b) || (fwd && !w))
        return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: missing x, w or y/dy", nm);
    conv_geom g = {0};
    if (w) CF_TRY(conv_geometry(op, x, w, y, &g, err));
    if (b && (int)cf_tensor_numel(b) != y->shape[1])
        return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: bias has %zu elements, want %d", nm,
                           cf_tensor_numel(b), y->shape[1]);
    if (z && cf_tensor_numel(z) != cf_tensor_numel(y))
        return cf_ocl_fail(err, CF_ERR_INVALID, "opencl: %s: z has %zu elements, y has %zu", nm,
                           cf_tensor_numel(z), cf_tensor_numel(y));

    if (op->kind == CF_OP_CONV2D_BWD_WEIGHT && b) {
        int N = y->shape[0], K = y->shape[1], PQ = N && K ? (int)(cf_tensor_numel(y) / N / K) : 0;
        CF_TRY(cf_ocl_run_groups(o, CF_k_conv_db, K, err, "ttiiiil", b, y, N, K, PQ, acc));
    }
    if (!w) return CF_OK;
    if (g.N == 0) {
        if (dw && !acc) {
            int n = (int)cf_tensor_numel(dw);
            return cf_ocl_run1d(o, CF_k_fill, n, err, "tif", dw, n, 0.0);
        }
        return CF_OK;
    }

    size_t CRS = (size_t)g.C * g.R * g.S, PQ = (size_t)g.P * g.Q;
    size_t per_image = (CRS + g.K) * PQ * sizeof(float);
    size_t G = per_image ? o->conv_ws_budget / per_image : (size_t)g.N;
    if (G < 1) G = 1;
    if (G > (size_t)g.N) G = (size_t)g.N;
    cl_mem col, t;
    CF_TRY(cf_ocl_ws(o, CF_WS_COL, CRS * G * PQ * sizeof(float), &col, err));
    CF_TRY(cf_ocl_ws(o, CF_WS_T, (size_t)g.K * G * PQ * sizeof(float), &t, err));

    for (int n0 = 0; n0 < g.N; n0 += (int)G) {
        int Gc = (int)((size_t)(g.N - n0) < G ? (size_t)(g.N - n0) : G);
        size_t GPQ = (size_t)Gc * PQ;
        size_t nt = (size_t)g.K * GPQ, nimg = (size_t)Gc * g.C * g.H * g.W;
        switch (op->kind) {
        case CF_OP_CONV2D_FWD:
        case CF_OP_CONV2D_FWD_ACT:
            CF_TRY(cf_ocl_run1d(o, CF_k_im2col, (size_t)g.C * GPQ, err, "mtiiiiiiiiiiiii", col, x, n0, Gc, g.C,
                                g.H, g.W, g.R, g.S, g.P, g.Q, g.sh, g.sw, g.ph, g.pw));
            CF_TRY(gemm(o, nm, 0, 0, (size_t)g.K, GPQ, CRS, w->buf->mem, CRS, col, GPQ, 0.0f, t,
                        GPQ, err));
            /* Bias, residual z and activation in the one pass that writes y. */
            CF_TRY(cf_ocl_run1d(o, CF_k_cm_to_nchw, nt, err, "tmtitiifiiii", y, t, b, b != NULL,
                                z, z != NULL, act, (double)alpha, n0, Gc, g.K, (int)PQ));
            break;
        case CF_OP_CONV2D_BWD_DATA:
            CF_TRY(cf_ocl_run1d(o, CF_k_nchw_to_cm, nt, err, "mtiiii", t, y, n0, Gc, g.K,
                                (int)PQ));
            CF_TRY(gemm(o, nm, 1, 0, CRS, GPQ, (size_t)g.K, w->buf->mem, CRS, t, GPQ, 0.0f, col,
                        GPQ, err));
            CF_TRY(cf_ocl_run1d(o, CF_k_col2im, nimg, err, "tmiiiiiiiiiiiiii", x, col, n0, Gc,
                                g.C, g.H, g.W, g.R, g.S, g.P, g.Q, g.sh, g.sw, g.ph, g.pw, acc));
            break;
        case CF_OP_CONV2D_BWD_WEIGHT: {
            CF_TRY(cf_ocl_run1d(o, CF_k_im2col, (size_t)g.C * GPQ, err, "mtiiiiiiiiiiiii", col, x, n0, Gc, g.C,
                                g.H, g.W, g.R, g.S, g.P, g.Q, g.sh, g.sw, g.ph, g.pw));
            CF_TRY(cf_ocl_run1d(o, CF_k_nchw_to_cm, nt, err, "mtiiii", t, y, n0, Gc, g.K,
                                (int)PQ));
            float beta = (n0 > 0 || acc) ? 1.0f : 0.0f;
            CF_TRY(gemm(o, nm, 0, 1, (size_t)g.K, CRS, GPQ, t, GPQ, col, GPQ, beta, dw->buf->mem,
                        CRS, err));
            break;
        }
        default: break;
        }
    }
    return CF_OK;
}
