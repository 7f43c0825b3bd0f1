/* clforge cpu backend — 2-D convolution through oneDNN (built only when
 * configure finds libdnnl; docs/cpu-backend.md has the measurements that
 * make it the default).
 *
 * Threads: the backend's one policy holds. The batch is split over the
 * clforge pool exactly as the im2col path splits it, and every pool thread
 * runs its own oneDNN primitive on its images with oneDNN limited to one
 * thread (Debian's libdnnl uses OpenMP: omp_set_num_threads(1) on each pool
 * thread, so libgomp never starts a team that would spin against our
 * workers). Backward weight sums per-thread partial gradients, as the
 * im2col path does.
 *
 * Layouts: weights are plain KCRS; by default oneDNN picks its own (blocked)
 * layouts (format_tag_any). Activations that are plain NCHW are reordered in
 * and out per slice; activations already in the primitive's nChw16c/8c
 * layout (cpu_layout.c) are used in place, and outputs are left blocked when
 * that layout is plain-sized. CLFORGE_CPU_DNNL_FMT=plain keeps everything
 * NCHW. `accumulate` is a sum post-op on the output reorder, or an explicit
 * add. conv2d_fwd_act's residual and activation are sum and eltwise
 * post-ops.
 *
 * Primitives are cached per (op, images per thread, shape, stride, pad,
 * bias) in a small LRU in the context, created on the calling thread before
 * the pool starts; scratch (reordered slices, oneDNN's scratchpad) comes
 * from the backend's grow-only arena, so the hot path does not allocate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "cpu_internal.h"

#if defined(DNNL_CPU_RUNTIME) && DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP
#define CPU_DNNL_OMP 1
int omp_get_max_threads(void);
void omp_set_num_threads(int n);
#endif

#define DNNL_CACHE 64
/* Each thread runs its images in pieces whose NCHW input + output take about
 * this much (KiB), so the blocked copies stay in L2 between the reorder,
 * the convolution and the reorder back (measured: docs/cpu-backend.md). */
#define CPU_DNNL_PIECE_KB 512

/* per-thread memory objects of an entry */
enum { M_IN0U, M_IN0P, M_IN1U, M_IN1P, M_WP, M_OUTP, M_OUTU, M_BIAS, M_SCRATCH, NMEM };

typedef struct {
    dnnl_memory_desc_t user, prim;
    dnnl_primitive_t reorder; /* user->prim (inputs) or prim->user (outputs); NULL if equal */
    size_t bytes;             /* of the prim layout */
    int arg;
} dnnl_role;

typedef struct {
    int kind, n, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, bias;
    int act, alpha_bits, z; /* conv2d_fwd_act: activation post-op, residual (sum post-op) */
} dnnl_shape;
#define KEYN ((int)(sizeof(dnnl_shape) / sizeof(int)))

typedef struct {
    int key[sizeof(dnnl_shape) / sizeof(int)];
    unsigned long stamp;
    int state; /* 0 empty, 1 ready, -1 oneDNN cannot do it (im2col path instead) */
    dnnl_primitive_t conv;
    int nin;
    dnnl_role in[2];
    int has_w;
    dnnl_role w;
    dnnl_role out;
    dnnl_primitive_t out_sum; /* prim->user with a sum post-op (accumulate, dW of later pieces) */
    dnnl_primitive_t z_in;    /* conv2d_fwd_act: residual user->prim (the sum post-op's input) */
    int in_blk[2], out_blk;   /* 8/16: that prim layout is nChw8c/nChw16c (cpu_layout.c) */
    int has_bias, bias_arg;
    dnnl_memory_desc_t bias_md;
    size_t scratchpad_bytes;
    dnnl_memory_t *mem; /* [threads][NMEM] */
} dnnl_entry;

struct cpu_dnnl {
    dnnl_engine_t eng;
    int T;
    dnnl_stream_t *streams; /* one per pool thread; tid 0 is the caller */
    dnnl_entry ent[DNNL_CACHE];
    unsigned long clock;
    int plain;
    size_t piece_bytes; /* activations per primitive call (L2 blocking); 0 = whole slice */
    int omp_before; /* the caller's OpenMP thread count, restored on destroy */
};

static const char *dnnl_why(dnnl_status_t s)
{
    switch (s) {
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "no implementation";
    default: return "oneDNN error";
    }
}

