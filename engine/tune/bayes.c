/* Bayesian optimisation: a GP (gp.c) on the encoded space, log expected
 * improvement maximised by random candidates plus local L-BFGS.
 *
 * Mixed spaces: inputs are encoded in the unit cube (integers on the scaled
 * axis, categoricals one-hot) and every point is projected onto the valid
 * lattice (integers rounded, one-hot argmax) before it reaches the kernel,
 * so the acquisition is flat between valid values and never prefers a
 * fractional setting (Garrido-Merchán & Hernández-Lobato 2020).
 *
 * Order independence: with P = max_parallel, proposal k (k >= initial_trials)
 * is made only when trials 0..k-P have all finished, and uses exactly those
 * as observations; trials k-P+1..k-1 are treated as pending even if some
 * have already finished, and enter the GP as "kriging believer" fantasies
 * (their posterior mean), which removes variance around them so parallel
 * proposals spread out. The proposal is thus a pure function of (seed, k,
 * results of 0..k-P), whatever order the workers finish in, and a resumed
 * study proposes what an uninterrupted one would have. The first
 * initial_trials points are a seeded Latin hypercube. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clforge/philox.h"
#include "tune/tune.h"

typedef struct bayes {
    const cf_tune_config *cfg;
    int D; /* encoded dimension */
} bayes;

static int finished(const cf_trial *t)
{
    return t->state == CF_TRIAL_DONE || t->state == CF_TRIAL_PRUNED || t->state == CF_TRIAL_FAILED;
}

/* Latin hypercube row k of n: per dimension a seeded permutation of strata. */
static void lhs_point(const cf_tune_config *cfg, int k, int n, double *x)
{
    int *perm = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < cfg->space.n; i++) {
        double u;
        if (perm) {
            for (int j = 0; j < n; j++) perm[j] = j;
            cf_rng r = cf_rng_make(cfg->seed, CF_RNG_TUNE, 1, (uint64_t)i);
            for (int j = n - 1; j > 0; j--) {
                int m = (int)cf_rng_below(&r, (uint32_t)(j + 1));
                int t = perm[j];
                perm[j] = perm[m];
                perm[m] = t;
            }
            cf_rng jr = cf_rng_make(cfg->seed, CF_RNG_TUNE, 2, (uint64_t)k * 64 + (uint64_t)i);
            u = (perm[k] + cf_rng_uniform(&jr)) / n;
        } else {
            cf_rng jr = cf_rng_make(cfg->seed, CF_RNG_TUNE, 2, (uint64_t)k * 64 + (uint64_t)i);
            u = cf_rng_uniform(&jr);
        }
        x[i] = cf_tune_from_unit(&cfg->space.p[i], u);
    }
    free(perm);
}

/* Acquisition context: minimise -log EI (or -EI, or the lower confidence
 * bound) at the projected point. */
typedef struct acq {
    const cf_tune_config *cfg;
    const cf_gp *gp;
    double best;
    double beta; /* > 0: minimise the lower confidence bound m - beta sd instead of -EI */
    int D;
    double *z, *x, *proj; /* full encoded point, native scratch, projected */
    int nfree;
    int *free_idx; /* continuous encoded dims the local search moves */
    /* restart proposals: points whose kernel correlation (length scales
     * excl_ls) with one of the nexcl basin centres excl_x exceeds
     * RESTART_CORR are not candidates */
    int nexcl;
    const double *excl_x, *excl_ls;
} acq;

/* Restart proposals (basin.c): basin = correlation above this with its best
 * point (0.1 rescued more Hartmann-6 seeds than 0.3 or 0.5, bench/RESULTS.md);
 * converged after at least D + 2 members and no gain over the last 3. */
#define RESTART_CORR 0.1
#define RESTART_WINDOW 3

static double acq_value(acq *a, const double *z)
{
    cf_tune_decode(&a->cfg->space, z, a->x);
    cf_tune_encode(&a->cfg->space, a->x, a->proj);
    double m, v;
    for (int e = 0; e < a->nexcl; e++)
        if (cf_gp_matern52(a->proj, a->excl_x + e * a->D, a->D, a->excl_ls, 1.0) > RESTART_CORR) return 1e300;
    cf_gp_predict(a->gp, a->proj, &m, &v);
    double sd = sqrt(v);
    if (a->beta > 0) return m - a->beta * sd;
    double r = a->cfg->use_log_ei ? cf_log_ei(m, sd, a->best) : cf_ei(m, sd, a->best);
    if (!a->cfg->use_log_ei) return -r;
    return isfinite(r) ? -r : 1e300;
}

