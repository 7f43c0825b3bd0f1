/* clforge — engine-internal interfaces (not installed). */
#ifndef CLFORGE_INTERNAL_H
#define CLFORGE_INTERNAL_H

#include <libconfig.h>
#include <stdint.h>
#include <stdio.h>

#include "clforge/clforge.h"

/* ---- util.c --------------------------------------------------------------- */
char *cf_strdup(const char *s);
void *cf_calloc(size_t n, size_t size); /* NULL on overflow/OOM */
double cf_now(void);                    /* monotonic seconds */
cf_status cf_mkdir_p(const char *path, cf_error *err);
cf_status cf_rm_rf(const char *path);   /* best effort */
/* Write `len` bytes to path atomically: tmp file, fsync, rename. */
cf_status cf_write_file_atomic(const char *path, const void *data, size_t len, cf_error *err);
cf_status cf_read_file(const char *path, char **data, size_t *len, cf_error *err);
int cf_file_exists(const char *path);

/* Growable string buffer. */
typedef struct cf_sbuf {
    char *s;
    size_t len, cap;
} cf_sbuf;
void cf_sbuf_printf(cf_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cf_sbuf_free(cf_sbuf *b);

/* ---- params.c: validated plugin/section parameters --------------------------- */
typedef struct cf_param_value {
    const cf_param_def *def;
    int is_set;
    double num;
    char *str;
    int n_list;
    char **list_str;
    double *list_num;
} cf_param_value;

struct cf_params {
    int n;
    cf_param_value *v;
    char where[256]; /* "file.cfg:12 (optimizer)" for messages */
};

/* Build from name/value text pairs (tests, --hyperparameters). */
cf_status cf_params_from_kv(const cf_param_def *defs, const char *const *kv, int n_kv,
                            cf_params **out, cf_error *err);
/* Validate a libconfig group against defs. Keys in `skip` ("plugin|name")
 * are ignored; unknown keys are warned about on `warn` (file:line). */
cf_status cf_params_from_setting(const cf_param_def *defs, const config_setting_t *group,
                                 const char *skip, const char *section, FILE *warn,
                                 cf_params **out, cf_error *err);
void cf_params_free(cf_params *p);
const cf_param_def *cf_param_find(const cf_param_def *defs, const char *name);
/* "name  type  default  range  doc" lines for --help / `clforge plugins NAME`. */
void cf_params_print_table(const cf_param_def *defs, FILE *f);
/* Markdown table (docs). */
void cf_params_print_markdown(const cf_param_def *defs, FILE *f);
const char *cf_param_type_name(cf_param_type t);

/* ---- config.c ------------------------------------------------------------------ */
typedef struct cf_config {
    config_t cfg;
    char path[1024];
    char *text; /* resolved config as written back (after --set) */
} cf_config;

/* Load and parse; syntax errors name file:line. */
cf_status cf_config_load(cf_config *c, const char *path, cf_error *err);
cf_status cf_config_load_string(cf_config *c, const char *text, const char *name, cf_error *err);
/* Apply "a.b.c=value" (creates groups as needed; lists indexed by number or
 * by an element's plugin/name). */
cf_status cf_config_set(cf_config *c, const char *assignment, cf_error *err);
void cf_config_free(cf_config *c);
/* The resolved config as libconfig text (malloc'ed). */
char *cf_config_to_string(cf_config *c);
/* "file:line" of a setting (or "--set" for settings created by overrides). */
const char *cf_config_where(const cf_config *c, const config_setting_t *s, char *buf, size_t cap);

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

/* ---- graph.c: build, autodiff, execute ---------------------------------------- */
typedef enum cf_loss_kind { CF_LOSS_XENT = 0, CF_LOSS_MSE, CF_LOSS_HINGE } cf_loss_kind;

typedef struct cf_net cf_net;

typedef struct cf_net_param {
    cf_tensor value, grad;
    cf_tensor *slots; /* n_slots */
    char name[CF_NAME_MAX + 16];
    int is_weight;
    int trainable;    /* 0 for running statistics (saved, not optimized) */
    int fan_in, fan_out;
} cf_net_param;

cf_status cf_net_build(cf_backend *b, const cf_model_spec *m, int max_batch, int n_classes,
                       cf_loss_kind loss, cf_net **out, cf_error *err);
void cf_net_free(cf_net *n);
/* Seeded init of every parameter (he/xavier by spec; biases 0, BN gamma 1). */
cf_status cf_net_init_params(cf_net *n, uint64_t seed, cf_error *err);
int cf_net_n_params(const cf_net *n);
cf_net_param *cf_net_param_at(cf_net *n, int i);
long cf_net_param_count(const cf_net *n);
/* One batch: upload x (n x C*H*W) and targets (n x K), optional weights (n).
 * train=1 runs forward+loss+backward (grads ready); train=0 forward+loss only.
 * loss_out/pred_out (n floats each) receive per-sample loss and argmax;
 * probs_out (n x K, optional) the output probabilities. */
cf_status cf_net_run(cf_net *net, const float *x, const float *target, const float *weight,
                     int n, int train, uint64_t dropout_seed, uint64_t step, float *loss_out,
                     float *pred_out, float *probs_out, cf_error *err);
cf_backend *cf_net_backend(cf_net *n);
int cf_net_classes(const cf_net *n);
/* Parameters were written from outside a training step (weights loaded):
 * inference recomputes what it derives from them (folded batch norms). */
void cf_net_params_changed(cf_net *n);
/* Convolutions that evaluation runs as conv2d_fwd_act (0: no fusion). */
int cf_net_fused(const cf_net *n);
/* Optimizer wiring: allocate n_slots zeroed state tensors per trainable param. */
cf_status cf_net_alloc_slots(cf_net *n, int n_slots, cf_error *err);
int cf_net_slots(const cf_net *n);
/* Fill a cf_optim_step (params array owned by the net). */
void cf_net_optim_step(cf_net *n, cf_optim_step *s, const cf_compute *cx, long step, double lr);

/* ---- data.c ------------------------------------------------------------------- */
typedef struct cf_dataset {
    int n, c, h, w, k; /* samples, shape, classes */
    float *x;          /* n * c*h*w, raw [0,1] */
    int *y;
    char **class_names;/* k names */
} cf_dataset;

cf_status cf_idx_load(const char *images, const char *labels, int limit, cf_dataset *out,
                      cf_error *err);
void cf_dataset_free(cf_dataset *d);
/* Stratified split: indices into val (ratio of each class) and train. */
cf_status cf_dataset_split(const cf_dataset *d, double ratio, uint64_t seed, int **train_idx,
                           int *n_train, int **val_idx, int *n_val, cf_error *err);
/* Per-channel mean/std over the given samples. */
void cf_dataset_stats(const cf_dataset *d, const int *idx, int n, double *mean, double *std);
/* Seeded Fisher-Yates of idx for an epoch. */
void cf_shuffle(int *idx, int n, uint64_t seed, uint64_t epoch);
const char *const *cf_fashion_mnist_classes(void);

/* ---- json.c ------------------------------------------------------------------- */
void cf_json_str(cf_sbuf *b, const char *s); /* quoted, escaped */
void cf_json_num(cf_sbuf *b, double v);      /* null for NaN/Inf */

/* ---- modelfile.c: tensors + text in one checksummed file ------------------------- */
typedef struct cf_blob_tensor {
    char name[96];
    int ndim, shape[CF_MAX_DIMS];
    float *data;
} cf_blob_tensor;

typedef struct cf_blob {
    char *text; /* metadata / config text */
    int n;
    cf_blob_tensor *t;
} cf_blob;

cf_status cf_blob_write(const char *path, const cf_blob *b, cf_error *err);
cf_status cf_blob_read(const char *path, cf_blob *b, cf_error *err);
void cf_blob_free(cf_blob *b);
const cf_blob_tensor *cf_blob_find(const cf_blob *b, const char *name);

/* ---- loader.c extras ----------------------------------------------------------- */
/* Instantiate kind-specific plugins from a config group {plugin = "x"; ...}. */
cf_status cf_plugin_params(const cf_plugin_desc *d, const config_setting_t *group, FILE *warn,
                           cf_params **out, cf_error *err);

#endif
