/* clforge — learning-rate schedules; formulas in schedule.h. */
#include "train/schedule.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cf_param_def cf_schedule_params[] = {
    {"type", CF_PT_STRING, "constant", CF_PARAM_NO_RANGE,
     "constant|step|exponential|cosine|plateau|onecycle|poly|linear",
     "schedule applied after warm-up (onecycle, poly, linear change the rate every batch)"},
    {"steps", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL,
     "step: epochs at which the rate is multiplied by factor, e.g. \"10,20\" (SageMaker lr_scheduler_step)"},
    {"factor", CF_PT_FLOAT, "0.1", 0.0, 1.0, NULL,
     "step, exponential, plateau: multiplier applied at each cut (SageMaker lr_scheduler_factor)"},
    {"every", CF_PT_INT, "1", 1, 1e6, NULL, "exponential: multiply by factor every this many epochs"},
    {"t_max", CF_PT_INT, "0", 0, 1e6, NULL,
     "cosine: epochs of the half cosine; onecycle, poly, linear: epochs of the schedule; 0 = all epochs "
     "after warm-up"},
    {"eta_min", CF_PT_FLOAT, "0", 0.0, 10.0, NULL, "cosine: the lowest rate"},
    {"t_0", CF_PT_INT, "0", 0, 1e6, NULL,
     "cosine: first restart cycle length in epochs (SGDR warm restarts); 0 = no restarts"},
    {"t_mult", CF_PT_FLOAT, "1", 1.0, 100.0, NULL, "cosine: each restart cycle is this many times longer"},
    {"warmup_epochs", CF_PT_INT, "0", 0, 1e6, NULL,
     "linear warm-up length in epochs (ramped per batch), in front of any schedule"},
    {"warmup_start_factor", CF_PT_FLOAT, "0.1", 0.0, 1.0, NULL,
     "warm-up starts at base rate times this"},
    {"patience", CF_PT_INT, "3", 1, 1e6, NULL,
     "plateau: epochs without validation-loss improvement before the rate is cut"},
    {"threshold", CF_PT_FLOAT, "1e-4", 0.0, 1.0, NULL,
     "plateau: relative improvement the loss must make to count"},
    {"min_lr", CF_PT_FLOAT, "0", 0.0, 10.0, NULL, "plateau: never cut below this rate"},
    {"warmup_steps", CF_PT_INT, "0", 0, 1e9, NULL,
     "linear warm-up length in batches (instead of warmup_epochs), in front of any schedule"},
    {"pct_start", CF_PT_FLOAT, "0.3", 0.0, 1.0, NULL,
     "onecycle: fraction of the steps spent rising to the peak (optimizer.learning_rate = max_lr)"},
    {"div_factor", CF_PT_FLOAT, "25", 1.0, 1e9, NULL, "onecycle: the start rate is max_lr / div_factor"},
    {"final_div_factor", CF_PT_FLOAT, "1e4", 1.0, 1e12, NULL,
     "onecycle: the last rate is the start rate / final_div_factor"},
    {"anneal", CF_PT_STRING, "cos", CF_PARAM_NO_RANGE, "cos|linear", "onecycle: shape of both phases"},
    {"power", CF_PT_FLOAT, "1", 0.0, 100.0, NULL, "poly: exponent of (1 - t / N)"},
    {"start_factor", CF_PT_FLOAT, "1", 1e-9, 1.0, NULL, "linear: the first rate is base rate times this"},
    {"end_factor", CF_PT_FLOAT, "0", 0.0, 1.0, NULL, "linear: the last rate is base rate times this"},
    CF_PARAM_TABLE_END};

static const char *const type_names[] = {"constant", "step",     "exponential", "cosine",
                                         "plateau",  "onecycle", "poly",        "linear"};

struct cf_schedule {
    cf_schedule_spec sp;
    double base;
    int total;
    int t_cos; /* cosine period without restarts; per-step schedules: their epochs */
    int steps; /* batches per epoch */
    /* plateau state */
    double plateau_lr;
    int has_best;
    double best;
    int bad;
    int last_observed;
};

void cf_schedule_spec_default(cf_schedule_spec *s)
{
    memset(s, 0, sizeof *s);
    s->type = CF_SCHED_CONSTANT;
    s->factor = 0.1;
    s->every = 1;
    s->t_mult = 1.0;
    s->warmup_start_factor = 0.1;
    s->patience = 3;
    s->threshold = 1e-4;
    s->pct_start = 0.3;
    s->div_factor = 25;
    s->final_div_factor = 1e4;
    s->power = 1;
    s->start_factor = 1;
}

