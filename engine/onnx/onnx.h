/* clforge — ONNX: import (onnx_import*.c) of an ONNX classifier as a clforge
 * model spec + parameters. onnx/ includes core/ and model/, never train/,
 * observe/ or tune/. */
#ifndef CLFORGE_ONNX_ONNX_H
#define CLFORGE_ONNX_ONNX_H

#include <stdio.h>
#include "clforge/clforge.h"
#include "model/model.h"
#include "model/modelfile.h"

/* ---- onnx_import*.c: an ONNX file as a clforge model ---------------------------- */
typedef struct cf_onnx_import_opts {
    FILE *log; /* one line per rewrite (a dropped final Softmax, a folded Relu); NULL: quiet */
} cf_onnx_import_opts;

typedef struct cf_onnx_model {
    /* Layers with explicit inputs, in_c/in_h/in_w from the graph input [N,C,H,W].
     * Layers with weights are named after their ONNX initializers
     * ("features.3.weight" -> layer "features.3"), others after the node;
     * torchvision ResNet names become the resnet preset's ("layer1.0.conv1" ->
     * "stage1_b1_conv1", "fc" -> "out"). */
    cf_model_spec *spec;
    /* One tensor per parameter, named and shaped as cf_net names them:
     * "<layer>.weight|bias" (conv, dense), "<layer>.gamma|beta|running_mean|
     * running_var" (batchnorm). params.text is NULL. */
    cf_blob params;
    int n_classes; /* length of the graph's output: the logits (a final Softmax is dropped) */
    /* A graph that starts with Sub/Div by per-channel constants (clforge's own
     * export): that normalisation, taken out of the graph (has_norm = 1). */
    int has_norm;
    double mean[4], std[4];
    /* metadata_props "class_names" (clforge's export), else NULL / 0. */
    char **class_names;
    int n_class_names;
} cf_onnx_model;

/* Read an ONNX ModelProto (opset 7+) and map its graph to clforge layers:
 * Conv, BatchNormalization, Relu (and LeakyRelu/Sigmoid/Tanh/Elu), MaxPool,
 * AveragePool, GlobalAveragePool (ReduceMean over H,W), Add, Concat, Flatten,
 * Reshape to [N, -1], Gemm, MatMul (+ Add of a bias), Dropout, Identity,
 * Softmax, Constant. Errors name the node, its op and what clforge lacks.
 * opts may be NULL. On error *out is left empty. */
cf_status cf_onnx_import(const char *path, const cf_onnx_import_opts *opts, cf_onnx_model *out,
                         cf_error *err);
void cf_onnx_model_free(cf_onnx_model *m);

/* The imported parameters alone, for model.init_from = "x.onnx" (train/
 * init_from.c matches them by name and shape to the configured model). */
cf_status cf_onnx_init_tensors(const char *path, cf_blob *out, cf_error *err);

/* A clforge model file (model.clf) from an imported model: the spec as the
 * model section of a config, data.mean/std (NULL: the graph's own, else 0/1),
 * data.class_names (NULL: the graph's, else "0".."K-1"), then the tensors;
 * written atomically (temp file + rename). */
cf_status cf_onnx_write_model(const cf_onnx_model *m, const char *path, const double *mean,
                              const double *std, const char *const *class_names, int n_class_names,
                              cf_error *err);

#endif
