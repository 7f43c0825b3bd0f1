/* Gaussian-process regression for the Bayesian strategy: Matérn-5/2 kernel
 * with one length scale per input dimension (ARD), Cholesky by LAPACK, and
 * hyperparameters (log length scales, log signal variance, log noise
 * variance) fitted by maximising the log marginal likelihood plus weak
 * priors, with multi-start L-BFGS and analytic gradients.
 *
 * Inputs live in the unit cube; targets are standardised (zero mean, unit
 * variance) so the priors and bounds below mean the same thing for every
 * objective; the constant mean is then re-estimated by GLS in factor(). */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clforge/philox.h"
#include "tune/tune.h"

#define SQRT5 2.23606797749979
#define LOG_2PI 1.8378770664093453
#define JITTER 1e-9

/* Bounds of the log hyperparameters (unit-cube inputs, standardised y). */
#define LS_LO log(0.01)
#define LS_HI log(20.0)
#define SIG_LO log(0.05)
#define SIG_HI log(20.0)
#define NOISE_LO log(1e-6)
#define NOISE_HI log(1.0)

static double sqdist(const double *a, const double *b, int d, const double *ls)
{
    double r2 = 0;
    for (int k = 0; k < d; k++) {
        double t = (a[k] - b[k]) / ls[k];
        r2 += t * t;
    }
    return r2;
}

double cf_gp_matern52(const double *a, const double *b, int d, const double *ls, double signal)
{
    double r = sqrt(sqdist(a, b, d, ls));
    return signal * (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * exp(-SQRT5 * r);
}

void cf_gp_free(cf_gp *gp)
{
    free(gp->X);
    free(gp->y);
    free(gp->ls);
    free(gp->L);
    free(gp->alpha);
    memset(gp, 0, sizeof *gp);
}

cf_status cf_gp_set_data(cf_gp *gp, int n, int d, const double *X, const double *y, cf_error *err)
{
    double *nx = malloc(sizeof(double) * (size_t)(n * d + 1));
    double *ny = malloc(sizeof(double) * (size_t)(n + 1));
    double *nl = gp->ls && gp->d == d ? gp->ls : malloc(sizeof(double) * (size_t)(d + 1));
    if (!nx || !ny || !nl) {
        free(nx);
        free(ny);
        if (nl != gp->ls) free(nl);
        return cf_error_set(err, CF_ERR_NOMEM, "gp: out of memory for %d points", n);
    }
    if (nl != gp->ls) {
        free(gp->ls);
        for (int k = 0; k < d; k++) nl[k] = 0.5;
        gp->signal = 1.0;
        gp->noise = 1e-4;
    }
    memcpy(nx, X, sizeof(double) * (size_t)(n * d));
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++) mean += y[i];
    mean = n ? mean / n : 0;
    for (int i = 0; i < n; i++) var += (y[i] - mean) * (y[i] - mean);
    double sd = n > 1 ? sqrt(var / (n - 1)) : 0;
    if (!(sd > 1e-12)) sd = 1.0;
    for (int i = 0; i < n; i++) ny[i] = (y[i] - mean) / sd;
    free(gp->X);
    free(gp->y);
    gp->X = nx;
    gp->y = ny;
    gp->ls = nl;
    gp->n = n;
    gp->d = d;
    gp->y_mean = mean;
    gp->y_sd = sd;
    return CF_OK;
}

/* K = k(X,X) + (noise + jitter) I, factorised in place into gp->L; alpha = K^-1 y. */
static int factor(cf_gp *gp)
{
    int n = gp->n, d = gp->d;
    free(gp->L);
    free(gp->alpha);
    gp->L = malloc(sizeof(double) * (size_t)(n * n + 1));
    gp->alpha = malloc(sizeof(double) * (size_t)(n + 1));
    if (!gp->L || !gp->alpha) return -1;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++) {
            double k = cf_gp_matern52(gp->X + i * d, gp->X + j * d, d, gp->ls, gp->signal);
            gp->L[i * n + j] = k;
            gp->L[j * n + i] = k;
        }
        gp->L[i * n + i] += gp->noise + JITTER;
    }
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', n, gp->L, n) != 0) return 1;
    memcpy(gp->alpha, gp->y, sizeof(double) * (size_t)n);
    if (LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', n, 1, gp->L, n, gp->alpha, 1) != 0) return 1;
    /* The constant prior mean is its generalised-least-squares (maximum
     * likelihood) estimate mu = 1'K^-1 y / 1'K^-1 1, not the data mean: BO
     * samples cluster around the optimum, and their plain average would
     * drag the prior mean down there, making every unexplored corner look
     * promising. GLS down-weights clustered points. Profiling mu out leaves
     * the hyperparameter gradient unchanged (it is the optimum in mu). */
    gp->mu = 0;
    {
        double *one = malloc(sizeof(double) * (size_t)n);
        if (!one) return -1;
        for (int i = 0; i < n; i++) one[i] = 1.0;
        if (LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', n, 1, gp->L, n, one, 1) != 0) {
            free(one);
            return 1;
        }
        double s1 = 0, sy = 0;
        for (int i = 0; i < n; i++) {
            s1 += one[i];
            sy += gp->alpha[i];
        }
        gp->mu = s1 > 0 ? sy / s1 : 0;
        for (int i = 0; i < n; i++) gp->alpha[i] -= gp->mu * one[i];
        free(one);
    }
    return 0;
}

