/* clforge cpu backend — shared internals (context, buffers, thread pool,
 * scratch arena, GEMM policy) used by the op files of backends/cpu/. */
#ifndef CF_CPU_INTERNAL_H
#define CF_CPU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "clforge/backend.h"
#include "clforge/error.h"

struct cf_buffer {
    float *data;
    size_t bytes;
    /* 0: plain NCHW. 8 or 16: data holds a [dims] tensor in oneDNN's
     * nChw8c / nChw16c layout, left by a fused convolution (cpu_layout.c). */
    int blk;
    int dims[4];
};

/* ---- thread pool (cpu_threads.c) --------------------------------------
 * The one threading policy of this backend: clforge owns all threads.
 * OpenBLAS is switched to one thread while a context exists, and every op —
 * GEMMs included — is split over this pool by the op itself (images of a
 * conv, rows of a dense layer, elements of a vector op). Nothing spins while
 * another pool works, so nothing fights. */
typedef void (*cpu_task_fn)(void *arg, int tid, long begin, long end);

typedef struct cpu_pool cpu_pool;
cf_status cpu_pool_create(int nthreads, cpu_pool **out, cf_error *err);
void cpu_pool_destroy(cpu_pool *p);
int cpu_pool_size(const cpu_pool *p);
/* Split [0, n) into contiguous chunks, one per thread (fewer when n is
 * small), and run fn on each; returns when all are done. The calling thread
 * takes chunk 0. */
void cpu_pool_run(cpu_pool *p, long n, cpu_task_fn fn, void *arg);
/* Like cpu_pool_run, but with at most `max_chunks` chunks. */
void cpu_pool_run_n(cpu_pool *p, long n, int max_chunks, cpu_task_fn fn, void *arg);

/* ---- context ----------------------------------------------------------- */
typedef struct cpu_ctx {
    int threads;
    cpu_pool *pool;
    int blas_threads_before; /* restored on destroy */
    /* Grow-only scratch arena: im2col columns, per-thread partial sums. It
     * only grows while shapes grow (the first batch), so the hot path never
     * allocates. */
    float *scratch;
    size_t scratch_bytes;
    int verbose;
    /* CLFORGE_CPU_CONV: 0 auto, 1 gemm, 2 direct, 3 dnnl */
    int conv_method;
    struct cpu_dnnl *dnnl; /* oneDNN engine, streams, primitive cache; NULL = not used */
    /* CLFORGE_CPU_PROFILE=1: time every op, print a table on destroy */
    int profile;
    double prof_s[CF_OP_COUNT];
    long prof_n[CF_OP_COUNT];
    /* knob deny_ops: kinds supports_op denies (the engine's fallback runs them) */
    unsigned char deny[CF_OP_COUNT];
} cpu_ctx;

/* Scratch of at least `bytes` (64-byte aligned), NULL on out of memory. The
 * pointer is valid until the next call. */
float *cpu_scratch(cpu_ctx *c, size_t bytes, cf_error *err);

