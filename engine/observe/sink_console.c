/* clforge — the console sink: a line per event for people reading the terminal. */
#include "core/util.h"
#include "observe/sink.h"

static cf_status start(cf_sink *s, const cf_ev_start *ev, cf_error *err)
{
    FILE *f = s->state;
    fprintf(f, "clforge %s: run %s on backend %s (%s); %d train / %d validation samples; %ld parameters\n",
            ev->version, ev->run_dir, ev->backend, ev->device, ev->train_samples, ev->validation_samples,
            ev->parameters);
    if (ev->resume_epoch) fprintf(f, "resuming after epoch %d (step %ld)\n", ev->resume_epoch, ev->step);
    return cf_sink_flush(f, "console output", err);
}

static cf_status epoch(cf_sink *s, const cf_ev_epoch *ev, cf_error *err)
{
    FILE *f = s->state;
    /* multi-label: "exact" is the exact-match (subset) accuracy */
    const char *acc = ev->multi_label ? "exact" : "acc";
    fprintf(f, "epoch %d/%d  train loss %.4f %s %.4f", ev->epoch, ev->epochs, ev->train_loss, acc,
            ev->train_accuracy);
    if (ev->has_validation) fprintf(f, "  val loss %.4f %s %.4f", ev->validation_loss, acc, ev->validation_accuracy);
    if (ev->has_validation && ev->multi_label)
        fprintf(f, " micro-F1 %.4f macro-F1 %.4f", ev->validation_micro_f1, ev->validation_macro_f1);
    fprintf(f, "  lr %.3g  %.1fs  %.0f img/s\n", ev->lr, ev->seconds, ev->images_per_sec);
    return cf_sink_flush(f, "console output", err);
}

static cf_status note(cf_sink *s, const char *text, cf_error *err)
{
    fprintf(s->state, "%s\n", text);
    return cf_sink_flush(s->state, "console output", err);
}

static cf_status end(cf_sink *s, const cf_ev_end *ev, cf_error *err)
{
    FILE *f = s->state;
    if (ev->status) return CF_OK; /* the caller prints the error */
    if (ev->have_test && ev->test_ml) {
        const cf_ml_report *r = ev->test_ml;
        fprintf(f, "test micro F1 %.4f  macro F1 %.4f  exact match %.4f  hamming loss %.4f (loss %.4f, %ld images, "
                   "threshold %g)\n", r->micro.f1, r->macro.f1, r->exact_match, r->hamming_loss, ev->test_loss,
                ev->test_samples, ev->threshold);
    } else if (ev->have_test)
        fprintf(f, "test accuracy %.4f (loss %.4f, %ld images)\n", ev->test_accuracy, ev->test_loss,
                ev->test_samples);
    if (ev->skipped)
        fprintf(f, "skipped %ld unreadable data file%s (named in summary.json)\n", ev->skipped,
                ev->skipped == 1 ? "" : "s");
    if (ev->diagnosis_text && ev->diagnosis_text[0]) fprintf(f, "diagnosis: %s\n", ev->diagnosis_text);
    /* name only what is there: the report may have failed (disk full) */
    char rp[1200];
    snprintf(rp, sizeof rp, "%s/report.html", ev->run_dir);
    fprintf(f, "wrote %s (summary.json, metrics.jsonl, model.clf%s)\n", ev->run_dir,
            cf_file_exists(rp) ? ", report.html" : "");
    return cf_sink_flush(f, "console output", err);
}

cf_status cf_sink_console_add(cf_sinks *l, FILE *out, cf_error *err)
{
    cf_sink s = {.name = "console", .state = out, .start = start, .epoch = epoch, .note = note, .end = end};
    return cf_sinks_add(l, &s, err);
}