cf_status cf_gp_factor(cf_gp *gp, cf_error *err)
{
    double saved = gp->noise;
    /* Grow the diagonal until the factorisation succeeds (duplicate points). */
    for (int tries = 0; tries < 8; tries++) {
        int r = factor(gp);
        if (r < 0) return cf_error_set(err, CF_ERR_NOMEM, "gp: out of memory for %d points", gp->n);
        if (r == 0) return CF_OK;
        gp->noise = gp->noise * 10 + 1e-8;
    }
    gp->noise = saved;
    return cf_error_set(err, CF_ERR_NUMERIC,
                        "gp: kernel matrix of %d points is not positive definite", gp->n);
}

/* Negative log marginal likelihood minus log priors, on theta =
 * (log ls[0..d), log signal, log noise); gradient in g (when non-NULL). */
typedef struct fitctx {
    cf_gp *gp;
    int fixed_noise;
    double *Kinv, *dk; /* n x n scratch */
} fitctx;

static double neg_objective(const double *th, double *g, void *user)
{
    fitctx *c = user;
    cf_gp *gp = c->gp;
    int d = gp->d, n = gp->n;
    for (int k = 0; k < d; k++) gp->ls[k] = exp(th[k]);
    gp->signal = exp(th[d]);
    gp->noise = exp(th[d + 1]);
    if (factor(gp) != 0) {
        if (g) memset(g, 0, sizeof(double) * (size_t)(d + 2));
        return INFINITY;
    }
    double lml = cf_gp_log_marginal(gp, NULL);
    /* Weak priors keep few-point fits sane: Gamma(3, 6) on each length scale
     * (mode 1/3 of the cube), log-normal(0, 1.5) on the signal variance,
     * log-normal(log 1e-3, 3) on the noise variance. Densities over log values. */
    double lp = 0;
    for (int k = 0; k < d; k++) lp += 3.0 * th[k] - 6.0 * gp->ls[k];
    lp += -0.5 * th[d] * th[d] / (1.5 * 1.5);
    double nz = th[d + 1] - log(1e-3);
    lp += -0.5 * nz * nz / 9.0;
    if (!g) return -(lml + lp);

    /* d lml / d theta = 0.5 tr((alpha alpha^T - K^-1) dK/dtheta). */
    memcpy(c->Kinv, gp->L, sizeof(double) * (size_t)(n * n));
    if (LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', n, c->Kinv, n) != 0) {
        memset(g, 0, sizeof(double) * (size_t)(d + 2));
        return INFINITY;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) c->Kinv[j * n + i] = c->Kinv[i * n + j];
    double *W = c->dk; /* W = alpha alpha^T - K^-1 */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) W[i * n + j] = gp->alpha[i] * gp->alpha[j] - c->Kinv[i * n + j];
    for (int k = 0; k < d + 2; k++) g[k] = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
            const double *a = gp->X + i * d, *b = gp->X + j * d;
            double r = sqrt(sqdist(a, b, d, gp->ls));
            double e = exp(-SQRT5 * r);
            double kf = gp->signal * (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * e;
            double common = gp->signal * 5.0 / 3.0 * (1.0 + SQRT5 * r) * e;
            double w = 2.0 * W[i * n + j]; /* symmetric pair */
            for (int k = 0; k < d; k++) {
                double t = (a[k] - b[k]) / gp->ls[k];
                g[k] += 0.5 * w * common * t * t;
            }
            g[d] += 0.5 * w * kf;
        }
        g[d] += 0.5 * W[i * n + i] * gp->signal;
        g[d + 1] += 0.5 * W[i * n + i] * gp->noise;
    }
    for (int k = 0; k < d; k++) g[k] += 3.0 - 6.0 * gp->ls[k];
    g[d] += -th[d] / (1.5 * 1.5);
    g[d + 1] += -nz / 9.0;
    if (c->fixed_noise) g[d + 1] = 0;
    for (int k = 0; k < d + 2; k++) g[k] = -g[k];
    return -(lml + lp);
}

double cf_gp_log_marginal(const cf_gp *gp, double *grad)
{
    (void)grad;
    int n = gp->n;
    double q = 0, ld = 0;
    for (int i = 0; i < n; i++) {
        q += (gp->y[i] - gp->mu) * gp->alpha[i];
        ld += log(gp->L[i * n + i]);
    }
    return -0.5 * q - ld - 0.5 * n * LOG_2PI;
}

