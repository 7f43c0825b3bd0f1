/* clforge — learning-rate schedules.
 *
 * Granularity: the main schedule changes the rate once per epoch (constant
 * within an epoch); linear warm-up ramps per batch (uses frac). Epochs are
 * 0-based here. For epoch e and fraction f in [0, 1):
 *
 *   lr(e, f) = main(e) * warm(e + f),  warm(t) = s + (1 - s) * min(t / W, 1)
 *
 * with W = warmup_epochs, s = warmup_start_factor (warm = 1 when W = 0) and
 * main(e), from base rate b:
 *   constant     b
 *   step         b * factor^(number of steps s_i with e >= s_i); steps are
 *                absolute epoch counts, as SageMaker's lr_scheduler_step "10,20":
 *                epochs 0-9 run at b, 10-19 at b*factor, 20+ at b*factor^2
 *   exponential  b * factor^floor(e' / every),          e' = max(e - W, 0)
 *   cosine       eta_min + (b - eta_min) (1 + cos(pi e' / T)) / 2 for e' < T,
 *                eta_min after; T = t_max, or total_epochs - W when t_max = 0.
 *                With t_0 > 0: warm restarts (SGDR), cycle i lasts
 *                t_0 * t_mult^i epochs and restarts at b; t_max is then unused.
 *   plateau      b, multiplied by factor (not below min_lr) each time the
 *                validation loss has not improved for `patience` observed
 *                epochs. Improvement: loss < best - |best| * threshold.
 *                Observations during warm-up are ignored.
 *
 * Exponential, cosine and plateau start counting after warm-up so the ramp
 * ends at b; step keeps absolute epochs so SageMaker step lists mean the same.
 *
 * Per-step schedules (the rate changes every batch, as torch's schedulers
 * stepped once per batch): with S = steps per epoch (cf_schedule_set_steps),
 * t = (e + f) S - W_s the steps since warm-up ended (W_s = W S + warmup_steps,
 * t >= 0) and N = t_max S (t_max = 0: total_epochs S - W_s):
 *   onecycle     torch OneCycleLR (three_phase = False) with max_lr = b,
 *                a = b / div_factor, z = a / final_div_factor, P = pct_start N - 1:
 *                t <= P: anneal(a, b, t / P), else anneal(b, z, (t - P) / (N - 1 - P)),
 *                anneal(x, y, q) = y + (x - y) (1 + cos(pi q)) / 2 (anneal = cos)
 *                or x + (y - x) q (anneal = linear); t >= N - 1: z
 *   poly         b (1 - min(t, N) / N)^power             (torch PolynomialLR)
 *   linear       b (start_factor + (end_factor - start_factor) min(t, N) / N)
 *                                                        (torch LinearLR)
 * warmup_steps ramps like warmup_epochs but over batches: warm(k) = s + (1 - s)
 * min(k / warmup_steps, 1) for batch k of the run (0-based). Either warm-up
 * multiplies every schedule, so warm-up + cosine equals torch's
 * SequentialLR(LinearLR(s, 1, W), CosineAnnealingLR) stepped the same way. */
#ifndef CF_SCHEDULE_H
#define CF_SCHEDULE_H

#include "clforge/error.h"
#include "clforge/plugin.h"

typedef enum cf_schedule_type {
    CF_SCHED_CONSTANT = 0,
    CF_SCHED_STEP,
    CF_SCHED_EXPONENTIAL,
    CF_SCHED_COSINE,
    CF_SCHED_PLATEAU,
    CF_SCHED_ONECYCLE,
    CF_SCHED_POLY,
    CF_SCHED_LINEAR
} cf_schedule_type;

#define CF_SCHEDULE_MAX_STEPS 64

/* The table train.lr_schedule = { ... } is validated against. */
extern const cf_param_def cf_schedule_params[];

typedef struct cf_schedule_spec {
    cf_schedule_type type;
    int n_steps;
    int steps[CF_SCHEDULE_MAX_STEPS]; /* ascending epoch counts */
    double factor;
    int every;
    int t_max;
    double eta_min;
    int t_0;
    double t_mult;
    int warmup_epochs;
    double warmup_start_factor;
    int patience;
    double threshold;
    double min_lr;
    int warmup_steps;
    double pct_start, div_factor, final_div_factor; /* onecycle */
    int anneal_linear;                              /* onecycle: 1 = linear, 0 = cos */
    double power;                                   /* poly */
    double start_factor, end_factor;                /* linear */
} cf_schedule_spec;

typedef struct cf_schedule cf_schedule;

/* The spec with the table's defaults. */
void cf_schedule_spec_default(cf_schedule_spec *s);
/* "constant", "step", ... -> type; -1 when unknown. */
int cf_schedule_type_parse(const char *name);
const char *cf_schedule_type_name(cf_schedule_type t);
/* "10,20" (spaces allowed) -> steps; must be positive and ascending. */
cf_status cf_schedule_parse_steps(const char *text, int *steps, int cap, int *n, cf_error *err);

cf_status cf_schedule_create(const cf_params *p, double base_lr, int total_epochs,
                             cf_schedule **out, cf_error *err);
cf_status cf_schedule_create_spec(const cf_schedule_spec *spec, double base_lr, int total_epochs,
                                  cf_schedule **out, cf_error *err);
void cf_schedule_free(cf_schedule *s);
/* Batches per epoch (default 1): per-step schedules and warmup_steps count
 * batches, so they need it before the first cf_schedule_lr. */
void cf_schedule_set_steps(cf_schedule *s, int steps_per_epoch);

/* Rate for 0-based epoch and fraction 0..1 of it done. */
double cf_schedule_lr(cf_schedule *s, int epoch, double frac);
/* After 0-based epoch `epoch` ends: its validation loss (NaN counts as no
 * improvement). Only plateau uses it; an epoch observed twice counts once. */
void cf_schedule_observe(cf_schedule *s, int epoch, double val_loss);
/* True when the rates depend on the run's total epochs (cosine without t_max
 * or restarts): a run cannot then be extended without changing the rates of
 * the epochs it already trained. */
int cf_schedule_spans_total(const cf_schedule *s);
/* One line describing the schedule ("cosine: T=30, eta_min=0, warm-up 2 epochs"). */
void cf_schedule_describe(const cf_schedule *s, char *buf, size_t cap);

/* Checkpoint state as doubles: returns the count needed and writes
 * min(count, cap) of them. Restore checks count and schedule type. */
#define CF_SCHEDULE_STATE_MAX 8
int cf_schedule_state(const cf_schedule *s, double *buf, int cap);
cf_status cf_schedule_restore(cf_schedule *s, const double *buf, int n, cf_error *err);

#endif
