/* clforge — exponential moving average of the weights (train.ema), as timm's
 * ModelEmaV2: a shadow copy of every parameter tensor of the net, the
 * batch-norm running statistics included, taken when training starts and
 * after each optimizer step t updated as
 *
 *   shadow = d shadow + (1 - d) value,   d = decay, or with warmup
 *                                        min(decay, (1 + t) / (10 + t)) (timm's ModelEmaV3)
 *
 * Running statistics are averaged like weights (ModelEmaV2 averages the whole
 * state_dict), so the averaged weights are evaluated with averaged statistics
 * that match them better than the live ones. The shadow is swapped in for
 * validation (evaluate) and for the test set and model.clf (save). */
#ifndef CF_EMA_H
#define CF_EMA_H

#include "model/modelfile.h"
#include "model/net.h"

typedef struct cf_ema {
    int on;
    double decay;
    int warmup;
    int n;
    cf_tensor *shadow; /* one per net parameter */
    cf_tensor *backup; /* the live values while the shadow is swapped in */
    int swapped;
} cf_ema;

/* Shadow = the net's current values. */
cf_status cf_ema_init(cf_ema *e, cf_net *net, double decay, int warmup, cf_error *err);
/* After optimizer step `step` (1-based). */
cf_status cf_ema_update(cf_ema *e, cf_net *net, long step, cf_error *err);
/* Swap the shadow into the net (the live values kept aside) and back. */
cf_status cf_ema_swap_in(cf_ema *e, cf_net *net, cf_error *err);
cf_status cf_ema_swap_out(cf_ema *e, cf_net *net, cf_error *err);
/* Checkpoints: the shadow as tensors "ema:<name>" of a blob. */
cf_status cf_ema_save(cf_ema *e, cf_net *net, cf_blob *bl, cf_error *err);
cf_status cf_ema_load(cf_ema *e, cf_net *net, const cf_blob *bl, const char *path, cf_error *err);
void cf_ema_free(cf_ema *e, cf_backend *be);

#endif
