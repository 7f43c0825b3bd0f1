/* clforge — TensorBoard: RUN_DIR/tb/events.out.tfevents.<time>.<host> with
 * per-epoch scalars (step = epoch), the test metrics at the end and the run's
 * --set overrides (a tune trial's hyperparameters) for the hparams and text
 * dashboards. A resumed run starts a new file that tells TensorBoard to drop
 * the epochs logged after the checkpoint. Open it with
 * `tensorboard --logdir runs/` (docs/tensorboard.md). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "observe/sink.h"
#include "observe/tfevents.h"

typedef struct tb {
    cf_tfevents w;
    int resumed;
} tb;

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static cf_status open_(cf_sink *s, const cf_ev_open *ev, cf_error *err)
{
    tb *t = s->state;
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/tb", ev->run_dir);
    CF_TRY(cf_tfevents_open(&t->w, dir, wall_now(), err));
    t->resumed = ev->resuming;
    return ev->resuming ? cf_tfevents_restart(&t->w, wall_now(), ev->resume_epoch + 1, err) : CF_OK;
}

static cf_status start(cf_sink *s, const cf_ev_start *ev, cf_error *err)
{
    tb *t = s->state;
    if (!t->w.f || t->resumed || !ev->n_overrides) return CF_OK; /* the first file has them */
    double now = wall_now();
    CF_TRY(cf_tfevents_hparams(&t->w, now, ev->overrides, ev->n_overrides, err));
    cf_sbuf b = {0};
    cf_sbuf_printf(&b, "| setting | value |\n|---|---|\n");
    for (int i = 0; i < ev->n_overrides; i++) {
        const char *eq = strchr(ev->overrides[i], '=');
        if (eq) cf_sbuf_printf(&b, "| %.*s | %s |\n", (int)(eq - ev->overrides[i]), ev->overrides[i], eq + 1);
    }
    cf_status st = cf_sbuf_ok(&b) ? cf_tfevents_text(&t->w, now, 0, "hparams", b.s, err)
                       : cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    cf_sbuf_free(&b);
    return st;
}

static cf_status epoch(cf_sink *s, const cf_ev_epoch *ev, cf_error *err)
{
    tb *t = s->state;
    if (!t->w.f) return CF_OK;
    char topk[32];
    snprintf(topk, sizeof topk, "validation/top%d", ev->top_k);
    const char *tags[7] = {"train/loss", "train/accuracy", "learning_rate", "images_per_sec",
                           "validation/loss", "validation/accuracy", topk};
    double v[7] = {ev->train_loss, ev->train_accuracy, ev->lr, ev->images_per_sec, ev->validation_loss,
                   ev->validation_accuracy, ev->validation_topk};
    int n = !ev->has_validation ? 4 : ev->top_k ? 7 : 6;
    return cf_tfevents_scalars(&t->w, wall_now(), ev->epoch, tags, v, n, err);
}

static cf_status eval(cf_sink *s, const cf_ev_eval *ev, cf_error *err)
{
    tb *t = s->state;
    if (!t->w.f) return CF_OK;
    char loss[64], acc[64], topk[64];
    snprintf(loss, sizeof loss, "%s/loss", ev->split);
    snprintf(acc, sizeof acc, "%s/accuracy", ev->split);
    snprintf(topk, sizeof topk, "%s/top%d", ev->split, ev->top_k);
    const char *tags[3] = {loss, acc, topk};
    double v[3] = {ev->loss, ev->accuracy, ev->topk};
    return cf_tfevents_scalars(&t->w, wall_now(), ev->epoch, tags, v, ev->top_k ? 3 : 2, err);
}

static cf_status end(cf_sink *s, const cf_ev_end *ev, cf_error *err)
{
    (void)ev;
    tb *t = s->state;
    return cf_tfevents_close(&t->w, err);
}

static void free_(cf_sink *s)
{
    tb *t = s->state;
    cf_tfevents_close(&t->w, NULL);
    free(t);
}

cf_status cf_sink_tensorboard_add(cf_sinks *l, cf_error *err)
{
    tb *t = calloc(1, sizeof *t);
    if (!t) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    cf_sink s = {.name = "tensorboard", .state = t, .open = open_, .start = start, .epoch = epoch,
                 .eval = eval, .end = end, .free = free_};
    return cf_sinks_add(l, &s, err);
}