cf_status cpu_dnnl_create(cpu_ctx *c, cf_error *err)
{
    cpu_dnnl *d = calloc(1, sizeof *d);
    if (!d) return cpu_err(err, CF_ERR_NOMEM, "cpu backend: out of memory for the oneDNN context");
    d->T = cpu_pool_size(c->pool);
#ifdef CPU_DNNL_OMP
    d->omp_before = omp_get_max_threads(); /* the caller's, restored on destroy */
#else
    d->omp_before = -1;
#endif
    const char *f = getenv("CLFORGE_CPU_DNNL_FMT");
    d->plain = f && strcmp(f, "plain") == 0;
    const char *kb = getenv("CLFORGE_CPU_DNNL_KB");
    d->piece_bytes = (size_t)(kb ? atol(kb) : CPU_DNNL_PIECE_KB) * 1024;
    dnnl_status_t s = dnnl_engine_create(&d->eng, dnnl_cpu, 0);
    d->streams = calloc((size_t)d->T, sizeof *d->streams);
    if (s != dnnl_success || !d->streams) {
        if (s == dnnl_success) dnnl_engine_destroy(d->eng);
        free(d->streams);
        free(d);
        return cpu_err(err, CF_ERR_BACKEND, "cpu backend: oneDNN engine: %s", dnnl_why(s));
    }
    for (int t = 0; t < d->T; t++)
        if ((s = dnnl_stream_create(&d->streams[t], d->eng, dnnl_stream_default_flags)) !=
            dnnl_success) {
            c->dnnl = d;
            cpu_dnnl_destroy(c);
            return cpu_err(err, CF_ERR_BACKEND, "cpu backend: oneDNN stream: %s", dnnl_why(s));
        }
    c->dnnl = d;
    return CF_OK;
}

static void entry_clear(cpu_dnnl *d, dnnl_entry *e)
{
    if (e->mem) {
        for (int i = 0; i < d->T * NMEM; i++)
            if (e->mem[i]) dnnl_memory_destroy(e->mem[i]);
        free(e->mem);
    }
    dnnl_primitive_t ps[] = {e->conv, e->in[0].reorder, e->in[1].reorder, e->w.reorder,
                             e->out.reorder, e->out_sum, e->z_in};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        if (ps[i]) dnnl_primitive_destroy(ps[i]);
    memset(e, 0, sizeof *e);
}

void cpu_dnnl_destroy(cpu_ctx *c)
{
    cpu_dnnl *d = c->dnnl;
    if (!d) return;
    for (int i = 0; i < DNNL_CACHE; i++) entry_clear(d, &d->ent[i]);
    for (int t = 0; t < d->T; t++)
        if (d->streams[t]) dnnl_stream_destroy(d->streams[t]);
    free(d->streams);
    dnnl_engine_destroy(d->eng);
#ifdef CPU_DNNL_OMP
    if (d->omp_before > 0) omp_set_num_threads(d->omp_before);
#endif
    free(d);
    c->dnnl = NULL;
}

void cpu_omp_one_thread(void)
{
#ifdef CPU_DNNL_OMP
    if (omp_get_max_threads() != 1) omp_set_num_threads(1);
#endif
}

static dnnl_status_t make_prim(dnnl_primitive_t *p, const_dnnl_primitive_desc_t pd)
{
    return dnnl_primitive_create(p, pd);
}

static dnnl_status_t make_reorder(cpu_dnnl *d, const dnnl_memory_desc_t *from,
                                  const dnnl_memory_desc_t *to, int sum, dnnl_primitive_t *out)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = dnnl_primitive_attr_create(&attr);
    if (s == dnnl_success && sum) {
        s = dnnl_post_ops_create(&po);
        if (s == dnnl_success) s = dnnl_post_ops_append_sum(po, 1.0f);
        if (s == dnnl_success) s = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (s == dnnl_success)
        s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (s == dnnl_success) s = dnnl_reorder_primitive_desc_create(&pd, from, d->eng, to, d->eng, attr);
    /* a reorder that needs a scratchpad is not expected for f32 plain<->blocked */
    if (s == dnnl_success &&
        dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)))
        s = dnnl_unimplemented;
    if (s == dnnl_success) s = make_prim(out, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return s;
}

/* Role from the user layout and the layout the primitive chose. */
static dnnl_status_t role_init(cpu_dnnl *d, dnnl_role *r, const dnnl_memory_desc_t *user,
                               const dnnl_memory_desc_t *prim, int arg, int is_out)
{
    r->user = *user;
    r->prim = *prim;
    r->arg = arg;
    r->bytes = dnnl_memory_desc_get_size(prim);
    if (dnnl_memory_desc_equal(user, prim)) return dnnl_success;
    return is_out ? make_reorder(d, prim, user, 0, &r->reorder)
                  : make_reorder(d, user, prim, 0, &r->reorder);
}

/* 16 or 8 when md is nChw16c / nChw8c of its own dims, else 0. */
static int blk_of(const dnnl_memory_desc_t *md)
{
    static const struct { dnnl_format_tag_t tag; int blk; } tags[] = {{dnnl_nChw16c, 16},
                                                                       {dnnl_nChw8c, 8}};
    if (md->ndims != 4) return 0;
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        dnnl_memory_desc_t t;
        if (dnnl_memory_desc_init_by_tag(&t, 4, md->dims, dnnl_f32, tags[i].tag) == dnnl_success &&
            dnnl_memory_desc_equal(&t, md))
            return tags[i].blk;
    }
    return 0;
}

