/* ONNX import: read a ModelProto with protobuf-c, walk its graph in order
 * (ONNX sorts nodes topologically) keeping every named tensor as a constant
 * or as the output of a clforge layer, and check what comes out: one input
 * [N,C,H,W] of fixed C,H,W, one output, the class vector. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "onnx/onnx_import.h"

cf_status oi_node_error(const Onnx__NodeProto *n, cf_error *err, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cf_error_set(err, CF_ERR_UNSUPPORTED, "node '%s' (%s): %s", n->name && *n->name ? n->name : "(unnamed)",
                        n->op_type ? n->op_type : "?", msg);
}

oi_value *oi_find(oi_ctx *c, const char *name)
{
    if (!name || !*name) return NULL;
    for (int i = c->nv - 1; i >= 0; i--) /* a later definition shadows (it cannot in valid ONNX) */
        if (!strcmp(c->v[i].name, name)) return &c->v[i];
    return NULL;
}

oi_value *oi_add(oi_ctx *c, const char *name, cf_error *err)
{
    if (c->nv == c->capv) {
        cf_error_set(err, CF_ERR_INVALID, "tensor '%s': more tensors than the graph declares", name);
        return NULL;
    }
    oi_value *v = &c->v[c->nv++];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->layer = -1;
    return v;
}

int oi_uses(const oi_ctx *c, const char *name)
{
    int k = 0;
    for (size_t i = 0; i < c->g->n_node; i++)
        for (size_t j = 0; j < c->g->node[i]->n_input; j++) k += !strcmp(c->g->node[i]->input[j], name);
    for (size_t i = 0; i < c->g->n_output; i++) k += !strcmp(c->g->output[i]->name, name);
    return k;
}

/* torchvision's ResNet names as clforge's resnet preset names them
 * (model/presets.c), so an imported ResNet freezes by stage ("stage1*") and
 * model.init_from matches it to the preset: layerS.B.convK ->
 * stageS_b(B+1)_convK, .bnK -> _bnK, .downsample.0/.1 -> _proj/_proj_bn, the
 * block's Add -> _add, fc -> out, maxpool -> pool1, avgpool -> gap. */
static void torchvision_rename(char *s, size_t cap, const char *op)
{
    int st, b, k, used = 0;
    char out[256] = "";
    if (sscanf(s, "layer%d.%d.conv%d%n", &st, &b, &k, &used) == 3 && !s[used])
        snprintf(out, sizeof out, "stage%d_b%d_conv%d", st, b + 1, k);
    else if (sscanf(s, "layer%d.%d.bn%d%n", &st, &b, &k, &used) == 3 && !s[used])
        snprintf(out, sizeof out, "stage%d_b%d_bn%d", st, b + 1, k);
    else if (sscanf(s, "layer%d.%d.downsample.%d%n", &st, &b, &k, &used) == 3 && !s[used] && k <= 1)
        snprintf(out, sizeof out, "stage%d_b%d_proj%s", st, b + 1, k ? "_bn" : "");
    else if (sscanf(s, "layer%d.%d%n", &st, &b, &used) == 2 && !s[used] && !strcmp(op, "Add"))
        snprintf(out, sizeof out, "stage%d_b%d_add", st, b + 1);
    else if (!strcmp(s, "fc") && (!strcmp(op, "Gemm") || !strcmp(op, "MatMul")))
        snprintf(out, sizeof out, "out");
    else if (!strcmp(s, "maxpool") && !strcmp(op, "MaxPool"))
        snprintf(out, sizeof out, "pool1");
    else if (!strcmp(s, "avgpool") && !strcmp(op, "GlobalAveragePool"))
        snprintf(out, sizeof out, "gap");
    if (*out) snprintf(s, cap, "%s", out);
}

/* "/layer1/layer1.0/conv1/Conv" (torch's scopes) -> "layer1.0.conv1";
 * "layer1.0.conv1.weight" -> "layer1.0.conv1"; other characters -> '_'. */
