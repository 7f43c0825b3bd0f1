/* Optimizer and regularizer plugins.
 *
 * Every optimizer runs a few steps on fixed small vectors on EVERY backend
 * the registry finds; after each step the parameters must equal the update
 * of torch.optim's documented algorithm computed here in double (relative
 * error <= 1e-5). Learning rates are large enough that a wrong term moves a
 * parameter by far more than the tolerance. One parameter is a weight and one
 * a bias, so "weight decay on weights only" is checked too; the rate passed
 * in each step differs from the plugin's learning_rate default and changes
 * every step, as under a schedule. The regularizers: l2's gradient term and
 * where dropout/batchnorm place their layers. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/params.h"
#include "model/model.h"
#include "train/grad_clip.h"

#define NW 7 /* weight elements */
#define NB 3 /* bias elements */
#define STEPS 6
#define MAX_SLOTS 8
#define MAX_BACKENDS 8

static cf_registry *reg;
static cf_backend *backends[MAX_BACKENDS];
static int n_backends;

static void setup(void)
{
    cf_error err = {0};
    ck_assert_msg(cf_registry_create(&reg, NULL, 0, &err) == CF_OK, "registry: %s", err.msg);
    n_backends = 0;
    for (int i = 0; i < cf_registry_count(reg) && n_backends < MAX_BACKENDS; i++) {
        const cf_plugin_desc *d = cf_registry_desc(reg, i);
        if (d->kind != CF_PLUGIN_BACKEND) continue;
        cf_backend_config cfg = {0};
        cf_backend *b = NULL;
        if (cf_backend_open(reg, d->name, &cfg, &b, &err) != CF_OK) {
            /* e.g. OpenCL without a device: not this suite's business. */
            fprintf(stderr, "test_optimizers: skipping backend %s: %s\n", d->name, err.msg);
            continue;
        }
        backends[n_backends++] = b;
    }
    ck_assert_msg(n_backends > 0, "no backend could be opened");
}

static void teardown(void)
{
    for (int i = 0; i < n_backends; i++) cf_backend_close(backends[i]);
    n_backends = 0;
    cf_registry_destroy(reg);
    reg = NULL;
}

/* ---- the textbook updates, in double -------------------------------------- */

typedef struct ref_hp {
    double momentum, dampening, wd, beta1, beta2, eps, gamma, rho, lr_decay, init, eta;
    int nesterov, amsgrad, centered, decoupled;
} ref_hp;

/* One parameter tensor's state in the reference. */
typedef struct ref_state {
    double buf[NW], m[NW], v[NW], vmax[NW], ga[NW], u[NW], sum[NW];
} ref_state;

static void ref_sgd(const ref_hp *h, ref_state *s, double *p, const double *grad, int n,
                    int is_weight, long t, double lr)
{
    for (int i = 0; i < n; i++) {
        double g = grad[i] + (is_weight ? h->wd : 0) * p[i];
        if (h->momentum != 0) {
            s->buf[i] = t == 1 ? g : h->momentum * s->buf[i] + (1 - h->dampening) * g;
            g = h->nesterov ? g + h->momentum * s->buf[i] : s->buf[i];
        }
        p[i] -= lr * g;
    }
}

static void ref_adam(const ref_hp *h, ref_state *s, double *p, const double *grad, int n,
                     int is_weight, long t, double lr)
{
    const double wd = is_weight ? h->wd : 0;
    const double bc1 = 1 - pow(h->beta1, (double)t), bc2 = 1 - pow(h->beta2, (double)t);
    for (int i = 0; i < n; i++) {
        double g = grad[i];
        if (h->decoupled)
            p[i] *= 1 - lr * wd;
        else
            g += wd * p[i];
        s->m[i] = h->beta1 * s->m[i] + (1 - h->beta1) * g;
        s->v[i] = h->beta2 * s->v[i] + (1 - h->beta2) * g * g;
        double vv = s->v[i];
        if (h->amsgrad) {
            s->vmax[i] = fmax(s->vmax[i], s->v[i]);
            vv = s->vmax[i];
        }
        double denom = sqrt(vv) / sqrt(bc2) + h->eps;
        p[i] -= lr / bc1 * s->m[i] / denom;
    }
}

static void ref_rmsprop(const ref_hp *h, ref_state *s, double *p, const double *grad, int n,
                        int is_weight, long t, double lr)
{
    const double a = h->gamma;
    for (int i = 0; i < n; i++) {
        double g = grad[i] + (is_weight ? h->wd : 0) * p[i];
        s->v[i] = a * s->v[i] + (1 - a) * g * g;
        double avg;
        if (h->centered) {
            s->ga[i] = a * s->ga[i] + (1 - a) * g;
            avg = sqrt(s->v[i] - s->ga[i] * s->ga[i]) + h->eps;
        } else {
            avg = sqrt(s->v[i]) + h->eps;
        }
        if (h->momentum > 0) {
            s->buf[i] = h->momentum * s->buf[i] + g / avg;
            p[i] -= lr * s->buf[i];
        } else {
            p[i] -= lr * g / avg;
        }
    }
}

