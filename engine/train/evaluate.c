/* Evaluating a saved model on a test set, and printing a config's expanded model. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/reader.h"
#include "train/session.h"
#include "train/trainer.h"

static void print_report(cf_session *s, const cf_eval_result *te, const cf_confusion *conf,
                         const cf_metrics_report *mr, int json, FILE *out)
{
    if (json) {
        fprintf(out, "{\"accuracy\":%.6f,\"loss\":%.6f,\"samples\":%ld,\"macro_f1\":%.6f,"
                     "\"forward_seconds\":%.6f,\"forward_images_per_sec\":%.1f,\"per_class\":[",
                te->acc, te->loss, te->n, mr->macro.f1, te->forward_s,
                te->forward_s > 0 ? te->forward_n / te->forward_s : 0.0);
        for (int c = 0; c < s->k; c++) {
            cf_sbuf b = {0};
            cf_json_str(&b, cf_session_class_name(s, c));
            fprintf(out, "%s{\"class\":%s,\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f,\"support\":%ld}",
                    c ? "," : "", b.s, mr->per_class[c].precision, mr->per_class[c].recall,
                    mr->per_class[c].f1, mr->per_class[c].support);
            cf_sbuf_free(&b);
        }
        fprintf(out, "],\"confusion\":[");
        for (int i = 0; i < s->k; i++) {
            fprintf(out, "%s[", i ? "," : "");
            for (int j = 0; j < s->k; j++) fprintf(out, "%s%ld", j ? "," : "", conf->m[i * s->k + j]);
            fprintf(out, "]");
        }
        fprintf(out, "]}\n");
        return;
    }
    fprintf(out, "test accuracy %.4f  loss %.4f  (%ld images, backend %s)\n", te->acc, te->loss,
            te->n, s->be->name);
    fprintf(out, "inference %.0f images/s in the forward passes (full batches of %d after the first)\n\n",
            te->forward_s > 0 ? te->forward_n / te->forward_s : 0.0, s->eval_batch);
    fprintf(out, "%-14s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
    for (int c = 0; c < s->k; c++)
        fprintf(out, "%-14s %9.4f %9.4f %9.4f %8ld\n", cf_session_class_name(s, c),
                mr->per_class[c].precision, mr->per_class[c].recall, mr->per_class[c].f1,
                mr->per_class[c].support);
    fprintf(out, "%-14s %9.4f %9.4f %9.4f %8ld\n", "macro avg", mr->macro.precision,
            mr->macro.recall, mr->macro.f1, mr->macro.support);
    fprintf(out, "%-14s %9.4f %9.4f %9.4f %8ld\n", "weighted avg", mr->weighted.precision,
            mr->weighted.recall, mr->weighted.f1, mr->weighted.support);
    if (s->k == 2)
        fprintf(out, "specificity    %9.4f (class %s as positive)\n", mr->per_class[1].specificity,
                cf_session_class_name(s, 1));
    fprintf(out, "\nconfusion matrix (rows = true class, columns = predicted):\n");
    for (int i = 0; i < s->k; i++) {
        fprintf(out, "%-14s", cf_session_class_name(s, i));
        for (int j = 0; j < s->k; j++) fprintf(out, " %5ld", conf->m[i * s->k + j]);
        fprintf(out, "\n");
    }
}

/* A multi-label model's report: per label, micro/macro F1, exact match, Hamming loss. */
static cf_status print_ml_report(cf_session *s, const cf_eval_result *te, int json, FILE *out, cf_error *err)
{
    cf_ml_report r;
    CF_TRY(cf_ml_compute(&s->ml, &r, err));
    const char **names = cf_calloc((size_t)s->k, sizeof *names);
    for (int c = 0; names && c < s->k; c++) names[c] = cf_session_class_name(s, c);
    if (json) {
        cf_sbuf b = {0};
        cf_sbuf_printf(&b, "{\"accuracy\":%.6f,\"loss\":%.6f,\"samples\":%ld,\"forward_seconds\":%.6f,"
                           "\"forward_images_per_sec\":%.1f,", te->acc, te->loss, te->n, te->forward_s,
                       te->forward_s > 0 ? te->forward_n / te->forward_s : 0.0);
        cf_ml_json(&b, &r, names, s->threshold);
        cf_sbuf_printf(&b, "}\n");
        if (b.s) fputs(b.s, out);
        cf_sbuf_free(&b);
    } else {
        fprintf(out, "test micro F1 %.4f  macro F1 %.4f  exact match %.4f  hamming loss %.4f  loss %.4f  "
                     "(%ld images, threshold %g, backend %s)\n", r.micro.f1, r.macro.f1, r.exact_match,
                r.hamming_loss, te->loss, te->n, s->threshold, s->be->name);
        fprintf(out, "inference %.0f images/s in the forward passes (full batches of %d after the first)\n\n",
                te->forward_s > 0 ? te->forward_n / te->forward_s : 0.0, s->eval_batch);
        size_t need = cf_ml_format(&r, names, NULL, 0) + 1;
        char *txt = malloc(need);
        if (txt) {
            cf_ml_format(&r, names, txt, need);
            fputs(txt, out);
        }
        free(txt);
    }
    free(names);
    cf_ml_report_free(&r);
    return CF_OK;
}

