/* clforge — A layer: its spec (common fields + the type's own settings) and
 * the table entry of its type, which owns everything type-specific from the
 * config keys to the ops it emits. The model code only walks the table. */
#ifndef CLFORGE_MODEL_LAYER_H
#define CLFORGE_MODEL_LAYER_H

#include <stdint.h>
#include <stdio.h>
#include "clforge/clforge.h"
#include "model/layers/registry.h"
#include "model/layers/layers.h"

#define CF_NAME_MAX 64
#define CF_MAX_INPUTS 16     /* concat / add fan-in */
#define CF_LAYER_PARAMS_MAX 32

#define CF_LAYER_ENUM(e, sym) CF_LAYER_##e,
typedef enum cf_layer_type { CF_LAYER_TYPES(CF_LAYER_ENUM) CF_LAYER_COUNT } cf_layer_type;
#undef CF_LAYER_ENUM

typedef struct cf_shape3 { int c, h, w; } cf_shape3;

typedef struct cf_layer_spec {
    cf_layer_type type;
    char name[CF_NAME_MAX];
    int n_inputs;
    char inputs[CF_MAX_INPUTS][CF_NAME_MAX]; /* empty = previous layer */
    cf_act act;  /* applied to the output (types with CF_LAYER_NO_ACT ignore it) */
    float alpha; /* its slope/alpha, < 0: the activation's default */
    int line;    /* config line, 0 if generated */
    /* The type's settings (its struct, see layers.h), sized by the type. */
    _Alignas(8) unsigned char params[CF_LAYER_PARAMS_MAX];
} cf_layer_spec;

typedef struct cf_net cf_net;
typedef struct cf_node cf_node;
struct cf_params;
struct cf_graph_builder; /* model/graph_export.h */
struct cf_graph_io;

enum {
    CF_LAYER_NO_ACT = 1u << 0,     /* 'activation' is not used (a warning if set) */
    CF_LAYER_INSERTABLE = 1u << 1, /* regularizers may insert it (plugin.h) */
    CF_LAYER_ALIAS = 1u << 2,      /* output is its input's memory, reshaped (flatten) */
    CF_LAYER_ACT_ONLY = 1u << 3,   /* only the activation: its input is the pre-activation */
};

/* Roles in inference fusion (model/fusion.c): a HEAD (conv) absorbs the
 * single AFFINE consumer after it (batch norm, folded into its weights) and
 * a 2-input RESIDUAL add after that. */
typedef enum cf_fuse_role { CF_FUSE_NONE = 0, CF_FUSE_HEAD, CF_FUSE_AFFINE, CF_FUSE_RESIDUAL } cf_fuse_role;

typedef struct cf_layer_type_def {
    const char *name;
    const char *const *aliases; /* other config spellings, NULL-terminated (may be NULL) */
    /* The keys of cf_layer_params it reads besides type/name/inputs/
     * activation/alpha, NULL-terminated: others set in its group warn. */
    const char *const *keys;
    int min_inputs, max_inputs;
    unsigned flags;
    /* Settings of a fresh spec (programmatic models start from these). */
    void (*defaults)(cf_layer_spec *l);
    /* Read the type's keys from a validated group; `type` is the spelling
     * used; `where` is "file:line" for errors. NULL: nothing to read. */
    cf_status (*parse)(cf_layer_spec *l, const struct cf_params *p, const char *type,
                       const char *where, cf_error *err);
    /* Inserted after layer `prev` by a regularizer with its params (may be
     * NULL). NULL hook: only the defaults. */
    void (*inserted)(cf_layer_spec *l, cf_layer_spec *prev, const struct cf_params *p);
    /* Output shape from the n input shapes (counts already checked). */
    cf_status (*infer)(const cf_layer_spec *l, const cf_shape3 *in, int n, cf_shape3 *out,
                       cf_error *err);
    long (*param_count)(const cf_layer_spec *l, cf_shape3 in); /* NULL: none */
    /* ---- on a backend (model/net_impl.h) ---- */
    /* Parameters (with their init kind) and the type's extra tensors. */
    cf_status (*build)(cf_net *net, cf_node *nd, cf_shape3 in, cf_error *err);
    /* The ops up to the pre-activation nd->z (the engine adds the activation). */
    cf_status (*forward)(cf_net *net, cf_node *nd, int train, uint64_t seed, uint64_t step,
                         cf_error *err);
    /* Given g = dL/dz: parameter gradients and dL/d(input) for every input. */
    cf_status (*backward)(cf_net *net, cf_node *nd, cf_tensor *g, cf_error *err);
    cf_fuse_role fuse_role;
    /* HEAD: run as one fused op writing the output of nd->fuse_out. */
    cf_status (*fused_forward)(cf_net *net, cf_node *nd, cf_error *err);
    /* AFFINE: fold into the head's weight/bias (head->fw, head->fb). */
    cf_status (*fold)(cf_net *net, cf_node *head, cf_node *self, cf_error *err);
    /* Export (model/graph_export.h): the nodes computing the pre-activation
     * from io->in into io->out (the walk adds the activation). NULL: the
     * type cannot be exported. */
    cf_status (*export)(const struct cf_graph_builder *g, cf_net *net, const cf_node *nd,
                        struct cf_graph_io *io, cf_error *err);
} cf_layer_type_def;

const cf_layer_type_def *cf_layer_def(cf_layer_type t);
/* The parse hook of a type without settings (layers/noparse.c). */
cf_status cf_layer_parse_none(cf_layer_spec *l, const struct cf_params *p, const char *type,
                              const char *where, cf_error *err);
const char *cf_layer_type_name(cf_layer_type t);
cf_layer_type cf_layer_type_from_name(const char *s);
cf_act cf_act_from_name(const char *s); /* CF_ACT_COUNT if unknown */

#endif
