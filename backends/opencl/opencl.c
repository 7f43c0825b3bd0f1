/* clforge OpenCL backend — the plugin descriptor and the backend vtable:
 * context and queue, buffers, transfers, synchronisation.
 *
 * One in-order queue per context, no events needed: ops run in submission
 * order and blocking reads return data after all earlier work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clforge/plugin.h"
#include "internal.h"

static void print_profile(const cf_ocl *o)
{
    double total = 0;
    for (int k = 0; k < CF_OP_COUNT; k++) total += o->prof_s[k];
    fprintf(stderr, "clforge opencl: profile (each op synchronised), total %.3f s\n", total);
    for (int k = 0; k < CF_OP_COUNT; k++)
        if (o->prof_n[k])
            fprintf(stderr, "  %-22s %8ld calls %9.3f s %5.1f%%\n", cf_ocl_op_name(k), o->prof_n[k],
                    o->prof_s[k], total > 0 ? 100.0 * o->prof_s[k] / total : 0.0);
    fprintf(stderr, "clforge opencl: time inside those ops by kernel\n");
    for (int k = 0; k <= CF_K_COUNT; k++)
        if (o->kprof_n[k])
            fprintf(stderr, "  %-22s %8ld calls %9.3f s\n", cf_ocl_kernel_name(k), o->kprof_n[k],
                    o->kprof_s[k]);
}

static void print_counters(const cf_ocl *o)
{
    const cf_ocl_counters *c = &o->cnt;
    fprintf(stderr,
            "clforge opencl: counters kernels=%ld gemms=%ld launches=%ld host_syncs=%ld "
            "(finishes=%ld blocking_reads=%ld blocking_writes=%ld) async_writes=%ld "
            "h2d_bytes=%llu d2h_bytes=%llu\n",
            c->kernels, c->gemms, c->kernels + c->gemms, c->finishes + c->reads + c->writes,
            c->finishes, c->reads, c->writes, c->async_writes, c->h2d, c->d2h);
}

static void ocl_destroy(void *ctx)
{
    cf_ocl *o = ctx;
    if (!o) return;
    if (o->queue) clFinish(o->queue); /* not counted: the run is over */
    cf_ocl_staged_free(o);
    if (o->verbose) print_counters(o);
    if (o->profile) print_profile(o);
    for (int i = 0; i < CF_K_COUNT; i++)
        if (o->k[i]) clReleaseKernel(o->k[i]);
    for (int i = 0; i < CF_WS_COUNT; i++)
        if (o->ws[i]) clReleaseMemObject(o->ws[i]);
    if (o->dummy) clReleaseMemObject(o->dummy);
    if (o->program) clReleaseProgram(o->program);
    if (o->queue) clReleaseCommandQueue(o->queue);
    if (o->context) clReleaseContext(o->context);
    free(o);
}

/* The knobs of backend = { name = "opencl"; ... } (ocl_params below). An
 * environment variable, where one exists, overrides the config; the C API's
 * cf_backend_config.device/cache_dir, when set, win over both. */
typedef struct ocl_knobs {
    const char *device, *cache_dir;
    int verbose, profile;
    int64_t conv_ws_mb;
} ocl_knobs;

static cf_status ocl_create(const cf_backend_config *cfg, void **out, cf_error *err)
{
    static const ocl_knobs defaults = {"", "", 0, 0, 64};
    const ocl_knobs *k = cfg && cfg->knobs ? cfg->knobs : &defaults;
    *out = NULL;
    cf_ocl *o = calloc(1, sizeof *o);
    if (!o) return cf_ocl_fail(err, CF_ERR_NOMEM, "opencl: out of host memory");
    o->verbose = (cfg && cfg->verbose) || cf_ocl_env_verbose() || k->verbose;
    const char *prof = getenv("CLFORGE_OPENCL_PROFILE");
    o->profile = prof && *prof ? strcmp(prof, "0") != 0 : k->profile;
    const char *ws = getenv("CLFORGE_OPENCL_CONV_WS");
    o->conv_ws_budget = ws && *ws ? strtoull(ws, NULL, 10) : (size_t)k->conv_ws_mb << 20;
    const char *dev = cfg && cfg->device && *cfg->device ? cfg->device : k->device;
    /* cache dir: the API field, else $CLFORGE_CACHE_DIR (program.c), else the knob */
    const char *cache = cfg && cfg->cache_dir ? cfg->cache_dir : NULL;
    const char *ecache = getenv("CLFORGE_CACHE_DIR");
    if (!cache && !(ecache && *ecache) && k->cache_dir && *k->cache_dir) cache = k->cache_dir;
    cf_status st = cf_ocl_select_device(dev, &o->platform, &o->device, err);
    if (st != CF_OK) {
        free(o);
        return st;
    }
    cf_ocl_fill_info(o->platform, o->device, &o->info);
    clGetDeviceInfo(o->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof o->max_wg, &o->max_wg, NULL);
    cf_ocl_log(o, "device %s (%s, %s) on platform %s", o->info.name, o->info.type,
               o->info.version, o->info.platform);

    cl_int rc;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)o->platform, 0};
    o->context = clCreateContext(props, 1, &o->device, NULL, NULL, &rc);
    if (rc != CL_SUCCESS) {
        st = cf_ocl_clfail(err, "clCreateContext", rc, o->info.name);
        goto fail;
    }
    /* In-order (properties 0): ROCm lacks out-of-order queues, and order is our contract. */
    o->queue = clCreateCommandQueue(o->context, o->device, 0, &rc);
    if (rc != CL_SUCCESS) {
        st = cf_ocl_clfail(err, "clCreateCommandQueue", rc, o->info.name);
        goto fail;
    }
    o->dummy = clCreateBuffer(o->context, CL_MEM_READ_WRITE, 16, NULL, &rc);
    if (rc != CL_SUCCESS) {
        st = cf_ocl_clfail(err, "clCreateBuffer", rc, "(16-byte placeholder)");
        goto fail;
    }
    st = cf_ocl_build_program(o, cache, err);
    if (st != CF_OK) goto fail;
    st = cf_ocl_warm_gemm(o, err);
    if (st != CF_OK) goto fail;
    *out = o;
    return CF_OK;