static void base_name(const char *hint, const Onnx__NodeProto *n, char *out, size_t cap)
{
    char buf[256] = "";
    size_t hl = hint ? strlen(hint) : 0;
    if (hl > 7 && !strcmp(hint + hl - 7, ".weight")) snprintf(buf, sizeof buf, "%.*s", (int)(hl - 7), hint);
    else if (n->name && *n->name) {
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s", n->name);
        char *seg[32];
        int ns = 0;
        for (char *t = strtok(tmp, "/"); t && ns < 32; t = strtok(NULL, "/")) seg[ns++] = t;
        if (ns > 1 && n->op_type && !strncmp(seg[ns - 1], n->op_type, strlen(n->op_type))) ns--;
        for (int i = 0; i < ns; i++) {
            size_t l = strlen(seg[i]);
            if (i + 1 < ns && !strncmp(seg[i + 1], seg[i], l) && seg[i + 1][l] == '.') continue;
            size_t bl = strlen(buf);
            snprintf(buf + bl, sizeof buf - bl, "%s%s", bl ? "." : "", seg[i]);
        }
    }
    torchvision_rename(buf, sizeof buf, n->op_type ? n->op_type : "");
    size_t o = 0;
    for (const char *p = buf; *p && o + 1 < cap; p++)
        out[o++] = isalnum((unsigned char)*p) || *p == '.' || *p == '-' ? *p : '_';
    out[o] = '\0';
}

cf_status oi_new_layer(oi_ctx *c, const Onnx__NodeProto *n, cf_layer_type t, const char *hint,
                       oi_value *const *in, int nin, cf_layer_spec **out, cf_error *err)
{
    cf_model_spec *m = c->out->spec;
    char base[CF_NAME_MAX - 16], name[CF_NAME_MAX];
    base_name(hint, n, base, sizeof base);
    if (!*base) snprintf(base, sizeof base, "%s", cf_layer_type_name(t));
    snprintf(name, sizeof name, "%s", base);
    for (int k = 2; cf_model_spec_find(m, name) >= 0 || !strcmp(name, "input"); k++)
        snprintf(name, sizeof name, "%s_%d", base, k);
    if (nin > CF_MAX_INPUTS) return oi_node_error(n, err, "%d inputs (clforge layers take at most %d)", nin, CF_MAX_INPUTS);
    if (m->n == c->cap_shapes) {
        int nc = c->cap_shapes ? 2 * c->cap_shapes : 64;
        cf_shape3 *ns = realloc(c->shapes, (size_t)nc * sizeof *ns);
        if (ns) c->shapes = ns;
        int *nr = ns ? realloc(c->ranks, (size_t)nc * sizeof *nr) : NULL;
        if (!nr) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        c->ranks = nr;
        c->cap_shapes = nc;
    }
    cf_layer_spec *l = cf_model_spec_append(m, t, name);
    if (!l) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    l->n_inputs = nin;
    for (int k = 0; k < nin; k++)
        snprintf(l->inputs[k], CF_NAME_MAX, "%s", in[k]->layer < 0 ? "input" : m->layers[in[k]->layer].name);
    c->input_raw &= !(nin && in[0]->layer < 0); /* the input is used as it is: no Sub/Div after this */
    *out = l;
    return CF_OK;
}

