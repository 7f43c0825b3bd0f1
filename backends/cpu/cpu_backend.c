/* clforge cpu backend — the plugin descriptor, context, buffers and the op
 * dispatcher. Tensors live in ordinary host memory (64-byte aligned), so
 * upload/download are memcpy and every op is synchronous. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "clforge/plugin.h"
#include "cpu_internal.h"

/* OpenBLAS extensions (declared by its cblas.h, repeated here so the
 * module also builds against a cblas.h that lacks them). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);

cf_status cpu_err(cf_error *err, cf_status s, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = s;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return s;
}

float *cpu_scratch(cpu_ctx *c, size_t bytes, cf_error *err)
{
    if (bytes <= c->scratch_bytes) return c->scratch;
    void *p = NULL;
    size_t want = bytes + bytes / 4; /* headroom: fewer regrowths */
    if (posix_memalign(&p, 64, want) != 0) {
        cpu_err(err, CF_ERR_NOMEM, "cpu backend: out of memory for %zu bytes of scratch", want);
        return NULL;
    }
    free(c->scratch);
    c->scratch = p;
    c->scratch_bytes = want;
    return c->scratch;
}

cf_status cpu_need(const cf_op *op, int nin, int nout, const char *opname, cf_error *err)
{
    for (int i = 0; i < nin; i++)
        if (!op->in[i] || !op->in[i]->buf)
            return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: input %d is missing", opname, i);
    for (int i = 0; i < nout; i++)
        if (!op->out[i] || !op->out[i]->buf)
            return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: output %d is missing", opname,
                           i);
    return CF_OK;
}

cf_status cpu_same_numel(const cf_tensor *a, const cf_tensor *b, const char *opname,
                         cf_error *err)
{
    if (cf_tensor_numel(a) != cf_tensor_numel(b))
        return cpu_err(err, CF_ERR_INVALID, "cpu backend: %s: %s has %zu elements, %s has %zu",
                       opname, cpu_tname(a), cf_tensor_numel(a), cpu_tname(b),
                       cf_tensor_numel(b));
    return CF_OK;
}

/* CPUs this process may run on (cgroup/affinity aware). */
static int cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static int cpu_auto_score(void) { return 50; }

static void cpu_fill_info(cf_device_info *info, int threads)
{
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        int got_name = 0, got_vendor = 0;
        while (fgets(line, sizeof line, f) && !(got_name && got_vendor)) {
            char *colon = strchr(line, ':');
            if (!colon) continue;
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t') v++;
            v[strcspn(v, "\n")] = 0;
            if (!got_name && strncmp(line, "model name", 10) == 0) {
                snprintf(info->name, sizeof info->name, "%s", v);
                got_name = 1;
            } else if (!got_vendor && strncmp(line, "vendor_id", 9) == 0) {
                snprintf(info->vendor, sizeof info->vendor, "%s", v);
                got_vendor = 1;
            }
        }
        fclose(f);
    }
    snprintf(info->type, sizeof info->type, "cpu");
    snprintf(info->version, sizeof info->version, "%.100s (%.20s)", openblas_get_config(),
             openblas_get_corename());
    snprintf(info->platform, sizeof info->platform, "host");
    info->compute_units = threads;
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psz > 0) info->global_mem = (uint64_t)pages * (uint64_t)psz;
    info->max_alloc = info->global_mem;
    info->local_mem = 32 * 1024;
    info->fp16 = 0;
    info->fp64 = 1;
}

static cf_status cpu_list_devices(cf_device_info *out, int max, int *count, cf_error *err)
{
    if (max > 0 && out) cpu_fill_info(&out[0], cpu_count());
    if (count) *count = 1;
    return CF_OK;
}

/* The knobs of backend = { name = "cpu"; ... } (cpu_params below). An
 * environment variable, where one exists, overrides the config. */
typedef struct cpu_knobs {
    int threads, verbose, profile;
    const char *conv, *deny_ops;
} cpu_knobs;

