/* Hyperband (Li et al., JMLR 2018, Algorithm 1) with synchronous successive
 * halving inside each bracket; resource = epochs.
 *
 * Bracket table, with R = max_epochs, r_min = min_epochs, eta:
 *   s_max = floor(log_eta(R / r_min)),  B = (s_max + 1) R
 *   bracket s = s_max, s_max - 1, ..., 0:
 *     n = ceil(B / R * eta^s / (s + 1)),  r = R * eta^-s
 *     rung i = 0..s:  n_i = floor(n * eta^-i) configurations,  r_i = r * eta^i epochs
 * (R = 81, eta = 3: s=4: 81x1 27x3 9x9 3x27 1x81; s=3: 34x3 11x9 3x27 1x81;
 *  s=2: 15x9 5x27 1x81; s=1: 8x27 2x81; s=0: 5x81 — the paper's Table 1.)
 *
 * Brackets cycle s_max..0 (tune.brackets of them). Under tune.max_total_epochs
 * they cycle until the budget is spent, the last one cut to the largest n that
 * fits (cf_hyperband_planned): the plan is a function of the config alone.
 *
 * The strategy only says which configuration gets r_{i+1} epochs; whether
 * that continues the parent's run or retrains it (tune.promotion) is the
 * study's business (study.c: can_continue).
 * The strategy keeps no state: everything is read from the trial table, so
 * --resume continues a bracket exactly where the journal left it. Brackets
 * run in order; when one is waiting for its rung to finish and a worker is
 * free, the next bracket starts (brackets are independent). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "tune/tune.h"

int cf_hyperband_smax(int r_min, int R, int eta)
{
    /* Integer loop: no floating log rounding at exact powers. */
    int s = 0;
    long r = r_min;
    while (r * eta <= R) {
        r *= eta;
        s++;
    }
    return s;
}

/* Li et al.'s n for bracket index b (s = s_max - b). */
static long li_n(int r_min, int R, int eta, int b)
{
    int smax = cf_hyperband_smax(r_min, R, eta);
    int s = smax - b;
    return (long)ceil((double)(smax + 1) * pow(eta, s) / (double)(s + 1) - 1e-9);
}

/* Rungs of bracket index b when its rung 0 has n configurations. */
static int rungs_of(int r_min, int R, int eta, int b, long n, cf_hb_rung *rungs, int max_rungs)
{
    int s = cf_hyperband_smax(r_min, R, eta) - b;
    if (s < 0 || s + 1 > max_rungs) return 0;
    double r = (double)R / pow(eta, s);
    for (int i = 0; i <= s; i++) {
        double ei = pow(eta, i);
        rungs[i].n = (int)floor((double)n / ei + 1e-9);
        int e = (int)floor(r * ei + 0.5);
        rungs[i].r = e < r_min ? r_min : e > R ? R : e;
    }
    return s + 1;
}

int cf_hyperband_bracket(int r_min, int R, int eta, int b, cf_hb_rung *rungs, int max_rungs)
{
    return rungs_of(r_min, R, eta, b, li_n(r_min, R, eta, b), rungs, max_rungs);
}

long cf_hyperband_cost(const cf_hb_rung *rungs, int nr, int continued)
{
    long c = 0;
    for (int i = 0; i < nr; i++) c += (long)rungs[i].n * (rungs[i].r - (continued && i ? rungs[i - 1].r : 0));
    return c;
}

int cf_hyperband_planned(const cf_tune_config *cfg, int g, long *left, cf_hb_rung *rungs, int max_rungs)
{
    int smax = cf_hyperband_smax(cfg->min_epochs, cfg->max_epochs, cfg->eta);
    int limit = cfg->hb_brackets > 0 ? cfg->hb_brackets : cfg->max_total_epochs > 0 ? INT_MAX : smax + 1;
    if (g >= limit) return 0;
    int b = g % (smax + 1);
    long n = li_n(cfg->min_epochs, cfg->max_epochs, cfg->eta, b);
    for (; n > 0; n--) {
        int nr = rungs_of(cfg->min_epochs, cfg->max_epochs, cfg->eta, b, n, rungs, max_rungs);
        if (nr == 0 || rungs[nr - 1].n < 1) return 0; /* not even one configuration reaches R */
        long c = cf_hyperband_cost(rungs, nr, cfg->promote_continue);
        if (cfg->max_total_epochs <= 0) return nr;
        if (c <= *left) {
            *left -= c;
            return nr;
        }
    }
    return 0;
}

long cf_hyperband_min_cost(const cf_tune_config *cfg)
{
    cf_hb_rung rungs[64];
    int smax = cf_hyperband_smax(cfg->min_epochs, cfg->max_epochs, cfg->eta);
    long n = lround(pow(cfg->eta, smax)); /* the fewest that leave one configuration at R */
    int nr = rungs_of(cfg->min_epochs, cfg->max_epochs, cfg->eta, 0, n, rungs, 64);
    return cf_hyperband_cost(rungs, nr, cfg->promote_continue);
}