cf_status oi_bind(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    cf_model_spec *m = c->out->spec;
    int li = m->n - 1;
    cf_layer_spec *l = &m->layers[li];
    const cf_layer_type_def *d = cf_layer_def(l->type);
    cf_shape3 in[CF_MAX_INPUTS], x = {m->in_c, m->in_h, m->in_w};
    for (int k = 0; k < l->n_inputs; k++) {
        int s = cf_model_spec_find(m, l->inputs[k]);
        in[k] = s < 0 ? x : c->shapes[s];
    }
    cf_shape3 o = in[0];
    cf_error e = {0};
    if (d->infer(l, in, l->n_inputs, &o, &e)) return oi_node_error(n, err, "%s", e.msg);
    if (o.c <= 0 || o.h <= 0 || o.w <= 0)
        return oi_node_error(n, err, "output shape [%d, %d, %d] is empty: the input [%d, %d, %d] is too small", o.c,
                             o.h, o.w, in[0].c, in[0].h, in[0].w);
    c->shapes[li] = o;
    if (!n->n_output) return oi_node_error(n, err, "no output");
    oi_value *v = oi_add(c, n->output[0], err);
    if (!v) return CF_ERR_INVALID;
    v->layer = li;
    v->shape = o;
    v->rank = l->type == CF_LAYER_DENSE || l->type == CF_LAYER_FLATTEN ? 2 : c->input_rank;
    for (int k = 0; k < l->n_inputs && l->type != CF_LAYER_DENSE && l->type != CF_LAYER_FLATTEN; k++) {
        int s = cf_model_spec_find(m, l->inputs[k]);
        if (s >= 0) v->rank = c->ranks[s];
    }
    c->ranks[li] = v->rank;
    return CF_OK;
}

cf_status oi_alias(oi_ctx *c, const Onnx__NodeProto *n, const oi_value *src, cf_error *err)
{
    if (!n->n_output) return oi_node_error(n, err, "no output");
    oi_value s = *src; /* src may move? no: c->v never reallocates; copy for the const data */
    oi_value *v = oi_add(c, n->output[0], err);
    if (!v) return CF_ERR_INVALID;
    const char *name = v->name;
    *v = s;
    v->name = name;
    if (s.is_const) { /* an own copy: every value frees its constant */
        v->c.f = malloc((s.c.n ? s.c.n : 1) * sizeof *v->c.f);
        v->c.i = malloc((s.c.n ? s.c.n : 1) * sizeof *v->c.i);
        if (!v->c.f || !v->c.i) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        memcpy(v->c.f, s.c.f, s.c.n * sizeof *v->c.f);
        memcpy(v->c.i, s.c.i, s.c.n * sizeof *v->c.i);
    }
    return CF_OK;
}

cf_status cf_onnx_init_tensors(const char *path, cf_blob *out, cf_error *err)
{
    cf_onnx_model m;
    memset(out, 0, sizeof *out);
    CF_TRY(cf_onnx_import(path, NULL, &m, err));
    *out = m.params;
    m.params = (cf_blob){0};
    cf_onnx_model_free(&m);
    return CF_OK;
}

void cf_onnx_model_free(cf_onnx_model *m)
{
    if (!m) return;
    cf_model_spec_free(m->spec);
    cf_blob_free(&m->params);
    for (int i = 0; i < m->n_class_names; i++) free(m->class_names[i]);
    free(m->class_names);
    memset(m, 0, sizeof *m);
}

