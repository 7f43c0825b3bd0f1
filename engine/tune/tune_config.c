/* The `tune = { ... }` group of a training config: every key validated, every
 * error names file:line. Unknown keys are errors here (a typo in a study
 * wastes hours of compute), not warnings. */
#include <libconfig.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config_file.h"
#include "core/params.h"
#include "train/schema.h"
#include "tune/tune.h"

typedef struct ctx {
    const char *file;
    cf_error *err;
    int strict; /* 0: unknown keys were warned about by the schema; skip them */
} ctx;

static int line_of(const config_setting_t *s) { return s ? (int)config_setting_source_line(s) : 0; }

static cf_status bad(ctx *c, const config_setting_t *s, const char *fmt, const char *a,
                     const char *b)
{
    char msg[600];
    snprintf(msg, sizeof msg, fmt, a, b);
    return cf_error_set(c->err, CF_ERR_INVALID, "%s:%d: %s", c->file, line_of(s), msg);
}

static int is_number(const config_setting_t *s)
{
    int t = config_setting_type(s);
    return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64 || t == CONFIG_TYPE_FLOAT;
}

static cf_status get_num(ctx *c, const config_setting_t *s, double *out)
{
    if (!is_number(s)) return bad(c, s, "tune: '%s' must be a number%s", config_setting_name(s), "");
    *out = config_setting_type(s) == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
                                                        : (double)config_setting_get_int64(s);
    return CF_OK;
}

/* A duration in seconds: 0 (none) or positive, finite. */
static cf_status get_seconds(ctx *c, const config_setting_t *s, double *out)
{
    CF_TRY(get_num(c, s, out));
    if (!(*out >= 0 && *out <= 1e12)) {
        char v[40];
        snprintf(v, sizeof v, "%g", *out);
        return bad(c, s, "tune: '%s' = %s must be 0 (no limit) or a positive number of seconds",
                   config_setting_name(s), v);
    }
    return CF_OK;
}

static cf_status get_int(ctx *c, const config_setting_t *s, int lo, int *out)
{
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
        return bad(c, s, "tune: '%s' must be an integer%s", config_setting_name(s), "");
    long long v = config_setting_get_int64(s);
    if (v < lo || v > 1000000000LL) {
        char m[48];
        snprintf(m, sizeof m, "%d and 1000000000", lo);
        return bad(c, s, "tune: '%s' must be an integer between %s", config_setting_name(s), m);
    }
    *out = (int)v;
    return CF_OK;
}

static cf_status get_str(ctx *c, const config_setting_t *s, const char **out)
{
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return bad(c, s, "tune: '%s' must be a string%s", config_setting_name(s), "");
    *out = config_setting_get_string(s);
    return CF_OK;
}

/* Map "validation:accuracy" to the train --json key "validation_accuracy". */
static void metric_key(const char *metric, char *out, size_t n)
{
    snprintf(out, n, "%s", metric);
    for (char *p = out; *p; p++)
        if (*p == ':' || *p == '-' || *p == '.') *p = '_';
}

