/* clforge — The model description: layer specs, presets, shape inference. */
#ifndef CLFORGE_MODEL_MODEL_H
#define CLFORGE_MODEL_MODEL_H

#include <stdio.h>
#include "clforge/clforge.h"
#include "core/config_file.h"

/* ---- model.c: the model description ---------------------------------------------- */
typedef enum cf_layer_type {
    CF_LAYER_INPUT = 0,
    CF_LAYER_DENSE,
    CF_LAYER_CONV,
    CF_LAYER_MAXPOOL,
    CF_LAYER_AVGPOOL,
    CF_LAYER_GAP,
    CF_LAYER_FLATTEN,
    CF_LAYER_ADD,
    CF_LAYER_ACT,
    CF_LAYER_SOFTMAX,
    CF_LAYER_DROPOUT,
    CF_LAYER_BATCHNORM,
    CF_LAYER_COUNT
} cf_layer_type;

#define CF_NAME_MAX 64
#define CF_MAX_INPUTS 4

typedef struct cf_layer_spec {
    cf_layer_type type;
    char name[CF_NAME_MAX];
    int n_inputs;
    char inputs[CF_MAX_INPUTS][CF_NAME_MAX]; /* empty = previous layer */
    int units, filters, kernel, stride, padding, size;
    int bias;
    cf_act act;
    float alpha;
    float rate, eps, momentum;
    int line; /* config line, 0 if generated */
} cf_layer_spec;

struct cf_model_spec {
    int in_c, in_h, in_w;
    int n, cap;
    cf_layer_spec *layers;
    char init[16]; /* "he" | "xavier" */
};

const char *cf_layer_type_name(cf_layer_type t);
cf_layer_type cf_layer_type_from_name(const char *s);
cf_act cf_act_from_name(const char *s); /* CF_ACT_COUNT if unknown */
extern const cf_param_def cf_layer_params[];
extern const cf_param_def cf_model_params[];

/* Parse config group `model` (layers or preset). n_classes fixes the last
 * dense layer when the preset needs it. */
cf_status cf_model_spec_from_config(const cf_config *c, const config_setting_t *model,
                                    int n_classes, FILE *warn, cf_model_spec **out,
                                    cf_error *err);
cf_model_spec *cf_model_spec_new(void);
void cf_model_spec_free(cf_model_spec *m);
cf_layer_spec *cf_model_spec_append(cf_model_spec *m, cf_layer_type t, const char *name);
int cf_model_spec_find(const cf_model_spec *m, const char *name);
/* Expand a preset ("mlp", "cnn", "resnet") into layers. */
cf_status cf_model_preset(cf_model_spec *m, const char *preset, int num_layers, int n_classes,
                          cf_error *err);
/* Output shape of every layer and the resolved input indices (-1 = the
 * model input); validates that shapes fit. */
typedef struct cf_shape3 { int c, h, w; } cf_shape3;
cf_status cf_model_infer(const cf_model_spec *m, cf_shape3 *out, int (*inputs)[CF_MAX_INPUTS],
                         cf_error *err);
/* Trainable parameter count of layer i given its input shape. */
long cf_layer_param_count(const cf_layer_spec *l, cf_shape3 in);
/* Print the expanded graph with output shapes and parameter counts. */
cf_status cf_model_summary(const cf_model_spec *m, FILE *f, long *n_params, cf_error *err);

#endif