/* Objective for cf_opt_minimize over the free (continuous) dims; central
 * differences for the gradient (a handful of dims, cheap predictions). */
static double acq_fn(const double *u, double *g, void *user)
{
    acq *a = user;
    for (int i = 0; i < a->nfree; i++) a->z[a->free_idx[i]] = u[i];
    double f = acq_value(a, a->z);
    if (!g) return f;
    for (int i = 0; i < a->nfree; i++) {
        int k = a->free_idx[i];
        double h = 1e-6, lo = u[i] - h < 0 ? 0 : u[i] - h, hi = u[i] + h > 1 ? 1 : u[i] + h;
        a->z[k] = hi;
        double fp = acq_value(a, a->z);
        a->z[k] = lo;
        double fm = acq_value(a, a->z);
        a->z[k] = u[i];
        g[i] = (fp - fm) / (hi - lo);
        if (!isfinite(g[i])) g[i] = 0;
    }
    return f;
}

static int same_point(const cf_tune_space *sp, const double *a, const double *b)
{
    for (int i = 0; i < sp->n; i++) {
        double tol = sp->p[i].type == CF_TP_CONTINUOUS ? 1e-9 * (fabs(a[i]) + fabs(b[i]) + 1e-12) : 0.5;
        if (fabs(a[i] - b[i]) > tol) return 0;
    }
    return 1;
}

#define NCAND_MAX 10

/* Reflect v into [0, 1] (a clamp would pile perturbed candidates up on the
 * faces of the cube). */
static double reflect01(double v)
{
    v = fmod(fabs(v), 2.0);
    return v > 1.0 ? 2.0 - v : v;
}

/* Maximises the acquisition: random candidates over the cube, Gaussian
 * perturbations of the incumbents (`inc`, best first) scaled by the fitted
 * length scales, then L-BFGS on the continuous dims from the best
 * candidates and from the incumbents themselves. Writes the best encoded
 * point that is not a configuration of trials 0..k-1 to bestz; returns its
 * acquisition value (to minimise), INFINITY when every candidate was one. */