/* conv2d_fwd_act: y = act(conv + b + z) as post-ops: sum (z is put in the
 * destination first), then the eltwise activation. */
static dnnl_status_t fused_post_ops(dnnl_primitive_attr_t attr, const dnnl_shape *g)
{
    float alpha;
    memcpy(&alpha, &g->alpha_bits, sizeof alpha);
    dnnl_alg_kind_t alg;
    switch ((cf_act)g->act) {
    case CF_ACT_NONE: alg = dnnl_alg_kind_undef; break;
    case CF_ACT_RELU: alg = dnnl_eltwise_relu; alpha = 0; break;
    case CF_ACT_LEAKY_RELU: alg = dnnl_eltwise_relu; break;
    case CF_ACT_SIGMOID: alg = dnnl_eltwise_logistic; break;
    case CF_ACT_TANH: alg = dnnl_eltwise_tanh; break;
    case CF_ACT_ELU: alg = dnnl_eltwise_elu; break;
    case CF_ACT_GELU: alg = dnnl_eltwise_gelu_erf; break;
    default: return dnnl_unimplemented;
    }
    dnnl_post_ops_t po = NULL;
    dnnl_status_t s = dnnl_post_ops_create(&po);
    if (s == dnnl_success && g->z) s = dnnl_post_ops_append_sum(po, 1.0f);
    if (s == dnnl_success && alg != dnnl_alg_kind_undef)
        s = dnnl_post_ops_append_eltwise(po, 1.0f, alg, alpha, 0.0f);
    if (s == dnnl_success) s = dnnl_primitive_attr_set_post_ops(attr, po);
    if (po) dnnl_post_ops_destroy(po);
    return s;
}