static cf_status parse_objective(ctx *c, const config_setting_t *g, cf_tune_config *cfg)
{
    cf_tune_objective *o = &cfg->objective;
    if (!config_setting_is_group(g)) return bad(c, g, "tune: 'objective' must be a group { ... }%s%s", "", "");
    int goal_set = 0;
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, i);
        const char *k = config_setting_name(s), *v = NULL;
        if (!strcmp(k, "metric")) {
            CF_TRY(get_str(c, s, &v));
            if (!strchr(v, ':') && strcmp(v, "value"))
                return bad(c, s, "tune.objective.metric '%s': expected '<split>:<metric>', e.g. "
                                 "'validation:accuracy'%s", v, "");
            if (!strncmp(v, "test:", 5))
                return bad(c, s, "tune.objective.metric '%s': the test set is never used for "
                                 "tuning; use a validation metric%s", v, "");
            snprintf(o->metric, sizeof o->metric, "%s", v);
        } else if (!strcmp(k, "goal")) {
            CF_TRY(get_str(c, s, &v));
            if (!strcmp(v, "maximize") || !strcmp(v, "Maximize")) o->maximize = 1;
            else if (!strcmp(v, "minimize") || !strcmp(v, "Minimize")) o->maximize = 0;
            else return bad(c, s, "tune.objective.goal '%s': expected maximize or minimize%s", v, "");
            goal_set = 1;
        } else if (!strcmp(k, "function")) {
            CF_TRY(get_str(c, s, &v));
            if (!strcmp(v, "branin")) o->function = CF_SYN_BRANIN;
            else if (!strcmp(v, "hartmann6")) o->function = CF_SYN_HARTMANN6;
            else return bad(c, s, "tune.objective.function '%s': expected branin or hartmann6%s", v, "");
        } else if (!strcmp(k, "noise")) {
            CF_TRY(get_num(c, s, &o->noise));
        } else if (!strcmp(k, "curve")) {
            CF_TRY(get_num(c, s, &o->curve));
        } else if (!strcmp(k, "epoch_seconds")) {
            CF_TRY(get_num(c, s, &o->epoch_seconds));
        } else if (!strcmp(k, "fail_crash")) {
            CF_TRY(get_num(c, s, &o->fail_crash));
        } else if (!strcmp(k, "fail_nan")) {
            CF_TRY(get_num(c, s, &o->fail_nan));
        } else if (!strcmp(k, "fail_hang")) {
            CF_TRY(get_num(c, s, &o->fail_hang));
        } else if (c->strict) {
            char hint[512];
            cf_schema_hint(cf_tune_objective_params, k, hint, sizeof hint);
            return bad(c, s, "unknown key '%s' in tune.objective%s", k, hint);
        }
    }
    if (o->function) {
        if (!o->metric[0]) snprintf(o->metric, sizeof o->metric, "validation:loss");
        if (!goal_set) o->maximize = 0;
    } else {
        if (!o->metric[0]) return bad(c, g, "tune.objective: 'metric' is required%s%s", "", "");
        if (!goal_set) return bad(c, g, "tune.objective: 'goal' is required (maximize or minimize)%s%s", "", "");
    }
    metric_key(o->metric, o->json_key, sizeof o->json_key);
    return CF_OK;
}

