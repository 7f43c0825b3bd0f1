/* ASHA — asynchronous successive halving (Li et al., MLSys 2020, Alg. 2);
 * resource = epochs. Rungs k = 0..K have r_k = min(R, r_min * eta^k) epochs,
 * K the first rung that reaches R. Whenever a worker is free: promote the
 * best not-yet-promoted configuration found in the top 1/eta of any rung
 * (highest rung first); otherwise start a new random configuration at rung
 * 0. No worker ever waits for a rung to fill, which is what makes it suit
 * many parallel workers. As with Hyperband a promoted configuration
 * continues its parent's run or retrains (tune.promotion, study.c).
 *
 * Unlike the other strategies, which trials get promoted depends on the
 * order in which results arrive: that is ASHA's design. With max_parallel = 1
 * a seeded study is fully reproducible. */
#include <math.h>
#include <stdlib.h>

#include "tune/tune.h"

typedef struct asha {
    const cf_tune_config *cfg;
    int K;
    int r[64];
} asha;

static double loss_of(const cf_tune_config *cfg, const cf_trial *t)
{
    if (t->state != CF_TRIAL_DONE && t->state != CF_TRIAL_PRUNED) return INFINITY;
    if (!isfinite(t->value)) return INFINITY;
    return cfg->objective.maximize ? -t->value : t->value;
}

static cf_next_result asha_next(void *ctx, const cf_study *s, cf_proposal *p, cf_error *err)
{
    asha *a = ctx;
    const cf_tune_config *cfg = a->cfg;
    int nt = cf_study_count(s);
    for (int k = a->K - 1; k >= 0; k--) {
        /* Finished trials at rung k, and how many of them make the top 1/eta. */
        int nk = 0;
        for (int i = 0; i < nt; i++) {
            const cf_trial *t = cf_study_trial(s, i);
            if (t->rung == k && t->state != CF_TRIAL_PENDING && t->state != CF_TRIAL_RUNNING) nk++;
        }
        int top = nk / cfg->eta;
        if (top < 1) continue;
        /* Walk the top `top` by loss (ties by id); take the best unpromoted. */
        const cf_trial *cand = NULL;
        for (int i = 0; i < nt; i++) {
            const cf_trial *t = cf_study_trial(s, i);
            if (t->rung != k || t->state == CF_TRIAL_PENDING || t->state == CF_TRIAL_RUNNING) continue;
            double lt = loss_of(cfg, t);
            if (!isfinite(lt)) continue;
            int better = 0; /* finished trials at rung k strictly ahead of t */
            for (int j = 0; j < nt; j++) {
                const cf_trial *u = cf_study_trial(s, j);
                if (u->rung != k || u->state == CF_TRIAL_PENDING || u->state == CF_TRIAL_RUNNING) continue;
                double lu = loss_of(cfg, u);
                if (lu < lt || (lu == lt && u->id < t->id)) better++;
            }
            if (better >= top) continue;
            int taken = 0;
            for (int j = 0; j < nt && !taken; j++) taken = cf_study_trial(s, j)->parent == t->id;
            if (taken) continue;
            if (!cand || lt < loss_of(cfg, cand)) cand = t;
        }
        if (cand) {
            for (int i = 0; i < cfg->space.n; i++) p->x[i] = cand->x[i];
            p->epochs = a->r[k + 1];
            p->bracket = 0;
            p->rung = k + 1;
            p->parent = cand->id;
            p->config_id = cand->config_id;
            return CF_NEXT_LAUNCH;
        }
    }
    int configs = 0;
    for (int i = 0; i < nt; i++) configs += cf_study_trial(s, i)->rung == 0;
    cf_tune_sample(&cfg->space, cfg->seed, 200, (uint64_t)configs, p->x);
    p->epochs = a->r[0];
    p->bracket = 0;
    p->rung = 0;
    p->parent = -1;
    p->config_id = -1;
    return CF_NEXT_LAUNCH;
}

static void asha_destroy(void *ctx) { free(ctx); }

cf_status cf_strategy_asha(cf_tune_strategy *out, const cf_tune_config *cfg, cf_error *err)
{
    asha *a = calloc(1, sizeof *a);
    if (!a) return cf_error_set(err, CF_ERR_NOMEM, "asha: out of memory");
    a->cfg = cfg;
    long r = cfg->min_epochs;
    a->K = 0;
    a->r[0] = (int)r;
    while (r < cfg->max_epochs && a->K < 62) {
        r *= cfg->eta;
        a->r[++a->K] = r > cfg->max_epochs ? cfg->max_epochs : (int)r;
    }
    out->ctx = a;
    out->next = asha_next;
    out->destroy = asha_destroy;
    return CF_OK;
}