int cf_schedule_type_parse(const char *name)
{
    for (int i = 0; name && i < (int)(sizeof type_names / sizeof type_names[0]); i++)
        if (strcmp(name, type_names[i]) == 0) return i;
    return -1;
}

const char *cf_schedule_type_name(cf_schedule_type t)
{
    return (int)t >= 0 && (int)t < (int)(sizeof type_names / sizeof type_names[0]) ? type_names[t]
                                                                                  : "?";
}

cf_status cf_schedule_parse_steps(const char *text, int *steps, int cap, int *n, cf_error *err)
{
    *n = 0;
    const char *p = text ? text : "";
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p)
            return cf_error_set(err, CF_ERR_INVALID,
                                "lr_schedule.steps: \"%s\": expected comma-separated epochs like \"10,20\"",
                                text);
        if (v < 1 || v > 1000000)
            return cf_error_set(err, CF_ERR_INVALID, "lr_schedule.steps: epoch %ld out of range (1..1000000)", v);
        if (*n > 0 && v <= steps[*n - 1])
            return cf_error_set(err, CF_ERR_INVALID, "lr_schedule.steps: \"%s\" must be strictly ascending", text);
        if (*n >= cap)
            return cf_error_set(err, CF_ERR_INVALID, "lr_schedule.steps: more than %d steps", cap);
        steps[(*n)++] = (int)v;
        p = e;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p)
            return cf_error_set(err, CF_ERR_INVALID,
                                "lr_schedule.steps: \"%s\": unexpected '%c'", text, *p);
    }
    return CF_OK;
}

cf_status cf_schedule_create(const cf_params *p, double base_lr, int total_epochs,
                             cf_schedule **out, cf_error *err)
{
    cf_schedule_spec sp;
    cf_schedule_spec_default(&sp);
    if (p) {
        const char *t = cf_params_str(p, "type");
        int ti = cf_schedule_type_parse(t ? t : "constant");
        if (ti < 0)
            return cf_error_set(err, CF_ERR_INVALID,
                                "lr_schedule.type: unknown \"%s\" (constant, step, exponential, cosine, plateau, "
                                "onecycle, poly, linear)",
                                t);
        sp.type = (cf_schedule_type)ti;
        CF_TRY(cf_schedule_parse_steps(cf_params_str(p, "steps"), sp.steps, CF_SCHEDULE_MAX_STEPS,
                                       &sp.n_steps, err));
        sp.factor = cf_params_num(p, "factor");
        sp.every = cf_params_int(p, "every");
        sp.t_max = cf_params_int(p, "t_max");
        sp.eta_min = cf_params_num(p, "eta_min");
        sp.t_0 = cf_params_int(p, "t_0");
        sp.t_mult = cf_params_num(p, "t_mult");
        sp.warmup_epochs = cf_params_int(p, "warmup_epochs");
        sp.warmup_start_factor = cf_params_num(p, "warmup_start_factor");
        sp.patience = cf_params_int(p, "patience");
        sp.threshold = cf_params_num(p, "threshold");
        sp.min_lr = cf_params_num(p, "min_lr");
        sp.warmup_steps = cf_params_int(p, "warmup_steps");
        sp.pct_start = cf_params_num(p, "pct_start");
        sp.div_factor = cf_params_num(p, "div_factor");
        sp.final_div_factor = cf_params_num(p, "final_div_factor");
        sp.anneal_linear = !strcmp(cf_params_str(p, "anneal"), "linear");
        sp.power = cf_params_num(p, "power");
        sp.start_factor = cf_params_num(p, "start_factor");
        sp.end_factor = cf_params_num(p, "end_factor");
    }
    return cf_schedule_create_spec(&sp, base_lr, total_epochs, out, err);
}