static cf_status parse_param(ctx *c, const config_setting_t *g, cf_tune_param *p)
{
    p->line = line_of(g);
    p->scale = CF_TS_LINEAR;
    if (!config_setting_is_group(g))
        return bad(c, g, "tune.parameters: each entry must be a group { key = ...; type = ...; }%s%s", "", "");
    const char *type = NULL, *scale = "auto";
    int has_min = 0, has_max = 0;
    config_setting_t *vals = NULL;
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, i);
        const char *k = config_setting_name(s), *v = NULL;
        if (!strcmp(k, "key")) {
            CF_TRY(get_str(c, s, &v));
            if (!*v || strlen(v) >= sizeof p->key)
                return bad(c, s, "tune.parameters: bad key '%s'%s", v, "");
            snprintf(p->key, sizeof p->key, "%s", v);
        } else if (!strcmp(k, "type")) {
            CF_TRY(get_str(c, s, &type));
        } else if (!strcmp(k, "scale")) {
            CF_TRY(get_str(c, s, &scale));
        } else if (!strcmp(k, "min")) {
            CF_TRY(get_num(c, s, &p->min));
            has_min = 1;
        } else if (!strcmp(k, "max")) {
            CF_TRY(get_num(c, s, &p->max));
            has_max = 1;
        } else if (!strcmp(k, "steps")) {
            CF_TRY(get_int(c, s, 1, &p->steps));
        } else if (!strcmp(k, "values")) {
            vals = s;
        } else if (c->strict) {
            char hint[512];
            cf_schema_hint(cf_tune_param_params, k, hint, sizeof hint);
            return bad(c, s, "unknown key '%s' in tune.parameters%s", k, hint);
        }
    }
    if (!p->key[0]) return bad(c, g, "tune.parameters: entry without 'key'%s%s", "", "");
    if (!type) return bad(c, g, "tune.parameters '%s': 'type' is required (continuous, integer, categorical)%s", p->key, "");
    if (!strcmp(type, "categorical")) {
        p->type = CF_TP_CATEGORICAL;
        if (!vals || (!config_setting_is_array(vals) && !config_setting_is_list(vals)) ||
            config_setting_length(vals) < 1)
            return bad(c, vals ? vals : g, "tune.parameters '%s': categorical needs values = [ ... ]%s", p->key, "");
        int n = config_setting_length(vals);
        p->values = calloc((size_t)n, sizeof *p->values);
        if (!p->values) return cf_error_set(c->err, CF_ERR_NOMEM, "tune: out of memory");
        p->values_are_numbers = 1;
        for (int i = 0; i < n; i++) {
            config_setting_t *e = config_setting_get_elem(vals, i);
            char buf[128];
            if (config_setting_type(e) == CONFIG_TYPE_STRING) {
                snprintf(buf, sizeof buf, "%s", config_setting_get_string(e));
                p->values_are_numbers = 0;
            } else if (config_setting_type(e) == CONFIG_TYPE_BOOL) {
                snprintf(buf, sizeof buf, "%s", config_setting_get_bool(e) ? "true" : "false");
            } else if (is_number(e)) {
                if (config_setting_type(e) == CONFIG_TYPE_FLOAT) {
                    cf_tune_param tmp = {.type = CF_TP_CONTINUOUS};
                    cf_tune_format_value(&tmp, config_setting_get_float(e), buf, sizeof buf);
                } else {
                    snprintf(buf, sizeof buf, "%lld", (long long)config_setting_get_int64(e));
                }
            } else {
                return bad(c, e, "tune.parameters '%s': values must be strings, numbers or booleans%s", p->key, "");
            }
            p->values[i] = strdup(buf);
            if (!p->values[i]) return cf_error_set(c->err, CF_ERR_NOMEM, "tune: out of memory");
            p->n_values = i + 1;
        }
        if (has_min || has_max)
            return bad(c, g, "tune.parameters '%s': categorical takes values, not min/max%s", p->key, "");
        return CF_OK;
    }
    if (!strcmp(type, "continuous")) p->type = CF_TP_CONTINUOUS;
    else if (!strcmp(type, "integer")) p->type = CF_TP_INTEGER;
    else return bad(c, g, "tune.parameters '%s': type '%s' is not continuous, integer or categorical", p->key, type);
    if (vals) return bad(c, vals, "tune.parameters '%s': 'values' is only for categorical%s", p->key, "");
    if (!has_min || !has_max) return bad(c, g, "tune.parameters '%s': min and max are required%s", p->key, "");
    if (!(p->min < p->max)) return bad(c, g, "tune.parameters '%s': min must be below max%s", p->key, "");
    if (p->type == CF_TP_INTEGER && (p->min != floor(p->min) || p->max != floor(p->max)))
        return bad(c, g, "tune.parameters '%s': integer range needs integer min and max%s", p->key, "");
    if (!strcmp(scale, "linear") || !strcmp(scale, "Linear")) p->scale = CF_TS_LINEAR;
    else if (!strcmp(scale, "log") || !strcmp(scale, "logarithmic") || !strcmp(scale, "Logarithmic")) p->scale = CF_TS_LOG;
    else if (!strcmp(scale, "reverse-log") || !strcmp(scale, "reverse_log") ||
             !strcmp(scale, "ReverseLogarithmic")) p->scale = CF_TS_REVLOG;
    else if (!strcmp(scale, "auto") || !strcmp(scale, "Auto"))
        /* Auto: log when the range is positive and spans two decades. */
        p->scale = (p->min > 0 && p->max / p->min >= 100.0) ? CF_TS_LOG : CF_TS_LINEAR;
    else return bad(c, g, "tune.parameters '%s': scale '%s' is not linear, log, reverse-log or auto", p->key, scale);
    if (p->scale == CF_TS_LOG && p->min <= 0)
        return bad(c, g, "tune.parameters '%s': log scale needs min > 0%s", p->key, "");
    if (p->scale == CF_TS_REVLOG && (p->type != CF_TP_CONTINUOUS || p->min < 0 || p->max >= 1))
        return bad(c, g, "tune.parameters '%s': reverse-log needs a continuous range with 0 <= min < max < 1%s", p->key, "");
    return CF_OK;
}

