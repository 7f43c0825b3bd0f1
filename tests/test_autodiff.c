/* Graph-level autodiff: the gradients the engine wires together (residual
 * and N-input add with accumulation, concat, batchnorm, pooling, dropout, flatten, activations,
 * every loss) match central finite differences of the whole network's loss,
 * on the reference backend with fresh random inputs. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/net.h"

static uint64_t seed;

static cf_model_spec *model_residual(void)
{
    cf_model_spec *m = cf_model_spec_new();
    m->in_c = 2; m->in_h = 6; m->in_w = 6;
    cf_layer_spec *l;
    l = cf_model_spec_append(m, CF_LAYER_CONV, "c1"); CF_CONV(l)->filters = 4; CF_CONV(l)->kernel = 3; CF_CONV(l)->padding = 1; CF_CONV(l)->stride = 1; l->act = CF_ACT_TANH;
    l = cf_model_spec_append(m, CF_LAYER_BATCHNORM, "b1"); l->act = CF_ACT_ELU;
    l = cf_model_spec_append(m, CF_LAYER_CONV, "c2"); CF_CONV(l)->filters = 4; CF_CONV(l)->kernel = 3; CF_CONV(l)->padding = 1; CF_CONV(l)->stride = 1;
    l = cf_model_spec_append(m, CF_LAYER_ADD, "sum"); l->n_inputs = 2; strcpy(l->inputs[0], "c2"); strcpy(l->inputs[1], "b1"); l->act = CF_ACT_GELU;
    l = cf_model_spec_append(m, CF_LAYER_AVGPOOL, "p"); CF_POOL(l)->size = 2; CF_POOL(l)->stride = 2;
    l = cf_model_spec_append(m, CF_LAYER_DROPOUT, "d"); CF_DROPOUT(l)->rate = 0.25f;
    l = cf_model_spec_append(m, CF_LAYER_FLATTEN, "f");
    l = cf_model_spec_append(m, CF_LAYER_DENSE, "fc1"); CF_DENSE(l)->units = 5; l->act = CF_ACT_SIGMOID;
    l = cf_model_spec_append(m, CF_LAYER_DENSE, "fc2"); CF_DENSE(l)->units = 3;
    for (int i = 1; i < m->n; i++)
        if (!m->layers[i].n_inputs) { m->layers[i].n_inputs = 1; strcpy(m->layers[i].inputs[0], m->layers[i - 1].name); }
    return m;
}

static cf_model_spec *model_pooling(void)
{
    cf_model_spec *m = cf_model_spec_new();
    m->in_c = 1; m->in_h = 7; m->in_w = 7;
    cf_layer_spec *l;
    l = cf_model_spec_append(m, CF_LAYER_CONV, "c1"); CF_CONV(l)->filters = 3; CF_CONV(l)->kernel = 3; CF_CONV(l)->padding = 0; CF_CONV(l)->stride = 1; l->act = CF_ACT_LEAKY_RELU; l->alpha = 0.3f;
    l = cf_model_spec_append(m, CF_LAYER_MAXPOOL, "mp"); CF_POOL(l)->size = 2; CF_POOL(l)->stride = 1;
    l = cf_model_spec_append(m, CF_LAYER_GAP, "g");
    l = cf_model_spec_append(m, CF_LAYER_DENSE, "fc"); CF_DENSE(l)->units = 3;
    l = cf_model_spec_append(m, CF_LAYER_SOFTMAX, "sm");
    for (int i = 1; i < m->n; i++) { m->layers[i].n_inputs = 1; strcpy(m->layers[i].inputs[0], m->layers[i - 1].name); }
    return m;
}

static void set_inputs(cf_layer_spec *l, int n, const char *const *names)
{
    l->n_inputs = n;
    for (int k = 0; k < n; k++) snprintf(l->inputs[k], CF_NAME_MAX, "%s", names[k]);
}

/* Branches: a concat of two convs and the raw input (no gradient goes
 * there), a 3-input add reading one layer twice (accumulation within one
 * backward op list), and a second concat re-reading the first (its gradient
 * arrives from a concat and a conv). */