cf_status cf_schedule_create_spec(const cf_schedule_spec *spec, double base_lr, int total_epochs,
                                  cf_schedule **out, cf_error *err)
{
    *out = NULL;
    const cf_schedule_spec *s = spec;
    if (!(base_lr >= 0) || !isfinite(base_lr))
        return cf_error_set(err, CF_ERR_INVALID, "lr_schedule: base learning rate %g is not a finite number >= 0", base_lr);
    if (total_epochs < 1)
        return cf_error_set(err, CF_ERR_INVALID, "lr_schedule: total epochs %d < 1", total_epochs);
    if (cf_schedule_type_parse(cf_schedule_type_name(s->type)) < 0)
        return cf_error_set(err, CF_ERR_INVALID, "lr_schedule: bad type %d", (int)s->type);
    if (!(s->factor >= 0 && s->factor <= 1))
        return cf_error_set(err, CF_ERR_INVALID, "lr_schedule.factor: %g not in [0, 1]", s->factor);
    if (!(s->warmup_start_factor >= 0 && s->warmup_start_factor <= 1))
        return cf_error_set(err, CF_ERR_INVALID, "lr_schedule.warmup_start_factor: %g not in [0, 1]",
                            s->warmup_start_factor);
    if (s->warmup_epochs < 0)
        return cf_error_set(err, CF_ERR_INVALID, "lr_schedule.warmup_epochs: %d < 0", s->warmup_epochs);
    if (s->type == CF_SCHED_STEP && s->n_steps < 1)
        return cf_error_set(err, CF_ERR_INVALID, "lr_schedule: type \"step\" needs steps, e.g. steps = \"10,20\"");
    if (s->type == CF_SCHED_EXPONENTIAL && s->every < 1)
        return cf_error_set(err, CF_ERR_INVALID, "lr_schedule.every: %d < 1", s->every);
    int t_cos = s->t_max > 0 ? s->t_max : total_epochs - s->warmup_epochs;
    if (s->type == CF_SCHED_COSINE) {
        if (s->t_0 < 0 || !(s->t_mult >= 1))
            return cf_error_set(err, CF_ERR_INVALID, "lr_schedule: cosine needs t_0 >= 0 and t_mult >= 1");
        if (!(s->eta_min >= 0) || s->eta_min > base_lr)
            return cf_error_set(err, CF_ERR_INVALID, "lr_schedule.eta_min: %g not in [0, base rate %g]",
                                s->eta_min, base_lr);
        if (s->t_0 == 0 && t_cos < 1)
            return cf_error_set(err, CF_ERR_INVALID,
                                "lr_schedule: cosine has no epochs left after %d warm-up epochs of %d (set t_max)",
                                s->warmup_epochs, total_epochs);
    }
    if (s->type == CF_SCHED_PLATEAU && (s->patience < 1 || !(s->threshold >= 0) || !(s->min_lr >= 0)))
        return cf_error_set(err, CF_ERR_INVALID,
                            "lr_schedule: plateau needs patience >= 1, threshold >= 0, min_lr >= 0");
    if (s->warmup_steps < 0 || (s->warmup_steps > 0 && s->warmup_epochs > 0))
        return cf_error_set(err, CF_ERR_INVALID,
                            "lr_schedule: warmup_steps = %d and warmup_epochs = %d: give one warm-up length",
                            s->warmup_steps, s->warmup_epochs);
    if (s->type >= CF_SCHED_ONECYCLE) {
        if (t_cos < 1)
            return cf_error_set(err, CF_ERR_INVALID,
                                "lr_schedule: %s has no epochs left after %d warm-up epochs of %d (set t_max)",
                                cf_schedule_type_name(s->type), s->warmup_epochs, total_epochs);
        if (s->type == CF_SCHED_ONECYCLE &&
            !(s->pct_start > 0 && s->pct_start < 1 && s->div_factor >= 1 && s->final_div_factor >= 1))
            return cf_error_set(err, CF_ERR_INVALID,
                                "lr_schedule: onecycle needs 0 < pct_start < 1, div_factor >= 1, final_div_factor >= 1");
        if (s->type == CF_SCHED_POLY && !(s->power >= 0))
            return cf_error_set(err, CF_ERR_INVALID, "lr_schedule.power: %g < 0", s->power);
        if (s->type == CF_SCHED_LINEAR &&
            !(s->start_factor > 0 && s->start_factor <= 1 && s->end_factor >= 0 && s->end_factor <= 1))
            return cf_error_set(err, CF_ERR_INVALID,
                                "lr_schedule: linear needs 0 < start_factor <= 1 and 0 <= end_factor <= 1");
    }
    cf_schedule *sc = calloc(1, sizeof *sc);
    if (!sc) return cf_error_set(err, CF_ERR_NOMEM, "lr_schedule: out of memory");
    sc->sp = *s;
    sc->base = base_lr;
    sc->total = total_epochs;
    sc->t_cos = t_cos;
    sc->steps = 1;
    sc->plateau_lr = base_lr;
    sc->last_observed = -1;
    *out = sc;
    return CF_OK;
}

void cf_schedule_free(cf_schedule *s) { free(s); }

