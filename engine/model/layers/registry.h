/* clforge — Every layer type, in cf_layer_type order: X(ENUM, symbol) names
 * CF_LAYER_ENUM and its definition cf_layer_<symbol> (layers/<symbol>.c).
 * Adding a layer type = its file + one line here. Append: the enum values
 * are how presets and tests name types. */
#ifndef CLFORGE_MODEL_LAYERS_REGISTRY_H
#define CLFORGE_MODEL_LAYERS_REGISTRY_H

#define CF_LAYER_TYPES(X)                                                                          \
    X(INPUT, input)                                                                                \
    X(DENSE, dense)                                                                                \
    X(CONV, conv)                                                                                  \
    X(MAXPOOL, maxpool)                                                                            \
    X(AVGPOOL, avgpool)                                                                            \
    X(GAP, gap)                                                                                    \
    X(FLATTEN, flatten)                                                                            \
    X(ADD, add)                                                                                    \
    X(ACT, act)                                                                                    \
    X(SOFTMAX, softmax)                                                                            \
    X(DROPOUT, dropout)                                                                            \
    X(BATCHNORM, batchnorm)                                                                        \
    X(CONCAT, concat)

#endif