static cf_status parse_tune(ctx *c, config_t *conf, config_setting_t *t, cf_tune_config *cfg)
{
    cfg->max_trials = -1;
    cfg->max_parallel = 1;
    cfg->es_min_epochs = 1;
    cfg->es_min_trials = 3;
    cfg->min_epochs = 1;
    cfg->eta = 3;
    cfg->use_log_ei = 1;
    cfg->initial_trials = -1;
    cfg->restart_tol = 0.003;
    int have_strategy = 0, have_params = 0, promotion = -1; /* -1 auto, 0 restart, 1 continue */
    config_setting_t *params = NULL, *promotion_at = NULL, *budget_at = NULL;
    for (int i = 0; i < config_setting_length(t); i++) {
        config_setting_t *s = config_setting_get_elem(t, i);
        const char *k = config_setting_name(s), *v = NULL;
        double d;
        if (!strcmp(k, "strategy")) {
            CF_TRY(get_str(c, s, &v));
            if (!strcasecmp(v, "grid")) cfg->strategy = CF_STRAT_GRID;
            else if (!strcasecmp(v, "random")) cfg->strategy = CF_STRAT_RANDOM;
            else if (!strcasecmp(v, "bayesian")) cfg->strategy = CF_STRAT_BAYESIAN;
            else if (!strcasecmp(v, "hyperband")) cfg->strategy = CF_STRAT_HYPERBAND;
            else if (!strcasecmp(v, "asha")) cfg->strategy = CF_STRAT_ASHA;
            else return bad(c, s, "tune.strategy '%s': expected grid, random, bayesian, hyperband or asha%s", v, "");
            have_strategy = 1;
        } else if (!strcmp(k, "objective")) {
            CF_TRY(parse_objective(c, s, cfg));
        } else if (!strcmp(k, "name")) {
            CF_TRY(get_str(c, s, &v));
            if (!*v || strchr(v, '/') || strlen(v) >= sizeof cfg->name)
                return bad(c, s, "tune.name '%s': must be a plain, non-empty file name%s", v, "");
            snprintf(cfg->name, sizeof cfg->name, "%s", v);
        } else if (!strcmp(k, "max_trials")) {
            CF_TRY(get_int(c, s, 1, &cfg->max_trials));
        } else if (!strcmp(k, "max_parallel")) {
            CF_TRY(get_int(c, s, 1, &cfg->max_parallel));
        } else if (!strcmp(k, "seed")) {
            int sd;
            CF_TRY(get_int(c, s, 0, &sd));
            cfg->seed = (uint64_t)sd;
        } else if (!strcmp(k, "max_wall_seconds")) {
            CF_TRY(get_seconds(c, s, &cfg->max_wall_seconds));
        } else if (!strcmp(k, "target")) {
            CF_TRY(get_num(c, s, &cfg->target));
            cfg->has_target = 1;
        } else if (!strcmp(k, "max_total_epochs")) {
            int e;
            CF_TRY(get_int(c, s, 1, &e));
            cfg->max_total_epochs = e;
            budget_at = s;
        } else if (!strcmp(k, "no_improvement_trials")) {
            CF_TRY(get_int(c, s, 1, &cfg->no_improvement_trials));
        } else if (!strcmp(k, "trial_timeout")) {
            CF_TRY(get_seconds(c, s, &cfg->trial_timeout));
        } else if (!strcmp(k, "early_stopping")) {
            CF_TRY(get_str(c, s, &v));
            if (!strcasecmp(v, "auto")) cfg->early_stopping = 1;
            else if (!strcasecmp(v, "off")) cfg->early_stopping = 0;
            else return bad(c, s, "tune.early_stopping '%s': expected auto or off%s", v, "");
        } else if (!strcmp(k, "early_stopping_min_epochs")) {
            CF_TRY(get_int(c, s, 1, &cfg->es_min_epochs));
        } else if (!strcmp(k, "early_stopping_min_trials")) {
            CF_TRY(get_int(c, s, 1, &cfg->es_min_trials));
        } else if (!strcmp(k, "epochs")) {
            CF_TRY(get_int(c, s, 1, &cfg->epochs));
        } else if (!strcmp(k, "min_epochs")) {
            CF_TRY(get_int(c, s, 1, &cfg->min_epochs));
        } else if (!strcmp(k, "max_epochs")) {
            CF_TRY(get_int(c, s, 1, &cfg->max_epochs));
        } else if (!strcmp(k, "eta")) {
            CF_TRY(get_int(c, s, 2, &cfg->eta));
        } else if (!strcmp(k, "brackets")) {
            CF_TRY(get_int(c, s, 1, &cfg->hb_brackets));
        } else if (!strcmp(k, "promotion")) {
            CF_TRY(get_str(c, s, &v));
            if (!strcasecmp(v, "auto")) promotion = -1;
            else if (!strcasecmp(v, "continue")) promotion = 1;
            else if (!strcasecmp(v, "restart")) promotion = 0;
            else return bad(c, s, "tune.promotion '%s': expected auto, continue or restart%s", v, "");
            promotion_at = s;
        } else if (!strcmp(k, "initial_trials")) {
            CF_TRY(get_int(c, s, 1, &cfg->initial_trials));
        } else if (!strcmp(k, "restart_period")) {
            CF_TRY(get_int(c, s, 0, &cfg->restart_period));
            if (cfg->restart_period == 1)
                return bad(c, s, "tune.restart_period 1: expected 0 (off) or >= 2 (one in N proposals refines the best)%s%s", "", "");
        } else if (!strcmp(k, "restart_tol")) {
            CF_TRY(get_num(c, s, &cfg->restart_tol));
            if (!(cfg->restart_tol >= 0 && cfg->restart_tol <= 1)) {
                char num[64];
                snprintf(num, sizeof num, "%g", cfg->restart_tol);
                return bad(c, s, "tune.restart_tol %s: expected a fraction in [0, 1]%s", num, "");
            }
        } else if (!strcmp(k, "acquisition")) {
            CF_TRY(get_str(c, s, &v));
            if (!strcmp(v, "ei")) cfg->use_log_ei = 0;
            else if (!strcmp(v, "log_ei")) cfg->use_log_ei = 1;
            else return bad(c, s, "tune.acquisition '%s': expected ei or log_ei%s", v, "");
        } else if (!strcmp(k, "parameters")) {
            if (!config_setting_is_list(s) || config_setting_length(s) < 1)
                return bad(c, s, "tune.parameters must be a non-empty list ( { ... }, ... )%s%s", "", "");
            params = s;
            have_params = 1;
        } else if (c->strict) {
            char hint[1024];
            cf_schema_hint(cf_tune_params, k, hint, sizeof hint);
            return bad(c, s, "unknown key '%s' in tune%s", k, hint);
        }
        (void)d;
    }
    if (!have_strategy) return bad(c, t, "tune: 'strategy' is required%s%s", "", "");
    if (!have_params) return bad(c, t, "tune: 'parameters' is required%s%s", "", "");
    if (!cfg->objective.json_key[0]) return bad(c, t, "tune: 'objective' is required%s%s", "", "");

    int n = config_setting_length(params);
    cfg->space.p = calloc((size_t)n, sizeof *cfg->space.p);
    if (!cfg->space.p) return cf_error_set(c->err, CF_ERR_NOMEM, "tune: out of memory");
    for (int i = 0; i < n; i++) {
        cfg->space.n = i + 1;
        CF_TRY(parse_param(c, config_setting_get_elem(params, i), &cfg->space.p[i]));
        for (int j = 0; j < i; j++)
            if (!strcmp(cfg->space.p[j].key, cfg->space.p[i].key))
                return bad(c, config_setting_get_elem(params, i), "tune.parameters: key '%s' appears twice%s", cfg->space.p[i].key, "");
    }

    cf_tune_objective *o = &cfg->objective;
    if (o->function) {
        int d = cf_tune_synthetic_dim(o->function);
        if (n != d)
            return bad(c, params, "tune.parameters: %s takes exactly x1..x%s", cf_tune_synthetic_name(o->function),
                       d == 2 ? "2" : "6");
        for (int i = 0; i < n; i++) {
            char want[16];
            snprintf(want, sizeof want, "x%d", i + 1);
            if (strcmp(cfg->space.p[i].key, want) || cfg->space.p[i].type == CF_TP_CATEGORICAL)
                return bad(c, config_setting_get_elem(params, i),
                           "tune.parameters: synthetic objectives take numeric x1, x2, ... in order; got '%s' where '%s' belongs",
                           cfg->space.p[i].key, want);
        }
        if (!cfg->epochs) cfg->epochs = 1;
    } else if (!cfg->epochs) {
        int e;
        if (config_lookup_int(conf, "train.epochs", &e) == CONFIG_TRUE && e > 0) cfg->epochs = e;
    }

    if (cfg->max_trials < 0) cfg->max_trials = cfg->strategy == CF_STRAT_GRID ? 0 : 20;
    int mf = cfg->strategy == CF_STRAT_HYPERBAND || cfg->strategy == CF_STRAT_ASHA;
    if (mf) {
        if (!cfg->max_epochs) cfg->max_epochs = cfg->epochs;
        if (cfg->max_epochs < 1)
            return bad(c, t, "tune: %s needs max_epochs (the most epochs a trial may get)%s",
                       cf_tune_strategy_name(cfg->strategy), "");
        if (cfg->min_epochs > cfg->max_epochs)
            return bad(c, t, "tune: min_epochs must not exceed max_epochs%s%s", "", "");
        /* A promotion continues its parent's run unless the learning rates
         * depend on the run's length: a cosine, onecycle, poly or linear
         * schedule over train.epochs (no t_max), or
         * a tuned schedule (which may be one). */
        const char *why = NULL, *type = "constant";
        int t_max = 0, t_0 = 0;
        config_lookup_string(conf, "train.lr_schedule.type", &type);
        config_lookup_int(conf, "train.lr_schedule.t_max", &t_max);
        config_lookup_int(conf, "train.lr_schedule.t_0", &t_0);
        char whybuf[96];
        int per_step = !strcmp(type, "onecycle") || !strcmp(type, "poly") || !strcmp(type, "linear");
        if (!o->function && ((!strcmp(type, "cosine") && t_0 <= 0) || per_step) && t_max <= 0) {
            snprintf(whybuf, sizeof whybuf, "the %s lr_schedule spans train.epochs", type);
            why = whybuf;
        }
        for (int i = 0; i < n && !why && !o->function; i++)
            if (!strncmp(cfg->space.p[i].key, "train.lr_schedule", 17) || !strcmp(cfg->space.p[i].key, "train.epochs"))
                why = "the learning-rate schedule or train.epochs is tuned";
        if (promotion == 1 && why)
            return bad(c, promotion_at, "tune.promotion 'continue': %s, so a continued run would not match "
                                        "one trained from scratch; use restart (or auto)%s", why, "");
        cfg->promote_continue = promotion == 1 || (promotion == -1 && !why);
        if (cfg->strategy == CF_STRAT_HYPERBAND && budget_at &&
            cf_hyperband_min_cost(cfg) > cfg->max_total_epochs) {
            char have[32], need[32];
            snprintf(have, sizeof have, "%ld", cfg->max_total_epochs);
            snprintf(need, sizeof need, "%ld", cf_hyperband_min_cost(cfg));
            return bad(c, budget_at, "tune.max_total_epochs = %s: too small for one hyperband bracket "
                                     "(the first, with one configuration reaching max_epochs, needs %s epochs)",
                       have, need);
        }
    }
    if (cfg->initial_trials < 0) {
        /* Two space-filling points per encoded dimension (at least 5): with
         * fewer, EI settles in the first basin it finds more often
         * (measured on Hartmann-6, bench/RESULTS.md). */
        int d = cf_tune_encoded_dim(&cfg->space);
        cfg->initial_trials = 2 * d < 5 ? 5 : 2 * d;
    }
    return CF_OK;
}

