/* Converged basins of attraction, for the bayesian strategy's restart
 * proposals (bayes.c). A stationary GP fitted to a mostly flat function with
 * one sampled well predicts "flat" everywhere else with confidence and keeps
 * refining that well (Hartmann-6's -3.20 local minimum, bench/RESULTS.md);
 * restart proposals model the rest of the space on its own, TuRBO-style.
 *
 * The basin of a point b is the set of observations whose kernel correlation
 * with b (the fitted length scales, unit signal) exceeds `corr`. Peeling, best
 * first: the basin of the best remaining observation is converged when it has
 * at least `min_points` members and its last `window` members (in trial
 * order) improved its best by less than `tol` times the range of y; then it
 * is removed and the next best remaining observation is examined. The first
 * unconverged basin stops the peeling. A pure function of the data, so the
 * strategy stays order independent and resumable. */
#include <math.h>

#include "tune/tune.h"

static int member(const double *Z, int d, int i, int b, const double *ls, double corr)
{
    return cf_gp_matern52(Z + i * d, Z + b * d, d, ls, 1.0) > corr;
}

int cf_tune_peel_basins(int n, int d, const double *Z, const double *y, const double *ls, double corr,
                        int min_points, int window, double tol, double *centres, unsigned char *in_basin)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        in_basin[i] = 0;
        if (y[i] < lo) lo = y[i];
        if (y[i] > hi) hi = y[i];
    }
    int nb = 0;
    for (;;) {
        int b = -1;
        for (int i = 0; i < n; i++)
            if (!in_basin[i] && (b < 0 || y[i] < y[b])) b = i;
        if (b < 0) break;
        int cnt = 0;
        for (int i = 0; i < n; i++) cnt += !in_basin[i] && member(Z, d, i, b, ls, corr);
        if (cnt < min_points) break;
        double before = INFINITY; /* best of the members older than the last `window` */
        for (int i = 0, seen = 0; i < n; i++)
            if (!in_basin[i] && member(Z, d, i, b, ls, corr) && seen++ < cnt - window && y[i] < before)
                before = y[i];
        if (before - y[b] > tol * (hi - lo)) break; /* still improving */
        for (int j = 0; j < d; j++) centres[nb * d + j] = Z[b * d + j];
        nb++;
        for (int i = 0; i < n; i++)
            if (!in_basin[i] && member(Z, d, i, b, ls, corr)) in_basin[i] = 1;
    }
    return nb;
}