void cf_schedule_set_steps(cf_schedule *s, int steps_per_epoch)
{
    s->steps = steps_per_epoch > 0 ? steps_per_epoch : 1;
}

int cf_schedule_spans_total(const cf_schedule *s)
{
    if (s->sp.type >= CF_SCHED_ONECYCLE) return s->sp.t_max <= 0;
    return s->sp.type == CF_SCHED_COSINE && s->sp.t_max <= 0 && s->sp.t_0 <= 0;
}

static double anneal(int linear, double from, double to, double q)
{
    return linear ? from + (to - from) * q : to + (from - to) * (1 + cos(M_PI * q)) / 2;
}

/* The per-step schedules at step t >= 0 after warm-up (formulas in schedule.h). */
static double step_lr(const cf_schedule *s, double t)
{
    const cf_schedule_spec *sp = &s->sp;
    double n = sp->t_max > 0 ? (double)sp->t_max * s->steps
                             : (double)(s->total - sp->warmup_epochs) * s->steps - sp->warmup_steps;
    double b = s->base;
    if (n < 1) n = 1;
    switch (sp->type) {
    case CF_SCHED_ONECYCLE: {
        double a = b / sp->div_factor, z = a / sp->final_div_factor, p = sp->pct_start * n - 1;
        if (t > n - 1) t = n - 1; /* past the end: torch refuses, the run keeps the last rate */
        if (t <= p) return p > 0 ? anneal(sp->anneal_linear, a, b, t / p) : b;
        return n - 1 > p ? anneal(sp->anneal_linear, b, z, (t - p) / (n - 1 - p)) : z;
    }
    case CF_SCHED_POLY: return b * pow(1 - (t < n ? t : n) / n, sp->power);
    case CF_SCHED_LINEAR:
        return b * (sp->start_factor + (sp->end_factor - sp->start_factor) * (t < n ? t : n) / n);
    default: return b;
    }
}

static double cosine_at(const cf_schedule *s, int e)
{
    const cf_schedule_spec *sp = &s->sp;
    double cur = e, len = s->t_cos;
    if (sp->t_0 > 0) {
        len = sp->t_0;
        while (cur >= len) {
            cur -= len;
            len *= sp->t_mult;
        }
    } else if (e >= s->t_cos) {
        return sp->eta_min;
    }
    return sp->eta_min + (s->base - sp->eta_min) * (1 + cos(M_PI * cur / len)) / 2;
}

static double main_lr(const cf_schedule *s, int epoch)
{
    const cf_schedule_spec *sp = &s->sp;
    int e = epoch - sp->warmup_epochs;
    if (e < 0) e = 0;
    switch (sp->type) {
    case CF_SCHED_STEP: {
        double lr = s->base;
        for (int i = 0; i < sp->n_steps; i++)
            if (epoch >= sp->steps[i]) lr *= sp->factor;
        return lr;
    }
    case CF_SCHED_EXPONENTIAL: return s->base * pow(sp->factor, (double)(e / sp->every));
    case CF_SCHED_COSINE: return cosine_at(s, e);
    case CF_SCHED_PLATEAU: return s->plateau_lr;
    case CF_SCHED_CONSTANT:
    default: return s->base;
    }
}

double cf_schedule_lr(cf_schedule *s, int epoch, double frac)
{
    if (epoch < 0) epoch = 0;
    if (!(frac >= 0)) frac = 0;
    if (frac > 1) frac = 1;
    /* batch k of the run, 0-based (frac = b / steps in the trainer) */
    double k = (double)epoch * s->steps + floor(frac * s->steps + 0.5);
    int w = s->sp.warmup_epochs, ws = s->sp.warmup_steps;
    double lr;
    if (s->sp.type >= CF_SCHED_ONECYCLE) {
        double t = k - (double)w * s->steps - ws;
        lr = step_lr(s, t > 0 ? t : 0);
    } else {
        lr = main_lr(s, epoch);
    }
    double sf = s->sp.warmup_start_factor;
    if (w > 0 && epoch < w) {
        double t = (epoch + frac) / w;
        if (t > 1) t = 1;
        lr *= sf + (1 - sf) * t;
    } else if (ws > 0 && k < ws) {
        lr *= sf + (1 - sf) * (k / ws);
    }
    return lr;
}

