/* The "wrn" preset: wide residual networks WRN-d-k (Zagoruyko & Komodakis
 * 2016), laid out as their code and its common PyTorch port
 * (xternalz/WideResNet-pytorch), so the parameter counts are theirs
 * (WRN-28-10 on CIFAR: 36,479,194; WRN-16-4: 2,748,890):
 *
 *   conv 3x3, 16 -> 3 groups of n = (d - 4) / 6 pre-activation basic blocks,
 *   widths 16k, 32k, 64k, strides 1, 2, 2 -> bn, relu -> global average -> fc
 *
 *   block(x):  a = relu(bn1(x)); y = conv3x3(a, stride); y = relu(bn2(y));
 *              [dropout]; y = conv3x3(y); out = y + (x, or conv1x1(a, stride)
 *              when the width or stride changes)
 *
 * Convolutions have no bias (batch norm follows each). Dropout (model.dropout)
 * sits between the two convolutions of every block, as in the paper. */
#include <stdio.h>

#include "model/model.h"

cf_status cf_model_preset_wrn(cf_model_spec *m, int depth, int widen, double dropout, int n_classes,
                              cf_error *err)
{
    if (depth < 10 || (depth - 4) % 6 != 0)
        return cf_error_set(err, CF_ERR_INVALID,
                            "model: wrn depth = %d: must be 6n + 4 with n >= 1 (10, 16, 22, 28, 40, ...)", depth);
    if (widen < 1 || widen > 64)
        return cf_error_set(err, CF_ERR_INVALID, "model: wrn widen = %d: must be 1 to 64", widen);
    cf_layer_spec *l;
    cf_conv_params *cv;
#define ADD(t, nm)                                                                                 \
    do {                                                                                           \
        if (!(l = cf_model_spec_append(m, t, nm))) return cf_error_set(err, CF_ERR_NOMEM, "out of memory"); \
    } while (0)
#define CONV(nm, f, k, s)                                                                          \
    do {                                                                                           \
        ADD(CF_LAYER_CONV, nm);                                                                    \
        cv = CF_CONV(l);                                                                           \
        cv->filters = (f); cv->kernel = (k); cv->stride = (s); cv->padding = (k) / 2; cv->bias = 0; \
    } while (0)
    int n = (depth - 4) / 6, widths[3] = {16 * widen, 32 * widen, 64 * widen}, in_ch = 16;
    char nm[CF_NAME_MAX], x[CF_NAME_MAX], a[CF_NAME_MAX], y[CF_NAME_MAX];
    CONV("stem", 16, 3, 1);
    snprintf(x, sizeof x, "stem");
    for (int g = 0; g < 3; g++) {
        for (int b = 0; b < n; b++) {
            int stride = b == 0 && g > 0 ? 2 : 1, out_ch = widths[g];
            snprintf(a, sizeof a, "g%d_b%d_bn1", g + 1, b + 1);
            ADD(CF_LAYER_BATCHNORM, a);
            l->act = CF_ACT_RELU;
            l->n_inputs = 1;
            snprintf(l->inputs[0], CF_NAME_MAX, "%s", x);
            snprintf(nm, sizeof nm, "g%d_b%d_conv1", g + 1, b + 1);
            CONV(nm, out_ch, 3, stride);
            snprintf(nm, sizeof nm, "g%d_b%d_bn2", g + 1, b + 1);
            ADD(CF_LAYER_BATCHNORM, nm);
            l->act = CF_ACT_RELU;
            if (dropout > 0) {
                snprintf(nm, sizeof nm, "g%d_b%d_drop", g + 1, b + 1);
                ADD(CF_LAYER_DROPOUT, nm);
                CF_DROPOUT(l)->rate = (float)dropout;
            }
            snprintf(y, sizeof y, "g%d_b%d_conv2", g + 1, b + 1);
            CONV(y, out_ch, 3, 1);
            char skip[CF_NAME_MAX];
            snprintf(skip, sizeof skip, "%s", x);
            if (in_ch != out_ch || stride != 1) {
                snprintf(skip, sizeof skip, "g%d_b%d_proj", g + 1, b + 1);
                CONV(skip, out_ch, 1, stride);
                l->n_inputs = 1;
                snprintf(l->inputs[0], CF_NAME_MAX, "%s", a); /* the pre-activated input */
            }
            snprintf(x, sizeof x, "g%d_b%d_add", g + 1, b + 1);
            ADD(CF_LAYER_ADD, x);
            l->n_inputs = 2;
            snprintf(l->inputs[0], CF_NAME_MAX, "%s", y);
            snprintf(l->inputs[1], CF_NAME_MAX, "%s", skip);
            in_ch = out_ch;
        }
    }
    ADD(CF_LAYER_BATCHNORM, "final_bn");
    l->act = CF_ACT_RELU;
    ADD(CF_LAYER_GAP, "gap");
    ADD(CF_LAYER_DENSE, "fc");
    CF_DENSE(l)->units = n_classes;
#undef CONV
#undef ADD
    return CF_OK;
}
