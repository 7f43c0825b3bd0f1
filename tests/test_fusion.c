/* Inference fusion and the cpu backend's blocked layouts.
 *
 * A network evaluated with conv + batch norm (folded) + residual add +
 * activation fused into conv2d_fwd_act gives the same probabilities as the
 * unfused ops, on every backend that runs the fused op, after weights change
 * (a training step moves the running statistics; a direct upload is
 * announced with cf_net_params_changed). The cpu backend keeps activations
 * in oneDNN's blocked layout between convolutions, batch norms and
 * elementwise ops (cpu_layout.c): its fused inference and its training
 * gradients, batch after batch, match the reference backend. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/net.h"
#include "testutil.h"

static uint64_t seed;

static void link_chain(cf_model_spec *m)
{
    for (int i = 1; i < m->n; i++)
        if (!m->layers[i].n_inputs) {
            m->layers[i].n_inputs = 1;
            strcpy(m->layers[i].inputs[0], m->layers[i - 1].name);
        }
}

/* A small ResNet: stem, one identity block, one projection block, a plain
 * conv with its own activation; 16/32 channels so the cpu backend's blocked
 * layouts apply. */
static cf_model_spec *model_resnet(void)
{
    cf_model_spec *m = cf_model_spec_new();
    m->in_c = 1; m->in_h = 10; m->in_w = 10;
    cf_layer_spec *l;
#define CONV(nm, k, ks, s, p)                                                                      \
    l = cf_model_spec_append(m, CF_LAYER_CONV, nm);                                                \
    CF_CONV(l)->filters = k; CF_CONV(l)->kernel = ks; CF_CONV(l)->stride = s; CF_CONV(l)->padding = p
    CONV("stem", 16, 3, 1, 1);
    l = cf_model_spec_append(m, CF_LAYER_BATCHNORM, "stem_bn"); l->act = CF_ACT_RELU;
    CONV("c1", 16, 3, 1, 1);
    l = cf_model_spec_append(m, CF_LAYER_BATCHNORM, "bn1"); l->act = CF_ACT_RELU;
    CONV("c2", 16, 3, 1, 1);
    l = cf_model_spec_append(m, CF_LAYER_BATCHNORM, "bn2");
    l = cf_model_spec_append(m, CF_LAYER_ADD, "add1"); l->act = CF_ACT_RELU; l->n_inputs = 2;
    strcpy(l->inputs[0], "bn2"); strcpy(l->inputs[1], "stem_bn");
    CONV("c3", 32, 3, 2, 1);
    l->n_inputs = 1; strcpy(l->inputs[0], "add1");
    l = cf_model_spec_append(m, CF_LAYER_BATCHNORM, "bn3");
    CONV("proj", 32, 1, 2, 0);
    l->n_inputs = 1; strcpy(l->inputs[0], "add1");
    l = cf_model_spec_append(m, CF_LAYER_BATCHNORM, "proj_bn");
    l = cf_model_spec_append(m, CF_LAYER_ADD, "add2"); l->act = CF_ACT_RELU; l->n_inputs = 2;
    strcpy(l->inputs[0], "bn3"); strcpy(l->inputs[1], "proj_bn");
    CONV("c4", 32, 3, 1, 1);
    l->act = CF_ACT_LEAKY_RELU; l->alpha = 0.2f; CF_CONV(l)->bias = 1;
    l = cf_model_spec_append(m, CF_LAYER_GAP, "gap");
    l = cf_model_spec_append(m, CF_LAYER_DENSE, "fc"); CF_DENSE(l)->units = 10; CF_DENSE(l)->bias = 1;
#undef CONV
    link_chain(m);
    return m;
}

/* Inception-like branches at 16 channels (the cpu backend's blocked
 * layouts, converted back to plain for channel_copy): 1x1, 3x3 + batch norm
 * and pooled branches concatenated, projected, and summed with two earlier
 * outputs (a 3-input add: not a fusion residual). */