fail:
    ocl_destroy(o);
    return st;
}

static cf_status ocl_device_info(void *ctx, cf_device_info *info)
{
    *info = ((cf_ocl *)ctx)->info;
    return CF_OK;
}

static cf_status ocl_buffer_alloc(void *ctx, size_t bytes, const char *name, cf_buffer **out,
                                  cf_error *err)
{
    cf_ocl *o = ctx;
    const char *nm = name && *name ? name : "(unnamed)";
    *out = NULL;
    if (bytes > o->info.max_alloc || o->allocated + bytes > o->info.global_mem)
        return cf_ocl_fail(err, CF_ERR_NOMEM,
                           "opencl: out of device memory for tensor '%s': %zu bytes requested, "
                           "%zu in use; device %s has %llu bytes of global memory, at most %llu "
                           "per buffer", nm, bytes, o->allocated, o->info.name,
                           (unsigned long long)o->info.global_mem,
                           (unsigned long long)o->info.max_alloc);
    cf_buffer *b = calloc(1, sizeof *b);
    if (!b) return cf_ocl_fail(err, CF_ERR_NOMEM, "opencl: out of host memory for tensor '%s'", nm);
    cl_int rc;
    b->mem = clCreateBuffer(o->context, CL_MEM_READ_WRITE, bytes ? bytes : sizeof(float), NULL, &rc);
    if (rc != CL_SUCCESS) {
        free(b);
        if (rc == CL_MEM_OBJECT_ALLOCATION_FAILURE || rc == CL_OUT_OF_RESOURCES ||
            rc == CL_OUT_OF_HOST_MEMORY || rc == CL_INVALID_BUFFER_SIZE)
            return cf_ocl_fail(err, CF_ERR_NOMEM,
                               "opencl: clCreateBuffer failed: %s for tensor '%s': %zu bytes "
                               "requested, %zu in use; device %s has %llu bytes of global memory",
                               cf_ocl_error_name(rc), nm, bytes, o->allocated, o->info.name,
                               (unsigned long long)o->info.global_mem);
        return cf_ocl_clfail(err, "clCreateBuffer", rc, nm);
    }
    b->bytes = bytes;
    o->allocated += bytes;
    *out = b;
    return CF_OK;
}

static void ocl_buffer_free(void *ctx, cf_buffer *buf)
{
    cf_ocl *o = ctx;
    if (!buf) return;
    /* The object lives on until queued commands that use it complete. */
    clReleaseMemObject(buf->mem);
    o->allocated -= buf->bytes;
    free(buf);
}

static cf_status ocl_upload(void *ctx, cf_buffer *dst, size_t offset, const void *src,
                            size_t bytes, cf_error *err)
{
    cf_ocl *o = ctx;
    if (!dst || offset > dst->bytes || bytes > dst->bytes - offset)
        return cf_ocl_fail(err, CF_ERR_INVALID,
                           "opencl: upload of %zu bytes at offset %zu overruns a %zu-byte buffer",
                           bytes, offset, dst ? dst->bytes : 0);
    if (bytes == 0) return CF_OK;
    o->cnt.h2d += bytes;
    /* The caller may reuse src as soon as we return. Rather than block (a host
     * sync per input tensor per step), copy into a host block that lives until
     * the queue next drains; past the budget, drain first. */
    const size_t budget = (size_t)64 << 20;
    if (bytes <= budget) {
        if (o->staged_bytes + bytes > budget) {
            cl_int rc = cf_ocl_finish(o);
            if (rc != CL_SUCCESS) return cf_ocl_clfail(err, "clFinish", rc, "(upload staging)");
        }
        cf_ocl_staged *st = malloc(sizeof *st + bytes);
        if (st) {
            memcpy(st + 1, src, bytes);
            cl_int rc = clEnqueueWriteBuffer(o->queue, dst->mem, CL_FALSE, offset, bytes, st + 1, 0,
                                             NULL, NULL);
            if (rc != CL_SUCCESS) {
                free(st);
                return cf_ocl_clfail(err, "clEnqueueWriteBuffer", rc, "(upload)");
            }
            st->bytes = bytes;
            st->next = o->staged;
            o->staged = st;
            o->staged_bytes += bytes;
            o->cnt.async_writes++;
            return CF_OK;
        }
    }
    o->cnt.writes++;
    cl_int rc = clEnqueueWriteBuffer(o->queue, dst->mem, CL_TRUE, offset, bytes, src, 0, NULL, NULL);
    return rc == CL_SUCCESS ? CF_OK : cf_ocl_clfail(err, "clEnqueueWriteBuffer", rc, "(upload)");
}