static void ref_adadelta(const ref_hp *h, ref_state *s, double *p, const double *grad, int n,
                         int is_weight, long t, double lr)
{
    for (int i = 0; i < n; i++) {
        double g = grad[i] + (is_weight ? h->wd : 0) * p[i];
        s->v[i] = h->rho * s->v[i] + (1 - h->rho) * g * g;
        double std = sqrt(s->v[i] + h->eps);
        double delta = sqrt(s->u[i] + h->eps) / std * g;
        s->u[i] = h->rho * s->u[i] + (1 - h->rho) * delta * delta;
        p[i] -= lr * delta;
    }
}

static void ref_adagrad(const ref_hp *h, ref_state *s, double *p, const double *grad, int n,
                        int is_weight, long t, double lr)
{
    const double clr = lr / (1 + (double)(t - 1) * h->lr_decay);
    for (int i = 0; i < n; i++) {
        if (t == 1) s->sum[i] = h->init;
        double g = grad[i] + (is_weight ? h->wd : 0) * p[i];
        s->sum[i] += g * g;
        p[i] -= clr * g / (sqrt(s->sum[i]) + h->eps);
    }
}

/* Lion (examples/plugins/lion.c, out of tree): checked only when
 * tests/test_plugins_oot.sh has built it and sets CF_TEST_REQUIRE_LION. */
static void ref_lion(const ref_hp *h, ref_state *s, double *p, const double *grad, int n,
                     int is_weight, long t, double lr)
{
    for (int i = 0; i < n; i++) {
        double c = h->beta1 * s->m[i] + (1 - h->beta1) * grad[i];
        double sg = c > 0 ? 1 : c < 0 ? -1 : 0;
        p[i] -= lr * (sg + (is_weight ? h->wd : 0) * p[i]);
        s->m[i] = h->beta2 * s->m[i] + (1 - h->beta2) * grad[i];
    }
}

static double norm2(const double *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i] * x[i];
    return sqrt(s);
}

/* LARS, You et al. 2017 Algorithm 1, as the paper writes it: the global rate
 * inside the momentum, v = mu v + lr lambda (g + wd p); p = p - v, lambda =
 * eta ||p|| / (||g|| + wd ||p|| + eps). Only equal to lars.c's rate-outside
 * form under a constant rate, so it runs with one (const_lr). Biases: plain
 * momentum SGD (exclude_bias_bn). */
static void ref_lars_paper(const ref_hp *h, ref_state *s, double *p, const double *grad, int n,
                           int is_weight, long t, double lr)
{
    double lambda = 1, wd = is_weight ? h->wd : 0;
    if (is_weight) {
        double wn = norm2(p, n), gn = norm2(grad, n);
        lambda = h->eta * wn / (gn + wd * wn + h->eps);
    }
    for (int i = 0; i < n; i++) {
        double d = lambda * (grad[i] + wd * p[i]);
        s->buf[i] = t == 1 ? lr * d : h->momentum * s->buf[i] + lr * d;
    }
    for (int i = 0; i < n; i++) p[i] -= s->buf[i];
}

/* LAMB, You et al. 2019 Algorithm 2 (phi = identity) with Adam's bias
 * correction; biases: the Adam step, no decay, no trust ratio. */
static void ref_lamb(const ref_hp *h, ref_state *s, double *p, const double *grad, int n,
                     int is_weight, long t, double lr)
{
    double u[NW], wd = is_weight ? h->wd : 0;
    for (int i = 0; i < n; i++) {
        s->m[i] = h->beta1 * s->m[i] + (1 - h->beta1) * grad[i];
        s->v[i] = h->beta2 * s->v[i] + (1 - h->beta2) * grad[i] * grad[i];
        double mh = s->m[i] / (1 - pow(h->beta1, (double)t)), vh = s->v[i] / (1 - pow(h->beta2, (double)t));
        u[i] = mh / (sqrt(vh) + h->eps) + wd * p[i];
    }
    double trust = 1;
    if (is_weight) {
        double wn = norm2(p, n), un = norm2(u, n);
        if (wn > 0 && un > 0) trust = wn / un;
    }
    for (int i = 0; i < n; i++) p[i] -= lr * trust * u[i];
}

typedef void (*ref_fn)(const ref_hp *, ref_state *, double *, const double *, int, int, long,
                       double);

/* ---- running a plugin on a backend ---------------------------------------- */

