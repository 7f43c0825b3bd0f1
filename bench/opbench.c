/* opbench — times a training step (forward, backward, optimizer) and an
 * inference pass of the three bench models directly through a backend's op
 * API, without the engine: where the time goes, op by op.
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -I engine/include bench/opbench.c -o opbench -ldl -lm
 *   ./opbench MODULE.so MODEL THREADS [STEPS]      (MODEL: mlp, cnn, resnet20)
 *
 * It issues the op sequence the engine's graph issues for these models
 * (conv/dense + separate activation, batch norm, max pool, add with
 * accumulate on the skip path, softmax cross-entropy, SGD-momentum or Adam
 * from vector ops) on random data. Prints images/s, GFLOP/s (FLOPs of the
 * convolutions and dense layers, backward = 2x forward) and a per-op table. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "clforge/plugin.h"

static const cf_backend_vtable *vt;
static void *ctx;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what, const cf_error *e)
{
    fprintf(stderr, "opbench: %s: %s\n", what, e ? e->msg : "");
    exit(1);
}

static unsigned seed = 1;
static float frand(void)
{
    seed = seed * 1664525u + 1013904223u;
    return ((seed >> 8) / 16777216.0f) * 2 - 1;
}

static cf_tensor *tensor(int ndim, int a, int b, int c, int d, const char *name, float scale)
{
    cf_tensor *t = calloc(1, sizeof *t);
    int s[4] = {a, b, c, d};
    t->ndim = ndim;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = s[i];
        n *= (size_t)s[i];
    }
    t->name = name;
    cf_error e;
    if (vt->buffer_alloc(ctx, n * 4, name, &t->buf, &e)) die("alloc", &e);
    float *h = malloc(n * 4);
    for (size_t i = 0; i < n; i++) h[i] = frand() * scale;
    if (vt->upload(ctx, t->buf, 0, h, n * 4, &e)) die("upload", &e);
    free(h);
    return t;
}

/* ---- per-op timing ---- */
#define NSLOT 64
static const char *slot_name[NSLOT];
static double slot_time[NSLOT];
static long slot_calls[NSLOT];
static int timing = 0;

static void exec(const cf_op *op, const char *label)
{
    cf_error e;
    double t0 = timing ? now() : 0;
    if (vt->exec(ctx, op, &e)) die(label, &e);
    if (timing) {
        int i;
        for (i = 0; i < NSLOT && slot_name[i] && strcmp(slot_name[i], label); i++) {}
        if (i < NSLOT) {
            slot_name[i] = label;
            slot_time[i] += now() - t0;
            slot_calls[i]++;
        }
    }
}

/* ---- a tiny layer graph ---- */
enum { L_INPUT, L_CONV, L_DENSE, L_BN, L_POOL, L_ADD, L_GAP };
typedef struct {
    int kind, in0, in1, act;
    int k, r, stride, pad, bias; /* conv: filters, kernel */
    cf_tensor *y, *z, *dy, *dz;  /* z/dz: pre-activation when act */
    cf_tensor *w, *b, *dw, *db, *mw, *mb, *vw, *vb; /* params, grads, optimizer slots */
    cf_tensor *smean, *sinv, *rmean, *rvar;
    int dy_written;
    double flops; /* forward, per batch */
    const char *fw, *bd, *bw;
} layer;

#define MAXL 64
static layer L[MAXL];
static int nl;
static int N;

static int add_layer(int kind, int in0, int act)
{
    layer *l = &L[nl];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->in0 = in0;
    l->act = act;
    return nl++;
}

static void shape_of(const cf_tensor *t, int *c, int *h, int *w)
{
    *c = t->ndim > 1 ? t->shape[1] : 1;
    *h = t->ndim > 2 ? t->shape[2] : 1;
    *w = t->ndim > 3 ? t->shape[3] : 1;
}