/* deny_ops = "dense_fwd|conv2d_fwd": op names, '|' or ',' separated. */
static cf_status parse_deny(cpu_ctx *c, const char *list, cf_error *err)
{
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, "|,");
        int found = 0;
        for (int k = CF_OP_NONE + 1; k < CF_OP_COUNT; k++) {
            const char *n = cf_op_name((cf_op_kind)k);
            if (n && strlen(n) == len && !strncmp(n, p, len)) c->deny[k] = found = 1;
        }
        if (!found && len)
            return cpu_err(err, CF_ERR_INVALID, "cpu backend: deny_ops: unknown op '%.*s'",
                           (int)len, p);
        p += len;
        if (*p) p++;
    }
    return CF_OK;
}

static cf_status cpu_create(const cf_backend_config *cfg, void **out, cf_error *err)
{
    static const cpu_knobs defaults = {0, 0, 0, "auto", ""};
    const cpu_knobs *k = cfg && cfg->knobs ? cfg->knobs : &defaults;
    cpu_ctx *c = calloc(1, sizeof *c);
    if (!c) return cpu_err(err, CF_ERR_NOMEM, "cpu backend: out of memory for the context");
    cf_status ds = parse_deny(c, k->deny_ops, err);
    if (ds) return free(c), ds;
    int threads = cfg && cfg->threads ? cfg->threads : k->threads;
    if (threads < 0)
        return free(c), cpu_err(err, CF_ERR_INVALID,
                                "cpu backend: threads = %d must be >= 0 (0 = all cores)", threads);
    /* Default: one thread per core this process may use (measured fastest
     * on the 2-core reference box; see docs/cpu-backend.md). */
    if (threads == 0) threads = cpu_count();
    c->threads = threads;
    c->verbose = (cfg && cfg->verbose) || k->verbose;
    const char *m = getenv("CLFORGE_CPU_CONV");
    if (!m || !*m) m = k->conv;
    if (m && strcmp(m, "gemm") == 0) c->conv_method = 1;
    if (m && strcmp(m, "direct") == 0) c->conv_method = 2;
    if (m && strcmp(m, "dnnl") == 0) c->conv_method = 3;
    if (m && *m && !c->conv_method && strcmp(m, "auto") != 0)
        return free(c), cpu_err(err, CF_ERR_INVALID,
                                "cpu backend: conv (or CLFORGE_CPU_CONV) = %s: expected auto, "
                                "dnnl, gemm or direct",
                                m);
    const char *prof = getenv("CLFORGE_CPU_PROFILE");
    c->profile = prof && *prof ? strcmp(prof, "0") != 0 : k->profile;
    cf_status s = cpu_pool_create(threads, &c->pool, err);
    if (s != CF_OK) {
        free(c);
        return s;
    }
    /* The policy: our pool splits GEMMs, OpenBLAS runs each piece on one
     * thread. Restored on destroy. */
    c->blas_threads_before = openblas_get_num_threads();
    openblas_set_num_threads(1);
    /* Convolutions through oneDNN by default when it is built in (measured
     * faster on every bench layer, docs/cpu-backend.md). */
#ifdef CF_HAVE_DNNL
    if (c->conv_method == 0 || c->conv_method == 3) {
        s = cpu_dnnl_create(c, err);
        if (s != CF_OK && c->conv_method == 0 && c->verbose)
            fprintf(stderr, "clforge cpu backend: %s; convolutions by im2col + GEMM\n",
                    err ? err->msg : "oneDNN unavailable");
        if (s != CF_OK && c->conv_method == 3) {
            openblas_set_num_threads(c->blas_threads_before);
            cpu_pool_destroy(c->pool);
            free(c);
            return s;
        }
    }
#else
    if (c->conv_method == 3 && c->verbose)
        fprintf(stderr, "clforge cpu backend: built without oneDNN; CLFORGE_CPU_CONV=dnnl uses "
                        "im2col + GEMM\n");
#endif
    if (c->verbose)
        fprintf(stderr, "clforge cpu backend: %d threads, %s, GEMM by %s, convolution by %s\n",
                threads, openblas_get_config(), cpu_gemm_library(),
                c->dnnl ? "oneDNN" : c->conv_method == 2 ? "direct loop" : "im2col + GEMM");
    *out = c;
    return CF_OK;
}