/* Fixed, varied gradients: both signs, a zero, magnitudes 1e-3 .. 2. */
static double grad_at(int param, int i, long t)
{
    if (param == 0 && i == 3) return 0.0;
    double mag = (i % 3 == 0) ? 2.0 : (i % 3 == 1) ? 0.3 : 1e-3;
    return mag * sin(1.7 * i + 0.9 * (double)t + 0.5 * param + 0.3);
}

static double p_init(int param, int i) { return (param ? -0.4 : 0.8) + 0.25 * i - 0.1 * param * i; }

/* lr0: the rate in force at step 0; it decays 10 % a step like a schedule
 * (unless const_lr). */
static int const_lr;
static void run_case(const char *name, double lr0, const char *const *kv, int n_kv, ref_fn ref,
                     const ref_hp *h)
{
    cf_error err = {0};
    const cf_plugin_desc *d;
    ck_assert_msg(cf_registry_find(reg, CF_PLUGIN_OPTIMIZER, name, &d, &err) == CF_OK, "%s",
                  err.msg);
    const cf_optimizer_vtable *vt = d->vtable;
    cf_params *hp;
    ck_assert_msg(cf_params_from_kv(d->params, kv, n_kv, &hp, &err) == CF_OK, "%s: %s", name,
                  err.msg);
    ck_assert_msg(cf_params_num(hp, "learning_rate") == cf_params_num(hp, "learning_rate"),
                  "%s: table lacks learning_rate", name);

    for (int bi = 0; bi < n_backends; bi++) {
        cf_backend *b = backends[bi];
        void *state;
        ck_assert_msg(cf_plugin_state_create(d, hp, &state, &err) == CF_OK, "%s create: %s", name,
                      err.msg);
        const int ns = vt->n_slots(state);
        ck_assert_int_le(ns, MAX_SLOTS);

        const int len[2] = {NW, NB};
        const char *pname[2] = {"fc.weight", "fc.bias"};
        cf_tensor value[2], grad[2], slot[2][MAX_SLOTS], *slotp[2][MAX_SLOTS];
        cf_optim_param op[2];
        double ref_p[2][NW];
        ref_state rs[2];
        memset(rs, 0, sizeof rs);
        float zeros[NW] = {0}, host[NW];
        for (int q = 0; q < 2; q++) {
            int shape[1] = {len[q]};
            ck_assert(cf_tensor_alloc(b, &value[q], 1, shape, pname[q], &err) == CF_OK);
            ck_assert(cf_tensor_alloc(b, &grad[q], 1, shape, "grad", &err) == CF_OK);
            for (int i = 0; i < len[q]; i++) {
                ref_p[q][i] = p_init(q, i);
                host[i] = (float)ref_p[q][i];
                ref_p[q][i] = host[i]; /* start both from the same float */
            }
            ck_assert(cf_tensor_upload(b, &value[q], host, &err) == CF_OK);
            for (int k = 0; k < ns; k++) {
                ck_assert(cf_tensor_alloc(b, &slot[q][k], 1, shape, "slot", &err) == CF_OK);
                ck_assert(cf_tensor_upload(b, &slot[q][k], zeros, &err) == CF_OK);
                slotp[q][k] = &slot[q][k];
            }
            op[q] = (cf_optim_param){&value[q], &grad[q], slotp[q], pname[q], q == 0};
        }
        cf_compute cx = cf_backend_compute(b);
        for (long t = 1; t <= STEPS; t++) {
            const double lr = const_lr ? lr0 : lr0 * (1.0 - 0.1 * (double)t);
            for (int q = 0; q < 2; q++) {
                double g[NW];
                for (int i = 0; i < len[q]; i++) {
                    host[i] = (float)grad_at(q, i, t);
                    g[i] = host[i];
                }
                ck_assert(cf_tensor_upload(b, &grad[q], host, &err) == CF_OK);
                ref(h, &rs[q], ref_p[q], g, len[q], q == 0, t, lr);
            }
            cf_optim_step st = {&cx, t, lr, 2, op};
            ck_assert_msg(vt->step(state, &st, &err) == CF_OK, "%s step %ld on %s: %s", name, t,
                          b->desc->name, err.msg);
            for (int q = 0; q < 2; q++) {
                ck_assert(cf_tensor_download(b, &value[q], host, &err) == CF_OK);
                for (int i = 0; i < len[q]; i++) {
                    double want = ref_p[q][i], got = host[i];
                    double rel = fabs(got - want) / fmax(fabs(want), 0.1);
                    ck_assert_msg(rel <= 1e-5,
                                  "%s on %s, step %ld, %s[%d]: got %.9g, textbook %.9g (rel %.2g)",
                                  name, b->desc->name, t, pname[q], i, got, want, rel);
                }
            }
        }
        for (int q = 0; q < 2; q++) {
            cf_tensor_free(b, &value[q]);
            cf_tensor_free(b, &grad[q]);
            for (int k = 0; k < ns; k++) cf_tensor_free(b, &slot[q][k]);
        }
        cf_plugin_state_destroy(d, state);
    }
    cf_params_free(hp);
}