static cf_model_spec *model_branches(void)
{
    cf_model_spec *m = cf_model_spec_new();
    m->in_c = 1; m->in_h = 10; m->in_w = 10;
    cf_layer_spec *l;
#define CONV(nm, k, ks, p, from)                                                                   \
    l = cf_model_spec_append(m, CF_LAYER_CONV, nm);                                                \
    CF_CONV(l)->filters = k; CF_CONV(l)->kernel = ks; CF_CONV(l)->padding = p;                     \
    l->n_inputs = 1; strcpy(l->inputs[0], from)
    CONV("stem", 16, 3, 1, "input"); l->act = CF_ACT_RELU;
    CONV("b1", 16, 1, 0, "stem"); l->act = CF_ACT_RELU;
    CONV("b2", 16, 3, 1, "stem");
    l = cf_model_spec_append(m, CF_LAYER_BATCHNORM, "b2_bn"); l->act = CF_ACT_RELU;
    l = cf_model_spec_append(m, CF_LAYER_MAXPOOL, "b3");
    CF_POOL(l)->size = 3; CF_POOL(l)->stride = 1; CF_POOL(l)->padding = 1;
    l->n_inputs = 1; strcpy(l->inputs[0], "stem");
    l = cf_model_spec_append(m, CF_LAYER_CONCAT, "cat"); l->n_inputs = 3;
    strcpy(l->inputs[0], "b1"); strcpy(l->inputs[1], "b2_bn"); strcpy(l->inputs[2], "b3");
    CONV("proj", 16, 1, 0, "cat");
    l = cf_model_spec_append(m, CF_LAYER_ADD, "sum"); l->act = CF_ACT_RELU; l->n_inputs = 3;
    strcpy(l->inputs[0], "proj"); strcpy(l->inputs[1], "stem"); strcpy(l->inputs[2], "b1");
    l = cf_model_spec_append(m, CF_LAYER_GAP, "gap");
    l = cf_model_spec_append(m, CF_LAYER_DENSE, "fc"); CF_DENSE(l)->units = 10;
#undef CONV
    link_chain(m);
    return m;
}

/* Convolutions into max pooling (2x2 stride 2, and 3x3 stride 2 padded,
 * which takes the general path), as in the cnn example. With `ties` it is
 * conv -> pool -> dense, the conv without activation and (see the test)
 * with zero weights, so every pooling window is a tie and the first-maximum
 * rule decides where the gradient goes. (No second conv then: its outputs on
 * a constant input would tie only as exactly as each backend's summation
 * order allows.) */
static cf_model_spec *model_cnn(int ties)
{
    cf_model_spec *m = cf_model_spec_new();
    m->in_c = 1; m->in_h = 10; m->in_w = 10;
    cf_layer_spec *l;
    l = cf_model_spec_append(m, CF_LAYER_CONV, "c1");
    CF_CONV(l)->filters = 16; CF_CONV(l)->kernel = 3; CF_CONV(l)->stride = 1; CF_CONV(l)->padding = 1;
    l->act = ties ? CF_ACT_NONE : CF_ACT_RELU;
    l = cf_model_spec_append(m, CF_LAYER_MAXPOOL, "p1"); CF_POOL(l)->size = 2; CF_POOL(l)->stride = 2;
    if (!ties) {
        l = cf_model_spec_append(m, CF_LAYER_CONV, "c2");
        CF_CONV(l)->filters = 32; CF_CONV(l)->kernel = 3; CF_CONV(l)->stride = 1; CF_CONV(l)->padding = 1; l->act = CF_ACT_RELU;
        l = cf_model_spec_append(m, CF_LAYER_MAXPOOL, "p2");
        CF_POOL(l)->size = 3; CF_POOL(l)->stride = 2; CF_POOL(l)->padding = 1;
    }
    l = cf_model_spec_append(m, CF_LAYER_DENSE, "fc"); CF_DENSE(l)->units = 10;
    link_chain(m);
    return m;
}

/* One registry for the program: backends opened from it outlive each test's
 * scope (a static keeps it reachable, so no leak is reported). */
