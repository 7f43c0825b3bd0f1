/* ONNX export without ONNX Runtime (tests/test_onnx_export.sh runs the
 * files): the bytes cf_onnx_export_bytes writes decode with protobuf-c into
 * the documented interface (input [N, C, H, W] with a symbolic batch, probs
 * [N, K], opset 13, producer, metadata), the normalisation and the layers
 * as the expected operators with their attributes, every parameter as an
 * initializer holding the net's values; and the errors: a layer named like
 * a graph tensor, a conv over a vector, each naming the layer. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "model/net.h"
#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_export.h"

/* static, with every backend opened: they outlive each test and stay
 * reachable, so LeakSanitizer reports no leak */
static cf_registry *g_reg;
static cf_backend *g_be[32];
static int g_nbe;

static cf_net *build(cf_model_spec *m)
{
    cf_error e = {0};
    cf_backend *b;
    cf_backend_config bc = {0};
    if (!g_reg) ck_assert_int_eq(cf_registry_create(&g_reg, NULL, 0, &e), CF_OK);
    ck_assert_msg(cf_backend_open(g_reg, "reference", &bc, &b, &e) == CF_OK, "%s", e.msg);
    ck_assert_int_lt(g_nbe, 32);
    g_be[g_nbe++] = b;
    for (int i = 1; i < m->n; i++)
        if (!m->layers[i].n_inputs) {
            m->layers[i].n_inputs = 1;
            strcpy(m->layers[i].inputs[0], m->layers[i - 1].name);
        }
    cf_net *net;
    ck_assert_msg(cf_net_build(b, m, 4, 3, CF_LOSS_XENT, &net, &e) == CF_OK, "%s", e.msg);
    ck_assert_int_eq(cf_net_init_params(net, 11, &e), CF_OK);
    return net;
}

static const double mean[1] = {0.25}, std_[1] = {0.5};
static const char *const names[3] = {"cat", "dog", "a \"quoted\" bird"};
static const cf_onnx_export_info info = {.c = 1, .h = 8, .w = 8, .k = 3, .mean = mean, .std = std_,
                                         .class_names = names, .loss = "xent", .version = "9.9"};

static const char *meta(const Onnx__ModelProto *m, const char *key)
{
    for (size_t i = 0; i < m->n_metadata_props; i++)
        if (!strcmp(m->metadata_props[i]->key, key)) return m->metadata_props[i]->value;
    return NULL;
}

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (!strcmp(n->attribute[i]->name, name)) return n->attribute[i];
    return NULL;
}

