/* clforge — The model description: an ordered list of named layer specs
 * with explicit inputs, parsed from the config or expanded from a preset. */
#ifndef CLFORGE_MODEL_MODEL_H
#define CLFORGE_MODEL_MODEL_H

#include <stdio.h>
#include "clforge/clforge.h"
#include "core/config_file.h"
#include "model/layer.h"

struct cf_model_spec {
    int in_c, in_h, in_w;
    int n, cap;
    cf_layer_spec *layers;
    char init[16]; /* "he" | "xavier" */
};

/* ---- parse.c ---- */
extern const cf_param_def cf_layer_params[];
extern const cf_param_def cf_model_params[];
/* Parse config group `model` (layers or preset). n_classes fixes the last
 * dense layer when the preset needs it. */
cf_status cf_model_spec_from_config(const cf_config *c, const config_setting_t *model,
                                    int n_classes, FILE *warn, cf_model_spec **out,
                                    cf_error *err);

/* ---- spec.c ---- */
cf_model_spec *cf_model_spec_new(void);
void cf_model_spec_free(cf_model_spec *m);
/* A layer of type t with the type's defaults (NULL when out of memory). */
cf_layer_spec *cf_model_spec_append(cf_model_spec *m, cf_layer_type t, const char *name);
int cf_model_spec_find(const cf_model_spec *m, const char *name);

/* ---- spec_write.c: the spec as the config's `model = { input; init; layers }` text ---- */
struct cf_sbuf;
void cf_model_spec_write(const cf_model_spec *m, struct cf_sbuf *b);

/* ---- presets.c: expand a preset ("cnn", "resnet") into layers ---- */
cf_status cf_model_preset(cf_model_spec *m, const char *preset, int num_layers, int n_classes,
                          cf_error *err);

/* ---- preset_wrn.c: wide ResNet WRN-depth-widen, dropout between each block's convs ---- */
cf_status cf_model_preset_wrn(cf_model_spec *m, int depth, int widen, double dropout, int n_classes,
                              cf_error *err);

/* ---- shapes.c ---- */
/* Output shape of every layer and the resolved input indices (-1 = the
 * model input, -2 = unused slot); validates that shapes fit. */
cf_status cf_model_infer(const cf_model_spec *m, cf_shape3 *out, int (*inputs)[CF_MAX_INPUTS],
                         cf_error *err);
/* Trainable parameter count of a layer given its (first) input shape. */
long cf_layer_param_count(const cf_layer_spec *l, cf_shape3 in);
/* Print the expanded graph with output shapes and parameter counts. */
cf_status cf_model_summary(const cf_model_spec *m, FILE *f, long *n_params, cf_error *err);

#endif