void cf_schedule_observe(cf_schedule *s, int epoch, double val_loss)
{
    if (s->sp.type != CF_SCHED_PLATEAU || epoch < s->sp.warmup_epochs || epoch <= s->last_observed)
        return;
    s->last_observed = epoch;
    int improved = 0;
    if (isfinite(val_loss)) {
        improved = !s->has_best || val_loss < s->best - fabs(s->best) * s->sp.threshold;
    }
    if (improved) {
        s->has_best = 1;
        s->best = val_loss;
        s->bad = 0;
        return;
    }
    if (++s->bad >= s->sp.patience) {
        double lr = s->plateau_lr * s->sp.factor;
        s->plateau_lr = lr > s->sp.min_lr ? lr : s->sp.min_lr;
        s->bad = 0;
    }
}

void cf_schedule_describe(const cf_schedule *s, char *buf, size_t cap)
{
    const cf_schedule_spec *sp = &s->sp;
    int n = 0;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        if ((size_t)n < cap) n += snprintf(buf + n, cap - (size_t)n, __VA_ARGS__);                 \
    } while (0)
    if (!cap) return;
    buf[0] = 0;
    ADD("%s from %g", cf_schedule_type_name(sp->type), s->base);
    switch (sp->type) {
    case CF_SCHED_STEP:
        ADD(", x%g at epochs", sp->factor);
        for (int i = 0; i < sp->n_steps; i++) ADD("%s%d", i ? "," : " ", sp->steps[i]);
        break;
    case CF_SCHED_EXPONENTIAL: ADD(", x%g every %d epoch%s", sp->factor, sp->every, sp->every == 1 ? "" : "s"); break;
    case CF_SCHED_COSINE:
        if (sp->t_0 > 0)
            ADD(" to %g, restarts every %d epochs (x%g)", sp->eta_min, sp->t_0, sp->t_mult);
        else
            ADD(" to %g over %d epochs", sp->eta_min, s->t_cos);
        break;
    case CF_SCHED_PLATEAU:
        ADD(", x%g after %d epochs without validation-loss gain (min %g)", sp->factor, sp->patience,
            sp->min_lr);
        break;
    case CF_SCHED_ONECYCLE:
        ADD(" peak (from /%g, pct_start %g, to /%g more, %s) over %d epochs", sp->div_factor, sp->pct_start,
            sp->final_div_factor, sp->anneal_linear ? "linear" : "cos", s->t_cos);
        break;
    case CF_SCHED_POLY: ADD(", power %g over %d epochs", sp->power, s->t_cos); break;
    case CF_SCHED_LINEAR: ADD(", x%g to x%g over %d epochs", sp->start_factor, sp->end_factor, s->t_cos); break;
    default: break;
    }
    if (sp->warmup_steps > 0)
        ADD(", linear warm-up over %d batch%s from x%g", sp->warmup_steps, sp->warmup_steps == 1 ? "" : "es",
            sp->warmup_start_factor);
    if (sp->warmup_epochs > 0)
        ADD(", linear warm-up over %d epoch%s from x%g", sp->warmup_epochs,
            sp->warmup_epochs == 1 ? "" : "s", sp->warmup_start_factor);
#undef ADD
}

#define STATE_MAGIC 5150.0 /* "schedule state, version 1" */
#define STATE_N 7

int cf_schedule_state(const cf_schedule *s, double *buf, int cap)
{
    double st[STATE_N] = {STATE_MAGIC,      (double)s->sp.type, s->plateau_lr,
                          (double)s->has_best, s->has_best ? s->best : 0.0, (double)s->bad,
                          (double)s->last_observed};
    for (int i = 0; i < STATE_N && i < cap; i++) buf[i] = st[i];
    return STATE_N;
}

cf_status cf_schedule_restore(cf_schedule *s, const double *buf, int n, cf_error *err)
{
    if (n != STATE_N || buf[0] != STATE_MAGIC)
        return cf_error_set(err, CF_ERR_IO, "lr_schedule: checkpoint state is not a version-1 schedule state (%d values)", n);
    if ((int)buf[1] != (int)s->sp.type)
        return cf_error_set(err, CF_ERR_INVALID,
                            "lr_schedule: checkpoint was written by a \"%s\" schedule, the config asks for \"%s\"",
                            cf_schedule_type_name((cf_schedule_type)(int)buf[1]),
                            cf_schedule_type_name(s->sp.type));
    if (!(buf[2] >= 0) || !isfinite(buf[2]) || buf[5] < 0)
        return cf_error_set(err, CF_ERR_IO, "lr_schedule: checkpoint state is corrupt");
    s->plateau_lr = buf[2];
    s->has_best = buf[3] != 0;
    s->best = buf[4];
    s->bad = (int)buf[5];
    s->last_observed = (int)buf[6];
    return CF_OK;
}