START_TEST(model_decodes_as_documented)
{
    cf_model_spec *m = cf_model_spec_new();
    m->in_c = 1; m->in_h = 8; m->in_w = 8;
    cf_layer_spec *l = cf_model_spec_append(m, CF_LAYER_CONV, "c1");
    CF_CONV(l)->filters = 4; CF_CONV(l)->kernel = 3; CF_CONV(l)->stride = 2; CF_CONV(l)->padding = 1;
    cf_model_spec_append(m, CF_LAYER_BATCHNORM, "bn")->act = CF_ACT_GELU;
    l = cf_model_spec_append(m, CF_LAYER_AVGPOOL, "ap");
    CF_POOL(l)->size = 2; CF_POOL(l)->stride = 2;
    l = cf_model_spec_append(m, CF_LAYER_DENSE, "out");
    CF_DENSE(l)->units = 3;
    cf_net *net = build(m);
    cf_error e = {0};
    uint8_t *data;
    size_t len;
    ck_assert_msg(cf_onnx_export_bytes(net, &info, &data, &len, &e) == CF_OK, "%s", e.msg);
    Onnx__ModelProto *om = onnx__model_proto__unpack(NULL, len, data);
    ck_assert_ptr_nonnull(om);
    ck_assert_str_eq(om->producer_name, "clforge");
    ck_assert_str_eq(om->producer_version, "9.9");
    ck_assert_int_eq(om->n_opset_import, 1);
    ck_assert_int_eq(om->opset_import[0]->version, 13);
    ck_assert_str_eq(meta(om, "class_names"), "[\"cat\", \"dog\", \"a \\\"quoted\\\" bird\"]");
    ck_assert_str_eq(meta(om, "clforge_version"), "9.9");
    const Onnx__GraphProto *g = om->graph;
    ck_assert_int_eq(g->n_input, 1);
    ck_assert_str_eq(g->input[0]->name, "input");
    const Onnx__TensorShapeProto *sh = g->input[0]->type->tensor_type->shape;
    ck_assert_int_eq(sh->n_dim, 4);
    ck_assert_str_eq(sh->dim[0]->dim_param, "N");
    ck_assert_int_eq(sh->dim[1]->dim_value, 1);
    ck_assert_int_eq(sh->dim[3]->dim_value, 8);
    ck_assert_str_eq(g->output[0]->name, "probs");
    ck_assert_int_eq(g->output[0]->type->tensor_type->shape->dim[1]->dim_value, 3);
    /* normalisation, conv, batch norm, exact GELU, pool, flatten + Gemm, softmax */
    static const char *const ops[] = {"Sub", "Div", "Conv", "BatchNormalization", "Mul", "Erf", "Add", "Mul",
                                      "Mul", "AveragePool", "Flatten", "Gemm", "Softmax"};
    ck_assert_int_eq(g->n_node, sizeof ops / sizeof *ops);
    for (size_t i = 0; i < g->n_node; i++) ck_assert_str_eq(g->node[i]->op_type, ops[i]);
    const Onnx__AttributeProto *pads = attr(g->node[2], "pads"), *st = attr(g->node[2], "strides");
    ck_assert(pads && pads->n_ints == 4 && pads->ints[0] == 1 && st && st->ints[1] == 2);
    ck_assert(attr(g->node[11], "transB") && attr(g->node[11], "transB")->i == 1);
    ck_assert_str_eq(g->node[12]->output[0], "probs");
    /* mean, std and every parameter of the net, with its values */
    ck_assert_int_eq(g->n_initializer, 2 + 3 + cf_net_n_params(net));
    for (int i = 0; i < cf_net_n_params(net); i++) {
        cf_net_param *p = cf_net_param_at(net, i);
        const Onnx__TensorProto *t = NULL;
        for (size_t k = 0; k < g->n_initializer; k++)
            if (!strcmp(g->initializer[k]->name, p->name)) t = g->initializer[k];
        ck_assert_msg(t, "no initializer %s", p->name);
        size_t n = cf_tensor_numel(&p->value);
        float *v = malloc(n * sizeof *v);
        ck_assert_int_eq(cf_tensor_download(cf_net_backend(net), &p->value, v, &e), CF_OK);
        ck_assert_int_eq(t->raw_data.len, n * sizeof *v);
        ck_assert_int_eq(t->n_dims, p->value.ndim);
        ck_assert(!memcmp(t->raw_data.data, v, n * sizeof *v));
        free(v);
    }
    onnx__model_proto__free_unpacked(om, NULL);
    free(data);
    cf_net_free(net);
    cf_model_spec_free(m);
}
END_TEST

static void expect_error(cf_model_spec *m, const char *msg)
{
    cf_net *net = build(m);
    cf_error e = {0};
    uint8_t *data = (uint8_t *)"x";
    size_t len = 1;
    ck_assert_int_ne(cf_onnx_export_bytes(net, &info, &data, &len, &e), CF_OK);
    ck_assert_msg(strstr(e.msg, msg), "'%s' lacks '%s'", e.msg, msg);
    ck_assert_ptr_null(data);
    ck_assert_int_eq(len, 0);
    cf_net_free(net);
    cf_model_spec_free(m);
}

START_TEST(errors_name_the_layer)
{
    cf_model_spec *m = cf_model_spec_new();
    m->in_c = 1; m->in_h = 8; m->in_w = 8;
    CF_DENSE(cf_model_spec_append(m, CF_LAYER_DENSE, "input"))->units = 3;
    expect_error(m, "tensor 'input' defined twice");
    m = cf_model_spec_new();
    m->in_c = 1; m->in_h = 8; m->in_w = 8;
    CF_DENSE(cf_model_spec_append(m, CF_LAYER_DENSE, "fc"))->units = 5;
    cf_layer_spec *l = cf_model_spec_append(m, CF_LAYER_CONV, "cv");
    CF_CONV(l)->filters = 3; CF_CONV(l)->kernel = 1;
    expect_error(m, "layer 'cv' (conv): its input is a flat vector");
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("export");
    TCase *t = tcase_create("onnx");
    tcase_add_test(t, model_decodes_as_documented);
    tcase_add_test(t, errors_name_the_layer);
    suite_add_tcase(s, t);
    return s;
}