/* The saved model's own test set: data.test, a CIFAR data.train's test
 * half, or the IDX keys. */
static cf_status model_test_set(cf_session *s, const char **where, cf_error *err)
{
    const char *tp = cf_params_str(s->pd, "test"), *trp = cf_params_str(s->pd, "train");
    int lim = cf_params_int(s->pd, "limit_test");
    const cf_reader_vtable *v;
    if (!*tp && *trp && !cf_reader_detect(trp, cf_params_str(s->pd, "format"), &v, NULL)) {
        if (!strcmp(v->name, "cifar")) tp = trp;
        else if (strcmp(v->name, "idx")) /* the IDX defaults would be another dataset */
            return cf_error_set(err, CF_ERR_INVALID, "the model was trained on %s without data.test: say what to "
                                                     "evaluate with --data PATH", trp);
    }
    *where = tp;
    if (*tp) return cf_session_open_data(s, tp, "test", "test_labels", lim, s->c, s->h, s->w, &s->test, err);
    *where = cf_params_str(s->pd, "test_images");
    return cf_idx_load(cf_params_str(s->pd, "test_images"), cf_params_str(s->pd, "test_labels"), lim, &s->test, err);
}

cf_status cf_eval_model(const char *model_path, const char *images, const char *labels, const char *data,
                        const char *backend, int threads, int json, FILE *out, cf_error *err)
{
    cf_session s;
    cf_train_opts o = {0};
    cf_session_init(&s, &o, out);
    cf_confusion conf = {0};
    cf_eval_result te = {0};
    cf_metrics_report mr = {0};
    cf_status st = cf_session_open_model(&s, model_path, backend, threads, 256, err);
    if (st) goto out;
    s.eval_batch = 256;
    const char *ti = images, *tl = labels;
    if (data) st = cf_session_open_data(&s, data, "test", "test_labels", 0, s.c, s.h, s.w, &s.test, err);
    else if (images) st = cf_idx_load(ti, tl, 0, &s.test, err);
    else st = model_test_set(&s, &ti, err);
    if (data) ti = data;
    if (!tl) tl = ti;
    if (st) goto out;
    /* A model trained on data.classes: the same classes of the test data, numbered as it was trained. */
    if (cf_params_list_len(s.pd, "classes") && (st = cf_session_class_subset(&s, &s.test, ti, 0, err))) goto out;
    {
        const char **names = cf_calloc((size_t)s.k + 1, sizeof *names);
        for (int c = 0; names && c < s.k; c++) names[c] = cf_session_class_name(&s, c);
        st = names ? cf_dataset_match_classes(&s.test, ti, names, s.k, err) : CF_ERR_NOMEM;
        free(names);
        if (st) goto out;
    }
    if (s.test.c != s.c || s.test.h != s.h || s.test.w != s.w) {
        st = cf_error_set(err, CF_ERR_INVALID, "%s: images are [%d, %d, %d] but the model expects [%d, %d, %d]",
                          ti, s.test.c, s.test.h, s.test.w, s.c, s.h, s.w);
        goto out;
    }
    if (s.test.k > s.k) {
        st = cf_error_set(err, CF_ERR_INVALID, "%s: labels go up to %d but the model knows %d classes", tl,
                          s.test.k - 1, s.k);
        goto out;
    }
    if (s.multi) {
        if (!(st = cf_session_evaluate(&s, &s.test, NULL, s.test.n, NULL, &te, err)))
            st = print_ml_report(&s, &te, json, out, err);
        if (!st && !json && s.test.n_skipped)
            fprintf(out, "\nskipped %ld unreadable file%s of %s\n", s.test.n_skipped, s.test.n_skipped == 1 ? "" : "s", ti);
        goto out;
    }
    if ((st = cf_confusion_init(&conf, s.k, err))) goto out;
    if ((st = cf_session_evaluate(&s, &s.test, NULL, s.test.n, &conf, &te, err))) goto out;
    if ((st = cf_metrics_compute(&conf, &mr, err))) goto out;
    print_report(&s, &te, &conf, &mr, json, out);
    if (!json && s.test.n_skipped)
        fprintf(out, "\nskipped %ld unreadable file%s of %s\n", s.test.n_skipped, s.test.n_skipped == 1 ? "" : "s", ti);
    cf_metrics_report_free(&mr);
out:
    if (conf.m) cf_confusion_free(&conf);
    cf_session_free(&s);
    return st;
}