#define KV(...) (const char *const[]){__VA_ARGS__}, (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

START_TEST(test_sgd)
{
    ref_hp h = {0};
    run_case("sgd", 0.1, KV("learning_rate", "0.5"), ref_sgd, &h);
    h = (ref_hp){.momentum = 0.9, .dampening = 0.1, .wd = 0.05};
    run_case("sgd", 0.1, KV("momentum", "0.9", "dampening", "0.1", "weight_decay", "0.05"), ref_sgd, &h);
    h = (ref_hp){.momentum = 0.8, .wd = 0.1, .nesterov = 1};
    run_case("sgd", 0.1, KV("momentum", "0.8", "weight_decay", "0.1", "nesterov", "true"), ref_sgd, &h);
}
END_TEST

START_TEST(test_lars)
{
    const_lr = 1;
    ref_hp h = {.momentum = 0.9, .wd = 0.01, .eta = 0.02, .eps = 1e-8};
    run_case("lars", 2.0, KV("momentum", "0.9", "weight_decay", "0.01", "trust_coefficient", "0.02"),
             ref_lars_paper, &h);
    h = (ref_hp){.momentum = 0.5, .eta = 0.5, .eps = 1e-3};
    run_case("lars", 0.3, KV("momentum", "0.5", "trust_coefficient", "0.5", "eps", "1e-3"), ref_lars_paper, &h);
    const_lr = 0;
}
END_TEST

START_TEST(test_lamb)
{
    ref_hp h = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6, .wd = 0.01};
    run_case("lamb", 0.1, KV("learning_rate", "0.001"), ref_lamb, &h);
    h = (ref_hp){.beta1 = 0.8, .beta2 = 0.95, .eps = 1e-3, .wd = 0.3};
    run_case("lamb", 0.2, KV("beta_1", "0.8", "beta_2", "0.95", "eps", "1e-3", "weight_decay", "0.3"), ref_lamb, &h);
}
END_TEST

/* Two steps of LARS by hand, p = (3, 4), grad = (0.6, 0.8) both steps, lr 1,
 * eta 0.1, mu 0.9, wd 0: ||p|| = 5, ||g|| = 1, lambda = 0.5, so
 *   v1 = 0.5 g = (0.3, 0.4)         p1 = (2.7, 3.6)       (||p1|| = 4.5)
 *   lambda2 = 0.45, v2 = 0.9 v1 + 0.45 g = (0.54, 0.72)   p2 = (2.16, 2.88)
 * and LAMB's first step (bias-corrected m_hat = g, v_hat = g^2, so r = sign(g)
 * with eps 0, wd 0): u = (1, 1), trust = 5 / sqrt(2), p1 = p - lr trust u. */
START_TEST(test_lars_lamb_by_hand)
{
    cf_error err = {0};
    for (int bi = 0; bi < n_backends; bi++) {
        cf_backend *b = backends[bi];
        for (int which = 0; which < 2; which++) {
            const char *name = which ? "lamb" : "lars";
            const cf_plugin_desc *d;
            ck_assert(cf_registry_find(reg, CF_PLUGIN_OPTIMIZER, name, &d, &err) == CF_OK);
            cf_params *hp;
            const char *const lars_kv[] = {"trust_coefficient", "0.1", "momentum", "0.9", "eps", "0"};
            const char *const lamb_kv[] = {"eps", "0", "weight_decay", "0"};
            ck_assert(cf_params_from_kv(d->params, which ? lamb_kv : lars_kv, which ? 4 : 6, &hp, &err) == CF_OK);
            void *state;
            ck_assert(cf_plugin_state_create(d, hp, &state, &err) == CF_OK);
            const cf_optimizer_vtable *vt = d->vtable;
            int ns = vt->n_slots(state), shape[1] = {2};
            cf_tensor value, grad, slot[MAX_SLOTS], *slotp[MAX_SLOTS];
            float p0[2] = {3, 4}, g0[2] = {0.6f, 0.8f}, z[2] = {0, 0}, got[2];
            ck_assert(cf_tensor_alloc(b, &value, 1, shape, "w", &err) == CF_OK);
            ck_assert(cf_tensor_alloc(b, &grad, 1, shape, "g", &err) == CF_OK);
            ck_assert(cf_tensor_upload(b, &value, p0, &err) == CF_OK);
            ck_assert(cf_tensor_upload(b, &grad, g0, &err) == CF_OK);
            for (int k = 0; k < ns; k++) {
                ck_assert(cf_tensor_alloc(b, &slot[k], 1, shape, "slot", &err) == CF_OK);
                ck_assert(cf_tensor_upload(b, &slot[k], z, &err) == CF_OK);
                slotp[k] = &slot[k];
            }
            cf_optim_param op = {&value, &grad, slotp, "w", 1};
            cf_compute cx = cf_backend_compute(b);
            const double want[2][2] = {{2.7, 3.6}, {2.16, 2.88}};
            const double lamb1 = 5 / sqrt(2.0) * 0.1;
            for (long t = 1; t <= (which ? 1 : 2); t++) {
                cf_optim_step st = {&cx, t, which ? 0.1 : 1.0, 1, &op};
                ck_assert_msg(vt->step(state, &st, &err) == CF_OK, "%s: %s", name, err.msg);
                ck_assert(cf_tensor_download(b, &value, got, &err) == CF_OK);
                for (int i = 0; i < 2; i++) {
                    double w = which ? p0[i] - lamb1 : want[t - 1][i];
                    ck_assert_msg(fabs(got[i] - w) < 1e-5, "%s on %s step %ld [%d]: got %.7g want %.7g", name,
                                  b->desc->name, t, i, got[i], w);
                }
            }
            cf_tensor_free(b, &value);
            cf_tensor_free(b, &grad);
            for (int k = 0; k < ns; k++) cf_tensor_free(b, &slot[k]);
            cf_plugin_state_destroy(d, state);
            cf_params_free(hp);
        }
    }
}
END_TEST