cf_status cf_gp_fit(cf_gp *gp, uint64_t seed, int fixed_noise, cf_error *err)
{
    int d = gp->d, n = gp->n, np = d + 2;
    fitctx c = {gp, fixed_noise, malloc(sizeof(double) * (size_t)(n * n + 1)),
                malloc(sizeof(double) * (size_t)(n * n + 1))};
    double *th = malloc(sizeof(double) * (size_t)np * 4);
    if (!c.Kinv || !c.dk || !th) {
        free(c.Kinv);
        free(c.dk);
        free(th);
        return cf_error_set(err, CF_ERR_NOMEM, "gp: out of memory for %d points", n);
    }
    double *lo = th + np, *hi = lo + np, *best = hi + np;
    for (int k = 0; k < d; k++) {
        lo[k] = LS_LO;
        hi[k] = LS_HI;
    }
    lo[d] = SIG_LO;
    hi[d] = SIG_HI;
    lo[d + 1] = NOISE_LO;
    hi[d + 1] = NOISE_HI;
    if (fixed_noise) lo[d + 1] = hi[d + 1] = log(1e-10); /* noiseless: interpolate */
    double fbest = INFINITY;
    /* Starts are a pure function of (seed, n): a resumed study refits the
     * same way as an uninterrupted one. */
    cf_rng r = cf_rng_make(seed, CF_RNG_TUNE, 0xFFFFFFu, (uint64_t)n);
    const int starts = 5;
    for (int s = 0; s < starts; s++) {
        for (int k = 0; k < d; k++)
            th[k] = s == 0 ? log(0.3) : s == 1 ? log(1.0) : cf_rng_range(&r, log(0.05), log(2.0));
        th[d] = s < 2 ? 0.0 : cf_rng_range(&r, -1.0, 1.0);
        th[d + 1] = fixed_noise ? lo[d + 1] : s == 1 ? log(1e-2) : cf_rng_range(&r, log(1e-6), log(1e-2));
        double f = cf_opt_minimize(neg_objective, &c, np, th, lo, hi, 200);
        if (f < fbest) {
            fbest = f;
            memcpy(best, th, sizeof(double) * (size_t)np);
        }
    }
    cf_status st = CF_OK;
    if (!isfinite(fbest)) {
        for (int k = 0; k < d; k++) best[k] = log(0.3);
        best[d] = 0;
        best[d + 1] = log(1e-2);
    }
    for (int k = 0; k < d; k++) gp->ls[k] = exp(best[k]);
    gp->signal = exp(best[d]);
    gp->noise = exp(best[d + 1]);
    st = cf_gp_factor(gp, err);
    free(c.Kinv);
    free(c.dk);
    free(th);
    return st;
}

void cf_gp_predict(const cf_gp *gp, const double *x, double *mean, double *var)
{
    int n = gp->n, d = gp->d;
    double kstack[256];
    double *k = n <= 256 ? kstack : malloc(sizeof(double) * (size_t)n);
    if (!k) {
        *mean = gp->y_mean;
        *var = gp->signal * gp->y_sd * gp->y_sd;
        return;
    }
    double m = gp->mu;
    for (int i = 0; i < n; i++) {
        k[i] = cf_gp_matern52(x, gp->X + i * d, d, gp->ls, gp->signal);
        m += k[i] * gp->alpha[i];
    }
    /* v = L^-1 k by forward substitution; var = k(x,x) - v.v */
    double vv = 0;
    for (int i = 0; i < n; i++) {
        double s = k[i];
        const double *Li = gp->L + i * n;
        for (int j = 0; j < i; j++) s -= Li[j] * k[j];
        k[i] = s / Li[i];
        vv += k[i] * k[i];
    }
    double v = gp->signal - vv;
    if (v < 1e-12 * gp->signal) v = 1e-12 * gp->signal;
    *mean = gp->y_mean + gp->y_sd * m;
    *var = v * gp->y_sd * gp->y_sd;
    if (k != kstack) free(k);
}

static double norm_cdf(double z) { return 0.5 * erfc(-z / 1.4142135623730951); }
static double norm_pdf(double z) { return 0.3989422804014327 * exp(-0.5 * z * z); }

double cf_ei(double mean, double sd, double best)
{
    if (!(sd > 0)) return best > mean ? best - mean : 0.0;
    double z = (best - mean) / sd;
    double v = sd * (z * norm_cdf(z) + norm_pdf(z));
    return v > 0 ? v : 0.0;
}

/* log EI, stable far in the lower tail where EI itself underflows
 * (Ament et al. 2023): h(z) = z Phi(z) + phi(z) ~ phi(z) (1/z^2 - 3/z^4 + 15/z^6). */
double cf_log_ei(double mean, double sd, double best)
{
    if (!(sd > 0)) return best > mean ? log(best - mean) : -INFINITY;
    double z = (best - mean) / sd;
    double lh;
    if (z > -20.0) { /* direct: loses at most ~3 digits to cancellation here */
        double h = z * norm_cdf(z) + norm_pdf(z);
        lh = h > 0 ? log(h) : -INFINITY;
    } else {
        double z2 = 1.0 / (z * z);
        lh = -0.5 * z * z - 0.5 * LOG_2PI + log(z2 * (1.0 - 3.0 * z2 + 15.0 * z2 * z2));
    }
    return log(sd) + lh;
}