static double search(acq *a, const cf_study *s, int k, cf_rng *r, const double *Z, const int *inc,
                     int ninc, double *bestz, cf_error *err, cf_status *st)
{
    const cf_tune_space *sp = &a->cfg->space;
    int D = a->D;
    int n_rand = 1000 + 200 * D, n_local = 100 + 50 * D;
    int n_total = n_rand + n_local;
    double *cand = malloc(sizeof(double) * (size_t)(D + 1));
    double *top = malloc(sizeof(double) * (size_t)(D * (NCAND_MAX + 4) + 1));
    double topf[NCAND_MAX + 4];
    int *free_idx = malloc(sizeof(int) * (size_t)(D + 1));
    double *lo = malloc(sizeof(double) * (size_t)(3 * D + 1));
    double *cx = malloc(sizeof(double) * (size_t)(sp->n + 1));
    double bestf = INFINITY;
    if (!cand || !top || !free_idx || !lo || !cx) {
        *st = cf_error_set(err, CF_ERR_NOMEM, "bayesian: out of memory");
        goto done;
    }
    double *hi = lo + D, *u = hi + D;
    int ntop = 0;
    for (int c = 0; c < n_total; c++) {
        if (c < n_rand || ninc == 0) {
            for (int d = 0; d < D; d++) cand[d] = cf_rng_uniform(r);
        } else {
            /* around an incumbent, at a tenth or a hundredth of each length scale */
            int q = c % ninc;
            const double *base = Z + inc[q] * D;
            double sc = (c / ninc) % 2 ? 0.01 : 0.1;
            for (int d = 0; d < D; d++) {
                double l = a->gp->ls[d] < 1.0 ? a->gp->ls[d] : 1.0;
                cand[d] = reflect01(base[d] + sc * l * cf_rng_normal(r));
            }
            /* one-hot groups: occasionally jump to a random category */
            int off = 0;
            for (int i = 0; i < sp->n; i++) {
                if (sp->p[i].type == CF_TP_CATEGORICAL) {
                    if (cf_rng_uniform(r) < 0.2) {
                        int m = (int)cf_rng_below(r, (uint32_t)sp->p[i].n_values);
                        for (int t = 0; t < sp->p[i].n_values; t++) cand[off + t] = t == m;
                    }
                    off += sp->p[i].n_values;
                } else {
                    off++;
                }
            }
        }
        double f = acq_value(a, cand);
        /* keep the NCAND_MAX best, sorted */
        if (ntop < NCAND_MAX || f < topf[ntop - 1]) {
            int pos = ntop < NCAND_MAX ? ntop++ : ntop - 1;
            while (pos > 0 && topf[pos - 1] > f) {
                topf[pos] = topf[pos - 1];
                memcpy(top + pos * D, top + (pos - 1) * D, sizeof(double) * (size_t)D);
                pos--;
            }
            topf[pos] = f;
            memcpy(top + pos * D, cand, sizeof(double) * (size_t)D);
        }
    }
    /* The incumbents themselves are start points too: the acquisition's
     * optimum is often a short step from the best observation. */
    int nstart = ntop;
    for (int q = 0; q < ninc && q < 3; q++) {
        memcpy(top + nstart * D, Z + inc[q] * D, sizeof(double) * (size_t)D);
        topf[nstart++] = INFINITY;
    }
    /* Local search on the continuous dims, discrete dims held at the start's
     * (projected) values. */
    int nfree = 0, off = 0;
    for (int i = 0; i < sp->n; i++) {
        if (sp->p[i].type == CF_TP_CATEGORICAL) off += sp->p[i].n_values;
        else {
            if (sp->p[i].type == CF_TP_CONTINUOUS) free_idx[nfree++] = off;
            off++;
        }
    }
    a->free_idx = free_idx;
    a->nfree = nfree;
    for (int i = 0; i < nfree; i++) {
        lo[i] = 0;
        hi[i] = 1;
    }
    for (int c = 0; c < nstart; c++) {
        memcpy(a->z, top + c * D, sizeof(double) * (size_t)D);
        double f = topf[c];
        if (nfree > 0) {
            for (int i = 0; i < nfree; i++) u[i] = a->z[free_idx[i]];
            cf_opt_minimize(acq_fn, a, nfree, u, lo, hi, 80);
            for (int i = 0; i < nfree; i++) a->z[free_idx[i]] = u[i];
        }
        f = acq_value(a, a->z);
        /* never re-propose an observed or pending configuration */
        cf_tune_decode(sp, a->z, cx);
        int dup = 0;
        for (int i = 0; i < k && !dup; i++) dup = same_point(sp, cx, cf_study_trial(s, i)->x);
        if (!dup && f < bestf) {
            bestf = f;
            memcpy(bestz, a->z, sizeof(double) * (size_t)D);
        }
    }
done:
    free(cand);
    free(top);
    free(free_idx);
    free(lo);
    free(cx);
    return bestf;
}

/* Restart proposal: when the basin of the best observation has converged,
 * a fresh GP on the n observations outside every converged basin (a region
 * modelled on its own, as in TuRBO), log EI against its own incumbent, and
 * the converged basins excluded from the candidates; the main GP's length
 * scales define the basins. Returns 1 when it set up a (its GP in rgp, the
 * centres in *excl, the region's best observation as the only incumbent to
 * perturb, at *rz in the region's copy of the inputs), 0 to propose as usual. */