/* Lower is better; failed trials last. */
static double loss_of(const cf_tune_config *cfg, const cf_trial *t)
{
    if (t->state != CF_TRIAL_DONE && t->state != CF_TRIAL_PRUNED) return INFINITY;
    if (!isfinite(t->value)) return INFINITY;
    return cfg->objective.maximize ? -t->value : t->value;
}

static int finished(const cf_trial *t)
{
    return t->state == CF_TRIAL_DONE || t->state == CF_TRIAL_PRUNED || t->state == CF_TRIAL_FAILED;
}

typedef struct hb {
    const cf_tune_config *cfg;
} hb;

/* Ranks trials of (bracket, rung) by loss, ties by id, and returns the
 * `rank`-th best (or NULL). */
static const cf_trial *ranked(const cf_study *s, const cf_tune_config *cfg, int bracket, int rung,
                              int rank)
{
    int n = cf_study_count(s);
    /* Selection by repeated minimum: rungs are small (<= a few hundred). */
    const cf_trial *prev = NULL;
    for (int k = 0; k <= rank; k++) {
        const cf_trial *best = NULL;
        for (int i = 0; i < n; i++) {
            const cf_trial *t = cf_study_trial(s, i);
            if (t->bracket != bracket || t->rung != rung) continue;
            if (prev) {
                double lp = loss_of(cfg, prev), lt = loss_of(cfg, t);
                if (lt < lp || (lt == lp && t->id <= prev->id)) continue;
            }
            if (!best) best = t;
            else {
                double lb = loss_of(cfg, best), lt = loss_of(cfg, t);
                if (lt < lb || (lt == lb && t->id < best->id)) best = t;
            }
        }
        if (!best) return NULL;
        prev = best;
    }
    return prev;
}

static int promoted(const cf_study *s, const cf_trial *t)
{
    for (int i = 0; i < cf_study_count(s); i++)
        if (cf_study_trial(s, i)->parent == t->id) return 1;
    return 0;
}

static cf_next_result hb_next(void *ctx, const cf_study *s, cf_proposal *p, cf_error *err)
{
    hb *h = ctx;
    const cf_tune_config *cfg = h->cfg;
    int nt = cf_study_count(s);
    cf_hb_rung rungs[64];
    long left = cfg->max_total_epochs;
    for (int g = 0;; g++) {
        int nr = cf_hyperband_planned(cfg, g, &left, rungs, 64);
        if (nr == 0) break; /* the plan ends here */
        int launched[64] = {0}, done[64] = {0};
        for (int i = 0; i < nt; i++) {
            const cf_trial *t = cf_study_trial(s, i);
            if (t->bracket != g || t->rung < 0 || t->rung >= nr) continue;
            launched[t->rung]++;
            done[t->rung] += finished(t);
        }
        for (int i = 0; i < nr; i++) {
            if (launched[i] >= rungs[i].n) continue;
            if (i == 0) {
                cf_tune_sample(&cfg->space, cfg->seed, 100 + (uint64_t)g, (uint64_t)launched[0], p->x);
                p->epochs = rungs[0].r;
                p->bracket = g;
                p->rung = 0;
                p->parent = -1;
                p->config_id = -1; /* a new configuration */
                return CF_NEXT_LAUNCH;
            }
            if (launched[i - 1] < rungs[i - 1].n || done[i - 1] < launched[i - 1])
                break; /* rung i-1 not complete: this bracket waits */
            for (int rank = 0; rank < rungs[i].n; rank++) {
                const cf_trial *t = ranked(s, cfg, g, i - 1, rank);
                if (!t) break;
                if (promoted(s, t)) continue;
                if (t->state == CF_TRIAL_FAILED) break; /* failures are never promoted */
                for (int k = 0; k < cfg->space.n; k++) p->x[k] = t->x[k];
                p->epochs = rungs[i].r;
                p->bracket = g;
                p->rung = i;
                p->parent = t->id;
                p->config_id = t->config_id;
                return CF_NEXT_LAUNCH;
            }
            break; /* survivors exhausted (failures): the bracket ends early */
        }
    }
    /* Nothing launchable: wait if anything is still running, else done. */
    return cf_study_running(s) > 0 ? CF_NEXT_WAIT : CF_NEXT_DONE;
}

static void hb_destroy(void *ctx) { free(ctx); }

cf_status cf_strategy_hyperband(cf_tune_strategy *out, const cf_tune_config *cfg, cf_error *err)
{
    hb *h = calloc(1, sizeof *h);
    if (!h) return cf_error_set(err, CF_ERR_NOMEM, "hyperband: out of memory");
    h->cfg = cfg;
    int smax = cf_hyperband_smax(cfg->min_epochs, cfg->max_epochs, cfg->eta);
    if (smax + 1 > 64) {
        free(h);
        return cf_error_set(err, CF_ERR_INVALID, "hyperband: too many rungs");
    }
    out->ctx = h;
    out->next = hb_next;
    out->destroy = hb_destroy;
    return CF_OK;
}