static cf_status read_input(oi_ctx *c, const Onnx__ValueInfoProto *in, cf_error *err)
{
    const Onnx__TypeProto *t = in->type;
    const Onnx__TensorShapeProto *sh =
        t && t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && t->tensor_type ? t->tensor_type->shape : NULL;
    if (!sh)
        return cf_error_set(err, CF_ERR_UNSUPPORTED, "graph input '%s': not a tensor with a shape", in->name);
    if (t->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return cf_error_set(err, CF_ERR_UNSUPPORTED, "graph input '%s': element type %d (clforge takes float)",
                            in->name, (int)t->tensor_type->elem_type);
    if (sh->n_dim != 4 && sh->n_dim != 2)
        return cf_error_set(err, CF_ERR_UNSUPPORTED,
                            "graph input '%s': %zu dimensions (clforge takes [N, C, H, W] or [N, F])", in->name,
                            sh->n_dim);
    int d3[3] = {1, 1, 1};
    for (size_t d = 1; d < sh->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dm = sh->dim[d];
        if (dm->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || dm->dim_value <= 0 ||
            dm->dim_value > 65536) {
            if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
                return cf_error_set(err, CF_ERR_UNSUPPORTED,
                                    "graph input '%s': dimension %zu is symbolic ('%s'); clforge needs fixed "
                                    "C, H, W (only the batch may vary): export with a fixed image size",
                                    in->name, d, dm->dim_param);
            return cf_error_set(err, CF_ERR_UNSUPPORTED, "graph input '%s': dimension %zu is not a fixed size",
                                in->name, d);
        }
        d3[d - 1] = (int)dm->dim_value;
    }
    cf_model_spec *m = c->out->spec;
    m->in_c = d3[0];
    m->in_h = d3[1];
    m->in_w = d3[2];
    oi_value *v = oi_add(c, in->name, err);
    if (!v) return CF_ERR_INVALID;
    v->layer = -1;
    v->rank = c->input_rank = (int)sh->n_dim;
    v->shape = (cf_shape3){d3[0], d3[1], d3[2]};
    c->input_name = in->name;
    return CF_OK;
}

/* "class_names" in metadata_props: a JSON array of strings or one name a line. */
static cf_status class_names(cf_onnx_model *m, const char *s, cf_error *err)
{
    char **names = NULL;
    int n = 0, json = 0;
    while (isspace((unsigned char)*s)) s++;
    if (*s == '[') json = 1, s++;
    while (*s) {
        while (*s && (isspace((unsigned char)*s) || (json && *s == ','))) s++;
        if (!*s || (json && *s == ']')) break;
        char buf[256];
        size_t o = 0;
        if (json && *s == '"') {
            for (s++; *s && *s != '"'; s++) {
                if (*s == '\\' && s[1]) s++;
                if (o + 1 < sizeof buf) buf[o++] = *s;
            }
            if (*s) s++;
        } else
            for (; *s && *s != '\n' && !(json && (*s == ',' || *s == ']')); s++)
                if (o + 1 < sizeof buf) buf[o++] = *s;
        buf[o] = '\0';
        char **nn = realloc(names, (size_t)(n + 1) * sizeof *nn);
        if (nn) names = nn;
        if (!nn || !(names[n] = cf_strdup(buf))) {
            for (int i = 0; i < n; i++) free(names[i]);
            free(names);
            return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        }
        n++;
    }
    m->class_names = names;
    m->n_class_names = n;
    return CF_OK;
}

static cf_status import_graph(oi_ctx *c, Onnx__ModelProto *mp, cf_error *err)
{
    Onnx__GraphProto *g = mp->graph;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        if ((!o->domain || !*o->domain || !strcmp(o->domain, "ai.onnx")) && o->version < 7)
            return cf_error_set(err, CF_ERR_UNSUPPORTED, "opset %lld: clforge reads opset 7 and later",
                                (long long)o->version);
    }
    size_t cap = g->n_initializer + g->n_input + 1;
    for (size_t i = 0; i < g->n_node; i++) cap += g->node[i]->n_output;
    c->capv = (int)cap;
    c->v = cf_calloc(cap, sizeof *c->v);
    if (!c->v) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < g->n_initializer; i++) {
        oi_value *v = oi_add(c, g->initializer[i]->name ? g->initializer[i]->name : "", err);
        if (!v) return CF_ERR_INVALID;
        v->is_const = 1;
        CF_TRY(oi_const_from_tensor(g->initializer[i], "initializer", &v->c, err));
    }
    int n_in = 0;
    for (size_t i = 0; i < g->n_input; i++) {
        if (oi_find(c, g->input[i]->name)) continue; /* an initializer listed as input (old exporters) */
        if (n_in++)
            return cf_error_set(err, CF_ERR_UNSUPPORTED, "graph input '%s': a second input (clforge models take one image)",
                                g->input[i]->name);
        CF_TRY(read_input(c, g->input[i], err));
    }
    if (!n_in) return cf_error_set(err, CF_ERR_UNSUPPORTED, "the graph has no input besides its initializers");
    c->input_raw = 1;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        for (size_t k = 0; k < n->n_input; k++)
            if (*n->input[k] && !oi_find(c, n->input[k]))
                return oi_node_error(n, err, "input '%s' is neither an initializer nor the output of an earlier node",
                                     n->input[k]);
        CF_TRY(oi_map_node(c, n, err));
    }
    if (g->n_output != 1)
        return cf_error_set(err, CF_ERR_UNSUPPORTED, "the graph has %zu outputs (clforge models have one: the classes)",
                            g->n_output);
    const oi_value *o = oi_find(c, g->output[0]->name);
    cf_model_spec *m = c->out->spec;
    if (!o || o->is_const || o->layer < 0)
        return cf_error_set(err, CF_ERR_UNSUPPORTED, "graph output '%s' is not computed from the input",
                            g->output[0]->name);
    if (o->layer != m->n - 1)
        return cf_error_set(err, CF_ERR_UNSUPPORTED,
                            "graph output '%s' comes from layer '%s', not from the last node: clforge's output is "
                            "its last layer", g->output[0]->name, m->layers[o->layer].name);
    if (o->shape.h != 1 || o->shape.w != 1)
        return cf_error_set(err, CF_ERR_UNSUPPORTED,
                            "graph output '%s' is [%d, %d, %d]: clforge models end in a vector of class scores",
                            g->output[0]->name, o->shape.c, o->shape.h, o->shape.w);
    c->out->n_classes = o->shape.c;
    for (size_t i = 0; i < mp->n_metadata_props; i++)
        if (mp->metadata_props[i]->key && !strcmp(mp->metadata_props[i]->key, "class_names") &&
            mp->metadata_props[i]->value)
            CF_TRY(class_names(c->out, mp->metadata_props[i]->value, err));
    /* The spec must stand on its own as clforge checks it when it loads it. */
    cf_shape3 *sh = cf_calloc((size_t)m->n, sizeof *sh);
    int (*ins)[CF_MAX_INPUTS] = cf_calloc((size_t)m->n, sizeof *ins);
    cf_status st = sh && ins ? cf_model_infer(m, sh, ins, err) : cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    free(sh);
    free(ins);
    return st;
}

