/* ONNX export (onnx_export.h): a cf_graph_builder (model/graph_export.h)
 * that collects protobuf-c NodeProto/TensorProto messages, around it the
 * model's input, normalisation, output softmax and metadata. Every message
 * is malloc'd so onnx__model_proto__free_unpacked frees the whole tree. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "model/graph_export.h"
#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_export.h"

typedef struct onnx_graph {
    Onnx__GraphProto *g;
    size_t cap_node, cap_init;
} onnx_graph;

static void *grow(void *p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return p;
    size_t c = *cap ? *cap * 2 : 16;
    void *q = realloc(p, c * elem);
    if (q) *cap = c;
    return q;
}

/* Each tensor is defined once: a second definition (a layer named like
 * another tensor, e.g. "input") would make an invalid graph. */
static int defined(const Onnx__GraphProto *g, const char *name);

static cf_status new_name(const Onnx__GraphProto *g, const char *name, cf_error *err)
{
    if (!defined(g, name)) return CF_OK;
    return cf_error_set(err, CF_ERR_INVALID, "ONNX export: tensor '%s' defined twice (rename the layer)", name);
}

static int defined(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_input; i++)
        if (!strcmp(g->input[i]->name, name)) return 1;
    for (size_t i = 0; i < g->n_initializer; i++)
        if (!strcmp(g->initializer[i]->name, name)) return 1;
    for (size_t i = 0; i < g->n_node; i++)
        if (!strcmp(g->node[i]->output[0], name)) return 1;
    return 0;
}

static cf_status nomem(cf_error *err) { return cf_error_set(err, CF_ERR_NOMEM, "out of memory building the ONNX graph"); }

static cf_status add_node(void *ctx, const char *op, const char *const *in, int n_in, const char *out,
                          const cf_graph_attr *attrs, int n_attrs, cf_error *err)
{
    onnx_graph *b = ctx;
    Onnx__GraphProto *g = b->g;
    CF_TRY(new_name(g, out, err));
    Onnx__NodeProto **nodes = grow(g->node, &b->cap_node, g->n_node, sizeof *nodes);
    if (!nodes) return nomem(err);
    g->node = nodes;
    Onnx__NodeProto *nd = malloc(sizeof *nd);
    if (!nd) return nomem(err);
    onnx__node_proto__init(nd);
    g->node[g->n_node++] = nd; /* owned by the graph from here: freed with it */
    nd->op_type = cf_strdup(op);
    nd->name = cf_strdup(out);
    nd->input = calloc((size_t)(n_in ? n_in : 1), sizeof *nd->input);
    nd->output = calloc(1, sizeof *nd->output);
    if (!nd->op_type || !nd->name || !nd->input || !nd->output) return nomem(err);
    for (int k = 0; k < n_in; k++) {
        if (!(nd->input[k] = cf_strdup(in[k]))) return nomem(err);
        nd->n_input++;
    }
    if (!(nd->output[0] = cf_strdup(out))) return nomem(err);
    nd->n_output = 1;
    if (n_attrs && !(nd->attribute = calloc((size_t)n_attrs, sizeof *nd->attribute))) return nomem(err);
    for (int a = 0; a < n_attrs; a++) {
        Onnx__AttributeProto *at = malloc(sizeof *at);
        if (!at) return nomem(err);
        onnx__attribute_proto__init(at);
        nd->attribute[nd->n_attribute++] = at;
        if (!(at->name = cf_strdup(attrs[a].name))) return nomem(err);
        at->has_type = 1;
        switch (attrs[a].kind) {
        case CF_GATTR_INT:
            at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
            at->has_i = 1;
            at->i = attrs[a].i[0];
            break;
        case CF_GATTR_FLOAT:
            at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
            at->has_f = 1;
            at->f = attrs[a].f;
            break;
        case CF_GATTR_INTS:
            at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
            if (!(at->ints = malloc((size_t)attrs[a].n * sizeof *at->ints))) return nomem(err);
            memcpy(at->ints, attrs[a].i, (size_t)attrs[a].n * sizeof *at->ints);
            at->n_ints = (size_t)attrs[a].n;
            break;
        }
    }
    return CF_OK;
}

/* Float data as raw_data: little-endian IEEE floats, which is the host's
 * layout on every platform clforge builds for (x86-64, aarch64). */
