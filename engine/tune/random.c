/* Random search: trial k draws from the Philox stream (seed, CF_RNG_TUNE, 0, k),
 * so a seed reproduces the same trials in any finishing order. */
#include <stdlib.h>

#include "tune/tune.h"

static cf_next_result random_next(void *ctx, const cf_study *s, cf_proposal *p, cf_error *err)
{
    const cf_tune_config *cfg = ctx;
    cf_tune_sample(&cfg->space, cfg->seed, 0, (uint64_t)cf_study_count(s), p->x);
    p->epochs = cfg->epochs;
    return CF_NEXT_LAUNCH;
}

static void random_destroy(void *ctx) { (void)ctx; }

cf_status cf_strategy_random(cf_tune_strategy *out, const cf_tune_config *cfg, cf_error *err)
{
    out->ctx = (void *)cfg;
    out->next = random_next;
    out->destroy = random_destroy;
    return CF_OK;
}
