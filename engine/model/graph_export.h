/* clforge — Exporting the network as a dataflow graph: the format-neutral
 * builder a layer type's export hook emits its nodes and constants into
 * (ONNX operator names and attributes; engine/onnx/ encodes them), and the
 * walk over a built network. model/ knows no file format. */
#ifndef CLFORGE_MODEL_GRAPH_EXPORT_H
#define CLFORGE_MODEL_GRAPH_EXPORT_H

#include <stdint.h>
#include "clforge/clforge.h"
#include "model/layer.h"

#define CF_GRAPH_ATTR_INTS 8
#define CF_GRAPH_NAME_MAX 96

typedef enum cf_graph_attr_kind { CF_GATTR_INT, CF_GATTR_INTS, CF_GATTR_FLOAT } cf_graph_attr_kind;

typedef struct cf_graph_attr {
    const char *name;
    cf_graph_attr_kind kind;
    int n;                        /* CF_GATTR_INTS: entries of i */
    int64_t i[CF_GRAPH_ATTR_INTS]; /* CF_GATTR_INT: i[0] */
    float f;
} cf_graph_attr;

typedef struct cf_graph_builder {
    void *ctx;
    /* A node op(in[0..n_in)) -> out. */
    cf_status (*node)(void *ctx, const char *op, const char *const *in, int n_in, const char *out,
                      const cf_graph_attr *attrs, int n_attrs, cf_error *err);
    /* A named float constant (the data is copied). */
    cf_status (*constant)(void *ctx, const char *name, int ndim, const int64_t *dims, const float *data,
                          cf_error *err);
} cf_graph_builder;

/* A layer's tensors in the graph: inputs by name and rank (2: [N, F], 4:
 * [N, C, H, W]); the hook writes `out` and sets out_rank (preset to
 * in_rank[0]). Names derived from the layer's ("conv1/flat") are unique. */
typedef struct cf_graph_io {
    int n_in;
    const char *in[CF_MAX_INPUTS];
    int in_rank[CF_MAX_INPUTS];
    const char *out;
    int out_rank;
} cf_graph_io;

/* Emit every layer of a built network reading graph tensor `input` ([N, C,
 * H, W]); out_name (CF_GRAPH_NAME_MAX) receives the tensor of the last
 * layer's output and *out_rank its rank. A layer type without an export
 * hook is an error naming the layer. */
cf_status cf_net_export_graph(cf_net *net, const cf_graph_builder *g, const char *input,
                              char *out_name, int *out_rank, cf_error *err);

/* ---- for export hooks ---- */
cf_status cf_graph_node(const cf_graph_builder *g, const char *op, const char *const *in, int n_in,
                        const char *out, const cf_graph_attr *attrs, int n_attrs, cf_error *err);
/* Parameter `param` of the net as a constant named as the parameter
 * ("conv1.weight"), *name set to it; -1: nothing emitted, *name NULL. */
cf_status cf_graph_param(const cf_graph_builder *g, cf_net *net, int param, const char **name,
                         cf_error *err);
/* Errors naming the layer: input 0 is not a [N, C, H, W] map (a conv over
 * a dense layer's vector), or the inputs differ in rank (add, concat). */
cf_status cf_graph_need_map(const cf_node *nd, const cf_graph_io *io, cf_error *err);
cf_status cf_graph_same_rank(const cf_node *nd, const cf_graph_io *io, cf_error *err);
/* A rank-4 input flattened to [N, F] for ops that want a matrix (dense,
 * softmax): *name is replaced by the flattened tensor's (buf, CF_GRAPH_NAME_MAX). */
cf_status cf_graph_flatten(const cf_graph_builder *g, const char *layer, const char **name, int *rank,
                           char *buf, cf_error *err);

#endif
