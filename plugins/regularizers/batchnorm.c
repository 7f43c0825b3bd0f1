/* batchnorm — places batch-normalisation layers (type "batchnorm") after the
 * layers that `after` selects (see placement.h); default: every conv layer.
 * The engine builds them into CF_OP_BATCHNORM_* ops (batch statistics in
 * training, running mean/var in evaluation, learnable gamma/beta). This
 * plugin's parameters are handed to every inserted layer, which reads `eps`
 * and `momentum` from them. */
#include "placement.h"

static const cf_param_def batchnorm_params[] = {
    {"after", CF_PT_STRING_LIST, "conv", CF_PARAM_NO_RANGE, NULL,
     "layer names and/or layer types (e.g. \"conv\") to follow with batchnorm; by type, the "
     "output layer is skipped"},
    {"eps", CF_PT_FLOAT, "1e-5", 0, 1, NULL, "added to the variance before the square root"},
    {"momentum", CF_PT_FLOAT, "0.1", 0, 1, NULL,
     "running stats: r = (1 - momentum) r + momentum * batch_stat"},
    CF_PARAM_TABLE_END};

typedef struct batchnorm_state {
    const cf_params *hp; /* engine-owned, lives as long as the plugin instance */
} batchnorm_state;

/* The inserted layers read the whole table, so keep a reference to it. */
static cf_status batchnorm_init(void *state, const cf_params *hp, cf_error *err)
{
    ((batchnorm_state *)state)->hp = hp;
    return CF_OK;
}

static cf_status batchnorm_rewrite(void *state, cf_model_spec *m, cf_error *err)
{
    const batchnorm_state *s = state;
    return placement_insert(m, s->hp, "batchnorm", "batchnorm", "bn", err);
}

static const cf_regularizer_vtable batchnorm_vtable = {
    sizeof(cf_regularizer_vtable), batchnorm_init, NULL, NULL, batchnorm_rewrite, NULL};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_REGULARIZER, "batchnorm", "1.0.0",
    "batch normalisation after chosen layers or layer types (default: conv)", batchnorm_params,
    &batchnorm_vtable, sizeof(batchnorm_state));
