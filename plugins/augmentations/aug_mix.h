/* Helpers of the batch-level mixing plugins (mixup, cutmix, mixup_cutmix):
 * Beta sampling, the partner permutation, and the two mixes on a
 * cf_image_batch. Each module compiles its own static copy. A batch is mixed
 * with a permutation of itself: sample i with sample perm[i], one lambda per
 * batch (Zhang et al. 2018; Yun et al. 2019; torchvision.transforms.v2). */
#ifndef CF_PLUGIN_AUG_MIX_H
#define CF_PLUGIN_AUG_MIX_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <clforge/plugin.h>

/* Gamma(a, 1): Marsaglia and Tsang (2000); a < 1 through Gamma(a + 1) U^(1/a). */
static inline double aug_gamma(cf_rng *r, double a)
{
    if (a < 1) {
        double u = cf_rng_uniform(r);
        return aug_gamma(r, a + 1) * pow(u, 1.0 / a);
    }
    const double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = cf_rng_normal(r);
            v = 1 + c * x;
        } while (v <= 0);
        v = v * v * v;
        const double u = cf_rng_uniform(r);
        if (u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v))) return d * v;
    }
}

/* Beta(a, a) as G1 / (G1 + G2). */
static inline double aug_beta(cf_rng *r, double a)
{
    const double g1 = aug_gamma(r, a), g2 = aug_gamma(r, a);
    return g1 + g2 > 0 ? g1 / (g1 + g2) : 0.5;
}

/* A uniform permutation of 0..n-1 (Fisher-Yates); NULL when out of memory. */
static inline int *aug_perm(cf_rng *r, int n)
{
    int *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p) return NULL;
    for (int i = 0; i < n; i++) p[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)cf_rng_below(r, (uint32_t)i + 1), t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    return p;
}

/* t_i = lam t_i + (1 - lam) t_perm[i], from a copy (partners are read unmixed). */
static inline cf_status aug_mix_targets(cf_image_batch *b, const int *perm, double lam, cf_error *err)
{
    const size_t k = (size_t)b->k;
    float *t0 = malloc((size_t)b->n * k * sizeof *t0);
    if (!t0) return cf_error_set(err, CF_ERR_NOMEM, "out of memory for the mixed targets");
    memcpy(t0, b->t, (size_t)b->n * k * sizeof *t0);
    for (int i = 0; i < b->n; i++)
        for (size_t j = 0; j < k; j++)
            b->t[i * k + j] = (float)(lam * t0[i * k + j] + (1 - lam) * t0[(size_t)perm[i] * k + j]);
    free(t0);
    return CF_OK;
}

/* Copy of the batch's images (partners are read unmixed). */
static inline float *aug_batch_copy(const cf_image_batch *b, cf_error *err)
{
    const size_t n = (size_t)b->n * b->c * b->h * b->w;
    float *x0 = malloc((n ? n : 1) * sizeof *x0);
    if (!x0) cf_error_set(err, CF_ERR_NOMEM, "out of memory for the mixed batch");
    else memcpy(x0, b->x, n * sizeof *x0);
    return x0;
}

/* The partners (a permutation drawn from r) and a copy of the images. */
static inline cf_status aug_mix_begin(const cf_image_batch *b, cf_rng *r, int **perm, float **x0, cf_error *err)
{
    if (!(*perm = aug_perm(r, b->n)))
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory for the batch permutation");
    if (!(*x0 = aug_batch_copy(b, err))) {
        free(*perm);
        return CF_ERR_NOMEM;
    }
    return CF_OK;
}

/* mixup: x_i = lam x_i + (1 - lam) x_perm[i], the targets alike. */
static inline cf_status aug_mixup(cf_image_batch *b, double alpha, cf_rng *r, cf_error *err)
{
    const double lam = aug_beta(r, alpha);
    int *perm = NULL;
    float *x0 = NULL;
    CF_TRY(aug_mix_begin(b, r, &perm, &x0, err));
    const size_t px = (size_t)b->c * b->h * b->w;
    for (int i = 0; i < b->n; i++)
        for (size_t j = 0; j < px; j++)
            b->x[i * px + j] = (float)(lam * x0[i * px + j] + (1 - lam) * x0[(size_t)perm[i] * px + j]);
    cf_status st = aug_mix_targets(b, perm, lam, err);
    free(x0);
    free(perm);
    return st;
}

/* cutmix: a box of area about (1 - lam) of the image, centred uniformly
 * (clipped at the borders), comes from the partner; lam is then corrected to
 * the area actually kept (torchvision v2 CutMix). */
static inline cf_status aug_cutmix(cf_image_batch *b, double alpha, cf_rng *r, cf_error *err)
{
    const double lam0 = aug_beta(r, alpha);
    const int W = b->w, H = b->h;
    const int rx = (int)cf_rng_below(r, (uint32_t)W), ry = (int)cf_rng_below(r, (uint32_t)H);
    const double half = 0.5 * sqrt(1.0 - lam0);
    const int hw = (int)(half * W), hh = (int)(half * H);
    const int x1 = rx - hw < 0 ? 0 : rx - hw, y1 = ry - hh < 0 ? 0 : ry - hh;
    const int x2 = rx + hw > W ? W : rx + hw, y2 = ry + hh > H ? H : ry + hh;
    const double lam = 1.0 - (double)(x2 - x1) * (y2 - y1) / ((double)W * H);
    int *perm = NULL;
    float *x0 = NULL;
    CF_TRY(aug_mix_begin(b, r, &perm, &x0, err));
    const size_t plane = (size_t)H * W, px = (size_t)b->c * plane;
    for (int i = 0; i < b->n; i++)
        for (int c = 0; c < b->c; c++)
            for (int y = y1; y < y2; y++)
                memcpy(b->x + i * px + c * plane + (size_t)y * W + x1,
                       x0 + (size_t)perm[i] * px + c * plane + (size_t)y * W + x1, (size_t)(x2 - x1) * sizeof(float));
    cf_status st = aug_mix_targets(b, perm, lam, err);
    free(x0);
    free(perm);
    return st;
}

#endif
