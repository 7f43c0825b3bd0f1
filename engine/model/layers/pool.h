/* clforge — What maxpool and avgpool share: settings, parsing, shapes. */
#ifndef CLFORGE_MODEL_LAYERS_POOL_H
#define CLFORGE_MODEL_LAYERS_POOL_H

#include "model/layer.h"

void cf_pool_defaults(cf_layer_spec *l);
cf_status cf_pool_parse(cf_layer_spec *l, const struct cf_params *p, const char *type,
                        const char *where, cf_error *err);
cf_status cf_pool_infer(const cf_layer_spec *l, const cf_shape3 *in, int n, cf_shape3 *out,
                        cf_error *err);
void cf_pool_geometry(cf_op *op, const cf_layer_spec *l);
extern const char *const cf_pool_keys[];
struct cf_graph_builder;
struct cf_graph_io;
/* MaxPool / AveragePool (count_include_pad) with the layer's window. */
cf_status cf_pool_export(const struct cf_graph_builder *g, const cf_node *nd, struct cf_graph_io *io,
                         const char *op, cf_error *err);

#endif
