/* Strategy factory: the tune config names one, this builds it. */
#include "tune/tune.h"

cf_status cf_strategy_create(cf_tune_strategy *out, const cf_tune_config *cfg, cf_error *err)
{
    switch (cfg->strategy) {
    case CF_STRAT_GRID: return cf_strategy_grid(out, cfg, err);
    case CF_STRAT_RANDOM: return cf_strategy_random(out, cfg, err);
    case CF_STRAT_BAYESIAN: return cf_strategy_bayes(out, cfg, err);
    case CF_STRAT_HYPERBAND: return cf_strategy_hyperband(out, cfg, err);
    case CF_STRAT_ASHA: return cf_strategy_asha(out, cfg, err);
    }
    return cf_error_set(err, CF_ERR_INVALID, "tune: unknown strategy %d", (int)cfg->strategy);
}
