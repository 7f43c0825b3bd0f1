/* batchnorm — places batch-normalisation layers (type "batchnorm") after the
 * layers that `after` selects (see placement.h); default: every conv layer.
 * The engine builds them into CF_OP_BATCHNORM_* ops (batch statistics in
 * training, running mean/var in evaluation, learnable gamma/beta). This
 * plugin's parameters are handed to every inserted layer, which reads `eps`
 * and `momentum` from them. */
#include <stdlib.h>

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

static cf_status batchnorm_create(const cf_params *hp, void **state, cf_error *err)
{
    batchnorm_state *s = calloc(1, sizeof *s);
    if (!s) return cf_error_set(err, CF_ERR_NOMEM, "batchnorm: out of memory");
    s->hp = hp;
    *state = s;
    return CF_OK;
}

static void batchnorm_destroy(void *state) { free(state); }

static cf_status batchnorm_rewrite(void *state, cf_model_spec *m, cf_error *err)
{
    const batchnorm_state *s = state;
    return placement_insert(m, s->hp, "batchnorm", "batchnorm", "bn", err);
}

static const cf_regularizer_vtable batchnorm_vtable = {
    sizeof(cf_regularizer_vtable), batchnorm_create, batchnorm_destroy, batchnorm_rewrite, NULL};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT(CF_PLUGIN_REGULARIZER, "batchnorm", "1.0.0",
                        "batch normalisation after chosen layers or layer types (default: conv)",
                        batchnorm_params, &batchnorm_vtable);
