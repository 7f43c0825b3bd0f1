/* Names of ops and activations, for messages and the parity report. */
#include "clforge/backend.h"
#include "clforge/plugin.h"

const char *cf_op_name(cf_op_kind k)
{
    static const char *const names[CF_OP_COUNT] = {
        [CF_OP_NONE] = "none",
        [CF_OP_DENSE_FWD] = "dense_fwd",
        [CF_OP_DENSE_BWD_DATA] = "dense_bwd_data",
        [CF_OP_DENSE_BWD_WEIGHT] = "dense_bwd_weight",
        [CF_OP_CONV2D_FWD] = "conv2d_fwd",
        [CF_OP_CONV2D_BWD_DATA] = "conv2d_bwd_data",
        [CF_OP_CONV2D_BWD_WEIGHT] = "conv2d_bwd_weight",
        [CF_OP_MAXPOOL_FWD] = "maxpool_fwd",
        [CF_OP_MAXPOOL_BWD] = "maxpool_bwd",
        [CF_OP_AVGPOOL_FWD] = "avgpool_fwd",
        [CF_OP_AVGPOOL_BWD] = "avgpool_bwd",
        [CF_OP_GAP_FWD] = "gap_fwd",
        [CF_OP_GAP_BWD] = "gap_bwd",
        [CF_OP_ADD] = "add",
        [CF_OP_ACT_FWD] = "act_fwd",
        [CF_OP_ACT_BWD] = "act_bwd",
        [CF_OP_SOFTMAX_FWD] = "softmax_fwd",
        [CF_OP_SOFTMAX_BWD] = "softmax_bwd",
        [CF_OP_SOFTMAX_XENT_FWD] = "softmax_xent_fwd",
        [CF_OP_SOFTMAX_XENT_BWD] = "softmax_xent_bwd",
        [CF_OP_MSE_FWD] = "mse_fwd",
        [CF_OP_MSE_BWD] = "mse_bwd",
        [CF_OP_HINGE_FWD] = "hinge_fwd",
        [CF_OP_HINGE_BWD] = "hinge_bwd",
        [CF_OP_DROPOUT_FWD] = "dropout_fwd",
        [CF_OP_DROPOUT_BWD] = "dropout_bwd",
        [CF_OP_BATCHNORM_FWD_TRAIN] = "batchnorm_fwd_train",
        [CF_OP_BATCHNORM_FWD_EVAL] = "batchnorm_fwd_eval",
        [CF_OP_BATCHNORM_BWD] = "batchnorm_bwd",
        [CF_OP_FILL] = "fill",
        [CF_OP_AXPBY] = "axpby",
        [CF_OP_MUL] = "mul",
        [CF_OP_DIV] = "div",
        [CF_OP_SQRT] = "sqrt",
        [CF_OP_SIGN] = "sign",
        [CF_OP_MAX] = "max",
        [CF_OP_SUMSQ] = "sumsq",
        [CF_OP_CONV2D_FWD_ACT] = "conv2d_fwd_act",
        [CF_OP_CHANNEL_COPY] = "channel_copy",
        [CF_OP_SIGMOID_BCE_FWD] = "sigmoid_bce_fwd",
        [CF_OP_SIGMOID_BCE_BWD] = "sigmoid_bce_bwd",
    };
    if ((int)k < 0 || k >= CF_OP_COUNT || !names[k]) return "unknown";
    return names[k];
}

const char *cf_act_name(cf_act a)
{
    static const char *const names[CF_ACT_COUNT] = {
        "none", "relu", "leaky_relu", "sigmoid", "tanh", "elu", "gelu"};
    if ((int)a < 0 || a >= CF_ACT_COUNT) return "unknown";
    return names[a];
}

const char *cf_plugin_kind_name(cf_plugin_kind k)
{
    switch (k) {
    case CF_PLUGIN_BACKEND: return "backend";
    case CF_PLUGIN_OPTIMIZER: return "optimizer";
    case CF_PLUGIN_REGULARIZER: return "regularizer";
    case CF_PLUGIN_AUGMENTATION: return "augmentation";
    }
    return "unknown";
}