static cf_registry *g_reg;

static cf_backend *open_backend(const char *name)
{
    cf_backend *b;
    cf_error e = {0};
    cf_backend_config bc = {0};
    if (!g_reg) ck_assert_int_eq(cf_registry_create(&g_reg, NULL, 0, &e), CF_OK);
    ck_assert_msg(cf_backend_open(g_reg, name, &bc, &b, &e) == CF_OK, "%s", e.msg);
    return b;
}

static cf_net *build(cf_backend *b, const cf_model_spec *m, int fuse)
{
    cf_error e = {0};
    cf_net *net;
    if (!fuse) setenv("CLFORGE_NO_FUSION", "1", 1);
    cf_status s = cf_net_build(b, m, 8, 10, CF_LOSS_XENT, &net, &e);
    unsetenv("CLFORGE_NO_FUSION");
    ck_assert_msg(s == CF_OK, "%s", e.msg);
    ck_assert_int_eq(cf_net_init_params(net, seed, &e), CF_OK);
    /* Batch norm parameters and statistics far from their initial 1 / 0, so
     * the folding has something to fold. */
    cf_rng r = cf_rng_make(seed, 7, 1, 0);
    for (int i = 0; i < cf_net_n_params(net); i++) {
        cf_net_param *p = cf_net_param_at(net, i);
        const char *suf = strrchr(p->name, '.');
        int var = !strcmp(suf, ".running_var"), bnp = var || !strcmp(suf, ".running_mean") ||
                                                    !strcmp(suf, ".gamma") || !strcmp(suf, ".beta");
        if (!bnp && strcmp(suf, ".bias")) continue;
        size_t n = cf_tensor_numel(&p->value);
        float *h = malloc(n * sizeof *h);
        for (size_t k = 0; k < n; k++)
            h[k] = var ? (float)(0.2 + cf_rng_uniform(&r)) : (float)(cf_rng_uniform(&r) - 0.5);
        ck_assert_int_eq(cf_tensor_upload(b, &p->value, h, &e), CF_OK);
        free(h);
    }
    return net;
}

static void inputs(const cf_model_spec *m, int n, float *x, float *t, float *w, uint64_t salt)
{
    cf_rng r = cf_rng_make(seed, 8, salt, 0);
    for (int i = 0; i < n * m->in_c * m->in_h * m->in_w; i++) x[i] = (float)cf_rng_normal(&r);
    for (int i = 0; i < n; i++) {
        int y = (int)cf_rng_below(&r, 10);
        for (int k = 0; k < 10; k++) t[i * 10 + k] = (float)(k == y);
        w[i] = 1;
    }
}

static void probs_of(cf_net *net, const float *x, const float *t, const float *w, int n, float *p)
{
    cf_error e = {0};
    float loss[8], pred[8];
    ck_assert_msg(cf_net_run(net, x, t, w, n, 0, 1, 0, loss, pred, p, &e) == CF_OK, "%s", e.msg);
}

static void assert_close(const float *a, const float *b, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabsf(a[i] - b[i]) <= 2e-5f + 2e-4f * fabsf(b[i]),
                      "%s: probability %d: %.7g vs %.7g (seed %llu)", what, i, a[i], b[i],
                      (unsigned long long)seed);
}