static dnnl_status_t entry_build(cpu_dnnl *d, dnnl_entry *e, const dnnl_shape *g)
{
    dnnl_memory_desc_t src_u, w_u, dst_u, b_md, src_a, w_a, dst_a;
    dnnl_dims_t sd = {g->n, g->C, g->H, g->W}, wd = {g->K, g->C, g->R, g->S},
                dd = {g->n, g->K, g->P, g->Q}, bd = {g->K};
    dnnl_dims_t strides = {g->sh, g->sw}, pl = {g->ph, g->pw},
                pr = {(dnnl_dim_t)(g->P - 1) * g->sh + g->R - g->H - g->ph,
                      (dnnl_dim_t)(g->Q - 1) * g->sw + g->S - g->W - g->pw};
    /* pr < 0 when the floor in P drops input rows (1x1 stride 2 on an even map): oneDNN
     * takes negative right padding as "those rows are not read" */
    dnnl_format_tag_t any = d->plain ? dnnl_format_tag_undef : dnnl_format_tag_any;
    dnnl_status_t s = dnnl_success;
#define TRY(x)                                                                                  \
    do {                                                                                         \
        if ((s = (x)) != dnnl_success) goto done;                                                \
    } while (0)
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t fpd = NULL, pd = NULL;
    TRY(dnnl_memory_desc_init_by_tag(&src_u, 4, sd, dnnl_f32, dnnl_nchw));
    TRY(dnnl_memory_desc_init_by_tag(&w_u, 4, wd, dnnl_f32, dnnl_oihw));
    TRY(dnnl_memory_desc_init_by_tag(&dst_u, 4, dd, dnnl_f32, dnnl_nchw));
    TRY(dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_x));
    if (d->plain) {
        src_a = src_u;
        w_a = w_u;
        dst_a = dst_u;
    } else {
        TRY(dnnl_memory_desc_init_by_tag(&src_a, 4, sd, dnnl_f32, any));
        TRY(dnnl_memory_desc_init_by_tag(&w_a, 4, wd, dnnl_f32, any));
        TRY(dnnl_memory_desc_init_by_tag(&dst_a, 4, dd, dnnl_f32, any));
    }
    TRY(dnnl_primitive_attr_create(&attr));
    TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    if (g->kind == CF_OP_CONV2D_FWD_ACT) TRY(fused_post_ops(attr, g));
    dnnl_convolution_desc_t cd;
    TRY(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct,
                                           &src_a, &w_a, g->bias ? &b_md : NULL, &dst_a, strides,
                                           pl, pr));
    TRY(dnnl_primitive_desc_create(&fpd, &cd, attr, d->eng, NULL));
    e->has_bias = g->bias;
    e->bias_md = b_md;
    if (g->kind == CF_OP_CONV2D_FWD || g->kind == CF_OP_CONV2D_FWD_ACT) {
        pd = fpd;
        fpd = NULL;
        e->nin = 1;
        TRY(role_init(d, &e->in[0], &src_u, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0),
                      DNNL_ARG_SRC, 0));
        e->has_w = 1;
        TRY(role_init(d, &e->w, &w_u, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0),
                      DNNL_ARG_WEIGHTS, 0));
        TRY(role_init(d, &e->out, &dst_u, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0),
                      DNNL_ARG_DST, 1));
        e->bias_arg = DNNL_ARG_BIAS;
    } else if (g->kind == CF_OP_CONV2D_BWD_DATA) {
        dnnl_convolution_desc_t bd2;
        TRY(dnnl_convolution_backward_data_desc_init(&bd2, dnnl_convolution_direct, &src_a, &w_a,
                                                     &dst_a, strides, pl, pr));
        TRY(dnnl_primitive_desc_create(&pd, &bd2, attr, d->eng, fpd));
        e->nin = 1;
        TRY(role_init(d, &e->in[0], &dst_u,
                      dnnl_primitive_desc_query_md(pd, dnnl_query_diff_dst_md, 0),
                      DNNL_ARG_DIFF_DST, 0));
        e->has_w = 1;
        TRY(role_init(d, &e->w, &w_u, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0),
                      DNNL_ARG_WEIGHTS, 0));
        TRY(role_init(d, &e->out, &src_u,
                      dnnl_primitive_desc_query_md(pd, dnnl_query_diff_src_md, 0),
                      DNNL_ARG_DIFF_SRC, 1));
    } else {
        dnnl_convolution_desc_t bd2;
        TRY(dnnl_convolution_backward_weights_desc_init(&bd2, dnnl_convolution_direct, &src_a,
                                                        &w_a, g->bias ? &b_md : NULL, &dst_a,
                                                        strides, pl, pr));
        TRY(dnnl_primitive_desc_create(&pd, &bd2, attr, d->eng, fpd));
        e->nin = 2;
        TRY(role_init(d, &e->in[0], &src_u, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0),
                      DNNL_ARG_SRC, 0));
        TRY(role_init(d, &e->in[1], &dst_u,
                      dnnl_primitive_desc_query_md(pd, dnnl_query_diff_dst_md, 0),
                      DNNL_ARG_DIFF_DST, 0));
        TRY(role_init(d, &e->out, &w_u,
                      dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0),
                      DNNL_ARG_DIFF_WEIGHTS, 1));
        if (g->bias &&
            !dnnl_memory_desc_equal(&b_md,
                                    dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 1))) {
            s = dnnl_unimplemented;
            goto done;
        }
        e->bias_arg = DNNL_ARG_DIFF_BIAS;
    }
    if (e->out.reorder)
        TRY(make_reorder(d, &e->out.prim, &e->out.user, 1, &e->out_sum));
    if (g->z && e->out.reorder) TRY(make_reorder(d, &e->out.user, &e->out.prim, 0, &e->z_in));
    for (int i = 0; i < e->nin; i++) e->in_blk[i] = blk_of(&e->in[i].prim);
    if (g->kind != CF_OP_CONV2D_BWD_WEIGHT) e->out_blk = blk_of(&e->out.prim);
    e->scratchpad_bytes =
        dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
    TRY(make_prim(&e->conv, pd));
    /* memory objects, one set per thread; handles are set per call */
    e->mem = calloc((size_t)d->T * NMEM, sizeof *e->mem);
    if (!e->mem) {
        s = dnnl_out_of_memory;
        goto done;
    }
    for (int t = 0; t < d->T; t++) {
        dnnl_memory_t *m = e->mem + (size_t)t * NMEM;
        for (int i = 0; i < e->nin; i++) {
            TRY(dnnl_memory_create(&m[M_IN0U + 2 * i], &e->in[i].user, d->eng, DNNL_MEMORY_NONE));
            TRY(dnnl_memory_create(&m[M_IN0P + 2 * i], &e->in[i].prim, d->eng, DNNL_MEMORY_NONE));
        }
        if (e->has_w) TRY(dnnl_memory_create(&m[M_WP], &e->w.prim, d->eng, DNNL_MEMORY_NONE));
        TRY(dnnl_memory_create(&m[M_OUTP], &e->out.prim, d->eng, DNNL_MEMORY_NONE));
        TRY(dnnl_memory_create(&m[M_OUTU], &e->out.user, d->eng, DNNL_MEMORY_NONE));
        if (e->has_bias) TRY(dnnl_memory_create(&m[M_BIAS], &e->bias_md, d->eng, DNNL_MEMORY_NONE));
        TRY(dnnl_memory_create(&m[M_SCRATCH],
                               dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0),
                               d->eng, DNNL_MEMORY_NONE));
    }
#undef TRY
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return s;
}