static cf_model_spec *model_branches(void)
{
    cf_model_spec *m = cf_model_spec_new();
    m->in_c = 2; m->in_h = 6; m->in_w = 6;
    cf_layer_spec *l;
    l = cf_model_spec_append(m, CF_LAYER_CONV, "c1"); CF_CONV(l)->filters = 3; CF_CONV(l)->padding = 1; l->act = CF_ACT_TANH;
    set_inputs(l, 1, (const char *const[]){"input"});
    l = cf_model_spec_append(m, CF_LAYER_CONV, "c2"); CF_CONV(l)->filters = 2; CF_CONV(l)->kernel = 1;
    set_inputs(l, 1, (const char *const[]){"input"});
    l = cf_model_spec_append(m, CF_LAYER_CONCAT, "cat");
    set_inputs(l, 3, (const char *const[]){"c1", "c2", "input"});
    l = cf_model_spec_append(m, CF_LAYER_CONV, "c3"); CF_CONV(l)->filters = 3; CF_CONV(l)->kernel = 1; l->act = CF_ACT_ELU;
    set_inputs(l, 1, (const char *const[]){"cat"});
    l = cf_model_spec_append(m, CF_LAYER_ADD, "sum"); l->act = CF_ACT_GELU;
    set_inputs(l, 3, (const char *const[]){"c3", "c1", "c1"});
    l = cf_model_spec_append(m, CF_LAYER_CONCAT, "cat2");
    set_inputs(l, 2, (const char *const[]){"sum", "cat"});
    l = cf_model_spec_append(m, CF_LAYER_FLATTEN, "f");
    set_inputs(l, 1, (const char *const[]){"cat2"});
    l = cf_model_spec_append(m, CF_LAYER_DENSE, "fc"); CF_DENSE(l)->units = 3;
    set_inputs(l, 1, (const char *const[]){"f"});
    return m;
}

/* train.freeze in the middle: a frozen batch norm (eval-mode forward, its
 * dx accumulated into a buffer the residual add wrote first) and a frozen
 * conv (no weight gradient, dx still sent on) between trainable layers. */
static cf_model_spec *model_frozen_middle(void)
{
    cf_model_spec *m = cf_model_spec_new();
    m->in_c = 2; m->in_h = 5; m->in_w = 5;
    cf_layer_spec *l;
    l = cf_model_spec_append(m, CF_LAYER_CONV, "c1"); CF_CONV(l)->filters = 3; CF_CONV(l)->padding = 1; l->act = CF_ACT_TANH;
    set_inputs(l, 1, (const char *const[]){"input"});
    l = cf_model_spec_append(m, CF_LAYER_BATCHNORM, "b1"); l->act = CF_ACT_ELU;
    set_inputs(l, 1, (const char *const[]){"c1"});
    l = cf_model_spec_append(m, CF_LAYER_CONV, "c2"); CF_CONV(l)->filters = 3; CF_CONV(l)->padding = 1;
    set_inputs(l, 1, (const char *const[]){"b1"});
    l = cf_model_spec_append(m, CF_LAYER_ADD, "sum"); l->act = CF_ACT_GELU;
    set_inputs(l, 2, (const char *const[]){"c2", "c1"});
    l = cf_model_spec_append(m, CF_LAYER_FLATTEN, "f");
    set_inputs(l, 1, (const char *const[]){"sum"});
    l = cf_model_spec_append(m, CF_LAYER_DENSE, "fc"); CF_DENSE(l)->units = 3;
    set_inputs(l, 1, (const char *const[]){"f"});
    return m;
}

static double batch_loss(cf_net *net, const float *x, const float *t, const float *w, int n, cf_error *e)
{
    float loss[8];
    ck_assert_msg(cf_net_run(net, x, t, w, n, 1, 99, 5, loss, NULL, NULL, e) == CF_OK, "%s", e->msg);
    double s = 0, ws = 0;
    for (int i = 0; i < n; i++) { s += loss[i]; ws += w[i]; }
    return s / ws;
}