static cf_status ocl_download(void *ctx, cf_buffer *src, size_t offset, void *dst, size_t bytes,
                              cf_error *err)
{
    cf_ocl *o = ctx;
    if (!src || offset > src->bytes || bytes > src->bytes - offset)
        return cf_ocl_fail(err, CF_ERR_INVALID,
                           "opencl: download of %zu bytes at offset %zu overruns a %zu-byte buffer",
                           bytes, offset, src ? src->bytes : 0);
    if (bytes == 0) return CF_OK;
    o->cnt.reads++;
    o->cnt.d2h += bytes;
    cl_int rc = clEnqueueReadBuffer(o->queue, src->mem, CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
    if (rc == CL_SUCCESS) cf_ocl_staged_free(o); /* in order: earlier uploads are done */
    /* Errors of earlier asynchronous kernels surface here. */
    return rc == CL_SUCCESS ? CF_OK
                            : cf_ocl_clfail(err, "clEnqueueReadBuffer", rc,
                                            "(download; the failure may come from an earlier op)");
}

static int ocl_supports_op(void *ctx, const cf_op *op)
{
    (void)ctx;
    return cf_ocl_supports(op);
}

static cf_status ocl_exec(void *ctx, const cf_op *op, cf_error *err)
{
    cf_ocl *o = ctx;
    /* F16 is reserved for this backend's half-precision path; not yet. */
    if (op) CF_TRY(cf_op_require_dtype(op, CF_DTYPE_F32, "opencl", err));
    if (!o->profile || !op || op->kind <= CF_OP_NONE || op->kind >= CF_OP_COUNT)
        return cf_ocl_exec(o, op, err);
    /* Profiling serialises the queue: fine for finding hot ops, not for throughput. */
    clFinish(o->queue);
    double t0 = cf_ocl_now();
    cf_status st = cf_ocl_exec(o, op, err);
    clFinish(o->queue);
    o->prof_s[op->kind] += cf_ocl_now() - t0;
    o->prof_n[op->kind]++;
    return st;
}

static cf_status ocl_sync(void *ctx, cf_error *err)
{
    cl_int rc = cf_ocl_finish(ctx);
    return rc == CL_SUCCESS ? CF_OK : cf_ocl_clfail(err, "clFinish", rc, "(sync)");
}

static const cf_backend_vtable ocl_vtable = {
    .struct_size = sizeof(cf_backend_vtable),
    .auto_score = cf_ocl_auto_score,
    .list_devices = cf_ocl_list_devices,
    .create = ocl_create,
    .destroy = ocl_destroy,
    .device_info = ocl_device_info,
    .buffer_alloc = ocl_buffer_alloc,
    .buffer_free = ocl_buffer_free,
    .upload = ocl_upload,
    .download = ocl_download,
    .supports_op = ocl_supports_op,
    .exec = ocl_exec,
    .sync = ocl_sync,
};

/* Knobs, set in the config's backend group; the variables named override. */
static const cf_param_def ocl_params[] = {
    {"device", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL,
     "device: index, name substring, or gpu/cpu/accelerator (\"\" = the best GPU)",
     CF_PARAM_AT(ocl_knobs, device)},
    {"verbose", CF_PT_BOOL, "false", CF_PARAM_NO_RANGE, NULL,
     "log device choice, kernel compiles and cache use (env CLFORGE_OPENCL_VERBOSE=1 too)",
     CF_PARAM_AT(ocl_knobs, verbose)},
    {"cache_dir", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL,
     "compiled-kernel cache (\"\" = $XDG_CACHE_HOME/clforge; env CLFORGE_CACHE_DIR overrides)",
     CF_PARAM_AT(ocl_knobs, cache_dir)},
    {"profile", CF_PT_BOOL, "false", CF_PARAM_NO_RANGE, NULL,
     "time every op (serialises the queue; env CLFORGE_OPENCL_PROFILE overrides)",
     CF_PARAM_AT(ocl_knobs, profile)},
    {"conv_workspace_mb", CF_PT_INT, "64", 1, 1 << 20, NULL,
     "convolution workspace budget in MiB (env CLFORGE_OPENCL_CONV_WS, in bytes, overrides)",
     CF_PARAM_AT(ocl_knobs, conv_ws_mb)},
    CF_PARAM_TABLE_END};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_BACKEND, "opencl", "0.1.0",
    "OpenCL 1.2 + CLBlast: GPUs of any vendor (AMD, Intel, NVIDIA), PoCL on CPU", ocl_params,
    &ocl_vtable, sizeof(ocl_knobs));
