/* Fuzz target: a training checkpoint (train/checkpoint.c) loaded into the
 * session of the model it belongs to (corpus/checkpoint.model: weights,
 * SGD momentum slots, the step schedule and early stopping's state), as
 * `clforge train --resume` does. The CRC trailer is recomputed (fuzz.h). */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "model/net.h"
#include "train/checkpoint.h"
#include "train/session.h"

static cf_session s;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    cf_fuzz_session(&s);
    char model[1024];
    snprintf(model, sizeof model, "%s/tests/fuzz/checkpoint.model", cf_fuzz_srcdir());
    cf_error err = {0};
    cf_status st = cf_session_open_model(&s, model, "reference", 1, 2, &err);
    if (!st) {
        const cf_optimizer_vtable *ov = s.opt.d->vtable;
        st = cf_net_alloc_slots(s.net, ov->n_slots(s.opt.state), &err);
    }
    if (!st) st = cf_schedule_create(s.psched, cf_params_num(s.opt.p, "learning_rate"), s.epochs, &s.sched, &err);
    if (st) {
        fprintf(stderr, "fuzz_checkpoint: %s\n", err.msg);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *fixed = cf_fuzz_fix_blob_crc(data, size);
    const char *p = cf_fuzz_file("last.ckpt", fixed ? fixed : data, size);
    free(fixed);
    if (!p) return 0;
    cf_early_stop es;
    cf_early_stop_init(&es, 1, 3, 0.0, 0);
    int epoch = 0;
    long step = 0;
    cf_error err = {0};
    cf_fuzz_note("checkpoint", cf_checkpoint_load(&s, p, &epoch, &step, &es, &err), &err);
    return 0;
}
