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
    cf_status st = b.s ? cf_sink_append(j->run_dir, "metrics.jsonl", b.s, b.len, err)
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