/* The cached entry for a shape; NULL when oneDNN cannot run it. */
static dnnl_entry *entry_get(cpu_ctx *c, const dnnl_shape *g, cf_error *err, cf_status *st)
{
    cpu_dnnl *d = c->dnnl;
    const int *key = (const int *)g;
    dnnl_entry *victim = &d->ent[0];
    d->clock++;
    for (int i = 0; i < DNNL_CACHE; i++) {
        dnnl_entry *e = &d->ent[i];
        if (e->state && memcmp(e->key, key, sizeof(int) * KEYN) == 0) {
            e->stamp = d->clock;
            return e->state > 0 ? e : NULL;
        }
        if (!e->state || (victim->state && e->stamp < victim->stamp)) victim = e;
    }
    entry_clear(d, victim);
    memcpy(victim->key, key, sizeof(int) * KEYN);
    victim->stamp = d->clock;
    dnnl_status_t s = entry_build(d, victim, g);
    if (s == dnnl_success) {
        victim->state = 1;
        return victim;
    }
    entry_clear(d, victim);
    memcpy(victim->key, key, sizeof(int) * KEYN);
    victim->stamp = d->clock;
    if (s == dnnl_out_of_memory) {
        *st = cpu_err(err, CF_ERR_NOMEM, "cpu backend: oneDNN convolution: out of memory");
        return NULL; /* not cached as unsupported: may succeed later */
    }
    victim->state = -1; /* remembered: the im2col path handles this shape */
    if (c->verbose)
        fprintf(stderr, "clforge cpu backend: oneDNN cannot run %s %dx%dx%dx%d k%d %dx%d (%s); "
                        "im2col instead\n",
                g->kind == CF_OP_CONV2D_FWD ? "conv fwd" : "conv bwd", g->n, g->C, g->H, g->W,
                g->K, g->R, g->S, dnnl_why(s));
    return NULL;
}

static inline size_t fl(size_t bytes) { return ((bytes + 63) & ~(size_t)63) / sizeof(float); }

/* floats of per-thread work space an entry needs (after the bwd-weight partials) */
static size_t entry_work_floats(const dnnl_entry *e)
{
    size_t n = 0;
    for (int i = 0; i < e->nin; i++)
        if (e->in[i].reorder) n += fl(e->in[i].bytes);
    n += fl(e->out.bytes); /* blocked output, or the accumulate temporary */
    return n + fl(e->scratchpad_bytes);
}

#define MAXENT 4

typedef struct {
    cpu_dnnl *d;
    int kind, acc;
    long piece;               /* images per primitive call */
    int nent;
    int ent_n[MAXENT];        /* images of each entry's primitive */
    dnnl_entry *e[MAXENT];
    float *wbuf[MAXENT];      /* weights in each entry's layout */
    const float *in[2];       /* per-image activations (x / dy) */
    size_t in_row[2];
    const float *bias;
    const float *z;           /* conv2d_fwd_act's residual (per image, like out), or NULL */
    int in_direct[2], z_blk;  /* activations already in the prim layout (cpu_layout.c) */
    int y_blk;                /* y / dx written in the prim layout */
    float *out;               /* y / dx (per image) */
    size_t out_row;
    float *scratch;           /* per-thread slices */
    size_t per_thread, part;  /* floats per thread; of which bwd-weight partials */
    size_t kcrs;
    int K;
    volatile int failed;
} dnnl_job;

static void set_h(dnnl_memory_t m, const void *p) { dnnl_memory_set_data_handle(m, (void *)p); }

