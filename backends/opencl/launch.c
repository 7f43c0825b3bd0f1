/* clforge OpenCL backend — setting kernel arguments and enqueueing 1-D launches. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const kernel_names[CF_K_COUNT] = {
#define CF_OCL_NAME(n) #n,
    CF_OCL_KERNELS(CF_OCL_NAME)
#undef CF_OCL_NAME
};

static cl_int set_args(cf_ocl *o, int ki, size_t lws, const char *fmt, va_list ap)
{
    cl_kernel k = o->k[ki];
    cl_int rc = CL_SUCCESS;
    for (cl_uint i = 0; fmt[i] && rc == CL_SUCCESS; i++) {
        switch (fmt[i]) {
        case 't': {
            const cf_tensor *t = va_arg(ap, const cf_tensor *);
            cl_mem m = t && t->buf ? t->buf->mem : o->dummy;
            rc = clSetKernelArg(k, i, sizeof m, &m);
            break;
        }
        case 'm': {
            cl_mem m = va_arg(ap, cl_mem);
            if (!m) m = o->dummy;
            rc = clSetKernelArg(k, i, sizeof m, &m);
            break;
        }
        case 'i': {
            cl_int v = va_arg(ap, int);
            rc = clSetKernelArg(k, i, sizeof v, &v);
            break;
        }
        case 'f': {
            cl_float v = (cl_float)va_arg(ap, double);
            rc = clSetKernelArg(k, i, sizeof v, &v);
            break;
        }
        case 'u': {
            cl_ulong v = va_arg(ap, uint64_t);
            rc = clSetKernelArg(k, i, sizeof v, &v);
            break;
        }
        case 'l': rc = clSetKernelArg(k, i, lws * sizeof(cl_float), NULL); break;
        default: rc = CL_INVALID_ARG_INDEX; break;
        }
    }
    return rc;
}

/* A kernels.cl loaded from disk (CLFORGE_KERNELS) may disagree with this build's launches. */
static cf_status check_nargs(cf_ocl *o, int k, const char *fmt, cf_error *err)
{
    if (o->knargs[k] && o->knargs[k] != (cl_uint)strlen(fmt))
        return cf_ocl_fail(err, CF_ERR_BACKEND,
                           "opencl: kernel %s takes %u arguments but the backend passes %zu "
                           "(kernels.cl does not match this build of the module)",
                           kernel_names[k], o->knargs[k], strlen(fmt));
    return CF_OK;
}

const char *cf_ocl_kernel_name(int k)
{
    return k >= 0 && k < CF_K_COUNT ? kernel_names[k] : "CLBlast SGEMM";
}

/* Fault injection (docs/reliability.md, tests/test_opencl_fault.sh):
 * CLFORGE_OPENCL_FAIL_AT=N makes the process's N-th kernel enqueue return
 * CL_OUT_OF_RESOURCES instead of running, as a device that runs out mid-step
 * would. Read once; off (0) unless set. */
static cl_int injected_fault(void)
{
    static _Atomic long at = -1, n;
    if (at < 0) {
        const char *v = getenv("CLFORGE_OPENCL_FAIL_AT");
        at = v && atol(v) > 0 ? atol(v) : 0;
    }
    return at > 0 && ++n == at ? CL_OUT_OF_RESOURCES : CL_SUCCESS;
}

static cf_status enqueue(cf_ocl *o, int k, size_t gws, size_t lws, cf_error *err)
{
    double t0 = o->profile ? cf_ocl_now() : 0.0;
    cl_int rc = injected_fault();
    if (rc == CL_SUCCESS) rc = clEnqueueNDRangeKernel(o->queue, o->k[k], 1, NULL, &gws, &lws, 0, NULL, NULL);
    o->cnt.kernels++;
    if (o->profile) {
        clFinish(o->queue);
        o->kprof_s[k] += cf_ocl_now() - t0;
        o->kprof_n[k]++;
    }
    if (rc != CL_SUCCESS) {
        char what[96];
        snprintf(what, sizeof what, "(kernel %s, %zu work-items)", kernel_names[k], gws);
        return cf_ocl_clfail(err, "clEnqueueNDRangeKernel", rc, what);
    }
    return CF_OK;
}

cf_status cf_ocl_run1d(cf_ocl *o, int k, size_t n, cf_error *err, const char *fmt, ...)
{
    if (n == 0) return CF_OK;
    /* The kernel's own work-group limit, capped at 256: large groups cut PoCL's
     * per-group overhead and suit GPUs (several warps/wavefronts per group). */
    size_t lws = o->kwg[k];
    size_t gws = (n + lws - 1) / lws * lws;
    CF_TRY(check_nargs(o, k, fmt, err));
    va_list ap;
    va_start(ap, fmt);
    cl_int rc = set_args(o, k, lws, fmt, ap);
    va_end(ap);
    if (rc != CL_SUCCESS) return cf_ocl_clfail(err, "clSetKernelArg", rc, kernel_names[k]);
    return enqueue(o, k, gws, lws, err);
}

cf_status cf_ocl_run_groups(cf_ocl *o, int k, size_t groups, cf_error *err, const char *fmt, ...)
{
    if (groups == 0) return CF_OK;
    size_t lws = o->kwg[k];
    CF_TRY(check_nargs(o, k, fmt, err));
    va_list ap;
    va_start(ap, fmt);
    cl_int rc = set_args(o, k, lws, fmt, ap);
    va_end(ap);
    if (rc != CL_SUCCESS) return cf_ocl_clfail(err, "clSetKernelArg", rc, kernel_names[k]);
    return enqueue(o, k, groups * lws, lws, err);
}

void cf_ocl_staged_free(cf_ocl *o)
{
    while (o->staged) {
        cf_ocl_staged *n = o->staged->next;
        free(o->staged);
        o->staged = n;
    }
    o->staged_bytes = 0;
}

cl_int cf_ocl_finish(cf_ocl *o)
{
    o->cnt.finishes++;
    cl_int rc = clFinish(o->queue);
    if (rc == CL_SUCCESS) cf_ocl_staged_free(o);
    return rc;
}

cf_status cf_ocl_ws(cf_ocl *o, int slot, size_t bytes, cl_mem *out, cf_error *err)
{
    if (bytes == 0) bytes = sizeof(float);
    if (o->ws_bytes[slot] < bytes) {
        /* Released buffers live on until queued commands using them finish. */
        if (o->ws[slot]) clReleaseMemObject(o->ws[slot]);
        o->ws[slot] = NULL;
        o->ws_bytes[slot] = 0;
        size_t want = (bytes + (1u << 20) - 1) & ~(size_t)((1u << 20) - 1);
        if (want > o->info.max_alloc && bytes <= o->info.max_alloc) want = bytes;
        cl_int rc;
        o->ws[slot] = clCreateBuffer(o->context, CL_MEM_READ_WRITE, want, NULL, &rc);
        if (rc != CL_SUCCESS) {
            char what[160];
            snprintf(what, sizeof what,
                     "(scratch buffer of %zu bytes; device global memory %llu bytes)", want,
                     (unsigned long long)o->info.global_mem);
            return cf_ocl_clfail(err, "clCreateBuffer", rc, what);
        }
        o->ws_bytes[slot] = want;
    }
    *out = o->ws[slot];
    return CF_OK;
}
