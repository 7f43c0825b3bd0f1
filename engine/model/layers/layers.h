/* clforge — The settings of the built-in layer types that model builders
 * (presets, tests) set directly. Each lives in cf_layer_spec.params, owned
 * by its type; a type whose settings nobody else touches keeps its struct in
 * its own file. */
#ifndef CLFORGE_MODEL_LAYERS_LAYERS_H
#define CLFORGE_MODEL_LAYERS_LAYERS_H

typedef struct cf_dense_params { int units, bias; } cf_dense_params;
typedef struct cf_conv_params { int filters, kernel, stride, padding, bias; } cf_conv_params;
/* maxpool and avgpool */
typedef struct cf_pool_params { int size, stride, padding; } cf_pool_params;
typedef struct cf_dropout_params { float rate; } cf_dropout_params;
typedef struct cf_batchnorm_params { float eps, momentum; } cf_batchnorm_params;

#define CF_LAYER_P(l, T) ((T *)(void *)(l)->params)
#define CF_DENSE(l) CF_LAYER_P(l, cf_dense_params)
#define CF_CONV(l) CF_LAYER_P(l, cf_conv_params)
#define CF_POOL(l) CF_LAYER_P(l, cf_pool_params)
#define CF_DROPOUT(l) CF_LAYER_P(l, cf_dropout_params)
#define CF_BATCHNORM(l) CF_LAYER_P(l, cf_batchnorm_params)

#endif