static void check_model_frozen(cf_model_spec *m, cf_loss_kind kind, const char *const *freeze, int n_freeze)
{
    cf_registry *r;
    cf_backend *b;
    cf_error e = {0};
    cf_backend_config bc = {0};
    ck_assert_int_eq(cf_registry_create(&r, NULL, 0, &e), CF_OK);
    ck_assert_msg(cf_backend_open(r, "reference", &bc, &b, &e) == CF_OK, "%s", e.msg);
    cf_net *net;
    const int n = 4, k = 3;
    ck_assert_msg(cf_net_build(b, m, n, k, kind, &net, &e) == CF_OK, "%s", e.msg);
    ck_assert_int_eq(cf_net_init_params(net, seed, &e), CF_OK);
    if (n_freeze) ck_assert_msg(cf_net_freeze(net, freeze, n_freeze, &e) == CF_OK, "%s", e.msg);
    cf_rng rng = cf_rng_make(seed, 99, 0, 0);
    int px = m->in_c * m->in_h * m->in_w;
    float *x = malloc(sizeof(float) * (size_t)(n * px)), t[12], w[4];
    for (int i = 0; i < n * px; i++) x[i] = (float)cf_rng_normal(&rng);
    for (int i = 0; i < n; i++) {
        int y = (int)cf_rng_below(&rng, k);
        for (int j = 0; j < k; j++) t[i * k + j] = kind == CF_LOSS_XENT ? (j == y ? 0.9f : 0.05f) : (float)(j == y);
        w[i] = 0.5f + (float)cf_rng_uniform(&rng); /* per-sample weights exercise scaling */
    }
    batch_loss(net, x, t, w, n, &e); /* analytic gradients now in p->grad */
    int np = cf_net_n_params(net);
    float **grads = calloc((size_t)np, sizeof *grads);
    for (int pi = 0; pi < np; pi++) { /* snapshot before any perturbation reruns backward */
        cf_net_param *p = cf_net_param_at(net, pi);
        if (!p->trainable || p->frozen) continue;
        grads[pi] = malloc(cf_tensor_numel(&p->value) * sizeof(float));
        cf_tensor_download(b, &p->grad, grads[pi], &e);
    }
    int checked = 0;
    double worst = 0;
    for (int pi = 0; pi < cf_net_n_params(net); pi++) {
        cf_net_param *p = cf_net_param_at(net, pi);
        if (!p->trainable || p->frozen) continue;
        size_t cnt = cf_tensor_numel(&p->value);
        float *v = malloc(cnt * sizeof *v), *g = grads[pi];
        cf_tensor_download(b, &p->value, v, &e);
        for (int trial = 0; trial < 3; trial++) {
            size_t j = cf_rng_below(&rng, (uint32_t)cnt);
            float orig = v[j];
            /* A max-pool switch or activation kink inside [x-h, x+h] spoils one
             * difference quotient; a real error persists as h shrinks. */
            double err = 1e9, num = 0, ana = g[j];
            for (float h = 5e-4f; h > 1e-5f && err >= 3e-2; h /= 5) {
                v[j] = orig + h;
                cf_tensor_upload(b, &p->value, v, &e);
                double lp = batch_loss(net, x, t, w, n, &e);
                v[j] = orig - h;
                cf_tensor_upload(b, &p->value, v, &e);
                double lm = batch_loss(net, x, t, w, n, &e);
                v[j] = orig;
                cf_tensor_upload(b, &p->value, v, &e);
                num = (lp - lm) / (2.0 * h);
                err = fabs(num - ana) / fmax(1e-2, fabs(num) + fabs(ana));
            }
            if (err > worst) worst = err;
            ck_assert_msg(err < 3e-2, "seed %llu: %s[%zu]: analytic %.6g vs numeric %.6g (loss %d)",
                          (unsigned long long)seed, p->name, j, ana, num, (int)kind);
            checked++;
        }
        free(v);
        free(g);
    }
    ck_assert_int_gt(checked, 10);
    free(grads);
    free(x);
    cf_net_free(net);
    cf_backend_close(b);
    cf_registry_destroy(r);
    cf_model_spec_free(m);
}

static void check_model(cf_model_spec *m, cf_loss_kind kind) { check_model_frozen(m, kind, NULL, 0); }

START_TEST(frozen_bn_conv_middle_xent)
{
    static const char *const fz[] = {"b1", "c2"};
    check_model_frozen(model_frozen_middle(), CF_LOSS_XENT, fz, 2);
}
END_TEST

