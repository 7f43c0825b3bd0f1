/* A small box-constrained minimiser: L-BFGS two-loop direction, components
 * that push against an active bound dropped, projection onto the box and
 * Armijo backtracking. Enough for a dozen variables (GP hyperparameters,
 * acquisition search); no allocation beyond a few small arrays. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune.h"

#define MEM 7

static void clamp(int n, double *x, const double *lo, const double *hi)
{
    for (int i = 0; i < n; i++) {
        if (x[i] < lo[i]) x[i] = lo[i];
        if (x[i] > hi[i]) x[i] = hi[i];
    }
}

static double dot(int n, const double *a, const double *b)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

double cf_opt_minimize(cf_opt_fn f, void *user, int n, double *x, const double *lo,
                       const double *hi, int max_iter)
{
    double *buf = calloc((size_t)n * (2 * MEM + 5), sizeof(double));
    if (!buf) return f(x, NULL, user);
    double *S = buf, *Y = S + n * MEM, *g = Y + n * MEM, *gn = g + n, *d = gn + n, *xn = d + n,
           *q = xn + n;
    double rho[MEM], al[MEM];
    int m = 0, head = 0;
    clamp(n, x, lo, hi);
    double fx = f(x, g, user);
    if (!isfinite(fx)) {
        free(buf);
        return fx;
    }
    for (int it = 0; it < max_iter; it++) {
        /* Two-loop recursion: d = -H g. */
        memcpy(q, g, sizeof(double) * n);
        for (int k = 0; k < m; k++) {
            int j = (head - 1 - k + MEM) % MEM;
            al[j] = rho[j] * dot(n, S + j * n, q);
            for (int i = 0; i < n; i++) q[i] -= al[j] * Y[j * n + i];
        }
        if (m > 0) {
            int j = (head - 1 + MEM) % MEM;
            double gam = dot(n, S + j * n, Y + j * n) / dot(n, Y + j * n, Y + j * n);
            for (int i = 0; i < n; i++) q[i] *= gam;
        }
        for (int k = m - 1; k >= 0; k--) {
            int j = (head - 1 - k + MEM) % MEM;
            double b = rho[j] * dot(n, Y + j * n, q);
            for (int i = 0; i < n; i++) q[i] += S[j * n + i] * (al[j] - b);
        }
        for (int i = 0; i < n; i++) {
            d[i] = -q[i];
            if ((x[i] <= lo[i] && d[i] < 0) || (x[i] >= hi[i] && d[i] > 0)) d[i] = 0;
        }
        double gd = dot(n, g, d);
        if (!(gd < 0)) { /* not a descent direction: fall back to projected steepest descent */
            m = 0;
            for (int i = 0; i < n; i++) {
                d[i] = -g[i];
                if ((x[i] <= lo[i] && d[i] < 0) || (x[i] >= hi[i] && d[i] > 0)) d[i] = 0;
            }
            gd = dot(n, g, d);
            if (!(gd < 0)) break; /* projected gradient is zero: a (bound) stationary point */
        }
        double t = 1.0;
        if (m == 0) {
            double dn = sqrt(dot(n, d, d));
            if (dn > 1.0) t = 1.0 / dn; /* first step: at most unit length */
        }
        double fn = fx;
        int ok = 0;
        for (int ls = 0; ls < 40; ls++) {
            for (int i = 0; i < n; i++) xn[i] = x[i] + t * d[i];
            clamp(n, xn, lo, hi);
            fn = f(xn, gn, user);
            double dec = 0;
            for (int i = 0; i < n; i++) dec += g[i] * (xn[i] - x[i]);
            if (isfinite(fn) && fn <= fx + 1e-4 * dec) {
                ok = 1;
                break;
            }
            t *= 0.5;
        }
        if (!ok) break;
        double *s = S + head * n, *y = Y + head * n;
        for (int i = 0; i < n; i++) {
            s[i] = xn[i] - x[i];
            y[i] = gn[i] - g[i];
        }
        double sy = dot(n, s, y);
        if (sy > 1e-12) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % MEM;
            if (m < MEM) m++;
        }
        double df = fx - fn;
        memcpy(x, xn, sizeof(double) * n);
        memcpy(g, gn, sizeof(double) * n);
        fx = fn;
        if (df < 1e-10 * (1.0 + fabs(fx))) break;
    }
    free(buf);
    return fx;
}