cf_status cpu_err(cf_error *err, cf_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline float *cpu_data(const cf_tensor *t) { return t->buf->data; }
static inline const char *cpu_tname(const cf_tensor *t)
{
    return t && t->name ? t->name : "(unnamed)";
}

/* Below this many elements an elementwise op runs on the calling thread:
 * waking a worker costs more than the work. */
#define CPU_PAR_MIN 32768L

/* ---- GEMM (cpu_gemm.c): row-major C[M,N] = alpha op(A) op(B) + beta C,
 * split over the pool along the larger of M and N. */
void cpu_sgemm(cpu_ctx *c, int transa, int transb, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* Single-threaded, for use inside a pool task. */
const char *cpu_gemm_library(void); /* which sgemm runs: for logs */
void cpu_sgemm_1(int transa, int transb, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* ---- op families; each returns CF_OK or a filled error ------------------ */
cf_status cpu_dense(cpu_ctx *c, const cf_op *op, cf_error *err);
cf_status cpu_conv(cpu_ctx *c, const cf_op *op, cf_error *err);
cf_status cpu_pool_op(cpu_ctx *c, const cf_op *op, cf_error *err);
cf_status cpu_act(cpu_ctx *c, const cf_op *op, cf_error *err);
cf_status cpu_softmax(cpu_ctx *c, const cf_op *op, cf_error *err);
cf_status cpu_loss(cpu_ctx *c, const cf_op *op, cf_error *err);
cf_status cpu_bce(cpu_ctx *c, const cf_op *op, cf_error *err);
cf_status cpu_dropout(cpu_ctx *c, const cf_op *op, cf_error *err);
cf_status cpu_batchnorm(cpu_ctx *c, const cf_op *op, cf_error *err);
cf_status cpu_vec(cpu_ctx *c, const cf_op *op, cf_error *err);
cf_status cpu_channel_copy(cpu_ctx *c, const cf_op *op, cf_error *err);
/* y = act(y + z) in place (z may be NULL): conv2d_fwd_act's epilogue when
 * oneDNN does not fuse it. */
void cpu_add_act_inplace(cpu_ctx *c, float *y, const float *z, long n, cf_act act, float alpha);

/* ---- oneDNN convolution (cpu_dnnl.c, only when built with CF_HAVE_DNNL) */
typedef struct cpu_dnnl cpu_dnnl;
typedef struct {
    int N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw;
} cpu_conv_shape;
#ifdef CF_HAVE_DNNL
cf_status cpu_dnnl_create(cpu_ctx *c, cf_error *err);
void cpu_dnnl_destroy(cpu_ctx *c);
/* Runs a validated conv op through oneDNN. Returns 0 when oneDNN cannot
 * run this shape (the caller uses im2col), else 1 with the op's status in
 * *st. */
int cpu_dnnl_conv(cpu_ctx *c, const cf_op *op, const cpu_conv_shape *sh, cf_status *st,
                  cf_error *err);
#endif

/* oneDNN runs on OpenMP: each thread that calls into it first limits its own
 * OpenMP team to itself, so libgomp never spins against our pool. */
void cpu_omp_one_thread(void);

/* ---- blocked activations (cpu_layout.c) ---------------------------------- */
/* Turn a blocked buffer back into plain NCHW (no-op when it is plain). */
cf_status cpu_make_plain(cpu_ctx *c, cf_buffer *buf, cf_error *err);
/* Plain -> blocked by blk as a [dims] tensor (C % blk == 0; no-op when blocked). */
cf_status cpu_make_blocked(cpu_ctx *c, cf_buffer *buf, int blk, const int dims[4], cf_error *err);
/* Whether a C-channel tensor may stay blocked by blk: same size as plain. */
int cpu_blocked_ok(int C, int blk, size_t plain_bytes, size_t blocked_bytes);
/* Every operand plain (ops that only know NCHW). */
cf_status cpu_plain_operands(cpu_ctx *c, const cf_op *op, cf_error *err);
/* Elementwise ops run in whatever layout all their operands share. */
typedef struct {
    int blk, dims[4];
} cpu_layout;
int cpu_layout_agnostic(cf_op_kind k);
cf_status cpu_layout_before(cpu_ctx *c, const cf_op *op, cpu_layout *lay, cf_error *err);
void cpu_layout_after(const cf_op *op, const cpu_layout *lay);

/* Shared checks. */
cf_status cpu_need(const cf_op *op, int nin, int nout, const char *opname, cf_error *err);
cf_status cpu_same_numel(const cf_tensor *a, const cf_tensor *b, const char *opname,
                         cf_error *err);

/* Runtime-dispatched clones for the hot loops: AVX2/FMA and AVX-512 where
 * the CPU has them, baseline x86-64 otherwise (ifunc, resolved once). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CPU_CLONES
#endif

#endif