static cf_status add_constant(void *ctx, const char *name, int ndim, const int64_t *dims, const float *data,
                              cf_error *err)
{
    onnx_graph *b = ctx;
    Onnx__GraphProto *g = b->g;
    CF_TRY(new_name(g, name, err));
    Onnx__TensorProto **ts = grow(g->initializer, &b->cap_init, g->n_initializer, sizeof *ts);
    if (!ts) return nomem(err);
    g->initializer = ts;
    Onnx__TensorProto *t = malloc(sizeof *t);
    if (!t) return nomem(err);
    onnx__tensor_proto__init(t);
    g->initializer[g->n_initializer++] = t;
    size_t n = 1;
    if (ndim && !(t->dims = malloc((size_t)ndim * sizeof *t->dims))) return nomem(err);
    for (int d = 0; d < ndim; d++) n *= (size_t)(t->dims[d] = dims[d]);
    t->n_dims = (size_t)ndim;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    if (!(t->name = cf_strdup(name))) return nomem(err);
    t->has_raw_data = 1;
    if (!(t->raw_data.data = malloc(n * sizeof(float)))) return nomem(err);
    memcpy(t->raw_data.data, data, n * sizeof(float));
    t->raw_data.len = n * sizeof(float);
    return CF_OK;
}

/* A float tensor's ValueInfoProto: [N, d1, ...] with the batch named "N". */
static Onnx__ValueInfoProto *value_info(const char *name, int ndim, const int *dims)
{
    Onnx__ValueInfoProto *v = malloc(sizeof *v);
    if (!v) return NULL;
    onnx__value_info_proto__init(v);
    Onnx__TypeProto *tp = malloc(sizeof *tp);
    Onnx__TypeProto__Tensor *tt = malloc(sizeof *tt);
    Onnx__TensorShapeProto *sh = malloc(sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dim = calloc((size_t)ndim + 1, sizeof *dim);
    v->name = cf_strdup(name);
    if (!tp || !tt || !sh || !dim || !v->name) {
        free(tp);
        free(tt);
        free(sh);
        free(dim);
        onnx__value_info_proto__free_unpacked(v, NULL);
        return NULL;
    }
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    v->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    sh->dim = dim;
    for (int d = 0; d <= ndim; d++) {
        Onnx__TensorShapeProto__Dimension *x = malloc(sizeof *x);
        if (!x) {
            onnx__value_info_proto__free_unpacked(v, NULL);
            return NULL;
        }
        onnx__tensor_shape_proto__dimension__init(x);
        sh->dim[sh->n_dim++] = x;
        if (d == 0) {
            x->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            if (!(x->dim_param = cf_strdup("N"))) {
                x->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE__NOT_SET;
                onnx__value_info_proto__free_unpacked(v, NULL);
                return NULL;
            }
        } else {
            x->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            x->dim_value = dims[d - 1];
        }
    }
    return v;
}

static cf_status add_meta(Onnx__ModelProto *m, const char *key, const char *value, cf_error *err)
{
    Onnx__StringStringEntryProto **p = realloc(m->metadata_props, (m->n_metadata_props + 1) * sizeof *p);
    if (!p) return nomem(err);
    m->metadata_props = p;
    Onnx__StringStringEntryProto *e = malloc(sizeof *e);
    if (!e) return nomem(err);
    onnx__string_string_entry_proto__init(e);
    m->metadata_props[m->n_metadata_props++] = e;
    e->key = cf_strdup(key);
    e->value = cf_strdup(value);
    return e->key && e->value ? CF_OK : nomem(err);
}

static cf_status json_numbers(Onnx__ModelProto *m, const char *key, const double *v, int n, cf_error *err)
{
    cf_sbuf b = {0};
    cf_sbuf_printf(&b, "[");
    for (int i = 0; i < n; i++) {
        if (i) cf_sbuf_printf(&b, ", ");
        cf_json_num(&b, v[i]);
    }
    cf_sbuf_printf(&b, "]");
    cf_status s = b.s ? add_meta(m, key, b.s, err) : nomem(err);
    cf_sbuf_free(&b);
    return s;
}

/* The graph between "input" and "probs". */
static cf_status build_graph(cf_net *net, const cf_onnx_export_info *info, Onnx__ModelProto *m, cf_error *err)
{
    onnx_graph b = {0};
    Onnx__GraphProto *g = malloc(sizeof *g);
    if (!g) return nomem(err);
    onnx__graph_proto__init(g);
    m->graph = g;
    b.g = g;
    cf_graph_builder gb = {.ctx = &b, .node = add_node, .constant = add_constant};
    if (!(g->name = cf_strdup("clforge"))) return nomem(err);
    int in_dims[3] = {info->c, info->h, info->w}, out_dims[1] = {info->k};
    if (!(g->input = calloc(1, sizeof *g->input)) || !(g->input[0] = value_info("input", 3, in_dims)))
        return nomem(err);
    g->n_input = 1;
    if (!(g->output = calloc(1, sizeof *g->output)) || !(g->output[0] = value_info("probs", 1, out_dims)))
        return nomem(err);
    g->n_output = 1;
    /* The normalisation clforge applies to every image before the first layer. */
    float mean[4], std[4];
    for (int c = 0; c < info->c; c++) {
        mean[c] = (float)info->mean[c];
        std[c] = (float)info->std[c];
    }
    int64_t cd[4] = {1, info->c, 1, 1};
    CF_TRY(add_constant(&b, "input/mean", 4, cd, mean, err));
    CF_TRY(add_constant(&b, "input/std", 4, cd, std, err));
    const char *sub[2] = {"input", "input/mean"}, *div[2] = {"input/centered", "input/std"};
    CF_TRY(add_node(&b, "Sub", sub, 2, "input/centered", NULL, 0, err));
    CF_TRY(add_node(&b, "Div", div, 2, "input/normalized", NULL, 0, err));
    char last[CF_GRAPH_NAME_MAX], flat[CF_GRAPH_NAME_MAX];
    int rank;
    CF_TRY(cf_net_export_graph(net, &gb, "input/normalized", last, &rank, err));
    const char *logits = last;
    CF_TRY(cf_graph_flatten(&gb, "output", &logits, &rank, flat, err));
    if (info->sigmoid) return add_node(&b, "Sigmoid", &logits, 1, "probs", NULL, 0, err);
    cf_graph_attr axis = {.name = "axis", .kind = CF_GATTR_INT, .i = {1}};
    return add_node(&b, "Softmax", &logits, 1, "probs", &axis, 1, err);
}

cf_status cf_onnx_export_bytes(cf_net *net, const cf_onnx_export_info *info, uint8_t **data, size_t *len,
                               cf_error *err)
{
    *data = NULL;
    *len = 0;
    if (info->c < 1 || info->c > 4 || info->k < 1)
        return cf_error_set(err, CF_ERR_INVALID, "ONNX export: %d channels and %d classes", info->c, info->k);
    Onnx__ModelProto *m = malloc(sizeof *m);
    if (!m) return nomem(err);
    onnx__model_proto__init(m);
    cf_status s = CF_OK;
    m->has_ir_version = 1;
    m->ir_version = CF_ONNX_IR_VERSION;
    m->producer_name = cf_strdup("clforge");
    m->producer_version = cf_strdup(info->version);
    m->doc_string = cf_strdup("exported by clforge export: input = pixels in [0, 1], probs = class probabilities");
    m->opset_import = calloc(1, sizeof *m->opset_import);
    if (!m->producer_name || !m->producer_version || !m->doc_string || !m->opset_import) s = nomem(err);
    if (!s) {
        Onnx__OperatorSetIdProto *op = malloc(sizeof *op);
        if (!op) s = nomem(err);
        else {
            onnx__operator_set_id_proto__init(op);
            op->domain = cf_strdup("");
            op->has_version = 1;
            op->version = CF_ONNX_OPSET;
            m->opset_import[m->n_opset_import++] = op;
            if (!op->domain) s = nomem(err);
        }
    }
    if (!s) s = build_graph(net, info, m, err);
    cf_sbuf names = {0};
    cf_sbuf_printf(&names, "[");
    for (int c = 0; c < info->k; c++) {
        if (c) cf_sbuf_printf(&names, ", ");
        cf_json_str(&names, info->class_names[c]);
    }
    cf_sbuf_printf(&names, "]");
    if (!s) s = names.s ? add_meta(m, "class_names", names.s, err) : nomem(err);
    cf_sbuf_free(&names);
    if (!s) s = add_meta(m, "clforge_version", info->version, err);
    if (!s) s = json_numbers(m, "mean", info->mean, info->c, err);
    if (!s) s = json_numbers(m, "std", info->std, info->c, err);
    if (!s && info->loss) s = add_meta(m, "loss", info->loss, err);
    if (!s) {
        *len = onnx__model_proto__get_packed_size(m);
        *data = malloc(*len ? *len : 1);
        if (!*data) s = nomem(err);
        else onnx__model_proto__pack(m, *data);
    }
    onnx__model_proto__free_unpacked(m, NULL);
    if (s) {
        free(*data);
        *data = NULL;
        *len = 0;
    }
    return s;
}

cf_status cf_onnx_export(cf_net *net, const cf_onnx_export_info *info, const char *path, cf_error *err)
{
    uint8_t *data;
    size_t len;
    CF_TRY(cf_onnx_export_bytes(net, info, &data, &len, err));
    cf_status s = cf_write_file_atomic(path, data, len, err);
    free(data);
    return s;
}