CPU_CLONES
static void add_into(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

/* Runs images [p0, p0+n) through entry k on thread tid. `first`: for
 * backward weight, whether this is the thread's first piece (later pieces
 * add into its partial dW/db). */
static dnnl_status_t run_piece(dnnl_job *j, int tid, int k, long p0, int first)
{
    dnnl_entry *e = j->e[k];
    dnnl_memory_t *m = e->mem + (size_t)tid * NMEM;
    dnnl_stream_t st = j->d->streams[tid];
    float *part = j->scratch + (size_t)tid * j->per_thread;
    float *buf = part + j->part;
    dnnl_exec_arg_t args[8];
    int na = 0;
    dnnl_status_t s = dnnl_success;
    for (int i = 0; i < e->nin; i++) {
        const float *src = j->in[i] + (size_t)p0 * j->in_row[i];
        if (e->in[i].reorder && !j->in_direct[i]) {
            set_h(m[M_IN0U + 2 * i], src);
            set_h(m[M_IN0P + 2 * i], buf);
            buf += fl(e->in[i].bytes);
            dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, m[M_IN0U + 2 * i]},
                                     {DNNL_ARG_TO, m[M_IN0P + 2 * i]}};
            s |= dnnl_primitive_execute(e->in[i].reorder, st, 2, ra);
        } else {
            set_h(m[M_IN0P + 2 * i], src);
        }
        args[na++] = (dnnl_exec_arg_t){e->in[i].arg, m[M_IN0P + 2 * i]};
    }
    if (e->has_w) {
        set_h(m[M_WP], j->wbuf[k]);
        args[na++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, m[M_WP]};
    }
    float *outp = buf; /* blocked output, or the accumulate temporary */
    buf += fl(e->out.bytes);
    float *user_out, *pdb = NULL, *pdb_piece = NULL;
    int add; /* the result is added to user_out, not stored */
    size_t out_n;
    if (j->kind == CF_OP_CONV2D_BWD_WEIGHT) {
        user_out = part; /* this thread's partial dW [KCRS], then db, then db of a piece */
        pdb = part + fl(j->kcrs * sizeof(float));
        pdb_piece = pdb + fl((size_t)j->K * 4);
        add = !first;
        out_n = j->kcrs;
    } else {
        user_out = j->out + (size_t)p0 * j->out_row;
        add = j->acc;
        out_n = (size_t)j->ent_n[k] * j->out_row;
    }
    int direct = (!e->out.reorder || j->y_blk) && !add;
    float *dst = direct ? user_out : outp;
    if (j->z) { /* the sum post-op adds what the destination holds */
        const float *zp = j->z + (size_t)p0 * j->out_row;
        if (e->z_in && !j->z_blk) {
            set_h(m[M_OUTU], zp);
            set_h(m[M_OUTP], dst);
            dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, m[M_OUTU]}, {DNNL_ARG_TO, m[M_OUTP]}};
            s |= dnnl_primitive_execute(e->z_in, st, 2, ra);
        } else {
            memcpy(dst, zp, out_n * sizeof(float));
        }
    }
    set_h(m[M_OUTP], dst);
    args[na++] = (dnnl_exec_arg_t){e->out.arg, m[M_OUTP]};
    if (e->has_bias) {
        set_h(m[M_BIAS], j->kind != CF_OP_CONV2D_BWD_WEIGHT ? (const void *)j->bias
                         : first                     ? (const void *)pdb
                                                     : (const void *)pdb_piece);
        args[na++] = (dnnl_exec_arg_t){e->bias_arg, m[M_BIAS]};
    }
    set_h(m[M_SCRATCH], buf);
    args[na++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, m[M_SCRATCH]};
    s |= dnnl_primitive_execute(e->conv, st, na, args);
    if (e->out.reorder && !j->y_blk) {
        set_h(m[M_OUTU], user_out);
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, m[M_OUTP]}, {DNNL_ARG_TO, m[M_OUTU]}};
        s |= dnnl_primitive_execute(add ? e->out_sum : e->out.reorder, st, 2, ra);
    } else if (!direct) {
        add_into(user_out, outp, out_n);
    }
    s |= dnnl_stream_wait(st);
    if (j->kind == CF_OP_CONV2D_BWD_WEIGHT && e->has_bias && !first)
        add_into(pdb, pdb_piece, (size_t)j->K);
    return s;
}

static int entry_index(const dnnl_job *j, long n)
{
    for (int k = 0; k < j->nent; k++)
        if (j->ent_n[k] == n) return k;
    return -1;
}

static void dnnl_task(void *arg, int tid, long b, long end)
{
    dnnl_job *j = arg;
    cpu_omp_one_thread();
    dnnl_status_t s = dnnl_success;
    for (long p0 = b; p0 < end; p0 += j->piece) {
        long n = end - p0 < j->piece ? end - p0 : j->piece;
        s |= run_piece(j, tid, entry_index(j, n), p0, p0 == b);
    }
    if (s != dnnl_success) j->failed = 1;
}

static void add_size(dnnl_job *j, long n)
{
    if (n > 0 && entry_index(j, n) < 0) j->ent_n[j->nent++] = (int)n;
}

