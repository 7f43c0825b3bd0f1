/* clforge — RUN_DIR/summary.json: the run's outcome, final metrics, the test
 * set's confusion matrix and per-class metrics, the diagnosis, the machine
 * and the expanded config (format in docs/report.md). Written at the end of
 * every run that got a run directory, failed ones included. */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/util.h"
#include "observe/sink.h"

typedef struct summary { char *run_dir; } summary;

static void env_json(cf_sbuf *b, const cf_ev_end *ev)
{
    struct utsname u;
    uname(&u);
    cf_sbuf_printf(b, "{\"host\":");
    cf_json_str(b, u.nodename);
    cf_sbuf_printf(b, ",\"os\":");
    char os[300];
    snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
    cf_json_str(b, os);
    cf_sbuf_printf(b, ",\"cpus\":%ld,\"backend\":", sysconf(_SC_NPROCESSORS_ONLN));
    cf_json_str(b, ev->backend);
    cf_sbuf_printf(b, ",\"device\":");
    cf_json_str(b, ev->device);
    cf_sbuf_printf(b, ",\"device_version\":");
    cf_json_str(b, ev->device_version);
    cf_sbuf_printf(b, ",\"optimizer\":");
    cf_json_str(b, ev->optimizer);
    cf_sbuf_printf(b, ",\"clforge\":\"%s\"}", ev->version);
}

static void class_fields(cf_sbuf *b, const cf_class_metrics *m) { cf_class_metrics_json(b, m, 1); }

static void class_json(cf_sbuf *b, const char *key, const cf_class_metrics *m)
{
    cf_sbuf_printf(b, "\"%s\":{", key);
    class_fields(b, m);
    cf_sbuf_printf(b, "}");
}

/* ,"per_class":[...],"macro":{...},"micro":{...},"weighted":{...}; names NULL: numbered */
static void report_json(cf_sbuf *b, const cf_metrics_report *mr, const char *const *names)
{
    cf_sbuf_printf(b, ",\"per_class\":[");
    for (int c = 0; c < mr->k; c++) {
        cf_sbuf_printf(b, "%s{\"class\":", c ? "," : "");
        if (names) cf_json_str(b, names[c]);
        else cf_sbuf_printf(b, "\"%d\"", c);
        cf_sbuf_printf(b, ",");
        class_fields(b, &mr->per_class[c]);
        cf_sbuf_printf(b, "}");
    }
    cf_sbuf_printf(b, "],");
    class_json(b, "macro", &mr->macro);
    cf_sbuf_printf(b, ",");
    class_json(b, "micro", &mr->micro);
    cf_sbuf_printf(b, ",");
    class_json(b, "weighted", &mr->weighted);
}

static void test_json(cf_sbuf *b, const cf_ev_end *ev)
{
    cf_metrics_report mr;
    cf_error e2;
    int k = ev->k;
    cf_sbuf_printf(b, ",\"test\":{\"loss\":");
    cf_json_num(b, ev->test_loss);
    cf_sbuf_printf(b, ",\"accuracy\":");
    cf_json_num(b, ev->test_accuracy);
    if (ev->top_k) {
        cf_sbuf_printf(b, ",\"top%d\":", ev->top_k);
        cf_json_num(b, ev->test_topk);
    }
    cf_sbuf_printf(b, ",\"samples\":%ld", ev->test_samples);
    if (ev->test_ml) { /* per label; a confusion matrix means nothing for label sets */
        cf_sbuf_printf(b, ",");
        cf_ml_json(b, ev->test_ml, ev->class_names, ev->threshold);
        cf_sbuf_printf(b, "}");
        return;
    }
    cf_sbuf_printf(b, ",\"classes\":[");
    for (int c = 0; c < k; c++) {
        if (c) cf_sbuf_printf(b, ",");
        cf_json_str(b, ev->class_names[c]);
    }
    cf_sbuf_printf(b, "],\"confusion\":[");
    for (int i = 0; i < k; i++) {
        cf_sbuf_printf(b, "%s[", i ? "," : "");
        for (int j = 0; j < k; j++) cf_sbuf_printf(b, "%s%ld", j ? "," : "", ev->confusion->m[i * k + j]);
        cf_sbuf_printf(b, "]");
    }
    cf_sbuf_printf(b, "]");
    if (cf_metrics_compute(ev->confusion, &mr, &e2) == CF_OK) {
        report_json(b, &mr, ev->class_names);
        cf_metrics_report_free(&mr);
    }
    cf_sbuf_printf(b, "}");
}