static int restart_setup(const cf_tune_config *cfg, int k, int n, int D, const double *Z, const double *y,
                         const cf_gp *gp, cf_gp *rgp, double **excl, double **rz, acq *a, int *inc,
                         int *ninc)
{
    cf_error err = {0};
    unsigned char *in = malloc((size_t)n + 1);
    double *cen = malloc(sizeof(double) * (size_t)(n * D + 1));
    double *RZ = malloc(sizeof(double) * (size_t)(n * D + 1));
    double *Ry = malloc(sizeof(double) * (size_t)(n + 1));
    int ok = 0, nr = 0, nb = 0;
    if (!in || !cen || !RZ || !Ry) goto done;
    nb = cf_tune_peel_basins(n, D, Z, y, gp->ls, RESTART_CORR, D + 2, RESTART_WINDOW, cfg->restart_tol, cen, in);
    for (int i = 0; i < n; i++)
        if (!in[i]) {
            memcpy(RZ + nr * D, Z + i * D, sizeof(double) * (size_t)D);
            Ry[nr++] = y[i];
        }
    if (nb == 0 || nr < 2) goto done;
    if (cf_gp_set_data(rgp, nr, D, RZ, Ry, &err) != CF_OK || cf_gp_fit(rgp, cfg->seed ^ (uint64_t)k, 0, &err) != CF_OK)
        goto done; /* a region that cannot be modelled: propose as usual */
    double rb = INFINITY;
    int rbi = 0;
    for (int i = 0; i < nr; i++) {
        double m, v;
        cf_gp_predict(rgp, RZ + i * D, &m, &v);
        if (m < rb) rb = m;
        if (Ry[i] < Ry[rbi]) rbi = i;
    }
    a->gp = rgp;
    a->best = rb;
    a->nexcl = nb;
    a->excl_x = cen;
    a->excl_ls = gp->ls;
    inc[0] = rbi;
    *ninc = 1;
    ok = 1;
done:
    free(in);
    free(Ry);
    if (ok) {
        *excl = cen;
        *rz = RZ;
    } else {
        free(cen);
        free(RZ);
    }
    return ok;
}

