/* One evaluation pass of the session's network over samples of a dataset:
 * loss, accuracy, top-k, confusion and forward-pass timing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "observe/metrics.h"
#include "train/session.h"

cf_status cf_session_evaluate(cf_session *s, const cf_dataset *d, const int *idx, int n, cf_confusion *conf,
                          cf_eval_result *r, cf_error *err)
{
    double lsum = 0, wsum = 0, fwd = 0, fwd_all = 0;
    long correct = 0, topk = 0, fwd_n = 0;
    int *all = NULL;
    cf_net_params_changed(s->net); /* whoever wrote them, evaluate today's weights */
    if (!idx) {
        all = malloc((size_t)n * sizeof *all);
        if (!all) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        for (int i = 0; i < n; i++) all[i] = i;
        idx = all;
    }
    cf_status st = CF_OK;
    if (s->multi) cf_ml_reset(&s->ml);
    for (int b0 = 0; b0 < n && !st; b0 += s->eval_batch) {
        int m = n - b0 < s->eval_batch ? n - b0 : s->eval_batch;
        if ((st = cf_session_batch(s, d, idx + b0, m, 0, 0, err))) break;
        double t0 = cf_now();
        if ((st = cf_net_run(s->net, s->bx, s->bt, s->bw, m, 0, s->seed, 0, s->bl, s->bp,
                             s->top_k || s->multi ? s->bprob : NULL, err)))
            break;
        double dt = cf_now() - t0;
        fwd_all += dt;
        if (b0 > 0 && m == s->eval_batch) {
            fwd += dt;
            fwd_n += m;
        }
        for (int i = 0; i < m && s->multi; i++) { /* the batch's targets are the multi-hot rows */
            lsum += s->bl[i];
            wsum += s->bw[i];
            correct += cf_ml_add(&s->ml, s->bprob + (size_t)i * s->k, s->bt + (size_t)i * s->k, s->threshold);
        }
        for (int i = 0; i < m && !s->multi; i++) {
            int y = d->y[idx[b0 + i]], p = (int)s->bp[i];
            lsum += s->bl[i];
            wsum += s->bw[i];
            correct += p == y;
            if (conf) cf_confusion_add(conf, y, p);
            if (s->top_k) topk += cf_topk_hit(s->bprob + (size_t)i * s->k, s->k, y, s->top_k);
        }
    }
    free(all);
    if (st) return st;
    r->n = n;
    r->loss = wsum > 0 ? lsum / wsum : 0;
    r->acc = n ? (double)correct / n : 0;
    r->topk = n ? (double)topk / n : 0;
    if (s->multi) {
        cf_ml_report mr;
        CF_TRY(cf_ml_compute(&s->ml, &mr, err));
        r->micro_f1 = mr.micro.f1;
        r->macro_f1 = mr.macro.f1;
        r->hamming = mr.hamming_loss;
        cf_ml_report_free(&mr);
    }
    r->forward_s = fwd_n ? fwd : fwd_all; /* too few batches: all of them */
    r->forward_n = fwd_n ? fwd_n : n;
    return CF_OK;
}