START_TEST(residual_bn_dropout_xent) { check_model(model_residual(), CF_LOSS_XENT); }
END_TEST
START_TEST(residual_mse) { check_model(model_residual(), CF_LOSS_MSE); }
END_TEST
START_TEST(pooling_softmax_hinge) { check_model(model_pooling(), CF_LOSS_HINGE); }
END_TEST

/* Cross-entropy with label smoothing eps over K classes equals torch's
 * F.cross_entropy(logits, y, label_smoothing=eps): targets (1-eps) onehot + eps/K. */
START_TEST(concat_nadd_xent) { check_model(model_branches(), CF_LOSS_XENT); }
END_TEST
START_TEST(concat_nadd_mse) { check_model(model_branches(), CF_LOSS_MSE); }
END_TEST

START_TEST(label_smoothing_value)
{
    cf_registry *r;
    cf_backend *b;
    cf_error e = {0};
    cf_backend_config bc = {0};
    ck_assert_int_eq(cf_registry_create(&r, NULL, 0, &e), CF_OK);
    ck_assert_int_eq(cf_backend_open(r, "reference", &bc, &b, &e), CF_OK);
    const float logits[3] = {1.0f, 2.0f, 3.0f}, eps = 0.1f;
    const int y = 0, k = 3;
    float tgt[3], w[1] = {1}, loss[1], pred[1];
    for (int j = 0; j < k; j++) tgt[j] = (j == y ? 1 - eps : 0) + eps / k;
    cf_tensor tl, tt, tw, tp, tls, tpr;
    int s2[2] = {1, 3}, s1[1] = {1};
    cf_tensor_alloc(b, &tl, 2, s2, "logits", &e);
    cf_tensor_alloc(b, &tt, 2, s2, "target", &e);
    cf_tensor_alloc(b, &tp, 2, s2, "probs", &e);
    cf_tensor_alloc(b, &tw, 1, s1, "w", &e);
    cf_tensor_alloc(b, &tls, 1, s1, "loss", &e);
    cf_tensor_alloc(b, &tpr, 1, s1, "pred", &e);
    cf_tensor_upload(b, &tl, logits, &e);
    cf_tensor_upload(b, &tt, tgt, &e);
    cf_tensor_upload(b, &tw, w, &e);
    cf_op op = {0};
    op.kind = CF_OP_SOFTMAX_XENT_FWD;
    op.in[0] = &tl; op.in[1] = &tt; op.in[2] = &tw;
    op.out[0] = &tp; op.out[1] = &tls; op.out[2] = &tpr;
    ck_assert_msg(cf_backend_exec(b, &op, &e) == CF_OK, "%s", e.msg);
    cf_tensor_download(b, &tls, loss, &e);
    cf_tensor_download(b, &tpr, pred, &e);
    double lse = log(exp(1.0) + exp(2.0) + exp(3.0)), want = 0;
    for (int j = 0; j < k; j++) want -= ((j == y ? 1 - eps : 0) + eps / k) * (logits[j] - lse);
    /* torch.nn.functional.cross_entropy(tensor([[1.,2.,3.]]), tensor([0]), label_smoothing=0.1) = 2.3076 */
    ck_assert_msg(fabs(loss[0] - want) < 1e-5 && fabs(want - 2.30761) < 1e-4, "loss %.6f, want %.6f", loss[0], want);
    ck_assert_int_eq((int)pred[0], 2);
    cf_tensor *all[] = {&tl, &tt, &tp, &tw, &tls, &tpr};
    for (int i = 0; i < 6; i++) cf_tensor_free(b, all[i]);
    cf_backend_close(b);
    cf_registry_destroy(r);
}
END_TEST

Suite *cf_test_suite(void)
{
    const char *env = getenv("CF_TEST_SEED");
    seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    printf("autodiff: seed %llu (set CF_TEST_SEED to repeat)\n", (unsigned long long)seed);
    Suite *s = suite_create("autodiff");
    TCase *t = tcase_create("autodiff");
    tcase_add_test(t, residual_bn_dropout_xent);
    tcase_add_test(t, frozen_bn_conv_middle_xent);
    tcase_add_test(t, residual_mse);
    tcase_add_test(t, pooling_softmax_hinge);
    tcase_add_test(t, concat_nadd_xent);
    tcase_add_test(t, concat_nadd_mse);
    tcase_add_test(t, label_smoothing_value);
    suite_add_tcase(s, t);
    return s;
}