static cf_status propose(bayes *b, const cf_study *s, int k, double *x_out, cf_error *err)
{
    const cf_tune_config *cfg = b->cfg;
    const cf_tune_space *sp = &cfg->space;
    int D = b->D, P = cfg->max_parallel;
    int n_obs = k - P + 1; /* trials 0..k-P */
    if (n_obs < 0) n_obs = 0;
    int n_pend = k - n_obs;

    /* Observations in the minimisation orientation. Failed trials take the
     * worst value seen, which steers the search away from crashing regions. */
    double *Z = malloc(sizeof(double) * (size_t)(D * (k + 1) + 1));
    double *y = malloc(sizeof(double) * (size_t)(k + 1));
    double *xs = malloc(sizeof(double) * (size_t)(sp->n * 3 + D * 4 + 8));
    double *bestz = NULL;
    if (!Z || !y || !xs) {
        free(Z);
        free(y);
        free(xs);
        return cf_error_set(err, CF_ERR_NOMEM, "bayesian: out of memory");
    }
    int n = 0;
    double worst = -INFINITY;
    for (int i = 0; i < n_obs; i++) {
        const cf_trial *t = cf_study_trial(s, i);
        if (t->state == CF_TRIAL_FAILED || !isfinite(t->value)) continue;
        double v = cfg->objective.maximize ? -t->value : t->value;
        if (v > worst) worst = v;
    }
    for (int i = 0; i < n_obs; i++) {
        const cf_trial *t = cf_study_trial(s, i);
        double v;
        if (t->state == CF_TRIAL_FAILED || !isfinite(t->value)) {
            if (!isfinite(worst)) continue;
            v = worst;
        } else {
            v = cfg->objective.maximize ? -t->value : t->value;
        }
        cf_tune_encode(sp, t->x, Z + n * D);
        y[n++] = v;
    }
    if (n < 2) { /* nothing to model yet: keep sampling the space */
        free(Z);
        free(y);
        free(xs);
        cf_tune_sample(sp, cfg->seed, 3, (uint64_t)k, x_out);
        return CF_OK;
    }

    cf_gp gp = {0}, rgp = {0};
    double *excl = NULL, *rz = NULL;
    cf_status st = cf_gp_set_data(&gp, n, D, Z, y, err);
    if (st == CF_OK) st = cf_gp_fit(&gp, cfg->seed ^ (uint64_t)k, 0, err);
    if (st != CF_OK) goto out;

    /* Incumbent: the lowest posterior mean among observed points (robust to noise). */
    double best = INFINITY;
    for (int i = 0; i < n; i++) {
        double m, v;
        cf_gp_predict(&gp, Z + i * D, &m, &v);
        if (m < best) best = m;
    }

    /* Pending trials as kriging-believer fantasies, hyperparameters kept. */
    if (n_pend > 0) {
        for (int j = 0; j < n_pend; j++) {
            const cf_trial *t = cf_study_trial(s, n_obs + j);
            double m, v;
            cf_tune_encode(sp, t->x, Z + n * D);
            cf_gp_predict(&gp, Z + n * D, &m, &v);
            y[n++] = m;
        }
        cf_gp fgp = {0};
        double ymean = gp.y_mean, ysd = gp.y_sd;
        st = cf_gp_set_data(&fgp, n, D, Z, y, err);
        if (st == CF_OK) {
            /* Same standardisation and hyperparameters as the fitted model. */
            for (int i = 0; i < n; i++) fgp.y[i] = (y[i] - ymean) / ysd;
            fgp.y_mean = ymean;
            fgp.y_sd = ysd;
            memcpy(fgp.ls, gp.ls, sizeof(double) * (size_t)D);
            fgp.signal = gp.signal;
            fgp.noise = gp.noise;
            st = cf_gp_factor(&fgp, err);
        }
        cf_gp_free(&gp);
        gp = fgp;
        if (st != CF_OK) goto out;
    }

    /* Incumbents to perturb: the few best observations. */
    int inc[5], ninc = 0;
    for (int q = 0; q < 5; q++) {
        int bi = -1;
        for (int i = 0; i < n - n_pend; i++) {
            int used = 0;
            for (int u = 0; u < ninc; u++) used |= inc[u] == i;
            if (!used && (bi < 0 || y[i] < y[bi])) bi = i;
        }
        if (bi < 0) break;
        inc[ninc++] = bi;
    }
    bestz = malloc(sizeof(double) * (size_t)(D + 1));
    if (!bestz) {
        st = cf_error_set(err, CF_ERR_NOMEM, "bayesian: out of memory");
        goto out;
    }
    acq a = {cfg, &gp, best, 0.0, D, xs, xs + D, xs + D + sp->n, 0, NULL, 0, NULL, NULL};
    const double *Zs = Z; /* the inputs inc indexes */
    int R = cfg->restart_period, kk = k - cfg->initial_trials;
    if (R >= 2 && kk % R != 0 &&
        restart_setup(cfg, k, n - n_pend, D, Z, y, &gp, &rgp, &excl, &rz, &a, inc, &ninc))
        Zs = rz;
    cf_rng r = cf_rng_make(cfg->seed, CF_RNG_TUNE, 4, (uint64_t)k);
    double bestf = search(&a, s, k, &r, Zs, inc, ninc, bestz, err, &st);
    if (st != CF_OK) goto out;
    /* 1e300 on a restart: every candidate lay in an excluded basin */
    if (isfinite(bestf) && !(a.nexcl > 0 && bestf >= 1e300)) cf_tune_decode(sp, bestz, x_out);
    else cf_tune_sample(sp, cfg->seed, 3, (uint64_t)k, x_out); /* all duplicates */
out:
    cf_gp_free(&rgp);
    free(excl);
    free(rz);
    free(bestz);
    cf_gp_free(&gp);
    free(Z);
    free(y);
    free(xs);
    return st;
}

static cf_next_result bayes_next(void *ctx, const cf_study *s, cf_proposal *p, cf_error *err)
{
    bayes *b = ctx;
    const cf_tune_config *cfg = b->cfg;
    int k = cf_study_count(s);
    p->epochs = cfg->epochs;
    if (k < cfg->initial_trials) {
        lhs_point(cfg, k, cfg->initial_trials, p->x);
        return CF_NEXT_LAUNCH;
    }
    for (int i = 0; i <= k - cfg->max_parallel; i++)
        if (!finished(cf_study_trial(s, i))) return CF_NEXT_WAIT;
    if (propose(b, s, k, p->x, err) != CF_OK) return CF_NEXT_ERROR;
    return CF_NEXT_LAUNCH;
}

static void bayes_destroy(void *ctx) { free(ctx); }

cf_status cf_strategy_bayes(cf_tune_strategy *out, const cf_tune_config *cfg, cf_error *err)
{
    bayes *b = calloc(1, sizeof *b);
    if (!b) return cf_error_set(err, CF_ERR_NOMEM, "bayesian: out of memory");
    b->cfg = cfg;
    b->D = cf_tune_encoded_dim(&cfg->space);
    out->ctx = b;
    out->next = bayes_next;
    out->destroy = bayes_destroy;
    return CF_OK;
}