static void finish(layer *l)
{
    cf_tensor *x = L[l->in0].y;
    int c, h, w;
    shape_of(x, &c, &h, &w);
    switch (l->kind) {
    case L_CONV: {
        int p = (h + 2 * l->pad - l->r) / l->stride + 1;
        l->y = tensor(4, N, l->k, p, p, "conv.y", 1);
        l->w = tensor(4, l->k, c, l->r, l->r, "conv.w", 0.1f);
        l->dw = tensor(4, l->k, c, l->r, l->r, "conv.dw", 0);
        l->mw = tensor(4, l->k, c, l->r, l->r, "conv.m", 0);
        l->vw = tensor(4, l->k, c, l->r, l->r, "conv.v", 0);
        if (l->bias) {
            l->b = tensor(1, l->k, 0, 0, 0, "conv.b", 0.1f);
            l->db = tensor(1, l->k, 0, 0, 0, "conv.db", 0);
            l->mb = tensor(1, l->k, 0, 0, 0, "conv.mb", 0);
            l->vb = tensor(1, l->k, 0, 0, 0, "conv.vb", 0);
        }
        l->flops = 2.0 * N * l->k * p * p * c * l->r * l->r;
        static char names[MAXL][3][48];
        snprintf(names[l - L][0], 48, "conv%dx%d %d->%d %dx%d s%d fwd", l->r, l->r, c, l->k, h, w,
                 l->stride);
        snprintf(names[l - L][1], 48, "conv%dx%d %d->%d %dx%d s%d bwd_data", l->r, l->r, c, l->k,
                 h, w, l->stride);
        snprintf(names[l - L][2], 48, "conv%dx%d %d->%d %dx%d s%d bwd_wt", l->r, l->r, c, l->k, h,
                 w, l->stride);
        l->fw = names[l - L][0];
        l->bd = names[l - L][1];
        l->bw = names[l - L][2];
        break;
    }
    case L_DENSE: {
        int in = c * h * w;
        l->y = tensor(2, N, l->k, 0, 0, "dense.y", 1);
        l->w = tensor(2, l->k, in, 0, 0, "dense.w", 0.05f);
        l->dw = tensor(2, l->k, in, 0, 0, "dense.dw", 0);
        l->mw = tensor(2, l->k, in, 0, 0, "dense.m", 0);
        l->vw = tensor(2, l->k, in, 0, 0, "dense.v", 0);
        l->b = tensor(1, l->k, 0, 0, 0, "dense.b", 0.1f);
        l->db = tensor(1, l->k, 0, 0, 0, "dense.db", 0);
        l->mb = tensor(1, l->k, 0, 0, 0, "dense.mb", 0);
        l->vb = tensor(1, l->k, 0, 0, 0, "dense.vb", 0);
        l->flops = 2.0 * N * l->k * in;
        static char names[MAXL][3][48];
        snprintf(names[l - L][0], 48, "dense %d->%d fwd", in, l->k);
        snprintf(names[l - L][1], 48, "dense %d->%d bwd_data", in, l->k);
        snprintf(names[l - L][2], 48, "dense %d->%d bwd_wt", in, l->k);
        l->fw = names[l - L][0];
        l->bd = names[l - L][1];
        l->bw = names[l - L][2];
        break;
    }
    case L_BN:
        l->y = tensor(4, N, c, h, w, "bn.y", 1);
        l->w = tensor(1, c, 0, 0, 0, "bn.gamma", 1);
        l->b = tensor(1, c, 0, 0, 0, "bn.beta", 0.1f);
        l->dw = tensor(1, c, 0, 0, 0, "bn.dgamma", 0);
        l->db = tensor(1, c, 0, 0, 0, "bn.dbeta", 0);
        l->mw = tensor(1, c, 0, 0, 0, "bn.m", 0);
        l->mb = tensor(1, c, 0, 0, 0, "bn.mb", 0);
        l->vw = tensor(1, c, 0, 0, 0, "bn.v", 0);
        l->vb = tensor(1, c, 0, 0, 0, "bn.vb", 0);
        l->smean = tensor(1, c, 0, 0, 0, "bn.smean", 0);
        l->sinv = tensor(1, c, 0, 0, 0, "bn.sinv", 0);
        l->rmean = tensor(1, c, 0, 0, 0, "bn.rmean", 0);
        l->rvar = tensor(1, c, 0, 0, 0, "bn.rvar", 0);
        l->fw = "batchnorm fwd";
        l->bd = "batchnorm bwd";
        break;
    case L_POOL:
        l->y = tensor(4, N, c, h / 2, w / 2, "pool.y", 1);
        l->fw = "maxpool fwd";
        l->bd = "maxpool bwd";
        break;
    case L_ADD:
        l->y = tensor(4, N, c, h, w, "add.y", 1);
        l->fw = "add";
        break;
    case L_GAP:
        l->y = tensor(2, N, c, 0, 0, "gap.y", 1);
        l->fw = "gap fwd";
        l->bd = "gap bwd";
        break;
    }
    if (l->act) {
        l->z = l->y;
        l->y = tensor(l->z->ndim, l->z->shape[0], l->z->shape[1], l->z->shape[2], l->z->shape[3],
                      "act.y", 1);
        l->dz = tensor(l->z->ndim, l->z->shape[0], l->z->shape[1], l->z->shape[2],
                       l->z->shape[3], "act.dz", 0);
    }
    l->dy = tensor(l->y->ndim, l->y->shape[0], l->y->shape[1], l->y->shape[2], l->y->shape[3],
                   "dy", 0);
}