static const char *op_label(cf_op_kind k)
{
    static const char *const names[CF_OP_COUNT] = {
        "none", "dense_fwd", "dense_bwd_data", "dense_bwd_weight", "conv2d_fwd",
        "conv2d_bwd_data", "conv2d_bwd_weight", "maxpool_fwd", "maxpool_bwd", "avgpool_fwd",
        "avgpool_bwd", "gap_fwd", "gap_bwd", "add", "act_fwd", "act_bwd", "softmax_fwd",
        "softmax_bwd", "softmax_xent_fwd", "softmax_xent_bwd", "mse_fwd", "mse_bwd", "hinge_fwd",
        "hinge_bwd", "dropout_fwd", "dropout_bwd", "batchnorm_fwd_train", "batchnorm_fwd_eval",
        "batchnorm_bwd", "fill", "axpby", "mul", "div", "sqrt", "sign", "max", "sumsq",
        "conv2d_fwd_act"};
    return k < CF_OP_COUNT && names[k] ? names[k] : "?";
}

static void cpu_print_profile(const cpu_ctx *c)
{
    double tot = 0;
    for (int k = 0; k < CF_OP_COUNT; k++) tot += c->prof_s[k];
    fprintf(stderr, "clforge cpu backend profile (%d threads): %.3f s in ops\n", c->threads, tot);
    for (int k = 0; k < CF_OP_COUNT; k++)
        if (c->prof_n[k])
            fprintf(stderr, "  %-20s %8ld calls %9.3f s %5.1f%%\n", op_label((cf_op_kind)k),
                    c->prof_n[k], c->prof_s[k], tot > 0 ? 100 * c->prof_s[k] / tot : 0);
}

static void cpu_destroy(void *ctx)
{
    cpu_ctx *c = ctx;
    if (!c) return;
    if (c->profile) cpu_print_profile(c);
#ifdef CF_HAVE_DNNL
    cpu_dnnl_destroy(c);
#endif
    cpu_pool_destroy(c->pool);
    if (c->blas_threads_before > 0) openblas_set_num_threads(c->blas_threads_before);
    free(c->scratch);
    free(c);
}

static cf_status cpu_device_info(void *ctx, cf_device_info *info)
{
    cpu_ctx *c = ctx;
    cpu_fill_info(info, c->threads);
    return CF_OK;
}

static cf_status cpu_buffer_alloc(void *ctx, size_t bytes, const char *name, cf_buffer **out,
                                  cf_error *err)
{
    cf_buffer *b = malloc(sizeof *b);
    void *p = NULL;
    size_t sz = bytes ? (bytes + 63) & ~(size_t)63 : 64;
    if (!b || posix_memalign(&p, 64, sz) != 0) {
        free(b);
        return cpu_err(err, CF_ERR_NOMEM, "cpu backend: out of memory allocating %zu bytes for %s",
                       bytes, name ? name : "a tensor");
    }
    b->data = p;
    b->bytes = bytes;
    b->blk = 0;
    *out = b;
    return CF_OK;
}

static void cpu_buffer_free(void *ctx, cf_buffer *b)
{
    if (!b) return;
    free(b->data);
    free(b);
}

static cf_status cpu_upload(void *ctx, cf_buffer *dst, size_t offset, const void *src,
                            size_t bytes, cf_error *err)
{
    if (!dst || offset > dst->bytes || bytes > dst->bytes - offset)
        return cpu_err(err, CF_ERR_INVALID,
                       "cpu backend: upload of %zu bytes at offset %zu overruns a %zu-byte buffer",
                       bytes, offset, dst ? dst->bytes : 0);
    if (dst->blk && (offset || bytes != dst->bytes)) /* the rest must stay readable */
        CF_TRY(cpu_make_plain(ctx, dst, err));
    memcpy((char *)dst->data + offset, src, bytes);
    dst->blk = 0;
    return CF_OK;
}

