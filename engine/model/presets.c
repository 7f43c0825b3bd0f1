/* Ready-made models ("cnn", "resnet"; "mlp" is parsed inline from its
 * `hidden` list) expanded into ordinary layer specs. ResNet layers are named
 * by stage so that globs freeze them by stage (docs/transfer.md): conv1,
 * bn1, pool1 (the stem), stageS_bB_convK / _bnK / _proj / _proj_bn / _add,
 * gap, out (the classifier head). */
#include <stdio.h>
#include <string.h>

#include "model/model.h"

cf_status cf_model_preset(cf_model_spec *m, const char *preset, int num_layers, int n_classes,
                          cf_error *err)
{
    cf_layer_spec *l;
    cf_conv_params *cv;
#define ADD(t, nm) do { if (!(l = cf_model_spec_append(m, t, nm))) return cf_error_set(err, CF_ERR_NOMEM, "out of memory"); } while (0)
    if (!strcmp(preset, "cnn")) {
        ADD(CF_LAYER_CONV, "conv1"); CF_CONV(l)->filters = 32; CF_CONV(l)->kernel = 3; CF_CONV(l)->padding = 1; CF_CONV(l)->stride = 1; l->act = CF_ACT_RELU;
        ADD(CF_LAYER_MAXPOOL, "pool1"); CF_POOL(l)->size = 2; CF_POOL(l)->stride = 2;
        ADD(CF_LAYER_CONV, "conv2"); CF_CONV(l)->filters = 64; CF_CONV(l)->kernel = 3; CF_CONV(l)->padding = 1; CF_CONV(l)->stride = 1; l->act = CF_ACT_RELU;
        ADD(CF_LAYER_MAXPOOL, "pool2"); CF_POOL(l)->size = 2; CF_POOL(l)->stride = 2;
        ADD(CF_LAYER_DENSE, "fc1"); CF_DENSE(l)->units = 128; l->act = CF_ACT_RELU;
        ADD(CF_LAYER_DENSE, "fc2"); CF_DENSE(l)->units = n_classes;
        return CF_OK;
    }
    if (strcmp(preset, "resnet"))
        return cf_error_set(err, CF_ERR_INVALID, "model: unknown preset '%s' (known: mlp, cnn, resnet, wrn)", preset);
    static const struct { int depth, bottleneck, blocks[4]; } big[] = {
        {18, 0, {2, 2, 2, 2}},  {34, 0, {3, 4, 6, 3}},   {50, 1, {3, 4, 6, 3}},
        {101, 1, {3, 4, 23, 3}}, {152, 1, {3, 8, 36, 3}}, {200, 1, {3, 24, 36, 3}}};
    int small = num_layers >= 8 && (num_layers - 2) % 6 == 0 && num_layers <= 110 &&
                num_layers != 50;
    int stages, blocks[4], widths[4], bottleneck = 0;
    if (small) {
        stages = 3;
        for (int s = 0; s < 3; s++) blocks[s] = (num_layers - 2) / 6;
        widths[0] = 16; widths[1] = 32; widths[2] = 64;
    } else {
        int k = -1;
        for (int i = 0; i < 6; i++)
            if (big[i].depth == num_layers) k = i;
        if (k < 0)
            return cf_error_set(err, CF_ERR_INVALID,
                                "model: resnet num_layers=%d is not supported (allowed: 20, 32, 44, "
                                "56, 110 for small images; 18, 34, 50, 101, 152, 200)", num_layers);
        stages = 4;
        bottleneck = big[k].bottleneck;
        for (int s = 0; s < 4; s++) { blocks[s] = big[k].blocks[s]; widths[s] = 64 << s; }
    }
    char nm[CF_NAME_MAX], prev[CF_NAME_MAX];
    ADD(CF_LAYER_CONV, "conv1"); cv = CF_CONV(l); cv->filters = widths[0]; cv->bias = 0; cv->stride = 1;
    if (small) { cv->kernel = 3; cv->padding = 1; } else { cv->kernel = 7; cv->padding = 3; cv->stride = 2; }
    ADD(CF_LAYER_BATCHNORM, "bn1"); l->act = CF_ACT_RELU;
    if (!small) { ADD(CF_LAYER_MAXPOOL, "pool1"); CF_POOL(l)->size = 3; CF_POOL(l)->stride = 2; CF_POOL(l)->padding = 1; }
    snprintf(prev, sizeof prev, "%s", m->layers[m->n - 1].name);
    int in_ch = widths[0];
    for (int s = 0; s < stages; s++) {
        for (int b = 0; b < blocks[s]; b++) {
            int stride = (b == 0 && s > 0) ? 2 : 1;
            int out_ch = bottleneck ? widths[s] * 4 : widths[s];
            char block_in[CF_NAME_MAX];
            snprintf(block_in, sizeof block_in, "%s", prev);
            int nconv = bottleneck ? 3 : 2;
            for (int k = 0; k < nconv; k++) {
                snprintf(nm, sizeof nm, "stage%d_b%d_conv%d", s + 1, b + 1, k + 1);
                ADD(CF_LAYER_CONV, nm);
                cv = CF_CONV(l);
                cv->bias = 0;
                if (bottleneck) {
                    cv->kernel = k == 1 ? 3 : 1; cv->padding = k == 1 ? 1 : 0;
                    cv->filters = k == 2 ? out_ch : widths[s]; cv->stride = k == 1 ? stride : 1;
                } else {
                    cv->kernel = 3; cv->padding = 1; cv->filters = widths[s]; cv->stride = k == 0 ? stride : 1;
                }
                if (k == 0) { l->n_inputs = 1; snprintf(l->inputs[0], CF_NAME_MAX, "%s", block_in); }
                snprintf(nm, sizeof nm, "stage%d_b%d_bn%d", s + 1, b + 1, k + 1);
                ADD(CF_LAYER_BATCHNORM, nm);
                if (k < nconv - 1) l->act = CF_ACT_RELU;
            }
            char main_out[CF_NAME_MAX], skip[CF_NAME_MAX];
            snprintf(main_out, sizeof main_out, "%s", m->layers[m->n - 1].name);
            snprintf(skip, sizeof skip, "%s", block_in);
            if (stride != 1 || in_ch != out_ch) { /* projection shortcut (option B) */
                snprintf(nm, sizeof nm, "stage%d_b%d_proj", s + 1, b + 1);
                ADD(CF_LAYER_CONV, nm);
                cv = CF_CONV(l);
                cv->kernel = 1; cv->padding = 0; cv->stride = stride; cv->filters = out_ch; cv->bias = 0;
                l->n_inputs = 1; snprintf(l->inputs[0], CF_NAME_MAX, "%s", block_in);
                snprintf(nm, sizeof nm, "stage%d_b%d_proj_bn", s + 1, b + 1);
                ADD(CF_LAYER_BATCHNORM, nm);
                snprintf(skip, sizeof skip, "%s", nm);
            }
            snprintf(nm, sizeof nm, "stage%d_b%d_add", s + 1, b + 1);
            ADD(CF_LAYER_ADD, nm);
            l->act = CF_ACT_RELU;
            l->n_inputs = 2;
            snprintf(l->inputs[0], CF_NAME_MAX, "%s", main_out);
            snprintf(l->inputs[1], CF_NAME_MAX, "%s", skip);
            snprintf(prev, sizeof prev, "%s", nm);
            in_ch = out_ch;
        }
    }
    ADD(CF_LAYER_GAP, "gap");
    ADD(CF_LAYER_DENSE, "out"); CF_DENSE(l)->units = n_classes;
#undef ADD
    return CF_OK;
}
