/* clforge — The importer's internals shared by onnx_import.c (the graph walk),
 * onnx_import_ops.c (one mapping per ONNX operator) and onnx_import_weights.c
 * (tensors and attributes). */
#ifndef CLFORGE_ONNX_ONNX_IMPORT_H
#define CLFORGE_ONNX_ONNX_IMPORT_H

#include <stdint.h>
#include "onnx/onnx.h"
#include "onnx/onnx.pb-c.h"

#define OI_MAX_DIMS 8

/* A constant: an initializer or a Constant node's value, as floats (and as
 * integers for shape tensors). */
typedef struct oi_const {
    int ndim;
    int64_t dims[OI_MAX_DIMS];
    size_t n;
    float *f;
    int64_t *i;
} oi_const;

/* A named tensor of the graph: a constant, or an activation that a clforge
 * layer (layer >= 0) or the model input (layer = -1) produces. */
typedef struct oi_value {
    const char *name;
    int is_const;
    int layer;
    int rank; /* 4: [N,C,H,W]; 2: [N,F] (flattened) */
    cf_shape3 shape;
    oi_const c;
} oi_value;

typedef struct oi_ctx {
    const char *path;
    Onnx__GraphProto *g;
    cf_onnx_model *out;
    oi_value *v; /* sized once for every tensor the graph can name: pointers stay valid */
    int nv, capv;
    cf_shape3 *shapes; /* output shape of each layer of out->spec */
    int *ranks;        /* and its rank */
    int cap_shapes, input_rank;
    int n_param_cap;
    int input_raw; /* no layer has read the model input yet: a leading Sub/Div may normalise it */
    const char *input_name;
    FILE *log;
} oi_ctx;

/* ---- onnx_import.c ---- */
oi_value *oi_find(oi_ctx *c, const char *name);
oi_value *oi_add(oi_ctx *c, const char *name, cf_error *err);
int oi_uses(const oi_ctx *c, const char *name); /* node inputs + graph outputs reading it */
/* A new layer for node n, named after `hint` (an initializer name) or the
 * node, reading the activations in[0..nin); the caller sets its settings,
 * then oi_bind infers its shape with the type's own rule and binds the
 * node's first output to it. */
cf_status oi_new_layer(oi_ctx *c, const Onnx__NodeProto *n, cf_layer_type t, const char *hint,
                       oi_value *const *in, int nin, cf_layer_spec **out, cf_error *err);
cf_status oi_bind(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err);
/* The node's output names the same tensor as v (Identity, Dropout, a folded Relu). */
cf_status oi_alias(oi_ctx *c, const Onnx__NodeProto *n, const oi_value *v, cf_error *err);
cf_status oi_node_error(const Onnx__NodeProto *n, cf_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- onnx_import_ops.c ---- */
cf_status oi_map_node(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err);

/* ---- onnx_import_weights.c ---- */
cf_status oi_const_from_tensor(const Onnx__TensorProto *t, const char *what, oi_const *out,
                               cf_error *err);
void oi_const_free(oi_const *k);
const Onnx__AttributeProto *oi_attr(const Onnx__NodeProto *n, const char *name);
int64_t oi_attr_int(const Onnx__NodeProto *n, const char *name, int64_t def);
float oi_attr_float(const Onnx__NodeProto *n, const char *name, float def);
/* Attributes the mapping does not read: an error naming the first one. */
cf_status oi_attrs_known(const Onnx__NodeProto *n, const char *const *known, cf_error *err);
/* Add "<layer>.<what>" to the parameters: ndim/shape as cf_net builds it,
 * values copied from src (transposed from [cols, rows] when transpose). */
cf_status oi_param(oi_ctx *c, const char *layer, const char *what, int ndim, const int *shape,
                   const float *src, int transpose, cf_error *err);

#endif