static int conv(int in, int k, int r, int stride, int pad, int bias, int act)
{
    int i = add_layer(L_CONV, in, act);
    L[i].k = k; L[i].r = r; L[i].stride = stride; L[i].pad = pad; L[i].bias = bias;
    finish(&L[i]);
    return i;
}
static int dense(int in, int k, int act)
{
    int i = add_layer(L_DENSE, in, act);
    L[i].k = k;
    finish(&L[i]);
    return i;
}
static int simple(int kind, int in, int act)
{
    int i = add_layer(kind, in, act);
    finish(&L[i]);
    return i;
}
static int addl(int a, int b, int act)
{
    int i = add_layer(L_ADD, a, act);
    L[i].in1 = b;
    finish(&L[i]);
    return i;
}

static int is_adam;
static cf_tensor *logits_probs, *target, *loss, *pred;

static void forward(int train)
{
    for (int i = 1; i < nl; i++) {
        layer *l = &L[i];
        cf_op op = {0};
        cf_tensor *x = L[l->in0].y, *out = l->act ? l->z : l->y;
        switch (l->kind) {
        case L_CONV:
            op.kind = CF_OP_CONV2D_FWD;
            op.in[0] = x; op.in[1] = l->w; op.in[2] = l->b; op.out[0] = out;
            op.p.conv.stride_h = op.p.conv.stride_w = l->stride;
            op.p.conv.pad_h = op.p.conv.pad_w = l->pad;
            break;
        case L_DENSE:
            op.kind = CF_OP_DENSE_FWD;
            op.in[0] = x; op.in[1] = l->w; op.in[2] = l->b; op.out[0] = out;
            break;
        case L_BN:
            op.kind = train ? CF_OP_BATCHNORM_FWD_TRAIN : CF_OP_BATCHNORM_FWD_EVAL;
            op.in[0] = x; op.in[1] = l->w; op.in[2] = l->b; op.out[0] = out;
            op.p.bn.eps = 1e-5f; op.p.bn.momentum = 0.1f;
            if (train) {
                op.out[1] = l->smean; op.out[2] = l->sinv; op.out[3] = l->rmean; op.out[4] = l->rvar;
            } else {
                op.in[3] = l->rmean; op.in[4] = l->rvar;
            }
            break;
        case L_POOL:
            op.kind = CF_OP_MAXPOOL_FWD;
            op.in[0] = x; op.out[0] = out;
            op.p.pool.kernel_h = op.p.pool.kernel_w = 2;
            op.p.pool.stride_h = op.p.pool.stride_w = 2;
            break;
        case L_ADD:
            op.kind = CF_OP_ADD;
            op.in[0] = x; op.in[1] = L[l->in1].y; op.out[0] = out;
            break;
        case L_GAP:
            op.kind = CF_OP_GAP_FWD;
            op.in[0] = x; op.out[0] = out;
            break;
        }
        exec(&op, l->fw);
        if (l->act) {
            cf_op a = {0};
            a.kind = CF_OP_ACT_FWD;
            a.in[0] = l->z; a.out[0] = l->y; a.p.act.act = CF_ACT_RELU;
            exec(&a, "relu fwd");
        }
    }
    cf_op x = {0};
    x.kind = CF_OP_SOFTMAX_XENT_FWD;
    x.in[0] = L[nl - 1].y; x.in[1] = target; x.out[0] = logits_probs; x.out[1] = loss;
    x.out[2] = pred;
    if (train) exec(&x, "softmax_xent fwd");
}

/* send gradient g into layer j's dy (accumulating after the first writer) */
static int take_dy(int j)
{
    int acc = L[j].dy_written;
    L[j].dy_written = 1;
    return acc;
}

