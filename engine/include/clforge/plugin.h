/* clforge — the plugin SDK.
 *
 * Every backend, optimizer, regularizer and augmentation is a shared object
 * that exports exactly one symbol, `clforge_plugin`, a cf_plugin_desc. The
 * loader checks, in order: the file opens, the symbol exists, abi_major
 * matches, the descriptor and the kind's vtable cover every member of ABI
 * x.0, the required members are set, the parameter table's bindings fit the
 * state — and says which check failed, naming the plugin and the member.
 *
 * Versioning (docs/plugins.md, "ABI versions"): a minor version only appends
 * optional members (NULL/0 = the old behaviour) to the end of a struct, or
 * new enum values. A plugin built against an older minor has shorter structs;
 * the loader copies each into a zero-filled struct of this build's size, so
 * members past the plugin's struct_size read as NULL. A newer minor loads too
 * (members this build does not know are ignored) unless it needs something
 * this build cannot honour (a parameter type it does not know).
 *
 * The parameter table is data: it drives config validation, defaults,
 * `clforge plugins NAME` and the generated docs. With state_size > 0 the
 * engine allocates the plugin's state (zeroed), stores every bound parameter
 * (CF_PARAM_AT) into it, calls the optional init, and frees it: no
 * create/destroy needed. Unbound values (lists, groups) are read through
 * cf_params_* (plugins link libclforge).
 *
 * Minimal optimizer: see examples/plugins/lion.c and docs/plugins.md. */
#ifndef CLFORGE_PLUGIN_H
#define CLFORGE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "clforge/backend.h"
#include "clforge/error.h"
#include "clforge/philox.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CF_ABI_MAJOR 2
#define CF_ABI_MINOR 1
#define CF_PLUGIN_SYMBOL "clforge_plugin"

typedef enum cf_plugin_kind {
    CF_PLUGIN_BACKEND = 1,
    CF_PLUGIN_OPTIMIZER = 2,
    CF_PLUGIN_REGULARIZER = 3,
    CF_PLUGIN_AUGMENTATION = 4
} cf_plugin_kind;

const char *cf_plugin_kind_name(cf_plugin_kind k);

/* ---- parameter tables ------------------------------------------------- */

typedef enum cf_param_type {
    CF_PT_END = 0, /* terminates a table */
    CF_PT_INT,
    CF_PT_FLOAT,
    CF_PT_BOOL,
    CF_PT_STRING,      /* free text, or one of `choices` when set */
    CF_PT_STRING_LIST, /* a string or a list of strings, e.g. after = ["fc1"] */
    CF_PT_FLOAT_LIST,  /* a number or a list of numbers, e.g. mean = [0.5, 0.5] */
    CF_PT_GROUP        /* a nested group or list, validated by its own table */
} cf_param_type;

typedef struct cf_param_def {
    const char *name;
    cf_param_type type;
    const char *def;     /* default as text ("0.9", "true", "relu"); NULL = required */
    double min, max;     /* inclusive range for INT/FLOAT; ignored when min > max */
    const char *choices; /* "a|b|c" for STRING, or NULL */
    const char *doc;
    /* Binding into the plugin's state struct (desc.state_size bytes): the
     * engine stores the validated value at `offset`. size 0 = not bound.
     * INT: int or int64_t; FLOAT: float or double; BOOL: int or bool;
     * STRING: const char * (engine-owned, lives as long as the state).
     * Lists and groups cannot be bound (read them with cf_params_*). */
    size_t offset, size;
} cf_param_def;

#define CF_PARAM_NO_RANGE 1.0, 0.0
/* Trailing initialisers of a bound parameter: CF_PARAM_AT(sgd_state, momentum). */
#define CF_PARAM_AT(type_, field_) offsetof(type_, field_), sizeof(((type_ *)0)->field_)
/* ...or of one that is not bound (only needed to keep -Wextra quiet). */
#define CF_PARAM_UNBOUND 0, 0
#define CF_PARAM_TABLE_END { NULL, CF_PT_END, NULL, 0, 0, NULL, NULL, 0, 0 }

/* Validated values of one plugin's parameters (engine-owned). */
typedef struct cf_params cf_params;
double cf_params_num(const cf_params *p, const char *name);   /* INT, FLOAT, BOOL */
int cf_params_int(const cf_params *p, const char *name);
int cf_params_bool(const cf_params *p, const char *name);
const char *cf_params_str(const cf_params *p, const char *name); /* STRING */
int cf_params_list_len(const cf_params *p, const char *name);  /* *_LIST */
const char *cf_params_list_str(const cf_params *p, const char *name, int i);
double cf_params_list_num(const cf_params *p, const char *name, int i);
/* Nonzero when the user set it explicitly (not a default). */
int cf_params_is_set(const cf_params *p, const char *name);

/* ---- the descriptor --------------------------------------------------- */

