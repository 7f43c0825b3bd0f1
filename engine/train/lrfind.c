/* The learning-rate range test (Smith 2017, as popularised by fastai): train
 * for a few hundred steps while the rate grows exponentially, record the
 * smoothed loss, stop once it explodes, and suggest the rate where the loss
 * falls fastest. The run's weights are thrown away. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "observe/report.h"
#include "train/init_from.h"
#include "train/session.h"
#include "train/aug_chain.h"
#include "train/trainer.h"

cf_status cf_lr_find(const cf_lr_find_opts *lo, cf_error *err)
{
    cf_session s;
    cf_train_opts o = {0};
    o.sets = lo->sets;
    o.n_sets = lo->n_sets;
    cf_session_init(&s, &o, lo->out);
    int steps = lo->steps > 10 ? lo->steps : 200;
    double *lrs = cf_calloc((size_t)steps, sizeof *lrs), *losses = cf_calloc((size_t)steps, sizeof *losses);
    int *order = NULL, n = 0;
    cf_status st = lrs && losses ? CF_OK : cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    if (!st) st = cf_session_config(&s, lo->config_path, err);
    if (!st) st = cf_session_data(&s, 1, 0, err); /* the test set is never read */
    if (!st) st = cf_session_plugins(&s, err);
    if (!st) st = cf_session_model(&s, err);
    if (!st) st = cf_session_backend(&s, s.batch, err);
    cf_sbuf rep = {0}; /* init_from, freeze and lr_mult as training would use them */
    if (!st) st = cf_session_init_params(&s, 0, &rep, err);
    if (!st && rep.s && lo->out) fputs(rep.s, lo->out);
    cf_sbuf_free(&rep);
    if (!st && !(lo->min_lr > 0 && lo->max_lr > lo->min_lr))
        st = cf_error_set(err, CF_ERR_INVALID, "lr-find: need 0 < --min < --max (got %g, %g)", lo->min_lr, lo->max_lr);
    if (!st && !(order = malloc((size_t)s.n_tr * sizeof *order)))
        st = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    double avg = 0, best = INFINITY;
    int epoch = 0, pos = s.n_tr;
    for (int i = 0; i < steps && !st; i++) {
        if (pos + s.batch > s.n_tr) { /* next shuffled pass */
            memcpy(order, s.tr, (size_t)s.n_tr * sizeof *order);
            cf_shuffle(order, s.n_tr, s.seed, (uint64_t)++epoch);
            pos = 0;
        }
        int m = s.batch < s.n_tr ? s.batch : s.n_tr;
        double lr = lo->min_lr * pow(lo->max_lr / lo->min_lr, (double)i / (steps - 1));
        if ((st = cf_session_batch(&s, &s.train, order + pos, m, 1, (uint64_t)epoch, err))) break;
        cf_batch cb = {s.bx, s.bt, s.bw, s.aug_a, s.aug_b, s.item};
        if ((st = cf_aug_batch(&s, &cb, m, (uint64_t)epoch, pos / s.batch, err))) break;
        pos += m;
        if ((st = cf_net_run(s.net, s.bx, s.bt, s.bw, m, 1, s.seed, (uint64_t)i + 1, s.bl, s.bp, NULL, err))) break;
        double l = 0, ws = 0;
        for (int k = 0; k < m; k++) { l += s.bl[k]; ws += s.bw[k]; }
        l /= ws;
        if (!isfinite(l)) break;
        avg = 0.98 * avg + 0.02 * l; /* bias-corrected exponential smoothing */
        double sm = avg / (1 - pow(0.98, i + 1));
        lrs[n] = lr;
        losses[n++] = sm;
        if (sm < best) best = sm;
        if (i > 10 && sm > 4 * best) break; /* diverged: the rest says nothing */
        if ((st = cf_session_step(&s, i + 1, lr, m, err))) break;
    }
    double suggest = NAN;
    if (!st && n >= 10) {
        /* Steepest descent of the smoothed loss against log(lr), ignoring the
         * first tenth (smoothing warm-up) and everything after the minimum. */
        int imin = 0;
        for (int i = 0; i < n; i++) if (losses[i] < losses[imin]) imin = i;
        double steep = 0;
        for (int i = n / 10 + 1; i <= imin && i < n; i++) {
            double g = (losses[i] - losses[i - 1]) / (log(lrs[i]) - log(lrs[i - 1]));
            if (g < steep) { steep = g; suggest = lrs[i]; }
        }
        if (!(suggest > 0)) suggest = lrs[imin] / 10;
        if ((st = cf_report_lr_find(lo->report_path, lrs, losses, n, suggest, err)) == CF_OK) {
            if (lo->json) {
                fprintf(lo->out, "{\"suggested_lr\":%.6g,\"min_loss_lr\":%.6g,\"steps\":%d,\"plot\":\"%s\"}\n",
                        suggest, lrs[imin], n, lo->report_path);
            } else {
                fprintf(lo->out, "%12s %12s\n", "lr", "loss");
                for (int i = 0; i < n; i += n / 20 > 0 ? n / 20 : 1) fprintf(lo->out, "%12.4g %12.4f\n", lrs[i], losses[i]);
                fprintf(lo->out, "lowest loss %.4f at lr %.3g; suggested learning rate %.3g (steepest descent; "
                        "a tenth of the minimum's rate, %.3g, is the other common choice)\n",
                        losses[imin], lrs[imin], suggest, lrs[imin] / 10);
                fprintf(lo->out, "plot: %s\n", lo->report_path);
            }
        }
    } else if (!st) {
        st = cf_error_set(err, CF_ERR_NUMERIC, "lr-find: the loss diverged after %d steps; lower --min", n);
    }
    free(lrs);
    free(losses);
    free(order);
    cf_session_free(&s);
    return st;
}
