/* dropout — places inverted-dropout layers (type "dropout") after the layers
 * that `after` selects (see placement.h). The engine builds those layers into
 * CF_OP_DROPOUT_* ops: active only in training, masks from the seeded Philox
 * stream. This plugin's own parameters are handed to every inserted layer, so
 * the layer reads its `rate` from them. */
#include <stdlib.h>

#include "placement.h"

static const cf_param_def dropout_params[] = {
    {"rate", CF_PT_FLOAT, "0.5", 0, 0.99, NULL, "probability p of zeroing an activation"},
    {"after", CF_PT_STRING_LIST, NULL, CF_PARAM_NO_RANGE, NULL,
     "layer names and/or layer types (e.g. \"dense\") to follow with dropout; by type, the "
     "output layer is skipped"},
    CF_PARAM_TABLE_END};

typedef struct dropout_state {
    const cf_params *hp; /* engine-owned, lives as long as the plugin instance */
} dropout_state;

static cf_status dropout_create(const cf_params *hp, void **state, cf_error *err)
{
    dropout_state *s = calloc(1, sizeof *s);
    if (!s) return cf_error_set(err, CF_ERR_NOMEM, "dropout: out of memory");
    s->hp = hp;
    *state = s;
    return CF_OK;
}

static void dropout_destroy(void *state) { free(state); }

static cf_status dropout_rewrite(void *state, cf_model_spec *m, cf_error *err)
{
    const dropout_state *s = state;
    return placement_insert(m, s->hp, "dropout", "dropout", "dropout", err);
}

static const cf_regularizer_vtable dropout_vtable = {
    sizeof(cf_regularizer_vtable), dropout_create, dropout_destroy, dropout_rewrite, NULL};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT(CF_PLUGIN_REGULARIZER, "dropout", "1.0.0",
                        "inverted dropout after chosen layers or layer types (training only)",
                        dropout_params, &dropout_vtable);