/* Search-space keys must be config keys the schema knows (plugin keys for
 * the base config's plugin, or any plugin the space itself tries). */
static cf_status check_space_keys(ctx *c, config_t *conf, const cf_registry *reg,
                                  const config_setting_t *params, cf_tune_config *cfg, FILE *warn)
{
    if (cfg->objective.function) return CF_OK; /* x1, x2, ...: not config keys */
    char alts[512] = "";
    size_t al = 0;
    for (int i = 0; i < cfg->space.n; i++) {
        const char *k = cfg->space.p[i].key;
        if (!strcmp(k, "optimizer.plugin") && cfg->space.p[i].type == CF_TP_CATEGORICAL)
            for (int v = 0; v < cfg->space.p[i].n_values && al + 64 < sizeof alts; v++)
                al += (size_t)snprintf(alts + al, sizeof alts - al, "%s|", cfg->space.p[i].values[v]);
    }
    for (int i = 0; i < cfg->space.n; i++) {
        cf_error e = {0};
        if (!cf_schema_check_key(conf, reg, cfg->space.p[i].key, alts, &e)) continue;
        const config_setting_t *g = config_setting_get_elem(params, (unsigned)i);
        if (!c->strict) {
            if (warn) fprintf(warn, "warning: %s:%d: tune.parameters key '%s': %s; ignored (strict_keys is off)\n",
                              c->file, line_of(g), cfg->space.p[i].key, e.msg);
            continue;
        }
        return bad(c, g, "tune.parameters key '%s': %s", cfg->space.p[i].key, e.msg);
    }
    return CF_OK;
}