int cpu_dnnl_conv(cpu_ctx *c, const cf_op *op, const cpu_conv_shape *sh, cf_status *st,
                  cf_error *err)
{
    cpu_dnnl *d = c->dnnl;
    if (!d) return 0;
    cpu_omp_one_thread();
    const int T = d->T;
    const int chunks = sh->N < T ? sh->N : T;
    const size_t xrow = (size_t)sh->C * sh->H * sh->W, yrow = (size_t)sh->K * sh->P * sh->Q;
    dnnl_job j = {.d = d, .kind = op->kind, .acc = op->accumulate != 0, .K = sh->K};
    j.kcrs = (size_t)sh->K * sh->C * sh->R * sh->S;
    /* the pool gives the first N % chunks threads one image more */
    long c0 = (sh->N + chunks - 1) / chunks, c1 = sh->N / chunks;
    j.piece = d->piece_bytes ? (long)(d->piece_bytes / ((xrow + yrow) * sizeof(float))) : c0;
    if (j.piece < 1) j.piece = 1;
    if (j.piece > c0) j.piece = c0;
    add_size(&j, c0 < j.piece ? c0 : j.piece);
    add_size(&j, c0 % j.piece);
    add_size(&j, c1 < j.piece ? c1 : 0);
    add_size(&j, c1 % j.piece);
    dnnl_shape g = {op->kind, 0, sh->C, sh->H, sh->W, sh->K, sh->R, sh->S,
                    sh->P, sh->Q, sh->sh, sh->sw, sh->ph, sh->pw, 0, 0, 0, 0};
    if (op->kind == CF_OP_CONV2D_FWD || op->kind == CF_OP_CONV2D_FWD_ACT)
        g.bias = op->in[2] && op->in[2]->buf;
    if (op->kind == CF_OP_CONV2D_FWD_ACT) {
        g.act = (int)op->p.conv_act.act;
        memcpy(&g.alpha_bits, &op->p.conv_act.alpha, sizeof g.alpha_bits);
        g.z = op->in[3] && op->in[3]->buf;
        j.z = g.z ? cpu_data(op->in[3]) : NULL;
    }
    if (op->kind == CF_OP_CONV2D_BWD_WEIGHT) g.bias = op->out[1] && op->out[1]->buf;
    *st = CF_OK;
    size_t work = 0, wfl[MAXENT] = {0};
    for (int k = 0; k < j.nent; k++) {
        g.n = j.ent_n[k];
        if (!(j.e[k] = entry_get(c, &g, err, st))) return *st != CF_OK;
        size_t wk = entry_work_floats(j.e[k]);
        if (wk > work) work = wk;
    }
    /* Layouts, before the scratch (cpu_make_plain uses it): activations that
     * are already in the primitive's blocked layout are used as they are,
     * others made plain; y / dx is written blocked when the primitive's layout
     * is a plain-sized nChw8c/16c (and, when added to, y already is). */
    const int fwd = op->kind == CF_OP_CONV2D_FWD || op->kind == CF_OP_CONV2D_FWD_ACT;
    const cf_tensor *act_in[2] = {op->kind == CF_OP_CONV2D_BWD_WEIGHT ? op->in[1] : op->in[0],
                                  op->kind == CF_OP_CONV2D_BWD_WEIGHT ? op->in[0] : NULL};
    const int xdims[4] = {sh->N, sh->C, sh->H, sh->W}, ydims[4] = {sh->N, sh->K, sh->P, sh->Q};
    const int *in_dims[2] = {op->kind == CF_OP_CONV2D_BWD_DATA ? ydims : xdims, ydims};
    int out_blk = 0;
    for (int i = 0; i < j.e[0]->nin; i++) {
        int eb = j.e[0]->in_blk[i];
        for (int k = 1; k < j.nent; k++)
            if (j.e[k]->in_blk[i] != eb) eb = 0;
        cf_buffer *b = act_in[i]->buf;
        j.in_direct[i] = b->blk && b->blk == eb && !memcmp(b->dims, in_dims[i], sizeof b->dims);
        if (!j.in_direct[i] && (*st = cpu_make_plain(c, b, err))) return 1;
    }
    if (op->kind != CF_OP_CONV2D_BWD_WEIGHT) {
        out_blk = j.e[0]->out_blk;
        for (int k = 1; k < j.nent; k++)
            if (j.e[k]->out_blk != out_blk) out_blk = 0;
        const int *odims = fwd ? ydims : xdims;
        cf_buffer *ob = op->out[0]->buf, *zb = g.z ? op->in[3]->buf : NULL;
        size_t orow = fwd ? yrow : xrow;
        j.y_blk = out_blk && cpu_blocked_ok(fwd ? sh->K : sh->C, out_blk,
                                            (size_t)j.ent_n[0] * orow * sizeof(float),
                                            j.e[0]->out.bytes) &&
                  (!j.acc || (ob->blk == out_blk && !memcmp(ob->dims, odims, sizeof ob->dims)));
        if (!j.y_blk && (*st = cpu_make_plain(c, ob, err))) return 1;
        j.z_blk = zb && zb->blk && zb->blk == out_blk && !memcmp(zb->dims, ydims, sizeof zb->dims);
        if (zb && !j.z_blk && (*st = cpu_make_plain(c, zb, err))) return 1;
    }
    /* shared weight copies: one per distinct blocked weight layout */
    size_t wtot = 0;
    for (int k = 0; k < j.nent; k++) {
        dnnl_entry *e = j.e[k];
        if (!e->has_w || !e->w.reorder) continue;
        int same = -1;
        for (int q = 0; q < k && same < 0; q++)
            if (j.e[q]->w.reorder && dnnl_memory_desc_equal(&j.e[q]->w.prim, &e->w.prim)) same = q;
        if (same < 0) wtot += (wfl[k] = fl(e->w.bytes));
    }
    j.part = op->kind == CF_OP_CONV2D_BWD_WEIGHT
                 ? fl(j.kcrs * sizeof(float)) + 2 * fl((size_t)sh->K * sizeof(float))
                 : 0;
    j.per_thread = j.part + work;
    float *scr = cpu_scratch(c, (wtot + j.per_thread * (size_t)chunks) * sizeof(float), err);
    if (!scr) {
        *st = err ? err->status : CF_ERR_NOMEM;
        return 1;
    }
    j.scratch = scr + wtot;
    const float *w = NULL;
    switch (op->kind) {
    case CF_OP_CONV2D_FWD:
    case CF_OP_CONV2D_FWD_ACT:
        j.in[0] = cpu_data(op->in[0]); j.in_row[0] = xrow;
        w = cpu_data(op->in[1]);
        j.bias = g.bias ? cpu_data(op->in[2]) : NULL;
        j.out = cpu_data(op->out[0]); j.out_row = yrow;
        break;
    case CF_OP_CONV2D_BWD_DATA:
        j.in[0] = cpu_data(op->in[0]); j.in_row[0] = yrow;
        w = cpu_data(op->in[1]);
        j.out = cpu_data(op->out[0]); j.out_row = xrow;
        break;
    default:
        j.in[0] = cpu_data(op->in[1]); j.in_row[0] = xrow;
        j.in[1] = cpu_data(op->in[0]); j.in_row[1] = yrow;
        break;
    }
    /* weights into each entry's layout, once per layout, on the caller */
    dnnl_status_t s = dnnl_success;
    float *wnext = scr;
    for (int k = 0; k < j.nent && w; k++) {
        dnnl_entry *e = j.e[k];
        if (!e->w.reorder) {
            j.wbuf[k] = (float *)w;
            continue;
        }
        if (!wfl[k]) { /* same layout as an earlier entry */
            for (int q = 0; q < k; q++)
                if (j.e[q]->w.reorder && dnnl_memory_desc_equal(&j.e[q]->w.prim, &e->w.prim)) {
                    j.wbuf[k] = j.wbuf[q];
                    break;
                }
            continue;
        }
        j.wbuf[k] = wnext;
        wnext += wfl[k];
        dnnl_memory_t wu = NULL, wp = NULL;
        s |= dnnl_memory_create(&wu, &e->w.user, d->eng, (void *)w);
        s |= dnnl_memory_create(&wp, &e->w.prim, d->eng, j.wbuf[k]);
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, wu}, {DNNL_ARG_TO, wp}};
        if (s == dnnl_success) s |= dnnl_primitive_execute(e->w.reorder, d->streams[0], 2, ra);
        s |= dnnl_stream_wait(d->streams[0]);
        if (wu) dnnl_memory_destroy(wu);
        if (wp) dnnl_memory_destroy(wp);
    }
    const char *name = op->kind == CF_OP_CONV2D_FWD_ACT    ? "conv2d_fwd_act"
                       : op->kind == CF_OP_CONV2D_FWD      ? "conv2d_fwd"
                       : op->kind == CF_OP_CONV2D_BWD_DATA ? "conv2d_bwd_data"
                                                           : "conv2d_bwd_weight";
    if (s != dnnl_success) {
        *st = cpu_err(err, CF_ERR_BACKEND, "cpu backend: %s: oneDNN weight reorder failed", name);
        return 1;
    }
    cpu_pool_run(c->pool, sh->N, dnnl_task, &j);
    if (j.failed) {
        *st = cpu_err(err, CF_ERR_BACKEND, "cpu backend: %s: oneDNN execution failed", name);
        return 1;
    }
    if (op->kind != CF_OP_CONV2D_BWD_WEIGHT) {
        cf_buffer *yb = op->out[0]->buf;
        yb->blk = j.y_blk ? out_blk : 0;
        memcpy(yb->dims, fwd ? ydims : xdims, sizeof yb->dims);
    }
    if (op->kind == CF_OP_CONV2D_BWD_WEIGHT) {
        /* reduce the per-thread partials (layout: see run_piece) */
        float *dw = cpu_data(op->out[0]);
        float *db = g.bias ? cpu_data(op->out[1]) : NULL;
        for (int t = 0; t < chunks; t++) {
            const float *pdw = j.scratch + (size_t)t * j.per_thread;
            const float *pdb = pdw + fl(j.kcrs * sizeof(float));
            if (t == 0 && !j.acc) {
                memcpy(dw, pdw, j.kcrs * sizeof(float));
                if (db) memcpy(db, pdb, (size_t)sh->K * sizeof(float));
            } else {
                add_into(dw, pdw, j.kcrs);
                if (db) add_into(db, pdb, (size_t)sh->K);
            }
        }
    }
    return 1;
}
