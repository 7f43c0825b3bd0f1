/* clforge — RUN_DIR/metrics.jsonl: one JSON object per epoch holding only
 * values that a seeded run reproduces exactly (no timings), so a resumed run's
 * file is byte-identical to an uninterrupted one's. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "observe/sink.h"

void cf_sink_epoch_fields(cf_sbuf *b, const cf_ev_epoch *ev)
{
    cf_sbuf_printf(b, "\"epoch\":%d,\"lr\":", ev->epoch);
    cf_json_num(b, ev->lr);
    cf_sbuf_printf(b, ",\"train_loss\":");
    cf_json_num(b, ev->train_loss);
    cf_sbuf_printf(b, ",\"train_accuracy\":");
    cf_json_num(b, ev->train_accuracy);
    if (ev->has_validation) {
        cf_sbuf_printf(b, ",\"validation_loss\":");
        cf_json_num(b, ev->validation_loss);
        cf_sbuf_printf(b, ",\"validation_accuracy\":");
        cf_json_num(b, ev->validation_accuracy);
        if (ev->top_k) {
            cf_sbuf_printf(b, ",\"validation_top%d\":", ev->top_k);
            cf_json_num(b, ev->validation_topk);
        }
        if (ev->multi_label) { /* tune objectives validation:micro_f1, validation:macro_f1 */
            cf_sbuf_printf(b, ",\"validation_micro_f1\":");
            cf_json_num(b, ev->validation_micro_f1);
            cf_sbuf_printf(b, ",\"validation_macro_f1\":");
            cf_json_num(b, ev->validation_macro_f1);
            cf_sbuf_printf(b, ",\"validation_hamming_loss\":");
            cf_json_num(b, ev->validation_hamming);
        }
    }
    const cf_metrics_report *vm = ev->has_validation ? ev->validation_metrics : NULL;
    if (!vm) return;
    /* macro averages and each class's recall flat (tune objectives
     * validation:f1, validation:recall:<class index>), then every class */
    cf_sbuf_printf(b, ",\"validation_precision\":");
    cf_json_num(b, vm->macro.precision);
    cf_sbuf_printf(b, ",\"validation_recall\":");
    cf_json_num(b, vm->macro.recall);
    cf_sbuf_printf(b, ",\"validation_f1\":");
    cf_json_num(b, vm->macro.f1);
    for (int c = 0; c < vm->k; c++) {
        cf_sbuf_printf(b, ",\"validation_recall_%d\":", c);
        cf_json_num(b, vm->per_class[c].recall);
    }
    cf_sbuf_printf(b, ",\"validation_per_class\":[");
    for (int c = 0; c < vm->k; c++) {
        cf_sbuf_printf(b, "%s{\"class\":", c ? "," : "");
        if (ev->class_names) cf_json_str(b, ev->class_names[c]);
        else cf_sbuf_printf(b, "\"%d\"", c);
        cf_sbuf_printf(b, ",\"precision\":");
        cf_json_num(b, vm->per_class[c].precision);
        cf_sbuf_printf(b, ",\"recall\":");
        cf_json_num(b, vm->per_class[c].recall);
        cf_sbuf_printf(b, ",\"f1\":");
        cf_json_num(b, vm->per_class[c].f1);
        cf_sbuf_printf(b, ",\"support\":%ld}", vm->per_class[c].support);
    }
    cf_sbuf_printf(b, "]");
}

typedef struct jsonl { char *run_dir; } jsonl;

static cf_status open_(cf_sink *s, const cf_ev_open *ev, cf_error *err)
{
    jsonl *j = s->state;
    if (!(j->run_dir = cf_strdup(ev->run_dir))) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    char path[1200];
    snprintf(path, sizeof path, "%s/metrics.jsonl", ev->run_dir);
    if (!ev->resuming) return cf_write_file_atomic(path, "", 0, err);
    /* The file may hold epochs after the checkpoint (killed between the two
     * writes): keep only the first resume_epoch lines. */
    char *txt;
    size_t len;
    if (cf_read_file(path, &txt, &len, NULL) != CF_OK) return CF_OK; /* created on the first append */
    char *p = txt;
    for (int i = 0; i < ev->resume_epoch && p; i++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    cf_status st = cf_write_file_atomic(path, txt, p ? (size_t)(p - txt) : len, err);
    free(txt);
    return st;
}

static cf_status epoch(cf_sink *s, const cf_ev_epoch *ev, cf_error *err)
{
    jsonl *j = s->state;
    cf_sbuf b = {0};
    cf_sbuf_printf(&b, "{");
    cf_sink_epoch_fields(&b, ev);
    cf_sbuf_printf(&b, "}\n");
    cf_status st = cf_sbuf_ok(&b) ? cf_sink_append(j->run_dir, "metrics.jsonl", b.s, b.len, err)
                       : cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    cf_sbuf_free(&b);
    return st;
}

static void free_(cf_sink *s)
{
    jsonl *j = s->state;
    free(j->run_dir);
    free(j);
}

cf_status cf_sink_jsonl_add(cf_sinks *l, cf_error *err)
{
    jsonl *j = calloc(1, sizeof *j);
    if (!j) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    cf_sink s = {.name = "metrics.jsonl", .state = j, .open = open_, .epoch = epoch, .free = free_};
    return cf_sinks_add(l, &s, err);
}
