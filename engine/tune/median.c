/* Median stopping rule — SageMaker's early_stopping "auto" (after Golovin et
 * al., Vizier 2017): after epoch k, stop a trial whose objective is worse
 * than the median of the running averages (mean of epochs 1..k) of earlier
 * finished trials that reached epoch k. Never before min_epochs, and only
 * once min_trials such trials exist. The study passes as "earlier" exactly
 * the finished trials with id <= k - max_parallel, so the decision does not
 * depend on which workers happen to finish first. */
#include <math.h>
#include <stdlib.h>

#include "tune/tune.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

bool cf_median_should_stop(const cf_trial *const *pool, int n_pool, const cf_trial *t, int epoch,
                           int maximize, int min_epochs, int min_trials)
{
    if (epoch < min_epochs || epoch < 1 || epoch > t->n_curve) return false;
    double cur = t->curve[epoch - 1];
    if (!isfinite(cur)) return false; /* NaN is a failure, decided elsewhere */
    double *avg = malloc(sizeof(double) * (size_t)(n_pool + 1));
    if (!avg) return false;
    int m = 0;
    for (int i = 0; i < n_pool; i++) {
        const cf_trial *p = pool[i];
        if (p == t || p->n_curve < epoch) continue;
        double s = 0;
        int ok = 1;
        for (int e = 0; e < epoch; e++) {
            if (!isfinite(p->curve[e])) ok = 0;
            s += p->curve[e];
        }
        if (ok) avg[m++] = s / epoch;
    }
    bool stop = false;
    if (m >= min_trials && m > 0) {
        qsort(avg, (size_t)m, sizeof(double), cmp_double);
        double med = m % 2 ? avg[m / 2] : 0.5 * (avg[m / 2 - 1] + avg[m / 2]);
        stop = maximize ? cur < med : cur > med;
    }
    free(avg);
    return stop;
}