cf_status cf_onnx_import(const char *path, const cf_onnx_import_opts *opts, cf_onnx_model *out,
                         cf_error *err)
{
    memset(out, 0, sizeof *out);
    char *data;
    size_t len;
    CF_TRY(cf_read_file(path, &data, &len, err));
    Onnx__ModelProto *mp = len ? onnx__model_proto__unpack(NULL, len, (const uint8_t *)data) : NULL;
    free(data);
    if (!mp || !mp->graph || !mp->has_ir_version) {
        if (mp) onnx__model_proto__free_unpacked(mp, NULL);
        return cf_error_set(err, CF_ERR_IO, "%s: not an ONNX model (%s)", path,
                            !len ? "empty file"
                            : mp ? "no graph or IR version"
                                 : "the protobuf does not parse: truncated or another format");
    }
    oi_ctx c = {0};
    c.path = path;
    c.g = mp->graph;
    c.out = out;
    c.log = opts ? opts->log : NULL;
    cf_status st = (out->spec = cf_model_spec_new()) ? CF_OK : cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    if (!st) st = import_graph(&c, mp, err);
    for (int i = 0; i < c.nv; i++) oi_const_free(&c.v[i].c);
    free(c.v);
    free(c.shapes);
    free(c.ranks);
    onnx__model_proto__free_unpacked(mp, NULL);
    if (st) {
        cf_error_prefix(err, "%s", path);
        cf_onnx_model_free(out);
    }
    return st;
}