static cf_status end(cf_sink *s, const cf_ev_end *ev, cf_error *err)
{
    summary *sm = s->state;
    if (!sm->run_dir) return CF_OK; /* no run directory: nothing to summarize */
    cf_sbuf b = {0};
    cf_sbuf_printf(&b, "{\"name\":");
    cf_json_str(&b, ev->name);
    cf_sbuf_printf(&b, ",\"status\":");
    cf_json_str(&b, ev->outcome);
    if (ev->status) {
        cf_sbuf_printf(&b, ",\"message\":");
        cf_json_str(&b, ev->message ? ev->message : "");
    }
    cf_sbuf_printf(&b, ",\"backend\":");
    cf_json_str(&b, ev->backend);
    cf_sbuf_printf(&b, ",\"device\":");
    cf_json_str(&b, ev->device);
    cf_sbuf_printf(&b, ",\"version\":\"%s\",\"seed\":%llu,\"wall_seconds\":", ev->version,
                   (unsigned long long)ev->seed);
    cf_json_num(&b, ev->wall_seconds);
    cf_sbuf_printf(&b, ",\"epochs_run\":%d,\"best_epoch\":%d,\"steps\":%ld,\"parameters\":%ld", ev->epochs_run,
                   ev->best_epoch, ev->steps, ev->parameters);
    /* the world the run was trained by (1 rank: a plain run) */
    cf_sbuf_printf(&b, ",\"distributed\":{\"world_size\":%d,\"hosts\":", ev->world_size > 0 ? ev->world_size : 1);
    cf_json_str(&b, ev->hosts ? ev->hosts : "");
    cf_sbuf_printf(&b, ",\"allreduce_seconds_per_step\":");
    cf_json_num(&b, ev->allreduce_steps ? ev->allreduce_seconds / (double)ev->allreduce_steps : 0.0);
    cf_sbuf_printf(&b, "}");
    cf_sbuf_printf(&b, ",\"train\":{\"loss\":");
    cf_json_num(&b, ev->train_loss);
    cf_sbuf_printf(&b, ",\"accuracy\":");
    cf_json_num(&b, ev->train_accuracy);
    cf_sbuf_printf(&b, ",\"samples\":%d},\"validation\":{\"loss\":", ev->train_samples);
    cf_json_num(&b, ev->validation_loss);
    cf_sbuf_printf(&b, ",\"accuracy\":");
    cf_json_num(&b, ev->validation_accuracy);
    cf_sbuf_printf(&b, ",\"samples\":%d", ev->validation_samples);
    if (ev->multi_label && ev->validation_samples) {
        cf_sbuf_printf(&b, ",\"micro_f1\":");
        cf_json_num(&b, ev->validation_micro_f1);
        cf_sbuf_printf(&b, ",\"macro_f1\":");
        cf_json_num(&b, ev->validation_macro_f1);
        cf_sbuf_printf(&b, ",\"hamming_loss\":");
        cf_json_num(&b, ev->validation_hamming);
    }
    cf_metrics_report vr;
    cf_error ve;
    if (ev->validation_confusion && cf_metrics_compute(ev->validation_confusion, &vr, &ve) == CF_OK) {
        report_json(&b, &vr, ev->class_names); /* the last epoch's, as the report's validation table */
        cf_metrics_report_free(&vr);
    }
    cf_sbuf_printf(&b, "}");
    if (ev->have_test) test_json(&b, ev);
    if (ev->skipped) {
        cf_sbuf_printf(&b, ",\"skipped\":{\"count\":%ld,\"files\":[", ev->skipped);
        for (int i = 0; i < ev->n_skipped_files; i++) {
            if (i) cf_sbuf_printf(&b, ",");
            cf_json_str(&b, ev->skipped_files[i]);
        }
        cf_sbuf_printf(&b, "]}");
    }
    cf_sbuf_printf(&b, ",\"diagnosis\":{\"code\":");
    cf_json_str(&b, ev->diagnosis_code);
    cf_sbuf_printf(&b, ",\"text\":");
    cf_json_str(&b, ev->diagnosis_text);
    cf_sbuf_printf(&b, "},\"environment\":");
    env_json(&b, ev);
    cf_sbuf_printf(&b, ",\"config\":");
    cf_json_str(&b, ev->config_text ? ev->config_text : "");
    cf_sbuf_printf(&b, "}\n");
    char path[1200];
    snprintf(path, sizeof path, "%s/summary.json", sm->run_dir);
    cf_status st = cf_sbuf_ok(&b) ? cf_write_file_atomic(path, b.s, b.len, err)
                                 : cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
    cf_sbuf_free(&b);
    return st;
}

static cf_status open_(cf_sink *s, const cf_ev_open *ev, cf_error *err)
{
    summary *sm = s->state;
    if (!(sm->run_dir = cf_strdup(ev->run_dir))) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    return CF_OK;
}

static void free_(cf_sink *s)
{
    summary *sm = s->state;
    free(sm->run_dir);
    free(sm);
}

cf_status cf_sink_summary_add(cf_sinks *l, cf_error *err)
{
    summary *sm = calloc(1, sizeof *sm);
    if (!sm) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    cf_sink s = {.name = "summary.json", .state = sm, .open = open_, .end = end, .free = free_};
    return cf_sinks_add(l, &s, err);
}
