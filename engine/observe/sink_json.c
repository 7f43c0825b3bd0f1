/* clforge — --json: one JSON object per event on stdout ("start", "epoch",
 * "end"), for programs driving clforge (the tuner's trials among them). */
#include "core/util.h"
#include "observe/sink.h"

static cf_status put(cf_sink *s, cf_sbuf *b, cf_error *err)
{
    if (!cf_sbuf_ok(b)) {
        cf_sbuf_free(b);
        return cf_error_set(err, CF_ERR_NOMEM, "JSON output: out of memory");
    }
    fputs(b->s, s->state);
    cf_sbuf_free(b);
    return cf_sink_flush(s->state, "JSON output", err);
}

static cf_status start(cf_sink *s, const cf_ev_start *ev, cf_error *err)
{
    cf_sbuf b = {0};
    cf_sbuf_printf(&b, "{\"event\":\"start\",\"name\":");
    cf_json_str(&b, ev->name);
    cf_sbuf_printf(&b, ",\"run_dir\":");
    cf_json_str(&b, ev->run_dir);
    cf_sbuf_printf(&b, ",\"backend\":");
    cf_json_str(&b, ev->backend);
    cf_sbuf_printf(&b, ",\"train_samples\":%d,\"validation_samples\":%d,\"parameters\":%ld,\"epochs\":%d}\n",
                   ev->train_samples, ev->validation_samples, ev->parameters, ev->epochs);
    return put(s, &b, err);
}

static cf_status epoch(cf_sink *s, const cf_ev_epoch *ev, cf_error *err)
{
    cf_sbuf b = {0};
    cf_sbuf_printf(&b, "{\"event\":\"epoch\",");
    cf_sink_epoch_fields(&b, ev);
    cf_sbuf_printf(&b, ",\"seconds\":%.3f,\"images_per_sec\":%.1f}\n", ev->seconds, ev->images_per_sec);
    return put(s, &b, err);
}

static cf_status end(cf_sink *s, const cf_ev_end *ev, cf_error *err)
{
    cf_sbuf b = {0};
    cf_sbuf_printf(&b, "{\"event\":\"end\",\"status\":");
    cf_json_str(&b, ev->status ? (ev->status == CF_ERR_INTERRUPTED ? "interrupted" : "error") : "ok");
    if (ev->status) {
        cf_sbuf_printf(&b, ",\"message\":");
        cf_json_str(&b, ev->message ? ev->message : "");
    }
    cf_sbuf_printf(&b, ",\"run_dir\":");
    cf_json_str(&b, ev->run_dir);
    cf_sbuf_printf(&b, ",\"epochs_run\":%d,\"validation_accuracy\":", ev->epochs_run);
    cf_json_num(&b, ev->validation_accuracy);
    cf_sbuf_printf(&b, ",\"validation_loss\":");
    cf_json_num(&b, ev->validation_loss);
    if (ev->have_test) {
        cf_sbuf_printf(&b, ",\"test_accuracy\":");
        cf_json_num(&b, ev->test_accuracy);
    }
    cf_sbuf_printf(&b, ",\"wall_seconds\":%.3f}\n", ev->wall_seconds);
    return put(s, &b, err);
}

cf_status cf_sink_json_add(cf_sinks *l, FILE *out, cf_error *err)
{
    cf_sink s = {.name = "json", .state = out, .start = start, .epoch = epoch, .end = end};
    return cf_sinks_add(l, &s, err);
}
