/* `clforge predict`: top-k classes of single images under a saved model;
 * a multi-label model also names every label whose probability (its own
 * sigmoid) exceeds train.threshold. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "train/session.h"
#include "train/trainer.h"

cf_status cf_predict(const char *model_path, const char *const *images, int n, int top_k,
                     const char *backend, int threads, int json, FILE *out, cf_error *err)
{
    cf_session s;
    cf_train_opts o = {0};
    cf_session_init(&s, &o, out);
    cf_status st = cf_session_open_model(&s, model_path, backend, threads, 1, err);
    if (st) {
        cf_session_free(&s);
        return st;
    }
    if (top_k < 1) top_k = 1;
    if (top_k > s.k) top_k = s.k;
    size_t px = (size_t)s.c * s.h * s.w;
    float *x = malloc(px * sizeof *x), *t = cf_calloc((size_t)s.k, sizeof *t), w = 1, loss, pred;
    float *probs = malloc((size_t)s.k * sizeof *probs);
    int *order = malloc((size_t)s.k * sizeof *order);
    if (!x || !t || !probs || !order) st = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n && !st; i++) {
        cf_image_u8 im;
        if ((st = cf_image_read(images[i], &im, err))) break;
        /* A model trained with data.resize sees images as training did:
         * shorter side scaled, centre crop; otherwise scaled to the input. */
        int rs = cf_params_int(s.pd, "resize");
        if (rs > 0) {
            st = cf_image_fit(images[i], &im, s.c, s.h, s.w, rs, x, err);
            if (st) {
                cf_image_u8_free(&im);
                break;
            }
        } else
            cf_image_to_input(&im, s.c, s.h, s.w, x);
        cf_image_u8_free(&im);
        size_t plane = (size_t)s.h * s.w;
        for (int c = 0; c < s.c; c++)
            for (size_t j = 0; j < plane; j++)
                x[c * plane + j] = (float)((x[c * plane + j] - s.mean[c]) / s.std[c]);
        t[0] = 1;
        if ((st = cf_net_run(s.net, x, t, &w, 1, 0, 0, 0, &loss, &pred, probs, err))) break;
        if (s.loss != CF_LOSS_XENT && s.loss != CF_LOSS_BCE) { /* scores of mse/hinge models: show them as a softmax */
            double mx = probs[0], sum = 0;
            for (int k = 1; k < s.k; k++) mx = probs[k] > mx ? probs[k] : mx;
            for (int k = 0; k < s.k; k++) sum += exp(probs[k] - mx);
            for (int k = 0; k < s.k; k++) probs[k] = (float)(exp(probs[k] - mx) / sum);
        }
        for (int k = 0; k < s.k; k++) order[k] = k;
        for (int a = 0; a < top_k; a++) /* partial selection sort: k is small */
            for (int b = a + 1; b < s.k; b++)
                if (probs[order[b]] > probs[order[a]]) {
                    int tmp = order[a];
                    order[a] = order[b];
                    order[b] = tmp;
                }
        if (json) {
            cf_sbuf b = {0};
            cf_sbuf_printf(&b, "{\"image\":");
            cf_json_str(&b, images[i]);
            if (s.multi) {
                cf_sbuf_printf(&b, ",\"threshold\":%g,\"labels\":[", s.threshold);
                for (int k = 0, m = 0; k < s.k; k++)
                    if (probs[k] > s.threshold) {
                        cf_sbuf_printf(&b, "%s{\"class\":", m++ ? "," : "");
                        cf_json_str(&b, cf_session_class_name(&s, k));
                        cf_sbuf_printf(&b, ",\"index\":%d,\"probability\":%.6f}", k, probs[k]);
                    }
                cf_sbuf_printf(&b, "]");
            }
            cf_sbuf_printf(&b, ",\"top\":[");
            for (int a = 0; a < top_k; a++) {
                cf_sbuf_printf(&b, "%s{\"class\":", a ? "," : "");
                cf_json_str(&b, cf_session_class_name(&s, order[a]));
                cf_sbuf_printf(&b, ",\"index\":%d,\"probability\":%.6f}", order[a], probs[order[a]]);
            }
            cf_sbuf_printf(&b, "]}\n");
            fputs(b.s, out);
            cf_sbuf_free(&b);
        } else {
            fprintf(out, "%s\n", images[i]);
            if (s.multi) {
                int m = 0;
                fprintf(out, "  labels (probability > %g):", s.threshold);
                for (int k = 0; k < s.k; k++)
                    if (probs[k] > s.threshold) fprintf(out, "%s %s", m++ ? "," : "", cf_session_class_name(&s, k));
                fprintf(out, "%s\n", m ? "" : " none");
            }
            for (int a = 0; a < top_k; a++)
                fprintf(out, "  %d. %-14s %6.2f%%\n", a + 1, cf_session_class_name(&s, order[a]),
                        100.0 * probs[order[a]]);
        }
    }
    free(x);
    free(t);
    free(probs);
    free(order);
    cf_session_free(&s);
    return st;
}
