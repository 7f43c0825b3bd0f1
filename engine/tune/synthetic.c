/* Synthetic objectives: standard optimisation benchmarks run as trials, so
 * strategies, the runner and the journal can be exercised in seconds.
 *   branin     x1 in [-5, 10], x2 in [0, 15]; global minimum 0.397887
 *   hartmann6  x in [0, 1]^6; global minimum -3.32237
 * A trial reports, after each epoch e of its budget, f(x) + curve / e (+
 * Gaussian noise of sd `noise`, Philox-seeded by trial and epoch), as both
 * train_loss and validation_loss, plus the noise-free f(x) as true_value.
 * Fault injection decides per trial id (seeded) whether the child crashes
 * (SIGSEGV after epoch 1), reports a NaN loss, or hangs. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clforge/philox.h"
#include "tune/tune.h"

int cf_tune_synthetic_dim(cf_tune_synthetic f)
{
    return f == CF_SYN_BRANIN ? 2 : f == CF_SYN_HARTMANN6 ? 6 : 0;
}

const char *cf_tune_synthetic_name(cf_tune_synthetic f)
{
    return f == CF_SYN_BRANIN ? "branin" : f == CF_SYN_HARTMANN6 ? "hartmann6" : "none";
}

double cf_tune_synthetic_optimum(cf_tune_synthetic f)
{
    return f == CF_SYN_BRANIN ? 0.39788735772973816 : f == CF_SYN_HARTMANN6 ? -3.3223680114155147 : 0;
}

static double branin(const double *x)
{
    const double pi = 3.14159265358979323846;
    double b = 5.1 / (4 * pi * pi), c = 5 / pi, t = 1 / (8 * pi);
    double u = x[1] - b * x[0] * x[0] + c * x[0] - 6;
    return u * u + 10 * (1 - t) * cos(x[0]) + 10;
}

static double hartmann6(const double *x)
{
    static const double al[4] = {1.0, 1.2, 3.0, 3.2};
    static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                   {0.05, 10, 17, 0.1, 8, 14},
                                   {3, 3.5, 1.7, 10, 17, 8},
                                   {17, 8, 0.05, 10, 0.1, 14}};
    static const double P[4][6] = {{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
                                   {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
                                   {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
                                   {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
    double s = 0;
    for (int i = 0; i < 4; i++) {
        double e = 0;
        for (int j = 0; j < 6; j++) e += A[i][j] * (x[j] - P[i][j]) * (x[j] - P[i][j]);
        s += al[i] * exp(-e);
    }
    return -s;
}

double cf_tune_synthetic_eval(cf_tune_synthetic f, const double *x)
{
    return f == CF_SYN_BRANIN ? branin(x) : f == CF_SYN_HARTMANN6 ? hartmann6(x) : NAN;
}

static void put(int fd, const char *s)
{
    size_t n = strlen(s), off = 0;
    while (off < n) {
        ssize_t w = write(fd, s + off, n - off);
        if (w <= 0) return;
        off += (size_t)w;
    }
}

static void nap(double s)
{
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

void cf_tune_synthetic_child(const cf_tune_config *cfg, const cf_tune_job *job, int fd)
{
    const cf_tune_objective *o = &cfg->objective;
    double f = cf_tune_synthetic_eval(o->function, job->x);
    cf_rng fr = cf_rng_make(cfg->seed, CF_RNG_TUNE, 0xFA17, (uint64_t)job->trial_id);
    double u = cf_rng_uniform(&fr);
    int crash = u < o->fail_crash;
    int nan_loss = !crash && u < o->fail_crash + o->fail_nan;
    int hang = !crash && !nan_loss && u < o->fail_crash + o->fail_nan + o->fail_hang;
    int E = job->epochs > 0 ? job->epochs : 1;
    char line[512], a[40], b[40];
    double v = f;
    for (int e = job->start_epoch + 1; e <= E; e++) { /* a continued trial: only new epochs */
        nap(o->epoch_seconds);
        if (hang) for (;;) pause();
        cf_rng nr = cf_rng_make(cfg->seed, CF_RNG_TUNE, 0x5EED + (uint64_t)e, (uint64_t)job->trial_id);
        v = f + o->curve / e + (o->noise > 0 ? o->noise * cf_rng_normal(&nr) : 0.0);
        if (nan_loss && e == 1) v = NAN;
        cf_tune_json_num(v, a, sizeof a);
        cf_tune_json_num(f, b, sizeof b);
        snprintf(line, sizeof line,
                 "{\"event\":\"epoch\",\"epoch\":%d,\"train_loss\":%s,\"validation_loss\":%s,"
                 "\"true_value\":%s,\"seconds\":%g}\n",
                 e, isnan(v) ? "NaN" : a, isnan(v) ? "NaN" : a, b, o->epoch_seconds);
        put(fd, line);
        if (crash) { /* a simulated crash: that is the point of this mode */
            signal(SIGSEGV, SIG_DFL); /* a death by signal even under a sanitizer's handler */
            raise(SIGSEGV);
        }
    }
    cf_tune_json_num(v, a, sizeof a);
    snprintf(line, sizeof line, "{\"event\":\"end\",\"status\":\"ok\",\"validation_loss\":%s}\n", a);
    put(fd, line);
}
