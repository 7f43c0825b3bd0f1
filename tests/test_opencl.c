/* clforge tests — the OpenCL backend beyond op parity (tests/test_parity.c covers ops):
 * the program-binary cache across processes, device listing and selection,
 * error translation, kernel build failures, out-of-memory messages, and the
 * dropout mask bit for bit against the host Philox.
 *
 * Needs an OpenCL device (CI installs pocl-opencl-icd). Every context created
 * here shares CLFORGE_CACHE_DIR/POCL_CACHE_DIR with the other test programs,
 * except the cache test, which uses a fresh directory of its own. */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/opencl/internal.h"
#include "clforge/clforge.h"

/* ---- helpers ------------------------------------------------------------------ */

static const cf_backend_vtable *vt(void)
{
    static cf_registry *reg;
    static const cf_backend_vtable *v;
    if (v) return v;
    cf_error err = {0};
    ck_assert_msg(cf_registry_create(&reg, NULL, 0, &err) == CF_OK, "registry: %s", err.msg);
    const cf_plugin_desc *d = NULL;
    ck_assert_msg(cf_registry_find(reg, CF_PLUGIN_BACKEND, "opencl", &d, &err) == CF_OK,
                  "opencl backend not found: %s", err.msg);
    ck_assert_int_eq(d->kind, CF_PLUGIN_BACKEND);
    ck_assert_str_eq(d->name, "opencl");
    v = d->vtable;
    ck_assert_uint_ge(v->struct_size, sizeof(cf_backend_vtable));
    return v;
}

static int n_devices(cf_device_info *devs, int max)
{
    cf_error err = {0};
    int n = 0;
    ck_assert_msg(vt()->list_devices(devs, max, &n, &err) == CF_OK, "list_devices: %s", err.msg);
    ck_assert_msg(n > 0, "no OpenCL device found: install an ICD (pocl-opencl-icd in CI)");
    return n;
}

static void *open_dev(const char *device, cf_status want, cf_error *err)
{
    cf_backend_config cfg = {0};
    cfg.device = device;
    cfg.cache_dir = getenv("CLFORGE_CACHE_DIR");
    void *ctx = NULL;
    cf_status st = vt()->create(&cfg, &ctx, err);
    ck_assert_msg(st == want, "create(device=\"%s\") gave %d, want %d: %s", device, st, want,
                  err->msg);
    return ctx;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strdup(buf);
}

/* ---- the binary cache, across processes ---------------------------------------- */

/* In a child process: create a context with cache `dir`, verbose log to `log`.
 * Returns the child's exit status (0 when create succeeded). */
static int child_create(const char *dir, const char *log)
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(3);
        dup2(fd, 2);
        cf_registry *reg;
        cf_error err = {0};
        const cf_plugin_desc *d;
        if (cf_registry_create(&reg, NULL, 0, &err) != CF_OK ||
            cf_registry_find(reg, CF_PLUGIN_BACKEND, "opencl", &d, &err) != CF_OK) {
            fprintf(stderr, "%s\n", err.msg);
            _exit(2);
        }
        const cf_backend_vtable *v = d->vtable;
        cf_backend_config cfg = {0};
        cfg.device = "";
        cfg.verbose = 1;
        cfg.cache_dir = dir;
        void *ctx;
        if (v->create(&cfg, &ctx, &err) != CF_OK) {
            fprintf(stderr, "%s\n", err.msg);
            _exit(1);
        }
        v->destroy(ctx);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

static void find_entry(const char *dir, char *path, size_t cap)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls %s/opencl-*.bin 2>/dev/null | head -1", dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    path[0] = '\0';
    if (fgets(path, (int)cap, p)) path[strcspn(path, "\n")] = '\0';
    pclose(p);
    ck_assert_msg(path[0], "no cache entry in %s", dir);
}