static cf_status cpu_download(void *ctx, cf_buffer *srcb, size_t offset, void *dst, size_t bytes,
                              cf_error *err)
{
    if (!srcb || offset > srcb->bytes || bytes > srcb->bytes - offset)
        return cpu_err(err, CF_ERR_INVALID,
                       "cpu backend: download of %zu bytes at offset %zu overruns a %zu-byte "
                       "buffer",
                       bytes, offset, srcb ? srcb->bytes : 0);
    CF_TRY(cpu_make_plain(ctx, srcb, err));
    memcpy(dst, (const char *)srcb->data + offset, bytes);
    return CF_OK;
}

static int cpu_supports_op(void *ctx, const cf_op *op)
{
    const cpu_ctx *c = ctx;
    return op && op->kind > CF_OP_NONE && op->kind < CF_OP_COUNT && !c->deny[op->kind];
}

static cf_status cpu_exec_op(cpu_ctx *c, const cf_op *op, cf_error *err);

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Activations may sit in oneDNN's blocked layout (cpu_layout.c): the
 * convolutions and batch norm handle that themselves, elementwise ops run in
 * the layout their operands share, everything else gets plain NCHW. */
static cf_status layout_exec(cpu_ctx *c, const cf_op *op, cf_error *err)
{
    switch (op->kind) {
    case CF_OP_CONV2D_FWD:
    case CF_OP_CONV2D_FWD_ACT:
    case CF_OP_CONV2D_BWD_DATA:
    case CF_OP_CONV2D_BWD_WEIGHT:
    case CF_OP_BATCHNORM_FWD_TRAIN:
    case CF_OP_BATCHNORM_FWD_EVAL:
    case CF_OP_BATCHNORM_BWD:
    case CF_OP_MAXPOOL_FWD:
    case CF_OP_MAXPOOL_BWD: return cpu_exec_op(c, op, err);
    default: break;
    }
    if (!cpu_layout_agnostic(op->kind)) {
        CF_TRY(cpu_plain_operands(c, op, err));
        return cpu_exec_op(c, op, err);
    }
    cpu_layout lay;
    CF_TRY(cpu_layout_before(c, op, &lay, err));
    CF_TRY(cpu_exec_op(c, op, err));
    cpu_layout_after(op, &lay);
    return CF_OK;
}

static cf_status cpu_exec(void *ctx, const cf_op *op, cf_error *err)
{
    cpu_ctx *c = ctx;
    CF_TRY(cf_op_require_dtype(op, CF_DTYPE_F32, "cpu backend", err));
    if (!c->profile || op->kind <= CF_OP_NONE || op->kind >= CF_OP_COUNT)
        return layout_exec(c, op, err);
    double t0 = cpu_now();
    cf_status s = layout_exec(c, op, err);
    c->prof_s[op->kind] += cpu_now() - t0;
    c->prof_n[op->kind]++;
    return s;
}