cf_status cf_print_model(const char *config_path, const char *const *sets, int n_sets, FILE *out,
                         cf_error *err)
{
    cf_session s;
    cf_train_opts o = {0};
    o.sets = sets;
    o.n_sets = n_sets;
    cf_session_init(&s, &o, out);
    cf_status st = cf_session_config(&s, config_path, err);
    if (!st) {
        /* Shapes come from data.image_shape, the training data's reader
         * (pixel formats) or the IDX headers; else 1x28x28, 10 classes. */
        s.c = 1; s.h = 28; s.w = 28; s.k = 10;
        cf_dataset d;
        const char *tp = cf_params_str(s.pd, "train"), *shape = cf_params_str(s.pd, "image_shape");
        cf_reader *r;
        cf_reader_opts ro = {.limit = 1};
        if (*shape && sscanf(shape, "%d,%d,%d", &s.c, &s.h, &s.w) == 3) {
        } else if (*tp && !cf_reader_open(tp, cf_params_str(s.pd, "format"), &ro, &r, NULL)) {
            if (r->info.c) s.c = r->info.c, s.h = r->info.h, s.w = r->info.w;
            cf_reader_close(r);
        } else if (cf_idx_load(cf_params_str(s.pd, "test_images"), cf_params_str(s.pd, "test_labels"), 1, &d, NULL) == CF_OK) {
            s.c = d.c; s.h = d.h; s.w = d.w;
            cf_dataset_free(&d);
        }
        /* The class count the data would have: data.classes, or expect_classes (SageMaker num_classes). */
        if (cf_params_list_len(s.pd, "classes")) s.k = cf_params_list_len(s.pd, "classes");
        else if (cf_params_int(s.pd, "expect_classes")) s.k = cf_params_int(s.pd, "expect_classes");
    }
    if (!st) st = cf_session_plugins(&s, err);
    if (!st) st = cf_session_model(&s, err);
    long np;
    if (!st) st = cf_model_summary(s.spec, out, &np, err);
    cf_session_free(&s);
    return st;
}