typedef struct cf_plugin_desc {
    uint32_t abi_major;   /* CF_ABI_MAJOR */
    uint32_t abi_minor;   /* CF_ABI_MINOR */
    uint32_t struct_size; /* sizeof(cf_plugin_desc) */
    cf_plugin_kind kind;
    const char *name;     /* "adam" */
    const char *version;  /* "1.0.0" */
    const char *doc;      /* one line */
    const cf_param_def *params;
    const void *vtable;   /* cf_backend_vtable, cf_optimizer_vtable, ... */
    const char *aliases;  /* "nag|nesterov" or NULL */
    /* Bytes of the state struct the engine allocates (zeroed) and binds the
     * parameter table into; 0 = the plugin allocates its own in create (or
     * has none). Backends: the knob struct passed as cf_backend_config.knobs. */
    size_t state_size;
    /* Reserved for members of later minors; must be zero. */
    void *reserved[6];
} cf_plugin_desc;

#define CF_PLUGIN_DESC_INIT(kind_, name_, version_, doc_, params_, vtable_)                        \
    CF_PLUGIN_DESC_INIT_STATE(kind_, name_, version_, doc_, params_, vtable_, 0)
#define CF_PLUGIN_DESC_INIT_STATE(kind_, name_, version_, doc_, params_, vtable_, state_size_)     \
    { CF_ABI_MAJOR, CF_ABI_MINOR, (uint32_t)sizeof(cf_plugin_desc), kind_, name_, version_,        \
      doc_, params_, vtable_, NULL, state_size_, {0} }

#define CF_EXPORT __attribute__((visibility("default")))

/* ---- compute access for optimizers and regularizers -------------------- */

/* Runs ops on the model's backend. Plugins build cf_op values (or use the
 * cf_vec_* helpers below) and submit them; they never touch device memory
 * directly, so the same plugin runs on every backend. */
typedef struct cf_compute {
    void *ctx;
    cf_status (*exec)(void *ctx, const cf_op *op, cf_error *err);
} cf_compute;

static inline cf_status cf_vec_op(const cf_compute *cx, cf_op_kind k, cf_tensor *y, cf_tensor *x,
                                  cf_tensor *z, float a, float b, float c, cf_error *err)
{
    cf_op op = {0};
    op.kind = k;
    op.in[0] = x;
    op.in[1] = z;
    op.out[0] = y;
    op.p.vec.a = a;
    op.p.vec.b = b;
    op.p.vec.c = c;
    return cx->exec(cx->ctx, &op, err);
}
/* y = a */
static inline cf_status cf_vec_fill(const cf_compute *cx, cf_tensor *y, float a, cf_error *err)
{ return cf_vec_op(cx, CF_OP_FILL, y, NULL, NULL, a, 0, 0, err); }
/* y = a x + b y */
static inline cf_status cf_vec_axpby(const cf_compute *cx, cf_tensor *y, float a, cf_tensor *x,
                                     float b, cf_error *err)
{ return cf_vec_op(cx, CF_OP_AXPBY, y, x, NULL, a, b, 0, err); }
/* y = a x z + b y */
static inline cf_status cf_vec_mul(const cf_compute *cx, cf_tensor *y, float a, cf_tensor *x,
                                   cf_tensor *z, float b, cf_error *err)
{ return cf_vec_op(cx, CF_OP_MUL, y, x, z, a, b, 0, err); }
/* y = a x / (z + c) + b y */
static inline cf_status cf_vec_div(const cf_compute *cx, cf_tensor *y, float a, cf_tensor *x,
                                   cf_tensor *z, float c, float b, cf_error *err)
{ return cf_vec_op(cx, CF_OP_DIV, y, x, z, a, b, c, err); }
/* y = sqrt(a x) + c */
static inline cf_status cf_vec_sqrt(const cf_compute *cx, cf_tensor *y, float a, cf_tensor *x,
                                    float c, cf_error *err)
{ return cf_vec_op(cx, CF_OP_SQRT, y, x, NULL, a, 0, c, err); }
/* y = a sign(x) + b y */
static inline cf_status cf_vec_sign(const cf_compute *cx, cf_tensor *y, float a, cf_tensor *x,
                                    float b, cf_error *err)
{ return cf_vec_op(cx, CF_OP_SIGN, y, x, NULL, a, b, 0, err); }
/* y = max(x, z) */
static inline cf_status cf_vec_max(const cf_compute *cx, cf_tensor *y, cf_tensor *x, cf_tensor *z,
                                   cf_error *err)
{ return cf_vec_op(cx, CF_OP_MAX, y, x, z, 0, 0, 0, err); }

/* ---- optimizers --------------------------------------------------------- */

typedef struct cf_optim_param {
    cf_tensor *value;  /* the parameter, on the device */
    cf_tensor *grad;   /* its gradient for this step (mean over the batch) */
    cf_tensor **slots; /* n_slots state tensors, same shape, zero at start,
                        * saved in checkpoints by the engine */
    const char *name;  /* "conv1.weight" */
    int is_weight;     /* 1 for weight matrices/kernels, 0 for biases and
                        * normalisation parameters (no decay by convention) */
} cf_optim_param;

typedef struct cf_optim_step {
    const cf_compute *cx;
    long step;      /* 1-based update count, persists across resume */
    double lr;      /* learning rate in force (after schedule and warm-up) */
    int n_params;
    cf_optim_param *params;
} cf_optim_step;