static cf_status cpu_exec_op(cpu_ctx *c, const cf_op *op, cf_error *err)
{
    switch (op->kind) {
    case CF_OP_DENSE_FWD:
    case CF_OP_DENSE_BWD_DATA:
    case CF_OP_DENSE_BWD_WEIGHT: return cpu_dense(c, op, err);
    case CF_OP_CONV2D_FWD:
    case CF_OP_CONV2D_FWD_ACT:
    case CF_OP_CONV2D_BWD_DATA:
    case CF_OP_CONV2D_BWD_WEIGHT: return cpu_conv(c, op, err);
    case CF_OP_MAXPOOL_FWD:
    case CF_OP_MAXPOOL_BWD:
    case CF_OP_AVGPOOL_FWD:
    case CF_OP_AVGPOOL_BWD:
    case CF_OP_GAP_FWD:
    case CF_OP_GAP_BWD: return cpu_pool_op(c, op, err);
    case CF_OP_ADD:
    case CF_OP_ACT_FWD:
    case CF_OP_ACT_BWD: return cpu_act(c, op, err);
    case CF_OP_SOFTMAX_FWD:
    case CF_OP_SOFTMAX_BWD: return cpu_softmax(c, op, err);
    case CF_OP_SOFTMAX_XENT_FWD:
    case CF_OP_SOFTMAX_XENT_BWD:
    case CF_OP_MSE_FWD:
    case CF_OP_MSE_BWD:
    case CF_OP_HINGE_FWD:
    case CF_OP_HINGE_BWD: return cpu_loss(c, op, err);
    case CF_OP_DROPOUT_FWD:
    case CF_OP_DROPOUT_BWD: return cpu_dropout(c, op, err);
    case CF_OP_BATCHNORM_FWD_TRAIN:
    case CF_OP_BATCHNORM_FWD_EVAL:
    case CF_OP_BATCHNORM_BWD: return cpu_batchnorm(c, op, err);
    case CF_OP_FILL:
    case CF_OP_AXPBY:
    case CF_OP_MUL:
    case CF_OP_DIV:
    case CF_OP_SQRT:
    case CF_OP_SIGN:
    case CF_OP_MAX:
    case CF_OP_SUMSQ: return cpu_vec(c, op, err);
    case CF_OP_CHANNEL_COPY: return cpu_channel_copy(c, op, err);
    case CF_OP_SIGMOID_BCE_FWD:
    case CF_OP_SIGMOID_BCE_BWD: return cpu_bce(c, op, err);
    case CF_OP_NONE:
    case CF_OP_COUNT: break;
    }
    return cpu_err(err, CF_ERR_UNSUPPORTED, "cpu backend: unknown op kind %d", (int)op->kind);
}

static cf_status cpu_sync(void *ctx, cf_error *err) { return CF_OK; }

static const cf_backend_vtable cpu_vtable = {
    .struct_size = sizeof(cf_backend_vtable),
    .auto_score = cpu_auto_score,
    .list_devices = cpu_list_devices,
    .create = cpu_create,
    .destroy = cpu_destroy,
    .device_info = cpu_device_info,
    .buffer_alloc = cpu_buffer_alloc,
    .buffer_free = cpu_buffer_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .supports_op = cpu_supports_op,
    .exec = cpu_exec,
    .sync = cpu_sync,
};

/* Knobs, set in the config's backend group; the variables named override. */
static const cf_param_def cpu_params[] = {
    {"threads", CF_PT_INT, "0", 0, 1024, NULL, "compute threads (0 = one per usable core)",
     CF_PARAM_AT(cpu_knobs, threads)},
    {"verbose", CF_PT_BOOL, "false", CF_PARAM_NO_RANGE, NULL,
     "say on stderr when oneDNN is unavailable", CF_PARAM_AT(cpu_knobs, verbose)},
    {"conv", CF_PT_STRING, "auto", CF_PARAM_NO_RANGE, "auto|dnnl|gemm|direct",
     "convolution method (env CLFORGE_CPU_CONV overrides)", CF_PARAM_AT(cpu_knobs, conv)},
    {"profile", CF_PT_BOOL, "false", CF_PARAM_NO_RANGE, NULL,
     "time every op, print a table on close (env CLFORGE_CPU_PROFILE overrides)",
     CF_PARAM_AT(cpu_knobs, profile)},
    {"deny_ops", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL,
     "op names (\"dense_fwd|conv2d_fwd\") this backend claims to lack, so the engine runs them "
     "on the reference backend (tests the per-op fallback)",
     CF_PARAM_AT(cpu_knobs, deny_ops)},
    CF_PARAM_TABLE_END};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_BACKEND, "cpu", "1.0.0",
    "fast CPU backend: OpenBLAS GEMM, im2col/direct convolution, threaded kernels", cpu_params,
    &cpu_vtable, sizeof(cpu_knobs));