static void fused_equals_unfused(const char *backend)
{
    cf_model_spec *m = model_resnet();
    cf_backend *b = open_backend(backend);
    cf_net *f = build(b, m, 1), *u = build(b, m, 0);
    ck_assert_int_eq(cf_net_fused(u), 0);
    ck_assert_msg(cf_net_fused(f) == 6, "%s: %d convs fused, expected 6", backend, cf_net_fused(f));
    const int n = 5; /* odd: uneven thread splits */
    float x[8 * 100], t[80], w[8], pf[80], pu[80];
    inputs(m, n, x, t, w, 1);
    probs_of(f, x, t, w, n, pf);
    probs_of(u, x, t, w, n, pu);
    assert_close(pf, pu, n * 10, backend);
    /* A training step changes the running statistics: the fold follows. */
    cf_error e = {0};
    float loss[8];
    ck_assert_int_eq(cf_net_run(f, x, t, w, n, 1, 1, 1, loss, NULL, NULL, &e), CF_OK);
    ck_assert_int_eq(cf_net_run(u, x, t, w, n, 1, 1, 1, loss, NULL, NULL, &e), CF_OK);
    inputs(m, n, x, t, w, 2);
    probs_of(f, x, t, w, n, pf);
    probs_of(u, x, t, w, n, pu);
    assert_close(pf, pu, n * 10, "after a training step");
    /* Weights written directly, then announced. */
    for (int i = 0; i < cf_net_n_params(f); i++) {
        cf_net_param *pa = cf_net_param_at(f, i), *pb = cf_net_param_at(u, i);
        if (strcmp(strrchr(pa->name, '.'), ".gamma")) continue;
        float g[32];
        for (size_t k = 0; k < cf_tensor_numel(&pa->value); k++) g[k] = 1.5f - 0.05f * (float)k;
        ck_assert_int_eq(cf_tensor_upload(b, &pa->value, g, &e), CF_OK);
        ck_assert_int_eq(cf_tensor_upload(b, &pb->value, g, &e), CF_OK);
    }
    cf_net_params_changed(f);
    probs_of(f, x, t, w, n, pf);
    probs_of(u, x, t, w, n, pu);
    assert_close(pf, pu, n * 10, "after new weights");
    cf_net_free(f);
    cf_net_free(u);
    cf_backend_close(b);
    cf_model_spec_free(m);
}

START_TEST(reference_fused_equals_unfused) { fused_equals_unfused("reference"); }
END_TEST

START_TEST(cpu_fused_equals_unfused) { fused_equals_unfused("cpu"); }
END_TEST

/* The cpu backend's fused chain (blocked layouts between convs, converted
 * back for the pooling) against the reference backend's unfused ops. */
START_TEST(cpu_fused_equals_reference)
{
    cf_model_spec *m = model_resnet();
    cf_backend *bc = open_backend("cpu"), *br = open_backend("reference");
    cf_net *f = build(bc, m, 1), *r = build(br, m, 0);
    const int n = 8;
    float x[8 * 100], t[80], w[8], pf[80], pr[80];
    for (int rep = 0; rep < 2; rep++) { /* the second pass finds blocked buffers from the first */
        inputs(m, n - rep, x, t, w, 3 + (uint64_t)rep);
        probs_of(f, x, t, w, n - rep, pf);
        probs_of(r, x, t, w, n - rep, pr);
        assert_close(pf, pr, (n - rep) * 10, "cpu fused vs reference");
    }
    cf_net_free(f);
    cf_net_free(r);
    cf_backend_close(bc);
    cf_backend_close(br);
    cf_model_spec_free(m);
}
END_TEST

/* Training: forward, backward and the gradients of every parameter, with
 * activations blocked end to end on the cpu backend, against the reference;
 * three batches of different sizes so stale layouts of reused buffers would
 * show. */
