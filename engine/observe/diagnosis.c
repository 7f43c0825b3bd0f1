/* clforge — learning-curve diagnosis; the rules are listed in diagnosis.h. */
#include "observe/diagnosis.h"
#include "core/json_parse.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct curves {
    const cf_epoch_record *h;
    int n;
    int has_val, has_acc;
} curves;

static void put(char *buf, size_t cap, const char *s)
{
    if (buf && cap) snprintf(buf, cap, "%s", s);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double gap_at(const cf_epoch_record *r) { return (1 - r->val_acc) - (1 - r->train_acc); }

/* Divergence / instability. Returns 1 and fills msg when it matches. */
static int lr_too_high(const curves *c, char *msg, size_t cap)
{
    const cf_epoch_record *h = c->h;
    int n = c->n;
    for (int i = 0; i < n; i++) {
        int bad_val = c->has_val && !isfinite(h[i].val_loss);
        if (!isfinite(h[i].train_loss) || bad_val) {
            snprintf(msg, cap,
                     "Learning rate too high: the %s loss became %s at epoch %d, so training "
                     "diverged. Next: lower the learning rate about 10x (or run lr-find), add "
                     "warm-up, and check that the inputs are normalised.",
                     isfinite(h[i].train_loss) ? "validation" : "training",
                     isnan(bad_val ? h[i].val_loss : h[i].train_loss) ? "NaN" : "infinite",
                     h[i].epoch);
            return 1;
        }
    }
    int imin = 0;
    for (int i = 1; i < n; i++)
        if (h[i].train_loss < h[imin].train_loss) imin = i;
    double last = h[n - 1].train_loss, lo = h[imin].train_loss;
    if (n >= 2 && last > lo && last - lo >= CF_DIAG_TRAIN_RISE * fabs(lo)) {
        snprintf(msg, cap,
                 "Learning rate too high: the training loss rose from %.4g at epoch %d to %.4g at "
                 "the end (+%.0f%%); the optimizer is overshooting. Next: lower the learning rate "
                 "3-10x or use a decaying schedule (step, cosine or plateau).",
                 lo, h[imin].epoch, last, 100 * (last - lo) / fabs(lo));
        return 1;
    }
    if (!c->has_val || n < CF_DIAG_OSC_MIN_EPOCHS) return 0;
    int changes = 0, prev = 0;
    double swing = 0;
    double *v = malloc((size_t)n * sizeof *v);
    if (!v) return 0;
    for (int i = 0; i < n; i++) v[i] = h[i].val_loss;
    for (int i = 1; i < n; i++) {
        double d = v[i] - v[i - 1];
        int s = (d > 0) - (d < 0);
        swing += fabs(d);
        if (s && prev && s != prev) changes++;
        if (s) prev = s;
    }
    swing /= n - 1;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    free(v);
    if (changes >= CF_DIAG_OSC_MIN_CHANGES && 2 * changes >= n - 2 && med > 0 &&
        swing >= CF_DIAG_OSC_SWING * med) {
        snprintf(msg, cap,
                 "Learning rate too high: the validation loss oscillates (%d changes of direction "
                 "in %d epochs, mean swing %.0f%% of its level) instead of settling. Next: lower "
                 "the learning rate 3-10x or use a decaying schedule (step, cosine or plateau).",
                 changes, n, 100 * swing / med);
        return 1;
    }
    return 0;
}

static int overfitting(const curves *c, char *msg, size_t cap)
{
    const cf_epoch_record *h = c->h;
    int n = c->n;
    if (!c->has_val || n < 2) return 0;
    int m = 0;
    for (int i = 1; i < n; i++)
        if (h[i].val_loss < h[m].val_loss) m = i;
    double vmin = h[m].val_loss, vend = h[n - 1].val_loss;
    double rise = vmin > 0 ? (vend - vmin) / vmin : 0;
    int after = n - 1 - m;
    int u_shape = after >= 1 && h[n - 1].train_loss < h[m].train_loss &&
                  ((rise >= CF_DIAG_OVERFIT_RISE && after >= 2) || rise >= CF_DIAG_OVERFIT_RISE_FAST);
    int gap_wide = 0;
    double gend = 0, gmin = 0;
    int gmin_epoch = h[0].epoch;
    if (c->has_acc) {
        gend = gap_at(&h[n - 1]);
        gmin = gap_at(&h[0]);
        for (int i = 1; i < (n + 1) / 2; i++)
            if (gap_at(&h[i]) < gmin) {
                gmin = gap_at(&h[i]);
                gmin_epoch = h[i].epoch;
            }
        double terr = 1 - h[n - 1].train_acc, verr = 1 - h[n - 1].val_acc;
        gap_wide = gend >= CF_DIAG_OVERFIT_GAP && terr <= verr / 2 &&
                   gend - gmin >= CF_DIAG_OVERFIT_GAP_GROWTH;
    }
    if (!u_shape && !gap_wide) return 0;
    int k = 0;
    k += snprintf(msg + k, cap - (size_t)k, "Overfitting: ");
    if (c->has_acc && (size_t)k < cap)
        k += snprintf(msg + k, cap - (size_t)k,
                      "training accuracy %.1f%% vs validation %.1f%% (gap %.1f points, %.1f at "
                      "epoch %d)%s",
                      100 * h[n - 1].train_acc, 100 * h[n - 1].val_acc, 100 * gend, 100 * gmin,
                      gmin_epoch, u_shape ? "; " : ". ");
    if (u_shape && (size_t)k < cap)
        k += snprintf(msg + k, cap - (size_t)k,
                      "the validation loss was lowest at epoch %d (%.4g) and is %.0f%% higher at "
                      "the end while the training loss kept falling. ",
                      h[m].epoch, vmin, 100 * rise);
    if ((size_t)k < cap)
        snprintf(msg + k, cap - (size_t)k,
                 "Next: add regularization (weight decay, dropout, data augmentation) or more "
                 "data, or stop earlier: early stopping keeps the best epoch's weights (epoch %d).",
                 h[m].epoch);
    return 1;
}

/* Still falling at the end: too few epochs, or a rate too low. */
static int still_falling(const curves *c, char *msg, size_t cap, const char **code)
{
    const cf_epoch_record *h = c->h;
    int n = c->n;
    if (n == 1) {
        *code = "too_few_epochs";
        snprintf(msg, cap,
                 "Too few epochs: with one epoch there is no curve to read yet. Next: train for "
                 "more epochs (early stopping will end training when it levels off).");
        return 1;
    }
    int use_val = c->has_val;
    const char *which = use_val ? "validation" : "training";
    double cmin = INFINITY;
    for (int i = 0; i < n; i++) cmin = fmin(cmin, use_val ? h[i].val_loss : h[i].train_loss);
    int w = n - 1 < CF_DIAG_FALLING_WINDOW ? n - 1 : CF_DIAG_FALLING_WINDOW;
    double a = use_val ? h[n - 1 - w].val_loss : h[n - 1 - w].train_loss;
    double b = use_val ? h[n - 1].val_loss : h[n - 1].train_loss;
    if (!(a > 0) || b > cmin) return 0;
    double per_epoch = (a - b) / a / w;
    if (per_epoch < CF_DIAG_FALLING) return 0;
    double t0 = h[0].train_loss, t1 = h[n - 1].train_loss;
    double total = t0 > 0 ? (t0 - t1) / t0 : 1;
    if (total < CF_DIAG_SLOW_TOTAL) {
        *code = "lr_too_low";
        snprintf(msg, cap,
                 "Learning rate probably too low: the %s loss is still falling (%.1f%% per epoch "
                 "over the last %d epochs) but the training loss has fallen only %.0f%% since "
                 "epoch %d. Next: raise the learning rate 3-10x (or run lr-find), then train "
                 "longer.",
                 which, 100 * per_epoch, w, 100 * total, h[0].epoch);
    } else {
        *code = "too_few_epochs";
        snprintf(msg, cap,
                 "Too few epochs: the %s loss is still falling at the end (%.1f%% per epoch over "
                 "the last %d epochs). Next: train for more epochs (early stopping will end "
                 "training when it levels off), or raise the learning rate a little.",
                 which, 100 * per_epoch, w);
    }
    return 1;
}

cf_status cf_diagnose(const cf_epoch_record *h, int n, char *text, size_t cap, char *code,
                      size_t code_cap)
{
    if (n < 0 || (n > 0 && !h)) return CF_ERR_INVALID;
    char msg[1024];
    const char *cd = "good_fit";
    if (n == 0) {
        put(text, cap, "No epochs were recorded, so there are no curves to read.");
        put(code, code_cap, "no_data");
        return CF_OK;
    }
    curves c = {h, n, 0, 0};
    for (int i = 0; i < n; i++)
        if (isfinite(h[i].val_loss)) c.has_val = 1;
    /* Accuracy rules need both accuracies at the end and at the start. */
    c.has_acc = c.has_val && isfinite(h[n - 1].train_acc) && isfinite(h[n - 1].val_acc) &&
                isfinite(h[0].train_acc) && isfinite(h[0].val_acc);
    for (int i = 0; c.has_acc && i < n; i++)
        if (!isfinite(h[i].train_acc) || !isfinite(h[i].val_acc)) c.has_acc = 0;
    const cf_epoch_record *e = &h[n - 1];
    if (lr_too_high(&c, msg, sizeof msg)) {
        cd = "lr_too_high";
    } else if (overfitting(&c, msg, sizeof msg)) {
        cd = "overfitting";
    } else if (still_falling(&c, msg, sizeof msg, &cd)) {
        /* code set */
    } else if (isfinite(e->train_acc) && 1 - e->train_acc >= CF_DIAG_UNDERFIT_ERR &&
               (!c.has_val || !isfinite(e->val_acc) || 1 - e->val_acc >= CF_DIAG_UNDERFIT_ERR)) {
        cd = "underfitting";
        if (c.has_val && isfinite(e->val_acc))
            snprintf(msg, sizeof msg,
                     "Underfitting: training accuracy is only %.1f%% and validation %.1f%%, and "
                     "the curves have levelled off: the model fits even the training data poorly. "
                     "Next: a bigger model (more layers or filters), less regularization, or a "
                     "higher learning rate with more epochs.",
                     100 * e->train_acc, 100 * e->val_acc);
        else
            snprintf(msg, sizeof msg,
                     "Underfitting: training accuracy is only %.1f%% and the curve has levelled "
                     "off. Next: a bigger model (more layers or filters), less regularization, or "
                     "a higher learning rate with more epochs.",
                     100 * e->train_acc);
    } else if (c.has_val && isfinite(e->val_acc) && isfinite(e->train_acc)) {
        snprintf(msg, sizeof msg,
                 "Good fit: validation accuracy %.1f%%, %.1f points from training accuracy, and "
                 "the validation loss has levelled off. Next: keep these settings; to gain more, "
                 "try a larger model together with regularization or data augmentation.",
                 100 * e->val_acc, 100 * fabs(gap_at(e)));
    } else {
        snprintf(msg, sizeof msg,
                 "Good fit%s: the loss has levelled off%s. Next: keep these settings%s.",
                 c.has_val ? "" : " as far as training alone shows",
                 c.has_val ? "" : " (no validation set, so overfitting cannot be judged)",
                 c.has_val ? "" : "; hold out a validation set to check for overfitting");
    }
    put(text, cap, msg);
    put(code, code_cap, cd);
    return CF_OK;
}

cf_status cf_epoch_records_read(const char *path, int max, cf_epoch_record *out, int *n, cf_error *err)
{
    *n = 0;
    char *txt;
    size_t len;
    if (cf_read_file(path, &txt, &len, NULL) != CF_OK) return CF_OK;
    cf_status st = CF_OK;
    for (char *p = txt, *nl; *n < max && p < txt + len; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(txt + len - p));
        if (!nl) nl = txt + len;
        cf_jval *o = NULL;
        if (cf_jval_parse(p, (size_t)(nl - p), path, &o, NULL) != CF_OK || o->type != CF_JVAL_OBJECT) {
            cf_jval_free(o);
            break;
        }
        out[*n] = (cf_epoch_record){(int)cf_jval_num(cf_jval_get(o, "epoch"), *n + 1),
                                    cf_jval_num(cf_jval_get(o, "lr"), 0),
                                    cf_jval_num(cf_jval_get(o, "train_loss"), NAN),
                                    cf_jval_num(cf_jval_get(o, "train_accuracy"), NAN),
                                    cf_jval_num(cf_jval_get(o, "validation_loss"), 0),
                                    cf_jval_num(cf_jval_get(o, "validation_accuracy"), 0),
                                    0};
        cf_jval_free(o);
        (*n)++;
    }
    free(txt);
    (void)err;
    return st;
}