/* train.clip_grad_norm by hand: gradients (3, 4) and (12) have global norm
 * 13; max_norm 6.5 scales them by 6.5 / (13 + 1e-6) (torch's clip_coef);
 * max_norm 20 leaves them alone. */
START_TEST(test_clip_grad_norm)
{
    cf_error err = {0};
    for (int bi = 0; bi < n_backends; bi++) {
        cf_backend *b = backends[bi];
        cf_tensor g[2], v[2], scratch;
        int s2[1] = {2}, s1[1] = {1};
        float a[2] = {3, 4}, c[1] = {12}, got[2];
        ck_assert(cf_tensor_alloc(b, &g[0], 1, s2, "g0", &err) == CF_OK);
        ck_assert(cf_tensor_alloc(b, &g[1], 1, s1, "g1", &err) == CF_OK);
        ck_assert(cf_tensor_alloc(b, &v[0], 1, s2, "v0", &err) == CF_OK);
        ck_assert(cf_tensor_alloc(b, &v[1], 1, s1, "v1", &err) == CF_OK);
        ck_assert(cf_tensor_alloc(b, &scratch, 1, s1, "scratch", &err) == CF_OK);
        float pv[2] = {0.5f, -2.0f}; /* parameters: finite, as in training (the scaling reads them times 0) */
        ck_assert(cf_tensor_upload(b, &v[0], pv, &err) == CF_OK);
        ck_assert(cf_tensor_upload(b, &v[1], pv, &err) == CF_OK);
        cf_optim_param op[2] = {{&v[0], &g[0], NULL, "w", 1}, {&v[1], &g[1], NULL, "b", 0}};
        cf_compute cx = cf_backend_compute(b);
        cf_optim_step st = {&cx, 1, 0.1, 2, op};
        for (int round = 0; round < 2; round++) {
            double max = round ? 20 : 6.5, k = round ? 1 : 6.5 / (13 + 1e-6), norm = 0;
            ck_assert(cf_tensor_upload(b, &g[0], a, &err) == CF_OK);
            ck_assert(cf_tensor_upload(b, &g[1], c, &err) == CF_OK);
            ck_assert_msg(cf_clip_grad_norm(b, &st, max, &scratch, &norm, &err) == CF_OK, "%s", err.msg);
            ck_assert_msg(fabs(norm - 13) < 1e-5, "%s: norm %.9g", b->desc->name, norm);
            ck_assert(cf_tensor_download(b, &g[0], got, &err) == CF_OK);
            ck_assert_msg(fabs(got[0] - 3 * k) < 1e-6 && fabs(got[1] - 4 * k) < 1e-6, "%s: %g %g", b->desc->name,
                          got[0], got[1]);
            ck_assert(cf_tensor_download(b, &g[1], got, &err) == CF_OK);
            ck_assert_msg(fabs(got[0] - 12 * k) < 1e-5, "%s: %g", b->desc->name, got[0]);
        }
        for (int i = 0; i < 2; i++) {
            cf_tensor_free(b, &g[i]);
            cf_tensor_free(b, &v[i]);
        }
        cf_tensor_free(b, &scratch);
    }
}
END_TEST