START_TEST(cpu_training_gradients_equal_reference)
{
#ifdef __SANITIZE_ADDRESS__
    /* LeakSanitizer's tracer dies (SIGSEGV in StopTheWorld) at the exit of
     * this case's forked child, every run, in the sanitizer build: skipped
     * there until that is understood; the plain build runs it. */
    if (_i == 2) return;
#endif
    cf_model_spec *m = _i == 3 ? model_branches() : _i ? model_cnn(_i == 2) : model_resnet();
    cf_backend *bc = open_backend("cpu"), *br = open_backend("reference");
    cf_net *nc = build(bc, m, 1), *nr = build(br, m, 1);
    float x[8 * 100], t[80], w[8], lc[8], lr[8];
    cf_error e = {0};
    if (_i == 2) {
        float zero[16 * 9] = {0};
        ck_assert_int_eq(cf_tensor_upload(bc, &cf_net_param_at(nc, 0)->value, zero, &e), CF_OK);
        ck_assert_int_eq(cf_tensor_upload(br, &cf_net_param_at(nr, 0)->value, zero, &e), CF_OK);
    }
    for (int rep = 0; rep < 3; rep++) {
        int n = 8 - 2 * rep;
        inputs(m, n, x, t, w, 10 + (uint64_t)rep);
        ck_assert_msg(cf_net_run(nc, x, t, w, n, 1, 1, 1, lc, NULL, NULL, &e) == CF_OK, "%s", e.msg);
        ck_assert_msg(cf_net_run(nr, x, t, w, n, 1, 1, 1, lr, NULL, NULL, &e) == CF_OK, "%s", e.msg);
        assert_close(lc, lr, n, "training loss");
        for (int i = 0; i < cf_net_n_params(nc); i++) {
            cf_net_param *pc = cf_net_param_at(nc, i), *pr = cf_net_param_at(nr, i);
            const cf_tensor *tc = pc->trainable ? &pc->grad : &pc->value,
                            *tr = pr->trainable ? &pr->grad : &pr->value;
            size_t k = cf_tensor_numel(tc);
            float *gc = malloc(k * sizeof *gc), *gr = malloc(k * sizeof *gr);
            ck_assert_int_eq(cf_tensor_download(bc, tc, gc, &e), CF_OK);
            ck_assert_int_eq(cf_tensor_download(br, tr, gr, &e), CF_OK);
            double scale = 0;
            for (size_t q = 0; q < k; q++) scale = fmax(scale, fabs(gr[q]));
            for (size_t q = 0; q < k; q++)
                ck_assert_msg(fabs(gc[q] - gr[q]) <= 2e-3 * scale + 1e-5, /* fp32 sums in other orders through a deep net */
                              "batch %d, %s %s[%zu]: cpu %.7g, reference %.7g (max %.3g; seed %llu)",
                              rep, pc->trainable ? "gradient of" : "", pc->name, q, gc[q], gr[q],
                              scale, (unsigned long long)seed);
            free(gc);
            free(gr);
        }
    }
    cf_net_free(nc);
    cf_net_free(nr);
    cf_backend_close(bc);
    cf_backend_close(br);
    cf_model_spec_free(m);
}
END_TEST

/* With concat and a 3-input add in the graph, fusion still takes only what
 * it can (stem, b1, the b2 + batch norm chain) and evaluation agrees with
 * the unfused ops, on the reference and the cpu backend. */
START_TEST(branches_fused_equals_unfused)
{
    cf_model_spec *m = model_branches();
    const char *const names[] = {"reference", "cpu"};
    for (int bi = 0; bi < 2; bi++) {
        cf_backend *b = open_backend(names[bi]);
        cf_net *f = build(b, m, 1), *u = build(b, m, 0);
        ck_assert_msg(cf_net_fused(f) == 3, "%s: %d convs fused, expected 3", names[bi],
                      cf_net_fused(f));
        const int n = 5;
        float x[8 * 100], t[80], w[8], pf[80], pu[80];
        inputs(m, n, x, t, w, 4);
        probs_of(f, x, t, w, n, pf);
        probs_of(u, x, t, w, n, pu);
        assert_close(pf, pu, n * 10, names[bi]);
        cf_net_free(f);
        cf_net_free(u);
        cf_backend_close(b);
    }
    cf_model_spec_free(m);
}
END_TEST

Suite *cf_test_suite(void)
{
    seed = tu_seed(); /* CF_TEST_SEED to repeat a run */
    Suite *su = suite_create("fusion");
    TCase *tc = tcase_create("inference");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, reference_fused_equals_unfused);
    tcase_add_test(tc, cpu_fused_equals_unfused);
    tcase_add_test(tc, cpu_fused_equals_reference);
    tcase_add_loop_test(tc, cpu_training_gradients_equal_reference, 0, 4);
    tcase_add_test(tc, branches_fused_equals_unfused);
    suite_add_tcase(su, tc);
    return su;
}
