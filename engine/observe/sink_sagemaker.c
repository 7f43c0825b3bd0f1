/* clforge — SageMaker log lines: the image-classification algorithm's
 * "Epoch[N] Train-accuracy=..." lines (0-based N), which SageMaker's metric
 * definitions scrape from the log. */
#include "observe/sink.h"

static cf_status epoch(cf_sink *s, const cf_ev_epoch *ev, cf_error *err)
{
    int n = ev->epoch - 1;
    fprintf(s->state, "Epoch[%d] Train-accuracy=%f\nEpoch[%d] Validation-accuracy=%f\nEpoch[%d] Time cost=%.3f\n", n,
            ev->train_accuracy, n, ev->validation_accuracy, n, ev->seconds);
    return cf_sink_flush(s->state, "SageMaker log lines", err);
}

cf_status cf_sink_sagemaker_add(cf_sinks *l, FILE *out, cf_error *err)
{
    cf_sink s = {.name = "sagemaker", .state = out, .epoch = epoch};
    return cf_sinks_add(l, &s, err);
}