START_TEST(cache_second_process_loads_binary)
{
    char dir[] = "/tmp/clforge-ocl-cache-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char log1[300], log2[300], log3[300], log4[300], entry[1200];
    snprintf(log1, sizeof log1, "%s/log1", dir);
    snprintf(log2, sizeof log2, "%s/log2", dir);
    snprintf(log3, sizeof log3, "%s/log3", dir);
    snprintf(log4, sizeof log4, "%s/log4", dir);

    ck_assert_int_eq(child_create(dir, log1), 0);
    char *l1 = slurp(log1);
    ck_assert_msg(l1 && strstr(l1, "program compiled") && strstr(l1, "[compiled=1 cache_loads=0]"),
                  "first process should compile: %s", l1 ? l1 : "(no log)");
    find_entry(dir, entry, sizeof entry);

    ck_assert_int_eq(child_create(dir, log2), 0);
    char *l2 = slurp(log2);
    ck_assert_msg(l2 && strstr(l2, "program loaded from cache") &&
                      strstr(l2, "[compiled=0 cache_loads=1]"),
                  "second process should load from cache: %s", l2 ? l2 : "(no log)");

    /* A corrupt entry (same size, garbage payload) is detected and rebuilt... */
    struct stat st;
    ck_assert_int_eq(stat(entry, &st), 0);
    FILE *f = fopen(entry, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, (long)st.st_size / 2, SEEK_SET);
    for (int i = 0; i < 64; i++) fputc(0x5A, f);
    fclose(f);
    ck_assert_int_eq(child_create(dir, log3), 0);
    char *l3 = slurp(log3);
    ck_assert_msg(l3 && strstr(l3, "unusable") && strstr(l3, "program compiled"),
                  "corrupt entry should be rebuilt: %s", l3 ? l3 : "(no log)");
    /* ...and replaced by a good one. */
    ck_assert_int_eq(child_create(dir, log4), 0);
    char *l4 = slurp(log4);
    ck_assert_msg(l4 && strstr(l4, "program loaded from cache"), "after rebuild: %s",
                  l4 ? l4 : "(no log)");
    free(l1), free(l2), free(l3), free(l4);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Without any ICD (ocl-icd reads OCL_ICD_VENDORS instead of /etc/OpenCL/vendors):
 * auto_score says unusable, listing finds nothing, create explains. Runs in a
 * child that has not loaded OpenCL yet (ocl-icd scans vendors once per process). */
START_TEST(no_icd_is_reported_not_crashed)
{
    const cf_backend_vtable *v = vt();
    char dir[] = "/tmp/clforge-no-icd-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char log[300];
    snprintf(log, sizeof log, "%s/log", dir);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        FILE *f = fopen(log, "w");
        if (!f) _exit(3);
        setenv("OCL_ICD_VENDORS", dir, 1);
        cf_device_info info[4];
        int n = -1;
        cf_error err = {0};
        cf_status ls = v->list_devices(info, 4, &n, &err);
        int score = v->auto_score();
        cf_backend_config cfg = {0};
        void *ctx = NULL;
        cf_status cs = v->create(&cfg, &ctx, &err);
        fprintf(f, "list=%d n=%d score=%d create=%d msg=%s\n", ls, n, score, cs, err.msg);
        fclose(f);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child crashed (status %d)",
                  status);
    char *out = slurp(log);
    ck_assert_ptr_nonnull(out);
    ck_assert_msg(strstr(out, "list=0 n=0 score=0 create=5 ") &&
                      strstr(out, "no OpenCL platform found") && strstr(out, "pocl-opencl-icd"),
                  "%s", out);
    free(out);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ---- devices --------------------------------------------------------------------- */

START_TEST(list_devices_reports_properties)
{
    cf_device_info devs[16];
    int n = n_devices(devs, 16);
    int gpus = 0;
    for (int i = 0; i < n && i < 16; i++) {
        ck_assert_msg(devs[i].name[0] && devs[i].platform[0] && devs[i].vendor[0],
                      "device %d lacks name/platform/vendor", i);
        ck_assert_msg(strstr(devs[i].version, "OpenCL C"), "version '%s'", devs[i].version);
        ck_assert_int_gt(devs[i].compute_units, 0);
        ck_assert_uint_gt(devs[i].global_mem, 0);
        ck_assert_uint_gt(devs[i].local_mem, 0);
        ck_assert_uint_gt(devs[i].max_alloc, 0);
        ck_assert_uint_le(devs[i].max_alloc, devs[i].global_mem);
        ck_assert_msg(!strcmp(devs[i].type, "cpu") || !strcmp(devs[i].type, "gpu") ||
                          !strcmp(devs[i].type, "accelerator") || !strcmp(devs[i].type, "other"),
                      "type '%s'", devs[i].type);
        gpus += !strcmp(devs[i].type, "gpu");
    }
    /* auto prefers a GPU; with CPU OpenCL only (PoCL) it yields to the cpu backend (50). */
    ck_assert_int_eq(vt()->auto_score(), gpus ? 100 : 5);
    /* A short array is filled partially; the count is still the total. */
    cf_device_info one;
    int m = 0;
    cf_error err = {0};
    ck_assert_int_eq(vt()->list_devices(&one, 1, &m, &err), CF_OK);
    ck_assert_int_eq(m, n);
    ck_assert_str_eq(one.name, devs[0].name);
}
END_TEST

START_TEST(select_device_by_index_name_and_type)
{
    cf_device_info devs[16], info;
    int n = n_devices(devs, 16);
    cf_error err = {0};

    void *ctx = open_dev("0", CF_OK, &err);
    vt()->device_info(ctx, &info);
    ck_assert_str_eq(info.name, devs[0].name);
    vt()->destroy(ctx);

    char idx[16];
    snprintf(idx, sizeof idx, "%d", n - 1);
    ctx = open_dev(idx, CF_OK, &err);
    vt()->device_info(ctx, &info);
    ck_assert_str_eq(info.name, devs[n - 1].name);
    vt()->destroy(ctx);

    /* A name substring, in upper case (matching ignores case). */
    char sub[8] = "";
    size_t len = strlen(devs[0].name), from = len > 6 ? 2 : 0;
    for (size_t i = 0; i < 5 && from + i < len; i++)
        sub[i] = (char)toupper((unsigned char)devs[0].name[from + i]);
    ctx = open_dev(sub, CF_OK, &err);
    vt()->device_info(ctx, &info);
    ck_assert_msg(strcasestr(info.name, sub) || strcasestr(info.platform, sub), "'%s' picked %s",
                  sub, info.name);
    vt()->destroy(ctx);

    /* By type: the first device of that type. */
    ctx = open_dev(devs[0].type, CF_OK, &err);
    vt()->device_info(ctx, &info);
    ck_assert_str_eq(info.type, devs[0].type);
    vt()->destroy(ctx);

    /* Default: the first GPU, else the first device. */
    const char *want = devs[0].name;
    for (int i = n - 1; i >= 0; i--)
        if (!strcmp(devs[i].type, "gpu")) want = devs[i].name;
    ctx = open_dev("", CF_OK, &err);
    vt()->device_info(ctx, &info);
    ck_assert_str_eq(info.name, want);
    vt()->destroy(ctx);

    open_dev("no-such-device-xyz", CF_ERR_INVALID, &err);
    ck_assert_msg(strstr(err.msg, "no device matches") && strstr(err.msg, devs[0].name),
                  "message should list devices: %s", err.msg);
    open_dev("99", CF_ERR_INVALID, &err);
    ck_assert_msg(strstr(err.msg, "out of range"), "%s", err.msg);
    int has_acc = 0;
    for (int i = 0; i < n; i++) has_acc |= !strcmp(devs[i].type, "accelerator");
    if (!has_acc) open_dev("accelerator", CF_ERR_INVALID, &err);
}
END_TEST

/* ---- errors ------------------------------------------------------------------------ */

START_TEST(error_codes_translate_to_names)
{
    ck_assert_str_eq(cf_ocl_error_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
    ck_assert_str_eq(cf_ocl_error_name(CL_MEM_OBJECT_ALLOCATION_FAILURE),
                     "CL_MEM_OBJECT_ALLOCATION_FAILURE");
    ck_assert_str_eq(cf_ocl_error_name(CL_INVALID_KERNEL_ARGS), "CL_INVALID_KERNEL_ARGS");
    ck_assert_str_eq(cf_ocl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
    ck_assert_str_eq(cf_ocl_error_name(-1017), "CLBlastInvalidDimension");
    ck_assert_str_eq(cf_ocl_error_name(-12345), "unknown OpenCL error");
    cf_error err = {0};
    ck_assert_int_eq(cf_ocl_clfail(&err, "clEnqueueNDRangeKernel", CL_OUT_OF_RESOURCES, "(k_fill)"),
                     CF_ERR_NOMEM);
    ck_assert_str_eq(err.msg,
                     "opencl: clEnqueueNDRangeKernel failed: CL_OUT_OF_RESOURCES (-5) (k_fill)");
    ck_assert_int_eq(cf_ocl_clfail(&err, "clFinish", CL_INVALID_COMMAND_QUEUE, NULL),
                     CF_ERR_BACKEND);
    ck_assert_str_eq(err.msg, "opencl: clFinish failed: CL_INVALID_COMMAND_QUEUE (-36)");
}
END_TEST

START_TEST(build_failure_reports_compiler_log)
{
    char path[] = "/tmp/clforge-bad-kernels-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *bad = "__kernel void k_fill(__global float *y) { y[0] = undeclared_thing_42; }\n";
    ck_assert_int_eq(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    cf_error err = {0};
    setenv("CLFORGE_KERNELS", path, 1);
    open_dev("", CF_ERR_BACKEND, &err);
    ck_assert_msg(strstr(err.msg, "clBuildProgram") && strstr(err.msg, "CL_BUILD_PROGRAM_FAILURE") &&
                      strstr(err.msg, path) && strstr(err.msg, "undeclared_thing_42"),
                  "message should carry the call, the file and the compiler log: %s", err.msg);
    setenv("CLFORGE_KERNELS", "/nonexistent/kernels.cl", 1);
    open_dev("", CF_ERR_IO, &err);
    ck_assert_msg(strstr(err.msg, "/nonexistent/kernels.cl"), "%s", err.msg);
    unsetenv("CLFORGE_KERNELS");
    unlink(path);
}
END_TEST

START_TEST(kernels_load_from_disk)
{
    const char *src = getenv("CF_TEST_SRCDIR");
    ck_assert_msg(src != NULL, "CF_TEST_SRCDIR not set");
    char path[1024];
    snprintf(path, sizeof path, "%s/kernels.cl", src);
    setenv("CLFORGE_KERNELS", path, 1);
    cf_error err = {0};
    void *ctx = open_dev("", CF_OK, &err);
    unsetenv("CLFORGE_KERNELS");
    vt()->destroy(ctx);
}
END_TEST

START_TEST(out_of_memory_names_tensor_and_sizes)
{
    cf_error err = {0};
    void *ctx = open_dev("", CF_OK, &err);
    cf_device_info info;
    vt()->device_info(ctx, &info);
    cf_buffer *b = NULL;
    size_t huge = (size_t)info.max_alloc + 4096;
    ck_assert_int_eq(vt()->buffer_alloc(ctx, huge, "conv9.weight", &b, &err), CF_ERR_NOMEM);
    ck_assert_ptr_null(b);
    char bytes[32], global[32];
    snprintf(bytes, sizeof bytes, "%zu bytes", huge);
    snprintf(global, sizeof global, "%llu bytes of global memory",
             (unsigned long long)info.global_mem);
    ck_assert_msg(strstr(err.msg, "conv9.weight") && strstr(err.msg, bytes) &&
                      strstr(err.msg, global),
                  "%s", err.msg);
    /* Transfers out of bounds are refused, not passed to the driver. */
    ck_assert_int_eq(vt()->buffer_alloc(ctx, 64, "small", &b, &err), CF_OK);
    float tmp[32] = {0};
    ck_assert_int_eq(vt()->download(ctx, b, 32, tmp, 64, &err), CF_ERR_INVALID);
    ck_assert_int_eq(vt()->upload(ctx, b, 0, tmp, 128, &err), CF_ERR_INVALID);
    /* An op with a missing tensor names the op. */
    cf_tensor t = {b, 1, {16}, "small"};
    cf_op op = {0};
    op.kind = CF_OP_AXPBY;
    op.out[0] = &t;
    ck_assert_int_eq(vt()->exec(ctx, &op, &err), CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "axpby"), "%s", err.msg);
    vt()->buffer_free(ctx, b);
    vt()->destroy(ctx);
}
END_TEST

/* ---- convolution split into chunks of one image (CLFORGE_OPENCL_CONV_WS) ---------- */

enum { CN = 3, CC = 2, CH = 6, CW = 5, CK = 4, CR = 3, CS = 2, CSH = 2, CSW = 1, CPH = 1, CPW = 1 };
#define CP ((CH + 2 * CPH - CR) / CSH + 1)
#define CQ ((CW + 2 * CPW - CS) / CSW + 1)
#define X4(a, b, c, d, B, C, D) ((((a) * (B) + (b)) * (C) + (c)) * (D) + (d))

/* Host conv: y = conv(x, w); dx += conv^T(dy, w); dw += corr(dy, x). */
static void host_conv(const float *x, const float *w, const float *dy, float *y, float *dx,
                      float *dw)
{
    for (int n = 0; n < CN; n++)
        for (int k = 0; k < CK; k++)
            for (int p = 0; p < CP; p++)
                for (int q = 0; q < CQ; q++) {
                    double s = 0;
                    float g = dy[X4(n, k, p, q, CK, CP, CQ)];
                    for (int c = 0; c < CC; c++)
                        for (int r = 0; r < CR; r++)
                            for (int t = 0; t < CS; t++) {
                                int h = p * CSH - CPH + r, ww = q * CSW - CPW + t;
                                if (h < 0 || h >= CH || ww < 0 || ww >= CW) continue;
                                s += (double)x[X4(n, c, h, ww, CC, CH, CW)] * w[X4(k, c, r, t, CC, CR, CS)];
                                dx[X4(n, c, h, ww, CC, CH, CW)] += g * w[X4(k, c, r, t, CC, CR, CS)];
                                dw[X4(k, c, r, t, CC, CR, CS)] += g * x[X4(n, c, h, ww, CC, CH, CW)];
                            }
                    y[X4(n, k, p, q, CK, CP, CQ)] = (float)s;
                }
}

START_TEST(conv_in_one_image_chunks_matches_host)
{
    enum { NX = CN * CC * CH * CW, NW = CK * CC * CR * CS, NY = CN * CK * CP * CQ };
    static float x[NX], w[NW], dy[NY], y[NY], dx[NX], dw[NW], got[NX + NW + NY];
    cf_rng r = cf_rng_make(7, 99, 1, 2);
    for (int i = 0; i < NX; i++) x[i] = (float)cf_rng_range(&r, -1, 1), dx[i] = 0.5f;
    for (int i = 0; i < NW; i++) w[i] = (float)cf_rng_range(&r, -1, 1), dw[i] = -0.25f;
    for (int i = 0; i < NY; i++) dy[i] = (float)cf_rng_range(&r, -1, 1);
    host_conv(x, w, dy, y, dx, dw); /* dx, dw start non-zero: checks accumulate */

    setenv("CLFORGE_OPENCL_CONV_WS", "1", 1); /* G = 1: every image its own chunk */
    cf_error err = {0};
    void *ctx = open_dev("", CF_OK, &err);
    unsetenv("CLFORGE_OPENCL_CONV_WS");
    cf_buffer *bx, *bw, *bdy, *by, *bdx, *bdw;
    ck_assert_int_eq(vt()->buffer_alloc(ctx, sizeof x, "x", &bx, &err), CF_OK);
    ck_assert_int_eq(vt()->buffer_alloc(ctx, sizeof w, "w", &bw, &err), CF_OK);
    ck_assert_int_eq(vt()->buffer_alloc(ctx, sizeof dy, "dy", &bdy, &err), CF_OK);
    ck_assert_int_eq(vt()->buffer_alloc(ctx, sizeof y, "y", &by, &err), CF_OK);
    ck_assert_int_eq(vt()->buffer_alloc(ctx, sizeof dx, "dx", &bdx, &err), CF_OK);
    ck_assert_int_eq(vt()->buffer_alloc(ctx, sizeof dw, "dw", &bdw, &err), CF_OK);
    float half[NX], quarter[NW];
    for (int i = 0; i < NX; i++) half[i] = 0.5f;
    for (int i = 0; i < NW; i++) quarter[i] = -0.25f;
    ck_assert_int_eq(vt()->upload(ctx, bx, 0, x, sizeof x, &err), CF_OK);
    ck_assert_int_eq(vt()->upload(ctx, bw, 0, w, sizeof w, &err), CF_OK);
    ck_assert_int_eq(vt()->upload(ctx, bdy, 0, dy, sizeof dy, &err), CF_OK);
    ck_assert_int_eq(vt()->upload(ctx, bdx, 0, half, sizeof half, &err), CF_OK);
    ck_assert_int_eq(vt()->upload(ctx, bdw, 0, quarter, sizeof quarter, &err), CF_OK);
    cf_tensor tx = {bx, 4, {CN, CC, CH, CW}, "x"}, tw = {bw, 4, {CK, CC, CR, CS}, "w"},
              tdy = {bdy, 4, {CN, CK, CP, CQ}, "dy"}, ty = {by, 4, {CN, CK, CP, CQ}, "y"},
              tdx = {bdx, 4, {CN, CC, CH, CW}, "dx"}, tdw = {bdw, 4, {CK, CC, CR, CS}, "dw"};
    cf_op op = {0};
    op.p.conv.stride_h = CSH, op.p.conv.stride_w = CSW, op.p.conv.pad_h = CPH, op.p.conv.pad_w = CPW;
    op.kind = CF_OP_CONV2D_FWD, op.in[0] = &tx, op.in[1] = &tw, op.out[0] = &ty;
    ck_assert_int_eq(vt()->exec(ctx, &op, &err), CF_OK);
    op.kind = CF_OP_CONV2D_BWD_DATA, op.in[0] = &tdy, op.in[1] = &tw, op.out[0] = &tdx;
    op.accumulate = 1;
    ck_assert_int_eq(vt()->exec(ctx, &op, &err), CF_OK);
    op.kind = CF_OP_CONV2D_BWD_WEIGHT, op.in[0] = &tdy, op.in[1] = &tx, op.out[0] = &tdw;
    ck_assert_int_eq(vt()->exec(ctx, &op, &err), CF_OK);
    struct { cf_buffer *b; const float *want; int n; const char *what; } chk[] = {
        {by, y, NY, "y"}, {bdx, dx, NX, "dx"}, {bdw, dw, NW, "dw"}};
    for (int j = 0; j < 3; j++) {
        ck_assert_int_eq(vt()->download(ctx, chk[j].b, 0, got, chk[j].n * sizeof(float), &err), CF_OK);
        for (int i = 0; i < chk[j].n; i++)
            ck_assert_msg(fabsf(got[i] - chk[j].want[i]) <= 1e-4f + 1e-4f * fabsf(chk[j].want[i]),
                          "%s[%d] = %g, host %g", chk[j].what, i, (double)got[i],
                          (double)chk[j].want[i]);
    }
    cf_buffer *all[] = {bx, bw, bdy, by, bdx, bdw};
    for (int j = 0; j < 6; j++) vt()->buffer_free(ctx, all[j]);
    vt()->destroy(ctx);
}
END_TEST

/* ---- large, odd-sized GEMMs: CLBlast's indirect (padded, tiled) path ----------------
 * The parity suite's small shapes only reach CLBlast's direct kernel. */
START_TEST(large_dense_matches_host)
{
    enum { N = 257, I = 515, O = 513 };
    float *x = malloc(sizeof(float) * N * I), *w = malloc(sizeof(float) * O * I),
          *b = malloc(sizeof(float) * O), *y = malloc(sizeof(float) * N * O),
          *dw = malloc(sizeof(float) * O * I);
    ck_assert(x && w && b && y && dw);
    cf_rng r = cf_rng_make(3, 98, 0, 0);
    for (int i = 0; i < N * I; i++) x[i] = (float)cf_rng_range(&r, -1, 1);
    for (int i = 0; i < O * I; i++) w[i] = (float)cf_rng_range(&r, -1, 1);
    for (int i = 0; i < O; i++) b[i] = (float)cf_rng_range(&r, -1, 1);
    cf_error err = {0};
    void *ctx = open_dev("", CF_OK, &err);
    cf_buffer *bx, *bw, *bb, *by, *bdw;
    ck_assert_int_eq(vt()->buffer_alloc(ctx, sizeof(float) * N * I, "x", &bx, &err), CF_OK);
    ck_assert_int_eq(vt()->buffer_alloc(ctx, sizeof(float) * O * I, "W", &bw, &err), CF_OK);
    ck_assert_int_eq(vt()->buffer_alloc(ctx, sizeof(float) * O, "b", &bb, &err), CF_OK);
    ck_assert_int_eq(vt()->buffer_alloc(ctx, sizeof(float) * N * O, "y", &by, &err), CF_OK);
    ck_assert_int_eq(vt()->buffer_alloc(ctx, sizeof(float) * O * I, "dW", &bdw, &err), CF_OK);
    ck_assert_int_eq(vt()->upload(ctx, bx, 0, x, sizeof(float) * N * I, &err), CF_OK);
    ck_assert_int_eq(vt()->upload(ctx, bw, 0, w, sizeof(float) * O * I, &err), CF_OK);
    ck_assert_int_eq(vt()->upload(ctx, bb, 0, b, sizeof(float) * O, &err), CF_OK);
    cf_tensor tx = {bx, 2, {N, I}, "x"}, tw = {bw, 2, {O, I}, "W"}, tb = {bb, 1, {O}, "b"},
              ty = {by, 2, {N, O}, "y"}, tdw = {bdw, 2, {O, I}, "dW"};
    cf_op op = {0};
    op.kind = CF_OP_DENSE_FWD, op.in[0] = &tx, op.in[1] = &tw, op.in[2] = &tb, op.out[0] = &ty;
    ck_assert_int_eq(vt()->exec(ctx, &op, &err), CF_OK);
    /* dW = y^T x, using y as the upstream gradient. */
    cf_op bw_op = {0};
    bw_op.kind = CF_OP_DENSE_BWD_WEIGHT, bw_op.in[0] = &ty, bw_op.in[1] = &tx, bw_op.out[0] = &tdw;
    ck_assert_int_eq(vt()->exec(ctx, &bw_op, &err), CF_OK);
    ck_assert_int_eq(vt()->download(ctx, by, 0, y, sizeof(float) * N * O, &err), CF_OK);
    ck_assert_int_eq(vt()->download(ctx, bdw, 0, dw, sizeof(float) * O * I, &err), CF_OK);
    /* Spot checks against double-precision host sums (a full check costs seconds). */
    for (int t = 0; t < 200; t++) {
        int n = (int)cf_rng_below(&r, N), o = (int)cf_rng_below(&r, O), i = (int)cf_rng_below(&r, I);
        double s = b[o];
        for (int k = 0; k < I; k++) s += (double)x[n * I + k] * w[o * I + k];
        ck_assert_msg(fabs(y[n * O + o] - s) <= 1e-3 + 1e-4 * fabs(s), "y[%d,%d] = %g, host %g", n,
                      o, (double)y[n * O + o], s);
        double g = 0;
        for (int k = 0; k < N; k++) g += (double)y[k * O + o] * x[k * I + i];
        ck_assert_msg(fabs(dw[o * I + i] - g) <= 1e-2 + 1e-4 * fabs(g), "dW[%d,%d] = %g, host %g",
                      o, i, (double)dw[o * I + i], g);
    }
    cf_buffer *all[] = {bx, bw, bb, by, bdw};
    for (int j = 0; j < 5; j++) vt()->buffer_free(ctx, all[j]);
    vt()->destroy(ctx);
    free(x), free(w), free(b), free(y), free(dw);
}
END_TEST

/* ---- dropout masks: bit for bit the host Philox ---------------------------------------- */

START_TEST(dropout_mask_matches_host_philox)
{
    cf_error err = {0};
    void *ctx = open_dev("", CF_OK, &err);
    enum { N = 17 * 241 };
    static float x[N], y[N], m[N];
    for (int i = 0; i < N; i++) x[i] = 1.0f + (float)i;
    cf_buffer *bx, *by, *bm;
    ck_assert_int_eq(vt()->buffer_alloc(ctx, sizeof x, "x", &bx, &err), CF_OK);
    ck_assert_int_eq(vt()->buffer_alloc(ctx, sizeof x, "y", &by, &err), CF_OK);
    ck_assert_int_eq(vt()->buffer_alloc(ctx, sizeof x, "mask", &bm, &err), CF_OK);
    ck_assert_int_eq(vt()->upload(ctx, bx, 0, x, sizeof x, &err), CF_OK);
    cf_tensor tx = {bx, 2, {17, 241}, "x"}, ty = {by, 2, {17, 241}, "y"},
              tm = {bm, 2, {17, 241}, "mask"};
    cf_op op = {0};
    op.kind = CF_OP_DROPOUT_FWD;
    op.in[0] = &tx;
    op.out[0] = &ty;
    op.out[1] = &tm;
    op.p.dropout.rate = 0.3f;
    op.p.dropout.seed = 0x123456789ABCDEF0ull; /* both key words matter */
    op.p.dropout.counter = ((uint64_t)CF_RNG_DROPOUT << 56) | 0xFEDCBA987ull;
    ck_assert_int_eq(vt()->exec(ctx, &op, &err), CF_OK);
    ck_assert_int_eq(vt()->download(ctx, bm, 0, m, sizeof m, &err), CF_OK);
    ck_assert_int_eq(vt()->download(ctx, by, 0, y, sizeof y, &err), CF_OK);
    float keep = 1.0f / (1.0f - 0.3f);
    int kept = 0;
    for (int i = 0; i < N; i++) {
        float u = cf_philox_uniform(op.p.dropout.seed, op.p.dropout.counter, (uint64_t)i);
        float want = u >= 0.3f ? keep : 0.0f;
        ck_assert_msg(memcmp(&m[i], &want, sizeof want) == 0, "mask[%d] = %a, host %a", i,
                      (double)m[i], (double)want);
        ck_assert_float_eq(y[i], x[i] * want);
        kept += want != 0.0f;
    }
    ck_assert_int_gt(kept, N / 2);
    ck_assert_int_lt(kept, N * 9 / 10);
    vt()->buffer_free(ctx, bx);
    vt()->buffer_free(ctx, by);
    vt()->buffer_free(ctx, bm);
    vt()->destroy(ctx);
}
END_TEST

/* kernels.cl must carry a line-for-line copy of philox.h's generator. */
static char *philox_block(const char *path)
{
    char *s = slurp(path);
    ck_assert_msg(s != NULL, "cannot read %s", path);
    char *a = strstr(s, "static inline void cf_philox4x32(");
    char *b = a ? strstr(a, "static inline float cf_philox_uniform(") : NULL;
    char *e = b ? strstr(b, "\n}\n") : NULL;
    ck_assert_msg(a && b && e, "philox functions not found in %s", path);
    e[3] = '\0';
    char *r = strdup(a);
    free(s);
    return r;
}

START_TEST(philox_copy_is_identical)
{
    const char *src = getenv("CF_TEST_SRCDIR");
    ck_assert_msg(src != NULL, "CF_TEST_SRCDIR not set");
    char p1[1024], p2[1024];
    snprintf(p1, sizeof p1, "%s/engine/include/clforge/philox.h", src);
    snprintf(p2, sizeof p2, "%s/kernels.cl", src);
    char *a = philox_block(p1), *b = philox_block(p2);
    ck_assert_msg(strcmp(a, b) == 0, "kernels.cl's Philox differs from philox.h");
    free(a);
    free(b);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("opencl");
    TCase *tc = tcase_create("cache");
    /* First: it forks processes that initialise OpenCL, before this one does. */
    tcase_add_test(tc, cache_second_process_loads_binary);
    tcase_add_test(tc, no_icd_is_reported_not_crashed);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    tc = tcase_create("devices");
    tcase_add_test(tc, list_devices_reports_properties);
    tcase_add_test(tc, select_device_by_index_name_and_type);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, error_codes_translate_to_names);
    tcase_add_test(tc, build_failure_reports_compiler_log);
    tcase_add_test(tc, kernels_load_from_disk);
    tcase_add_test(tc, out_of_memory_names_tensor_and_sizes);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("conv");
    tcase_add_test(tc, conv_in_one_image_chunks_matches_host);
    tcase_add_test(tc, large_dense_matches_host);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("rng");
    tcase_add_test(tc, dropout_mask_matches_host_philox);
    tcase_add_test(tc, philox_copy_is_identical);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
