/* opencl_startup — time from process start to the first op's result on the
 * OpenCL backend: open the module, create a context (kernels.cl from the
 * binary cache or compiled, CLBlast SGEMM warmed), upload a Fashion-MNIST
 * sized batch and run the first layer of examples/fashion_cnn.cfg (conv 3x3x32,
 * pad 1, on [64,1,28,28]) and download its output.
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -I engine/include bench/opencl_startup.c -o opencl_startup -ldl
 *   ./opencl_startup BUILD/backends/opencl/.libs/cf_backend_opencl.so [DEVICE]
 *
 * Run it twice with the same CLFORGE_CACHE_DIR and POCL_CACHE_DIR: the first
 * run compiles, the second shows what every later run pays. Set
 * CLFORGE_OPENCL_VERBOSE=1 to see the cache and CLBlast lines. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clforge/plugin.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int fail(const char *what, const cf_error *e)
{
    fprintf(stderr, "opencl_startup: %s: %s\n", what, e ? e->msg : dlerror());
    return 1;
}

int main(int argc, char **argv)
{
    double t0 = now();
    if (argc < 2) {
        fprintf(stderr, "usage: %s cf_backend_opencl.so [DEVICE]\n", argv[0]);
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) return fail("dlopen", NULL);
    const cf_plugin_desc *d = dlsym(h, CF_PLUGIN_SYMBOL);
    if (!d) return fail("dlsym", NULL);
    const cf_backend_vtable *vt = d->vtable;
    double t_open = now();

    cf_backend_config cfg = {0};
    cfg.device = argc > 2 ? argv[2] : "";
    cfg.cache_dir = getenv("CLFORGE_CACHE_DIR");
    cf_error err = {0};
    void *ctx;
    if (vt->create(&cfg, &ctx, &err)) return fail("create", &err);
    double t_create = now();

    enum { N = 64, C = 1, H = 28, W = 28, K = 32 };
    static float x[N * C * H * W], w[K * C * 9], b[K], y[N * K * H * W];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = (float)(i % 255) / 255.0f;
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) w[i] = 0.01f * (float)(i % 17) - 0.08f;
    cf_buffer *bx, *bw, *bb, *by;
    if (vt->buffer_alloc(ctx, sizeof x, "x", &bx, &err) ||
        vt->buffer_alloc(ctx, sizeof w, "conv1.weight", &bw, &err) ||
        vt->buffer_alloc(ctx, sizeof b, "conv1.bias", &bb, &err) ||
        vt->buffer_alloc(ctx, sizeof y, "conv1.out", &by, &err))
        return fail("alloc", &err);
    if (vt->upload(ctx, bx, 0, x, sizeof x, &err) || vt->upload(ctx, bw, 0, w, sizeof w, &err) ||
        vt->upload(ctx, bb, 0, b, sizeof b, &err))
        return fail("upload", &err);
    cf_tensor tx = {bx, 4, {N, C, H, W}, "x"}, tw = {bw, 4, {K, C, 3, 3}, "conv1.weight"},
              tb = {bb, 1, {K}, "conv1.bias"}, ty = {by, 4, {N, K, H, W}, "conv1.out"};
    cf_op op = {0};
    op.kind = CF_OP_CONV2D_FWD;
    op.in[0] = &tx, op.in[1] = &tw, op.in[2] = &tb, op.out[0] = &ty;
    op.p.conv.stride_h = op.p.conv.stride_w = 1;
    op.p.conv.pad_h = op.p.conv.pad_w = 1;
    if (vt->exec(ctx, &op, &err)) return fail("conv2d_fwd", &err);
    if (vt->download(ctx, by, 0, y, sizeof y, &err)) return fail("download", &err);
    double t_first = now();

    cf_device_info info;
    vt->device_info(ctx, &info);
    printf("device: %s (%s)\n", info.name, info.platform);
    printf("dlopen %.3f s, create %.3f s, first op (upload, conv, download) %.3f s\n",
           t_open - t0, t_create - t_open, t_first - t_create);
    printf("time to first op: %.3f s\n", t_first - t0);
    vt->buffer_free(ctx, bx), vt->buffer_free(ctx, bw), vt->buffer_free(ctx, bb);
    vt->buffer_free(ctx, by);
    vt->destroy(ctx);
    dlclose(h);
    return 0;
}
