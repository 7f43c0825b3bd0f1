/* clforge OpenCL backend — shared definitions between its source files.
 * Nothing here is exported: the module's only public symbol is clforge_plugin. */
#ifndef CF_OPENCL_INTERNAL_H
#define CF_OPENCL_INTERNAL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stdarg.h>
#include <stddef.h>

#include "clforge/backend.h"
#include "clforge/error.h"

/* Every kernel of kernels.cl the backend launches; names match the source. */
#define CF_OCL_KERNELS(X)                                                                          \
    X(k_fill) X(k_axpby) X(k_mul) X(k_div) X(k_sqrt) X(k_sign) X(k_max)                            \
    X(k_sumsq_partial) X(k_sumsq_final) X(k_add)                                                   \
    X(k_act_fwd) X(k_act_bwd) X(k_softmax_fwd) X(k_softmax_bwd)                                    \
    X(k_xent_fwd) X(k_xent_bwd) X(k_mse_fwd) X(k_mse_bwd) X(k_hinge_fwd) X(k_hinge_bwd)            \
    X(k_dropout_fwd) X(k_dropout_bwd)                                                              \
    X(k_bn_stats) X(k_bn_apply) X(k_bn_eval) X(k_bn_bwd_reduce) X(k_bn_bwd_dx)                     \
    X(k_maxpool_fwd) X(k_maxpool_bwd) X(k_maxpool_bwd_disjoint) X(k_avgpool_fwd) X(k_avgpool_bwd)                            \
    X(k_gap_fwd) X(k_gap_bwd) X(k_channel_copy)                                                              \
    X(k_im2col) X(k_col2im) X(k_nchw_to_cm) X(k_cm_to_nchw) X(k_bias_rows) X(k_colsum)             \
    X(k_conv_db) X(k_bce_fwd) X(k_bce_bwd)

#define CF_OCL_ENUM(n) CF_##n,
enum { CF_OCL_KERNELS(CF_OCL_ENUM) CF_K_COUNT };
#undef CF_OCL_ENUM

struct cf_buffer {
    cl_mem mem;
    size_t bytes;
};

/* Scratch buffers reused across ops (the queue is in order, so reuse is safe). */
enum { CF_WS_COL = 0, CF_WS_T, CF_WS_SMALL, CF_WS_COUNT };

/* What crosses between host and device, counted always (cheap) and printed
 * at close with verbose: launches and syncs are what bound a GPU step. */
typedef struct cf_ocl_counters {
    long kernels, gemms;            /* clEnqueueNDRangeKernel; CLBlastSgemm calls (1+ kernels each) */
    long finishes, reads, writes;   /* clFinish; blocking reads; blocking writes */
    long async_writes;              /* non-blocking uploads through the staging list */
    unsigned long long h2d, d2h;    /* bytes */
} cf_ocl_counters;

/* Host copies of uploads still in flight: freed at the next point the queue is
 * known to be drained (a blocking read or clFinish; the queue is in order). */
typedef struct cf_ocl_staged {
    struct cf_ocl_staged *next;
    size_t bytes;
} cf_ocl_staged;

typedef struct cf_ocl {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel k[CF_K_COUNT];
    size_t kwg[CF_K_COUNT]; /* work-group size for reduction kernels (power of 2) */
    cl_uint knargs[CF_K_COUNT]; /* argument count, to catch a launch/source mismatch */
    cf_device_info info;
    size_t max_wg;
    int verbose;
    cl_mem dummy; /* bound to absent optional arguments */
    cl_mem ws[CF_WS_COUNT];
    size_t ws_bytes[CF_WS_COUNT];
    size_t allocated; /* bytes currently held by buffer_alloc */
    size_t conv_ws_budget; /* scratch bytes per conv chunk; CLFORGE_OPENCL_CONV_WS overrides */
    int profile;             /* CLFORGE_OPENCL_PROFILE: per-op times at destroy */
    double prof_s[CF_OP_COUNT];
    long prof_n[CF_OP_COUNT];
    double kprof_s[CF_K_COUNT + 1]; /* per kernel; [CF_K_COUNT] = CLBlast SGEMM */
    long kprof_n[CF_K_COUNT + 1];
    cf_ocl_counters cnt;
    cf_ocl_staged *staged;
    size_t staged_bytes;
} cf_ocl;

/* ---- errors (errors.c) ---- */
const char *cf_ocl_error_name(cl_int code); /* OpenCL and CLBlast status codes */
cf_status cf_ocl_fail(cf_error *err, cf_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "opencl: <call> failed: CL_NAME (code) <what>"; maps out-of-memory codes to CF_ERR_NOMEM. */
cf_status cf_ocl_clfail(cf_error *err, const char *call, cl_int code, const char *what);
void cf_ocl_log(const cf_ocl *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cf_ocl_env_verbose(void);
double cf_ocl_now(void);
const char *cf_ocl_kernel_name(int k);

/* ---- devices (devices.c) ---- */
int cf_ocl_auto_score(void);
cf_status cf_ocl_list_devices(cf_device_info *out, int max, int *count, cf_error *err);
cf_status cf_ocl_select_device(const char *spec, cl_platform_id *platform, cl_device_id *device,
                               cf_error *err);
void cf_ocl_fill_info(cl_platform_id p, cl_device_id d, cf_device_info *info);

/* ---- program build and binary cache (program.c) ---- */
cf_status cf_ocl_build_program(cf_ocl *o, const char *cache_dir, cf_error *err);

/* ---- kernel launches (launch.c) ----
 * fmt letters, one per kernel argument: 't' cf_tensor* (NULL binds a dummy),
 * 'm' cl_mem, 'i' int, 'f' double (passed as float), 'u' uint64_t (ulong),
 * 'l' __local float scratch of the launch's work-group size. */
cf_status cf_ocl_run1d(cf_ocl *o, int k, size_t n, cf_error *err, const char *fmt, ...);
/* `groups` work-groups of o->kwg[k] items each (reductions). */
cf_status cf_ocl_run_groups(cf_ocl *o, int k, size_t groups, cf_error *err, const char *fmt, ...);
/* Scratch buffer `slot` of at least `bytes`, grown on demand. */
/* clFinish, counted; frees staged uploads. */
cl_int cf_ocl_finish(cf_ocl *o);
void cf_ocl_staged_free(cf_ocl *o);
cf_status cf_ocl_ws(cf_ocl *o, int slot, size_t bytes, cl_mem *out, cf_error *err);

/* ---- ops (ops.c: dispatch and kernel ops; gemm_ops.c: dense and conv via CLBlast) ---- */
int cf_ocl_supports(const cf_op *op);
cf_status cf_ocl_exec(cf_ocl *o, const cf_op *op, cf_error *err);
const char *cf_ocl_op_name(cf_op_kind k);
cf_status cf_ocl_dense(cf_ocl *o, const cf_op *op, cf_error *err);
cf_status cf_ocl_warm_gemm(cf_ocl *o, cf_error *err);
cf_status cf_ocl_conv(cf_ocl *o, const cf_op *op, cf_error *err);

#endif
