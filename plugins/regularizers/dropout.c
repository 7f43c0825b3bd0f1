/* dropout — places inverted-dropout layers (type "dropout") after the layers
 * that `after` selects (see placement.h). The engine builds those layers into
 * CF_OP_DROPOUT_* ops: active only in training, masks from the seeded Philox
 * stream. This plugin's own parameters are handed to every inserted layer, so
 * the layer reads its `rate` from them. */
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

/* The inserted layers read the whole table, so keep a reference to it. */
static cf_status dropout_init(void *state, const cf_params *hp, cf_error *err)
{
    ((dropout_state *)state)->hp = hp;
    return CF_OK;
}

static cf_status dropout_rewrite(void *state, cf_model_spec *m, cf_error *err)
{
    const dropout_state *s = state;
    return placement_insert(m, s->hp, "dropout", "dropout", "dropout", err);
}

static const cf_regularizer_vtable dropout_vtable = {
    sizeof(cf_regularizer_vtable), dropout_init, NULL, NULL, dropout_rewrite, NULL};

CF_EXPORT const cf_plugin_desc clforge_plugin =
    CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_REGULARIZER, "dropout", "1.0.0",
                              "inverted dropout after chosen layers or layer types (training only)",
                              dropout_params, &dropout_vtable, sizeof(dropout_state));