/* State life cycle, the same for optimizers, regularizers and augmentations:
 *  - desc.state_size > 0: the engine allocates the state zeroed, stores the
 *    bound parameters, then calls init (optional: validate, derive values);
 *    on teardown it calls destroy (optional: release what init acquired)
 *    and frees the state. create must be NULL.
 *  - desc.state_size == 0: create (optional) allocates *state, destroy frees
 *    it; without create the state is NULL.
 * hp holds the validated parameters of the plugin's table; for optimizers
 * the engine reads "learning_rate" from it as the base rate. */
typedef cf_status (*cf_plugin_init_fn)(void *state, const cf_params *hp, cf_error *err);
typedef cf_status (*cf_plugin_create_fn)(const cf_params *hp, void **state, cf_error *err);

typedef struct cf_optimizer_vtable {
    size_t struct_size;
    cf_plugin_init_fn init;       /* optional */
    cf_plugin_create_fn create;   /* optional, only with state_size == 0 */
    void (*destroy)(void *state); /* optional */
    int (*n_slots)(void *state);  /* optional (NULL = no slots) */
    cf_status (*step)(void *state, const cf_optim_step *s, cf_error *err); /* required */
} cf_optimizer_vtable;

/* ---- regularizers --------------------------------------------------------- */

/* The model as a list of layers, before it is built. Regularizers that add
 * layers (dropout, batchnorm) edit it through these calls. */
typedef struct cf_model_spec cf_model_spec;
int cf_model_spec_count(const cf_model_spec *m);
const char *cf_model_spec_type(const cf_model_spec *m, int i);
const char *cf_model_spec_name(const cf_model_spec *m, int i);
/* Insert a layer of `type` after layer i, taking its output; every consumer
 * of layer i is rewired to the new layer. A "batchnorm" goes between layer
 * i and its activation (conv -> bn -> relu: the activation moves to the new
 * layer); anything else goes after the activation. The engine reads the new
 * layer's settings ("rate" for dropout, "eps"/"momentum" for batchnorm) from
 * `params` (usually the regularizer's own); NULL means defaults.
 * Returns the new index or -1 with err set. */
int cf_model_spec_insert_after(cf_model_spec *m, int i, const char *type, const char *name,
                               const cf_params *params, cf_error *err);

typedef struct cf_regularizer_vtable {
    size_t struct_size;
    cf_plugin_init_fn init;       /* optional */
    cf_plugin_create_fn create;   /* optional, only with state_size == 0 */
    void (*destroy)(void *state); /* optional */
    /* At least one of the two below is required. */
    /* Optional: change the model before it is built. */
    cf_status (*rewrite_model)(void *state, cf_model_spec *m, cf_error *err);
    /* Optional: called after backward, before the optimizer: add to grads.
     * batch is the mini-batch size m of this step. */
    cf_status (*apply_grads)(void *state, const cf_optim_step *s, int batch, cf_error *err);
} cf_regularizer_vtable;

/* ---- augmentations -------------------------------------------------------- */

typedef struct cf_image {
    float *data; /* CHW, float; values as decoded (0..1 for 8-bit images) */
    int c, h, w;
} cf_image;

/* One training batch as apply_batch sees it (ABI 2.1): n images of c x h x w
 * (CHW, contiguous, the model's normalised inputs) and their targets, n rows
 * of k class probabilities (one-hot or label-smoothed; each row sums to 1).
 * The plugin edits x and t in place; keeping every row a distribution is its
 * job (the loss takes any distribution: soft labels need no loss change). */
typedef struct cf_image_batch {
    float *x, *t;
    int n, c, h, w, k;
} cf_image_batch;

typedef struct cf_augmentation_vtable {
    size_t struct_size;
    cf_plugin_init_fn init;       /* optional */
    cf_plugin_create_fn create;   /* optional, only with state_size == 0 */
    void (*destroy)(void *state); /* optional */
    /* Output shape for an input shape (NULL: unchanged). */
    void (*out_shape)(void *state, int c, int h, int w, int *oc, int *oh, int *ow);
    /* Transform in -> out (out->data has room for out_shape's size; out's
     * c/h/w are preset to it). rng is unique to (seed, epoch, sample, step).
     * Required. */
    cf_status (*apply)(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                       cf_error *err);
    /* ABI 2.1, optional: a batch-level transform (mixup, cutmix) that mixes
     * images and their targets across the batch. It runs on the training
     * thread once per training batch, after every sample went through the
     * per-image chain and normalisation, in list order with the other batch
     * plugins. rng is unique to (seed, epoch, batch of the epoch, place in
     * the list). A plugin with apply_batch may leave apply NULL (it is then
     * not part of the per-image chain); an ABI 2.0 engine refuses such a
     * plugin ("apply" missing) rather than silently skipping it. */
    cf_status (*apply_batch)(void *state, cf_image_batch *b, cf_rng *rng, cf_error *err);
} cf_augmentation_vtable;

#ifdef __cplusplus
}
#endif
#endif