cf_status cf_tune_config_load(const char *path, cf_tune_config *cfg, cf_error *err)
{
    return cf_tune_config_load_opts(path, NULL, cfg, err);
}

cf_status cf_tune_config_load_opts(const char *path, const cf_tune_load_opts *lo, cf_tune_config *cfg,
                                   cf_error *err)
{
    /* Without options (the library's plain load) the space stays abstract:
     * its keys and the training keys are not checked against the schema. */
    static const cf_tune_load_opts none = {NULL, 0, 0, NULL, NULL};
    int check = lo != NULL;
    if (!lo) lo = &none;
    memset(cfg, 0, sizeof *cfg);
    if (strlen(path) >= sizeof cfg->config_path)
        return cf_error_set(err, CF_ERR_INVALID, "%s: path too long", path);
    snprintf(cfg->config_path, sizeof cfg->config_path, "%s", path);
    cf_config cc;
    cf_status st = cf_config_load(&cc, path, err);
    if (st) {
        if (st == CF_ERR_IO) cf_error_set(err, CF_ERR_IO, "%s: cannot read the file", path);
        return st;
    }
    config_t *conf = &cc.cfg;
    for (int i = 0; i < lo->n_sets && !st; i++) {
        st = cf_config_set(&cc, lo->sets[i], err);
        if (st && !strstr(err->msg, "--set")) cf_error_prefix(err, "--set %s", lo->sets[i]);
    }
    /* The whole file is a training config too (trials train it): every key,
     * tune's and training's, is checked against the schema. */
    int strict = 1;
    config_lookup_bool(conf, "strict_keys", &strict);
    strict = strict && !lo->allow_unknown;
    cf_registry *reg = NULL;
    if (!st && check) {
        const char *pp[16];
        int np = 0;
        config_setting_t *pl = config_lookup(conf, "plugin_path");
        for (int i = 0; pl && i < config_setting_length(pl) && np < 16; i++) {
            const char *v = config_setting_get_string_elem(pl, i);
            if (v) pp[np++] = v;
        }
        cf_error re = {0};
        if (cf_registry_create(&reg, pp, np, &re)) reg = NULL; /* plugin keys then go unchecked */
        cf_schema_opts so = {reg, strict, lo->warn, lo->sets, lo->n_sets};
        st = cf_schema_check_config(&cc, &so, err);
    }
    ctx c = {path, err, strict};
    config_setting_t *t = st ? NULL : config_lookup(conf, "tune");
    if (st) {
    } else if (!t) {
        st = cf_error_set(err, CF_ERR_INVALID, "%s: no 'tune = { ... }' group: nothing to tune", path);
    } else if (!config_setting_is_group(t)) {
        st = bad(&c, t, "'tune' must be a group { ... }%s%s", "", "");
    } else {
        st = parse_tune(&c, conf, t, cfg);
        if (st == CF_OK && check)
            st = check_space_keys(&c, conf, reg, config_setting_get_member(t, "parameters"), cfg, lo->warn);
    }
    if (st == CF_OK && !cfg->name[0]) {
        /* Default study name: the config file's base name without .cfg. */
        const char *b = strrchr(path, '/');
        b = b ? b + 1 : path;
        snprintf(cfg->name, sizeof cfg->name, "%s", b);
        char *dot = strrchr(cfg->name, '.');
        if (dot && dot != cfg->name) *dot = 0;
    }
    if (st == CF_OK && lo->resolved) *lo->resolved = cf_config_to_string(&cc);
    cf_registry_destroy(reg);
    cf_config_free(&cc);
    if (st != CF_OK) cf_tune_config_free(cfg);
    return st;
}

void cf_tune_config_free(cf_tune_config *cfg) { cf_tune_space_free(&cfg->space); }

const char *cf_tune_strategy_name(cf_tune_strategy_kind k)
{
    switch (k) {
    case CF_STRAT_GRID: return "grid";
    case CF_STRAT_RANDOM: return "random";
    case CF_STRAT_BAYESIAN: return "bayesian";
    case CF_STRAT_HYPERBAND: return "hyperband";
    case CF_STRAT_ASHA: return "asha";
    }
    return "?";
}
