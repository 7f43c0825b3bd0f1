/* clforge OpenCL backend — platform/device enumeration and selection.
 * Devices are numbered globally across platforms in enumeration order, the
 * same order `clforge devices` prints, so "--set backend.device=2" is stable. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

typedef struct dev_entry {
    cl_platform_id platform;
    cl_device_id device;
} dev_entry;

/* All devices of all platforms. Returns the number found (0 when no ICD). */
static int enumerate(dev_entry *out, int max, cl_int *first_err)
{
    cl_platform_id plats[MAX_PLATFORMS];
    cl_uint np = 0;
    cl_int rc = clGetPlatformIDs(MAX_PLATFORMS, plats, &np);
    if (first_err) *first_err = rc;
    if (rc != CL_SUCCESS) return 0;
    int n = 0;
    for (cl_uint p = 0; p < np && p < MAX_PLATFORMS; p++) {
        cl_device_id devs[MAX_DEVICES];
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devs, &nd) != CL_SUCCESS)
            continue; /* a broken platform must not hide the others */
        for (cl_uint d = 0; d < nd && d < MAX_DEVICES && n < max; d++) {
            out[n].platform = plats[p];
            out[n].device = devs[d];
            n++;
        }
    }
    return n;
}

static cl_device_type dev_type(cl_device_id d)
{
    cl_device_type t = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, NULL);
    return t;
}

static int has_ext(const char *exts, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = exts; (p = strstr(p, name)) != NULL; p += n)
        if ((p == exts || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
    return 0;
}

void cf_ocl_fill_info(cl_platform_id p, cl_device_id d, cf_device_info *info)
{
    memset(info, 0, sizeof *info);
    clGetDeviceInfo(d, CL_DEVICE_NAME, sizeof info->name - 1, info->name, NULL);
    clGetDeviceInfo(d, CL_DEVICE_VENDOR, sizeof info->vendor - 1, info->vendor, NULL);
    cl_device_type t = dev_type(d);
    snprintf(info->type, sizeof info->type, "%s",
             (t & CL_DEVICE_TYPE_GPU)           ? "gpu"
             : (t & CL_DEVICE_TYPE_ACCELERATOR) ? "accelerator"
             : (t & CL_DEVICE_TYPE_CPU)         ? "cpu"
                                                : "other");
    char clc[64] = "", drv[64] = "";
    clGetDeviceInfo(d, CL_DEVICE_OPENCL_C_VERSION, sizeof clc - 1, clc, NULL);
    clGetDeviceInfo(d, CL_DRIVER_VERSION, sizeof drv - 1, drv, NULL);
    snprintf(info->version, sizeof info->version, "%s, driver %s", clc, drv);
    cl_uint cu = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    info->compute_units = (int)cu;
    cl_ulong v = 0;
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof v, &v, NULL);
    info->global_mem = v;
    v = 0;
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof v, &v, NULL);
    info->local_mem = v;
    v = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof v, &v, NULL);
    info->max_alloc = v;
    size_t elen = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &elen) == CL_SUCCESS && elen) {
        char *exts = calloc(1, elen + 1);
        if (exts && clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, elen, exts, NULL) == CL_SUCCESS) {
            info->fp16 = has_ext(exts, "cl_khr_fp16");
            info->fp64 = has_ext(exts, "cl_khr_fp64");
        }
        free(exts);
    }
    clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof info->platform - 1, info->platform, NULL);
}

int cf_ocl_auto_score(void)
{
    dev_entry devs[MAX_DEVICES];
    int n = enumerate(devs, MAX_DEVICES, NULL);
    if (n == 0) return 0;
    for (int i = 0; i < n; i++)
        if (dev_type(devs[i].device) & CL_DEVICE_TYPE_GPU) return 100;
    /* Only CPU OpenCL (PoCL): the native CPU backend is faster. */
    return 5;
}

cf_status cf_ocl_list_devices(cf_device_info *out, int max, int *count, cf_error *err)
{
    dev_entry devs[MAX_DEVICES];
    cl_int rc = CL_SUCCESS;
    int n = enumerate(devs, MAX_DEVICES, &rc);
    *count = n;
    if (n == 0 && rc != CL_SUCCESS && rc != -1001 /* CL_PLATFORM_NOT_FOUND_KHR: no ICD */)
        return cf_ocl_clfail(err, "clGetPlatformIDs", rc, "(is an OpenCL ICD installed?)");
    for (int i = 0; i < n && i < max; i++) cf_ocl_fill_info(devs[i].platform, devs[i].device, &out[i]);
    return CF_OK;
}

static int ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return 1;
    return n == 0;
}

cf_status cf_ocl_select_device(const char *spec, cl_platform_id *platform, cl_device_id *device,
                               cf_error *err)
{
    dev_entry devs[MAX_DEVICES];
    cl_int rc = CL_SUCCESS;
    int n = enumerate(devs, MAX_DEVICES, &rc);
    if (n == 0) {
        if (rc != CL_SUCCESS)
            return cf_ocl_fail(err, CF_ERR_BACKEND,
                               "opencl: no OpenCL platform found (clGetPlatformIDs: %s); install a "
                               "driver's ICD, e.g. the Debian package pocl-opencl-icd",
                               cf_ocl_error_name(rc));
        return cf_ocl_fail(err, CF_ERR_BACKEND, "opencl: OpenCL platforms found but no device");
    }
    if (!spec) spec = "";
    int pick = -1;
    if (*spec == '\0') {
        pick = 0;
        for (int i = 0; i < n; i++)
            if (dev_type(devs[i].device) & CL_DEVICE_TYPE_GPU) { pick = i; break; }
    } else if (strspn(spec, "0123456789") == strlen(spec)) {
        long idx = strtol(spec, NULL, 10);
        if (idx >= n)
            return cf_ocl_fail(err, CF_ERR_INVALID,
                               "opencl: device index %ld out of range (%d device%s; see `clforge "
                               "devices`)", idx, n, n == 1 ? "" : "s");
        pick = (int)idx;
    } else {
        cl_device_type want = 0;
        if (strcasecmp(spec, "gpu") == 0) want = CL_DEVICE_TYPE_GPU;
        else if (strcasecmp(spec, "cpu") == 0) want = CL_DEVICE_TYPE_CPU;
        else if (strcasecmp(spec, "accelerator") == 0) want = CL_DEVICE_TYPE_ACCELERATOR;
        for (int i = 0; i < n && pick < 0; i++) {
            if (want) {
                if (dev_type(devs[i].device) & want) pick = i;
            } else {
                char name[256] = "", pname[256] = "";
                clGetDeviceInfo(devs[i].device, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
                clGetPlatformInfo(devs[i].platform, CL_PLATFORM_NAME, sizeof pname - 1, pname, NULL);
                if (ci_contains(name, spec) || ci_contains(pname, spec)) pick = i;
            }
        }
        if (pick < 0) {
            char list[600] = "";
            size_t len = 0;
            for (int i = 0; i < n && len < sizeof list - 100; i++) {
                char name[128] = "";
                clGetDeviceInfo(devs[i].device, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%d: %s", i ? "; " : "", i,
                                        name);
            }
            return cf_ocl_fail(err, CF_ERR_INVALID,
                               "opencl: no device matches \"%s\" (by index, name or "
                               "gpu/cpu/accelerator); devices: %s", spec, list);
        }
    }
    *platform = devs[pick].platform;
    *device = devs[pick].device;
    return CF_OK;
}