START_TEST(test_nag)
{
    ref_hp h = {.momentum = 0.9, .nesterov = 1};
    run_case("nag", 0.1, KV("learning_rate", "0.1"), ref_sgd, &h);
    h.wd = 0.2;
    run_case("nag", 0.1, KV("weight_decay", "0.2"), ref_sgd, &h);
}
END_TEST

START_TEST(test_adam)
{
    ref_hp h = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    run_case("adam", 0.1, KV("learning_rate", "0.001"), ref_adam, &h);
    h = (ref_hp){.beta1 = 0.8, .beta2 = 0.99, .eps = 1e-3, .wd = 0.3, .amsgrad = 1};
    run_case("adam", 0.1,
             KV("beta_1", "0.8", "beta_2", "0.99", "eps", "1e-3", "weight_decay", "0.3", "amsgrad",
                "true"),
             ref_adam, &h);
}
END_TEST

START_TEST(test_adamw)
{
    ref_hp h = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .wd = 0.01, .decoupled = 1};
    run_case("adamw", 0.1, NULL, 0, ref_adam, &h);
    h = (ref_hp){.beta1 = 0.5, .beta2 = 0.9, .eps = 1e-6, .wd = 0.5, .amsgrad = 1, .decoupled = 1};
    run_case("adamw", 0.1,
             KV("beta_1", "0.5", "beta_2", "0.9", "eps", "1e-6", "weight_decay", "0.5", "amsgrad",
                "1"),
             ref_adam, &h);
}
END_TEST

START_TEST(test_rmsprop)
{
    ref_hp h = {.gamma = 0.99, .eps = 1e-8};
    run_case("rmsprop", 0.01, NULL, 0, ref_rmsprop, &h);
    h = (ref_hp){.gamma = 0.9, .eps = 1e-4, .momentum = 0.5, .centered = 1, .wd = 0.1};
    run_case("rmsprop", 0.01,
             KV("gamma", "0.9", "eps", "1e-4", "momentum", "0.5", "centered", "true",
                "weight_decay", "0.1"),
             ref_rmsprop, &h);
}
END_TEST

START_TEST(test_adadelta)
{
    ref_hp h = {.rho = 0.9, .eps = 1e-6};
    run_case("adadelta", 20, NULL, 0, ref_adadelta, &h);
    h = (ref_hp){.rho = 0.5, .eps = 1e-2, .wd = 0.2};
    run_case("adadelta", 20, KV("rho", "0.5", "eps", "1e-2", "weight_decay", "0.2"), ref_adadelta, &h);
}
END_TEST

START_TEST(test_adagrad)
{
    ref_hp h = {.eps = 1e-10};
    run_case("adagrad", 0.5, NULL, 0, ref_adagrad, &h);
    h = (ref_hp){.eps = 1e-10, .lr_decay = 0.1, .init = 0.1, .wd = 0.2};
    run_case("adagrad", 0.5,
             KV("lr_decay", "0.1", "initial_accumulator_value", "0.1", "weight_decay", "0.2"),
             ref_adagrad, &h);
}
END_TEST

START_TEST(test_lion)
{
    ref_hp h = {.beta1 = 0.9, .beta2 = 0.99};
    run_case("lion", 0.01, NULL, 0, ref_lion, &h);
    /* beta_1 near 1 makes sign(c) follow m, so a wrong momentum shows. */
    h = (ref_hp){.beta1 = 0.99, .beta2 = 0.3, .wd = 0.3};
    run_case("lion", 0.01, KV("beta_1", "0.99", "beta_2", "0.3", "weight_decay", "0.3"), ref_lion,
             &h);
}
END_TEST

/* The l2 regularizer adds (lambda / m) w to the gradient: weights only by
 * default, every parameter with params = "all". */