static void backward(void)
{
    for (int i = 0; i < nl; i++) L[i].dy_written = 0;
    cf_op x = {0};
    x.kind = CF_OP_SOFTMAX_XENT_BWD;
    x.in[0] = logits_probs; x.in[1] = target; x.out[0] = L[nl - 1].dy;
    x.p.loss.scale = 1.0f / N;
    exec(&x, "softmax_xent bwd");
    L[nl - 1].dy_written = 1;
    for (int i = nl - 1; i >= 1; i--) {
        layer *l = &L[i];
        cf_tensor *g = l->dy;
        if (l->act) {
            cf_op a = {0};
            a.kind = CF_OP_ACT_BWD;
            a.in[0] = l->dy; a.in[1] = l->z; a.in[2] = l->y; a.out[0] = l->dz;
            a.p.act.act = CF_ACT_RELU;
            exec(&a, "relu bwd");
            g = l->dz;
        }
        int src = l->in0;
        cf_tensor *x = L[src].y;
        cf_op op = {0};
        switch (l->kind) {
        case L_CONV:
        case L_DENSE:
            op.kind = l->kind == L_CONV ? CF_OP_CONV2D_BWD_WEIGHT : CF_OP_DENSE_BWD_WEIGHT;
            op.in[0] = g; op.in[1] = x; op.out[0] = l->dw; op.out[1] = l->db;
            op.p.conv.stride_h = op.p.conv.stride_w = l->stride;
            op.p.conv.pad_h = op.p.conv.pad_w = l->pad;
            exec(&op, l->bw);
            if (src != 0) { /* no gradient for the input images */
                op.kind = l->kind == L_CONV ? CF_OP_CONV2D_BWD_DATA : CF_OP_DENSE_BWD_DATA;
                op.in[0] = g; op.in[1] = l->w; op.in[2] = NULL;
                op.out[0] = L[src].dy; op.out[1] = NULL;
                op.accumulate = take_dy(src);
                exec(&op, l->bd);
            }
            break;
        case L_BN:
            op.kind = CF_OP_BATCHNORM_BWD;
            op.in[0] = g; op.in[1] = x; op.in[2] = l->w; op.in[3] = l->smean; op.in[4] = l->sinv;
            op.out[0] = L[src].dy; op.out[1] = l->dw; op.out[2] = l->db;
            op.accumulate = take_dy(src);
            exec(&op, l->bd);
            break;
        case L_POOL:
            op.kind = CF_OP_MAXPOOL_BWD;
            op.in[0] = g; op.in[1] = x; op.out[0] = L[src].dy;
            op.p.pool.kernel_h = op.p.pool.kernel_w = 2;
            op.p.pool.stride_h = op.p.pool.stride_w = 2;
            op.accumulate = take_dy(src);
            exec(&op, l->bd);
            break;
        case L_GAP:
            op.kind = CF_OP_GAP_BWD;
            op.in[0] = g; op.out[0] = L[src].dy;
            op.accumulate = take_dy(src);
            exec(&op, l->bd);
            break;
        case L_ADD: /* dy passes to both inputs */
            for (int k = 0; k < 2; k++) {
                int s2 = k ? l->in1 : l->in0;
                op.kind = CF_OP_AXPBY;
                op.in[0] = g; op.out[0] = L[s2].dy;
                op.p.vec.a = 1; op.p.vec.b = take_dy(s2) ? 1 : 0;
                exec(&op, "add bwd (axpby)");
            }
            break;
        }
    }
}

static void vec(cf_op_kind k, cf_tensor *y, cf_tensor *x, cf_tensor *z, float a, float b, float c)
{
    cf_op op = {0};
    op.kind = k;
    op.in[0] = x; op.in[1] = z; op.out[0] = y;
    op.p.vec.a = a; op.p.vec.b = b; op.p.vec.c = c;
    exec(&op, "optimizer (vector ops)");
}

static void update_one(cf_tensor *w, cf_tensor *g, cf_tensor *m, cf_tensor *v)
{
    if (!w) return;
    if (!is_adam) { /* SGD momentum: m = 0.9 m + g; w -= lr m */
        vec(CF_OP_AXPBY, m, g, NULL, 1, 0.9f, 0);
        vec(CF_OP_AXPBY, w, m, NULL, -0.01f, 1, 0);
        return;
    }
    /* Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr m / (sqrt v + eps)
     * (g is reused as scratch for sqrt v) */
    vec(CF_OP_AXPBY, m, g, NULL, 0.1f, 0.9f, 0);
    vec(CF_OP_MUL, v, g, g, 0.001f, 0.999f, 0);
    vec(CF_OP_SQRT, g, v, NULL, 1, 0, 1e-8f);
    vec(CF_OP_DIV, w, m, g, -0.001f, 1, 0);
}

static void update(void)
{
    for (int i = 1; i < nl; i++) {
        update_one(L[i].w, L[i].dw, L[i].mw, L[i].vw);
        update_one(L[i].b, L[i].db, L[i].mb, L[i].vb);
    }
}

