/* Search space: scaling to the unit interval (SageMaker semantics), sampling,
 * grid points, override text and the GP encoding (integers rounded and
 * categoricals one-hot inside the kernel, Garrido-Merchán & Hernández-Lobato
 * 2020). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clforge/philox.h"
#include "tune/tune.h"

/* Scaled coordinate of v: linear v, log ln v, reverse-log -ln(1 - v). */
static double warp(const cf_tune_param *p, double v)
{
    switch (p->scale) {
    case CF_TS_LOG: return log(v);
    case CF_TS_REVLOG: return -log(1.0 - v);
    default: return v;
    }
}
static double unwarp(const cf_tune_param *p, double w)
{
    switch (p->scale) {
    case CF_TS_LOG: return exp(w);
    case CF_TS_REVLOG: return 1.0 - exp(-w);
    default: return w;
    }
}

/* Warped interval of p. Integers own a cell of width 1 around each value
 * (min - 0.5 .. max + 0.5), so every integer gets an equal share of the
 * linear interval and sampling u uniformly then rounding is fair. */
static void warped_range(const cf_tune_param *p, double *a, double *b)
{
    double h = p->type == CF_TP_INTEGER ? 0.5 : 0.0;
    *a = warp(p, p->min - h);
    *b = warp(p, p->max + h);
}

double cf_tune_to_unit(const cf_tune_param *p, double v)
{
    if (p->type == CF_TP_CATEGORICAL)
        return p->n_values > 1 ? v / (p->n_values - 1) : 0.0;
    double a, b;
    warped_range(p, &a, &b);
    if (b == a) return 0.0;
    double u = (warp(p, v) - a) / (b - a);
    return u < 0 ? 0 : u > 1 ? 1 : u;
}

double cf_tune_from_unit(const cf_tune_param *p, double u)
{
    if (u < 0) u = 0;
    if (u > 1) u = 1;
    if (p->type == CF_TP_CATEGORICAL) {
        int k = (int)floor(u * p->n_values);
        return k >= p->n_values ? p->n_values - 1 : k;
    }
    double a, b;
    warped_range(p, &a, &b);
    double v = unwarp(p, a + u * (b - a));
    if (p->type == CF_TP_INTEGER) v = floor(v + 0.5);
    if (v < p->min) v = p->min;
    if (v > p->max) v = p->max;
    return v;
}

void cf_tune_sample(const cf_tune_space *s, uint64_t seed, uint64_t stream, uint64_t index,
                    double *x)
{
    cf_rng r = cf_rng_make(seed, CF_RNG_TUNE, stream, index);
    for (int i = 0; i < s->n; i++) {
        const cf_tune_param *p = &s->p[i];
        if (p->type == CF_TP_CATEGORICAL)
            x[i] = cf_rng_below(&r, (uint32_t)p->n_values);
        else
            x[i] = cf_tune_from_unit(p, cf_rng_uniform(&r));
    }
}

void cf_tune_format_value(const cf_tune_param *p, double v, char *buf, size_t n)
{
    if (p->type == CF_TP_CATEGORICAL) {
        int k = (int)v;
        if (k < 0) k = 0;
        if (k >= p->n_values) k = p->n_values - 1;
        snprintf(buf, n, "%s", p->values[k]);
    } else if (p->type == CF_TP_INTEGER) {
        snprintf(buf, n, "%lld", (long long)llround(v));
    } else {
        /* Shortest text that reads back exactly, always with a '.' or an
         * exponent so libconfig parses a float, never an int. */
        for (int prec = 6; prec <= 17; prec++) {
            snprintf(buf, n, "%.*g", prec, v);
            if (strtod(buf, NULL) == v) break;
        }
        if (!strpbrk(buf, ".eEn")) strncat(buf, ".0", n - strlen(buf) - 1);
    }
}

cf_status cf_tune_grid_size(const cf_tune_param *p, long *out, cf_error *err)
{
    if (p->type == CF_TP_CATEGORICAL) {
        *out = p->n_values;
    } else if (p->steps > 0) {
        *out = p->steps;
    } else if (p->type == CF_TP_INTEGER) {
        *out = (long)(p->max - p->min) + 1;
    } else {
        return cf_error_set(err, CF_ERR_INVALID,
                            "line %d: parameter '%s': grid search needs 'steps' for a continuous "
                            "range",
                            p->line, p->key);
    }
    return CF_OK;
}

double cf_tune_grid_value(const cf_tune_param *p, long i)
{
    if (p->type == CF_TP_CATEGORICAL) return (double)i;
    if (p->type == CF_TP_INTEGER && p->steps <= 0) return p->min + (double)i;
    long k = p->steps;
    double u = k > 1 ? (double)i / (double)(k - 1) : 0.0;
    /* Evenly spaced in the scaled space, end points included. */
    double a = warp(p, p->min), b = warp(p, p->max);
    double v = unwarp(p, a + u * (b - a));
    if (p->type == CF_TP_INTEGER) v = floor(v + 0.5);
    if (i == 0) v = p->min;
    if (i == k - 1) v = p->max;
    return v;
}

void cf_tune_space_free(cf_tune_space *s)
{
    for (int i = 0; i < s->n; i++) {
        for (int k = 0; k < s->p[i].n_values; k++) free(s->p[i].values[k]);
        free(s->p[i].values);
    }
    free(s->p);
    s->p = NULL;
    s->n = 0;
}

int cf_tune_encoded_dim(const cf_tune_space *s)
{
    int d = 0;
    for (int i = 0; i < s->n; i++) d += s->p[i].type == CF_TP_CATEGORICAL ? s->p[i].n_values : 1;
    return d;
}

void cf_tune_encode(const cf_tune_space *s, const double *x, double *z)
{
    int d = 0;
    for (int i = 0; i < s->n; i++) {
        const cf_tune_param *p = &s->p[i];
        if (p->type == CF_TP_CATEGORICAL) {
            for (int k = 0; k < p->n_values; k++) z[d + k] = (k == (int)x[i]) ? 1.0 : 0.0;
            d += p->n_values;
        } else {
            z[d++] = cf_tune_to_unit(p, x[i]);
        }
    }
}

void cf_tune_decode(const cf_tune_space *s, const double *z, double *x)
{
    int d = 0;
    for (int i = 0; i < s->n; i++) {
        const cf_tune_param *p = &s->p[i];
        if (p->type == CF_TP_CATEGORICAL) {
            int best = 0;
            for (int k = 1; k < p->n_values; k++)
                if (z[d + k] > z[d + best]) best = k;
            x[i] = best;
            d += p->n_values;
        } else {
            x[i] = cf_tune_from_unit(p, z[d++]);
        }
    }
}