static void check_l2(const char *which, int all)
{
    cf_error err = {0};
    const cf_plugin_desc *d;
    ck_assert_msg(cf_registry_find(reg, CF_PLUGIN_REGULARIZER, "l2", &d, &err) == CF_OK, "%s",
                  err.msg);
    const cf_regularizer_vtable *vt = d->vtable;
    cf_params *hp;
    ck_assert(cf_params_from_kv(d->params, KV("lambda", "0.8", "params", which), &hp, &err) ==
              CF_OK);
    for (int bi = 0; bi < n_backends; bi++) {
        cf_backend *b = backends[bi];
        void *state;
        ck_assert(cf_plugin_state_create(d, hp, &state, &err) == CF_OK);
        cf_tensor value[2], grad[2];
        cf_optim_param op[2];
        float hv[NW], hg[NW];
        for (int q = 0; q < 2; q++) {
            int n = q ? NB : NW, shape[1] = {n};
            ck_assert(cf_tensor_alloc(b, &value[q], 1, shape, "v", &err) == CF_OK);
            ck_assert(cf_tensor_alloc(b, &grad[q], 1, shape, "g", &err) == CF_OK);
            for (int i = 0; i < n; i++) {
                hv[i] = (float)p_init(q, i);
                hg[i] = (float)grad_at(q, i, 1);
            }
            ck_assert(cf_tensor_upload(b, &value[q], hv, &err) == CF_OK);
            ck_assert(cf_tensor_upload(b, &grad[q], hg, &err) == CF_OK);
            op[q] = (cf_optim_param){&value[q], &grad[q], NULL, q ? "b" : "w", q == 0};
        }
        cf_compute cx = cf_backend_compute(b);
        cf_optim_step st = {&cx, 1, 0.1, 2, op};
        ck_assert_msg(vt->apply_grads(state, &st, 16, &err) == CF_OK, "%s", err.msg);
        for (int q = 0; q < 2; q++) {
            int n = q ? NB : NW;
            ck_assert(cf_tensor_download(b, &grad[q], hg, &err) == CF_OK);
            for (int i = 0; i < n; i++) {
                double want = grad_at(q, i, 1) + ((q == 0 || all) ? 0.8 / 16 * p_init(q, i) : 0);
                ck_assert_msg(fabs(hg[i] - want) <= 1e-6 * fmax(1, fabs(want)),
                              "l2 (%s) on %s: grad[%d][%d] = %g, want %g", which, b->desc->name,
                              q, i, hg[i], want);
            }
            cf_tensor_free(b, &value[q]);
            cf_tensor_free(b, &grad[q]);
        }
        cf_plugin_state_destroy(d, state);
    }
    cf_params_free(hp);
}

START_TEST(test_l2)
{
    check_l2("weights", 0);
    check_l2("all", 1);
}
END_TEST

/* Settings PyTorch rejects are refused at create with a message. */
START_TEST(test_invalid)
{
    cf_error err = {0};
    const cf_plugin_desc *d;
    ck_assert(cf_registry_find(reg, CF_PLUGIN_OPTIMIZER, "sgd", &d, &err) == CF_OK);
    cf_params *hp;
    ck_assert(cf_params_from_kv(d->params, KV("nesterov", "true"), &hp, &err) == CF_OK);
    void *state = NULL;
    ck_assert_int_eq(cf_plugin_state_create(d, hp, &state, &err), CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "nesterov") != NULL, "message: %s", err.msg);
    cf_params_free(hp);
    /* Out-of-range values are caught by the table itself. */
    ck_assert(cf_registry_find(reg, CF_PLUGIN_OPTIMIZER, "adam", &d, &err) == CF_OK);
    ck_assert_int_eq(cf_params_from_kv(d->params, KV("beta_1", "1.5"), &hp, &err),
                     CF_ERR_INVALID);
}
END_TEST

/* Every shipped optimizer is found, declares learning_rate and documents
 * every parameter. */
START_TEST(test_catalogue)
{
    static const char *const names[] = {"sgd", "nag", "adam", "adamw", "rmsprop", "adadelta",
                                        "adagrad", "lars", "lamb"};
    cf_error err = {0};
    fprintf(stderr, "test_optimizers: every test runs on:");
    for (int i = 0; i < n_backends; i++) fprintf(stderr, " %s", backends[i]->desc->name);
    fprintf(stderr, "\n");
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const cf_plugin_desc *d;
        ck_assert_msg(cf_registry_find(reg, CF_PLUGIN_OPTIMIZER, names[k], &d, &err) == CF_OK,
                      "%s", err.msg);
        ck_assert_ptr_nonnull(cf_param_find(d->params, "learning_rate"));
        for (const cf_param_def *p = d->params; p->name; p++)
            ck_assert_msg(p->doc && *p->doc, "%s.%s has no doc", names[k], p->name);
    }
}
END_TEST

/* ---- dropout / batchnorm placement (rewrite_model) --------------------------- */

static cf_model_spec *small_net(int n_dense)
{
    cf_model_spec *m = cf_model_spec_new();
    ck_assert_ptr_nonnull(m);
    cf_model_spec_append(m, CF_LAYER_CONV, "conv1")->act = CF_ACT_RELU;
    cf_model_spec_append(m, CF_LAYER_CONV, "conv2");
    cf_model_spec_append(m, CF_LAYER_FLATTEN, "flat");
    if (n_dense > 1) cf_model_spec_append(m, CF_LAYER_DENSE, "fc1");
    cf_model_spec_append(m, CF_LAYER_DENSE, "out");
    return m;
}