static void build(const char *model, int batch)
{
    N = batch;
    nl = 0;
    int in = add_layer(L_INPUT, 0, 0);
    L[in].y = tensor(4, N, 1, 28, 28, "images", 1);
    if (!strcmp(model, "mlp")) {
        int a = dense(in, 256, 1);
        a = dense(a, 128, 1);
        dense(a, 10, 0);
    } else if (!strcmp(model, "cnn")) {
        int a = conv(in, 32, 3, 1, 1, 1, 1);
        a = simple(L_POOL, a, 0);
        a = conv(a, 64, 3, 1, 1, 1, 1);
        a = simple(L_POOL, a, 0);
        a = dense(a, 128, 1);
        dense(a, 10, 0);
    } else if (!strcmp(model, "resnet20")) {
        int a = conv(in, 16, 3, 1, 1, 0, 0);
        a = simple(L_BN, a, 1);
        int cin = 16;
        for (int s = 0; s < 3; s++)
            for (int b = 0; b < 3; b++) {
                int w = 16 << s, st = (b == 0 && s > 0) ? 2 : 1;
                int c1 = conv(a, w, 3, st, 1, 0, 0);
                int b1 = simple(L_BN, c1, 1);
                int c2 = conv(b1, w, 3, 1, 1, 0, 0);
                int b2 = simple(L_BN, c2, 0);
                int skip = a;
                if (st != 1 || cin != w) {
                    int p = conv(a, w, 1, st, 0, 0, 0);
                    skip = simple(L_BN, p, 0);
                }
                a = addl(b2, skip, 1);
                cin = w;
            }
        a = simple(L_GAP, a, 0);
        dense(a, 10, 0);
    } else {
        fprintf(stderr, "opbench: unknown model %s\n", model);
        exit(2);
    }
    logits_probs = tensor(2, N, 10, 0, 0, "probs", 0);
    target = tensor(2, N, 10, 0, 0, "target", 0);
    loss = tensor(1, N, 0, 0, 0, "loss", 0);
    pred = tensor(1, N, 0, 0, 0, "pred", 0);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: opbench MODULE.so MODEL THREADS [STEPS]\n");
        return 2;
    }
    const char *model = argv[2];
    int threads = atoi(argv[3]);
    int steps = argc > 4 ? atoi(argv[4]) : 0;
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "opbench: %s\n", dlerror());
        return 1;
    }
    const cf_plugin_desc *d = dlsym(h, "clforge_plugin");
    if (!d) return 1;
    vt = d->vtable;
    cf_backend_config cfg = {"", threads, 0, NULL};
    cf_error e;
    if (vt->create(&cfg, &ctx, &e)) die("create", &e);
    int batch = !strcmp(model, "resnet20") ? 128 : 64;
    is_adam = !strcmp(model, "cnn");
    if (!steps) steps = !strcmp(model, "mlp") ? 400 : !strcmp(model, "cnn") ? 60 : 12;
    build(model, batch);
    double flops = 0;
    for (int i = 0; i < nl; i++) flops += L[i].flops;
    /* training FLOPs: forward + backward data + backward weight, except the
     * first layer's backward data, which is not computed */
    double train_flops = 3 * flops - L[1].flops;

    for (int i = 0; i < 3; i++) { forward(1); backward(); update(); }
    double t0 = now();
    for (int i = 0; i < steps; i++) { forward(1); backward(); update(); }
    double dt = now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"impl\": \"clforge-opbench\", \"model\": \"%s\", \"threads\": %d, \"batch\": %d, "
           "\"train_img_s\": %.1f, \"train_gflops\": %.2f, \"peak_rss_mib\": %.1f",
           model, threads, batch, steps * batch / dt, steps * train_flops / dt * 1e-9,
           ru.ru_maxrss / 1024.0);

    /* inference at batch 256 */
    int isteps = steps / 2 + 1;
    for (int i = 0; i < nl; i++) {} /* tensors are sized for the training batch: rebuild */
    nl = 0;
    build(model, 256);
    forward(0);
    t0 = now();
    for (int i = 0; i < isteps; i++) forward(0);
    dt = now() - t0;
    printf(", \"infer_img_s\": %.1f}\n", isteps * 256 / dt);

    /* per-op breakdown of training */
    nl = 0;
    build(model, batch);
    timing = 1;
    for (int i = 0; i < steps; i++) { forward(1); backward(); update(); }
    double tot = 0;
    for (int i = 0; i < NSLOT && slot_name[i]; i++) tot += slot_time[i];
    if (getenv("OPBENCH_TABLE")) {
        fprintf(stderr, "%-40s %10s %7s\n", "op (training)", "ms/step", "share");
        for (int i = 0; i < NSLOT && slot_name[i]; i++)
            fprintf(stderr, "%-40s %10.3f %6.1f%%\n", slot_name[i], slot_time[i] * 1e3 / steps,
                    100 * slot_time[i] / tot);
        fprintf(stderr, "%-40s %10.3f\n", "total", tot * 1e3 / steps);
    }
    vt->destroy(ctx);
    return 0;
}