/* Run regularizer `name` with kv on m; returns the status, message in err. */
static cf_status rewrite(const char *name, const char *const *kv, int n_kv, cf_model_spec *m,
                         cf_error *err)
{
    const cf_plugin_desc *d;
    ck_assert_msg(cf_registry_find(reg, CF_PLUGIN_REGULARIZER, name, &d, err) == CF_OK, "%s",
                  err->msg);
    const cf_regularizer_vtable *vt = d->vtable;
    cf_params *hp;
    ck_assert_msg(cf_params_from_kv(d->params, kv, n_kv, &hp, err) == CF_OK, "%s", err->msg);
    void *state;
    ck_assert(cf_plugin_state_create(d, hp, &state, err) == CF_OK);
    ck_assert_ptr_nonnull(vt->rewrite_model);
    cf_status st = vt->rewrite_model(state, m, err);
    cf_plugin_state_destroy(d, state);
    cf_params_free(hp);
    return st;
}

static void expect_layers(const cf_model_spec *m, const char *const *names, int n)
{
    ck_assert_int_eq(cf_model_spec_count(m), n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(!strcmp(cf_model_spec_name(m, i), names[i]), "layer %d is %s, want %s", i,
                      cf_model_spec_name(m, i), names[i]);
}

START_TEST(test_placement)
{
    cf_error err = {0};
    cf_model_spec *m = small_net(2);
    /* batchnorm: default after every conv, settings carried to the layers */
    ck_assert_msg(rewrite("batchnorm", KV("eps", "0.001", "momentum", "0.2"), m, &err) == CF_OK,
                  "%s", err.msg);
    /* dropout after every dense layer except the output (logits) one */
    ck_assert_msg(rewrite("dropout", KV("rate", "0.3", "after", "fc"), m, &err) == CF_OK, "%s",
                  err.msg);
    static const char *const want[] = {"conv1", "conv1_bn", "conv2", "conv2_bn", "flat",
                                       "fc1",   "fc1_dropout", "out"};
    expect_layers(m, want, 8);
    ck_assert_str_eq(cf_model_spec_type(m, 1), "batchnorm");
    ck_assert_str_eq(cf_model_spec_type(m, 6), "dropout");
    ck_assert(fabsf(CF_BATCHNORM(&m->layers[1])->eps - 0.001f) < 1e-9f && fabsf(CF_BATCHNORM(&m->layers[3])->momentum - 0.2f) < 1e-9f);
    ck_assert(fabsf(CF_DROPOUT(&m->layers[6])->rate - 0.3f) < 1e-9f);
    cf_model_spec_free(m);

    /* names are explicit: after the output layer too, when the user says so */
    m = small_net(2);
    ck_assert(rewrite("dropout", KV("after", "conv2,out"), m, &err) == CF_OK);
    static const char *const want2[] = {"conv1", "conv2", "conv2_dropout", "flat", "fc1",
                                        "out",   "out_dropout"};
    expect_layers(m, want2, 7);
    ck_assert(fabsf(CF_DROPOUT(&m->layers[2])->rate - 0.5f) < 1e-9f); /* the plugin's default rate */
    cf_model_spec_free(m);

    /* a typo is an error naming it; a type matching only the logits too */
    m = small_net(2);
    ck_assert_int_eq(rewrite("dropout", KV("after", "fc3"), m, &err), CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "fc3") && strstr(err.msg, "conv1"), "message: %s", err.msg);
    ck_assert_int_eq(cf_model_spec_count(m), 5);
    cf_model_spec_free(m);
    m = small_net(1);
    ck_assert_int_eq(rewrite("dropout", KV("after", "dense"), m, &err), CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "output layer"), "message: %s", err.msg);
    cf_model_spec_free(m);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("optimizers");
    TCase *tc = tcase_create("update_rules");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300); /* a cold OpenCL cache compiles kernels */
    tcase_add_test(tc, test_catalogue);
    tcase_add_test(tc, test_sgd);
    tcase_add_test(tc, test_nag);
    tcase_add_test(tc, test_lars);
    tcase_add_test(tc, test_lamb);
    tcase_add_test(tc, test_lars_lamb_by_hand);
    tcase_add_test(tc, test_clip_grad_norm);
    tcase_add_test(tc, test_adam);
    tcase_add_test(tc, test_adamw);
    tcase_add_test(tc, test_rmsprop);
    tcase_add_test(tc, test_adadelta);
    tcase_add_test(tc, test_adagrad);
    tcase_add_test(tc, test_invalid);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("regularizers");
    tcase_add_checked_fixture(tr, setup, teardown);
    tcase_set_timeout(tr, 300);
    tcase_add_test(tr, test_l2);
    tcase_add_test(tr, test_placement);
    suite_add_tcase(s, tr);
    if (getenv("CF_TEST_REQUIRE_LION")) {
        TCase *tl = tcase_create("lion");
        tcase_add_checked_fixture(tl, setup, teardown);
        tcase_set_timeout(tl, 300);
        tcase_add_test(tl, test_lion);
        suite_add_tcase(s, tl);
    }
    return s;
}
