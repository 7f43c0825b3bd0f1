/* The model description: layers parsed from the config (or expanded from a
 * preset), named, with explicit inputs, and checked for shape consistency. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/params.h"
#include "model/model.h"

static const char *const layer_names[CF_LAYER_COUNT] = {
    "input", "dense", "conv", "maxpool", "avgpool", "gap", "flatten",
    "add", "activation", "softmax", "dropout", "batchnorm"};

const char *cf_layer_type_name(cf_layer_type t)
{
    return (int)t >= 0 && t < CF_LAYER_COUNT ? layer_names[t] : "?";
}

cf_layer_type cf_layer_type_from_name(const char *s)
{
    for (int i = 0; i < CF_LAYER_COUNT; i++)
        if (!strcmp(s, layer_names[i])) return (cf_layer_type)i;
    if (!strcmp(s, "conv2d") || !strcmp(s, "convolution")) return CF_LAYER_CONV;
    if (!strcmp(s, "fc") || !strcmp(s, "linear")) return CF_LAYER_DENSE;
    if (!strcmp(s, "global_avgpool")) return CF_LAYER_GAP;
    if (!strcmp(s, "batch_norm")) return CF_LAYER_BATCHNORM;
    if (cf_act_from_name(s) != CF_ACT_COUNT && strcmp(s, "none")) return CF_LAYER_ACT;
    return CF_LAYER_COUNT;
}

cf_act cf_act_from_name(const char *s)
{
    for (int a = 0; a < CF_ACT_COUNT; a++)
        if (!strcmp(s, cf_act_name((cf_act)a))) return (cf_act)a;
    if (!strcmp(s, "linear") || !strcmp(s, "identity")) return CF_ACT_NONE;
    if (!strcmp(s, "leaky")) return CF_ACT_LEAKY_RELU;
    return CF_ACT_COUNT;
}

const cf_param_def cf_layer_params[] = {
    {"type", CF_PT_STRING, NULL, CF_PARAM_NO_RANGE, NULL,
     "dense, conv, maxpool, avgpool, gap, flatten, add, activation, relu, leaky_relu, sigmoid, "
     "tanh, elu, gelu, softmax, dropout, batchnorm"},
    {"name", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "unique name (default: type + number)"},
    {"inputs", CF_PT_STRING_LIST, "", CF_PARAM_NO_RANGE, NULL,
     "names of the input layers (default: the previous layer); add takes two"},
    {"units", CF_PT_INT, "0", 0, 1 << 24, NULL, "dense: output features"},
    {"filters", CF_PT_INT, "0", 0, 1 << 16, NULL, "conv: output channels"},
    {"kernel", CF_PT_INT, "3", 1, 64, NULL, "conv: kernel size"},
    {"stride", CF_PT_INT, "0", 0, 64, NULL, "conv/pool: stride (conv 1, pool = size)"},
    {"padding", CF_PT_INT, "0", 0, 64, NULL, "conv/pool: zero padding on each side"},
    {"size", CF_PT_INT, "2", 1, 64, NULL, "pool: window size"},
    {"bias", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL, "dense/conv: learn a bias"},
    {"activation", CF_PT_STRING, "none", CF_PARAM_NO_RANGE,
     "none|linear|relu|leaky_relu|sigmoid|tanh|elu|gelu", "activation applied to the output"},
    {"alpha", CF_PT_FLOAT, "-1", -1, 100, NULL,
     "leaky_relu slope (default 0.01) / elu alpha (default 1.0)"},
    {"rate", CF_PT_FLOAT, "0.5", 0, 0.99, NULL, "dropout: probability of dropping a unit"},
    {"eps", CF_PT_FLOAT, "1e-5", 0, 1, NULL, "batchnorm: variance epsilon"},
    {"momentum", CF_PT_FLOAT, "0.1", 0, 1, NULL, "batchnorm: running statistics momentum"},
    CF_PARAM_TABLE_END};

const cf_param_def cf_model_params[] = {
    {"input", CF_PT_FLOAT_LIST, "", CF_PARAM_NO_RANGE, NULL,
     "input shape [C, H, W] (default: the dataset's)"},
    {"layers", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "list of layer groups (see model.layers[])"},
    {"preset", CF_PT_STRING, "", CF_PARAM_NO_RANGE, "|mlp|cnn|resnet",
     "expand a ready-made model instead of listing layers"},
    {"num_layers", CF_PT_INT, "20", 1, 1000, NULL,
     "resnet depth: 20/32/44/56/110 (small images) or 18/34/50/101/152/200"},
    {"hidden", CF_PT_FLOAT_LIST, "256,128", 1, 1 << 20, NULL, "mlp: hidden layer sizes"},
    {"init", CF_PT_STRING, "he", CF_PARAM_NO_RANGE, "he|xavier", "weight initialisation"},
    CF_PARAM_TABLE_END};

cf_model_spec *cf_model_spec_new(void)
{
    cf_model_spec *m = cf_calloc(1, sizeof *m);
    if (m) snprintf(m->init, sizeof m->init, "he");
    return m;
}

void cf_model_spec_free(cf_model_spec *m)
{
    if (!m) return;
    free(m->layers);
    free(m);
}

int cf_model_spec_find(const cf_model_spec *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->layers[i].name, name)) return i;
    return -1;
}

static void auto_name(const cf_model_spec *m, cf_layer_type t, char *out)
{
    for (int k = 1;; k++) {
        char cand[CF_NAME_MAX];
        snprintf(cand, sizeof cand, "%s%d", cf_layer_type_name(t), k);
        if (cf_model_spec_find(m, cand) < 0) {
            strcpy(out, cand);
            return;
        }
    }
}

static cf_layer_spec *insert_at(cf_model_spec *m, int pos, cf_layer_type t, const char *name)
{
    if (m->n == m->cap) {
        int nc = m->cap ? m->cap * 2 : 16;
        cf_layer_spec *nl = realloc(m->layers, (size_t)nc * sizeof *nl);
        if (!nl) return NULL;
        m->layers = nl;
        m->cap = nc;
    }
    memmove(&m->layers[pos + 1], &m->layers[pos], (size_t)(m->n - pos) * sizeof *m->layers);
    m->n++;
    cf_layer_spec *l = &m->layers[pos];
    memset(l, 0, sizeof *l);
    l->type = t;
    l->bias = 1;
    l->alpha = -1;
    l->rate = 0.5f;
    l->eps = 1e-5f;
    l->momentum = 0.1f;
    l->kernel = 3;
    l->size = 2;
    if (name && *name) snprintf(l->name, sizeof l->name, "%s", name);
    else auto_name(m, t, l->name);
    return l;
}

cf_layer_spec *cf_model_spec_append(cf_model_spec *m, cf_layer_type t, const char *name)
{
    return insert_at(m, m->n, t, name);
}

/* ---- plugin-facing API (plugin.h) ---------------------------------------- */
int cf_model_spec_count(const cf_model_spec *m) { return m->n; }
const char *cf_model_spec_type(const cf_model_spec *m, int i)
{
    return i >= 0 && i < m->n ? cf_layer_type_name(m->layers[i].type) : NULL;
}
const char *cf_model_spec_name(const cf_model_spec *m, int i)
{
    return i >= 0 && i < m->n ? m->layers[i].name : NULL;
}

int cf_model_spec_insert_after(cf_model_spec *m, int i, const char *type, const char *name,
                               const cf_params *params, cf_error *err)
{
    if (i < 0 || i >= m->n) {
        cf_error_set(err, CF_ERR_INVALID, "insert after layer %d: no such layer", i);
        return -1;
    }
    cf_layer_type t = cf_layer_type_from_name(type);
    if (t != CF_LAYER_DROPOUT && t != CF_LAYER_BATCHNORM && t != CF_LAYER_ACT) {
        cf_error_set(err, CF_ERR_INVALID, "insert after '%s': layer type '%s' cannot be inserted",
                     m->layers[i].name, type);
        return -1;
    }
    if (name && *name && cf_model_spec_find(m, name) >= 0) {
        cf_error_set(err, CF_ERR_INVALID, "insert after '%s': a layer named '%s' exists already",
                     m->layers[i].name, name);
        return -1;
    }
    char prev[CF_NAME_MAX];
    snprintf(prev, sizeof prev, "%s", m->layers[i].name);
    cf_layer_spec *l = insert_at(m, i + 1, t, name);
    if (!l) {
        cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        return -1;
    }
    l->n_inputs = 1;
    snprintf(l->inputs[0], CF_NAME_MAX, "%s", prev);
    if (params) {
        if (t == CF_LAYER_DROPOUT && cf_params_is_set(params, "rate"))
            l->rate = (float)cf_params_num(params, "rate");
        if (t == CF_LAYER_BATCHNORM) {
            double e = cf_params_num(params, "eps"), mo = cf_params_num(params, "momentum");
            if (e == e) l->eps = (float)e;
            if (mo == mo) l->momentum = (float)mo;
        }
        if (t == CF_LAYER_DROPOUT && !cf_params_is_set(params, "rate")) {
            double r = cf_params_num(params, "rate");
            if (r == r) l->rate = (float)r;
        }
    }
    /* conv -> bn -> act: the activation moves behind the normalisation. */
    if (t == CF_LAYER_BATCHNORM) {
        l->act = m->layers[i].act;
        l->alpha = m->layers[i].alpha;
        m->layers[i].act = CF_ACT_NONE;
    }
    for (int j = i + 2; j < m->n; j++)
        for (int k = 0; k < m->layers[j].n_inputs; k++)
            if (!strcmp(m->layers[j].inputs[k], prev))
                snprintf(m->layers[j].inputs[k], CF_NAME_MAX, "%s", l->name);
    return i + 1;
}

/* ---- shapes ------------------------------------------------------------------ */
static int out_dim(int in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }

long cf_layer_param_count(const cf_layer_spec *l, cf_shape3 in)
{
    long f = (long)in.c * in.h * in.w;
    switch (l->type) {
    case CF_LAYER_DENSE: return (long)l->units * f + (l->bias ? l->units : 0);
    case CF_LAYER_CONV:
        return (long)l->filters * in.c * l->kernel * l->kernel + (l->bias ? l->filters : 0);
    case CF_LAYER_BATCHNORM: return 2L * in.c;
    default: return 0;
    }
}

cf_status cf_model_infer(const cf_model_spec *m, cf_shape3 *out, int (*inputs)[CF_MAX_INPUTS],
                         cf_error *err)
{
    cf_shape3 x = {m->in_c, m->in_h, m->in_w};
    if (x.c <= 0 || x.h <= 0 || x.w <= 0)
        return cf_error_set(err, CF_ERR_INVALID, "model: input shape [%d, %d, %d] is invalid", x.c,
                            x.h, x.w);
    if (m->n == 0) return cf_error_set(err, CF_ERR_INVALID, "model: no layers");
    for (int i = 0; i < m->n; i++) {
        const cf_layer_spec *l = &m->layers[i];
        cf_shape3 in[CF_MAX_INPUTS];
        int nin = l->n_inputs ? l->n_inputs : 1;
        for (int k = 0; k < nin; k++) {
            int src = i - 1;
            if (l->n_inputs) {
                src = cf_model_spec_find(m, l->inputs[k]);
                if (!strcmp(l->inputs[k], "input")) src = -1;
                else if (src < 0 || src >= i)
                    return cf_error_set(err, CF_ERR_INVALID,
                                        "layer '%s' (line %d): input '%s' is not an earlier layer",
                                        l->name, l->line, l->inputs[k]);
            }
            inputs[i][k] = src;
            in[k] = src < 0 ? x : out[src];
        }
        for (int k = nin; k < CF_MAX_INPUTS; k++) inputs[i][k] = -2;
        cf_shape3 o = in[0];
        switch (l->type) {
        case CF_LAYER_DENSE:
            o = (cf_shape3){l->units, 1, 1};
            break;
        case CF_LAYER_CONV:
            o.c = l->filters;
            o.h = out_dim(in[0].h, l->kernel, l->stride, l->padding);
            o.w = out_dim(in[0].w, l->kernel, l->stride, l->padding);
            break;
        case CF_LAYER_MAXPOOL:
        case CF_LAYER_AVGPOOL:
            if (l->padding * 2 > l->size)
                return cf_error_set(err, CF_ERR_INVALID, "layer '%s': padding %d exceeds half the window %d",
                                    l->name, l->padding, l->size);
            o.h = out_dim(in[0].h, l->size, l->stride, l->padding);
            o.w = out_dim(in[0].w, l->size, l->stride, l->padding);
            break;
        case CF_LAYER_GAP: o.h = o.w = 1; break;
        case CF_LAYER_FLATTEN: o = (cf_shape3){in[0].c * in[0].h * in[0].w, 1, 1}; break;
        case CF_LAYER_ADD:
            if (nin != 2)
                return cf_error_set(err, CF_ERR_INVALID, "layer '%s' (add): needs exactly 2 inputs, has %d",
                                    l->name, nin);
            if (in[0].c != in[1].c || in[0].h != in[1].h || in[0].w != in[1].w)
                return cf_error_set(err, CF_ERR_INVALID,
                                    "layer '%s' (add): input shapes differ: [%d,%d,%d] vs [%d,%d,%d]",
                                    l->name, in[0].c, in[0].h, in[0].w, in[1].c, in[1].h, in[1].w);
            break;
        default: break;
        }
        if (l->type != CF_LAYER_ADD && nin != 1)
            return cf_error_set(err, CF_ERR_INVALID, "layer '%s' (%s): takes one input, has %d",
                                l->name, cf_layer_type_name(l->type), nin);
        if (o.c <= 0 || o.h <= 0 || o.w <= 0)
            return cf_error_set(err, CF_ERR_INVALID,
                                "layer '%s' (%s, line %d): output shape [%d, %d, %d] is empty — the "
                                "input [%d, %d, %d] is too small for it",
                                l->name, cf_layer_type_name(l->type), l->line, o.c, o.h, o.w,
                                in[0].c, in[0].h, in[0].w);
        out[i] = o;
    }
    return CF_OK;
}

cf_status cf_model_summary(const cf_model_spec *m, FILE *f, long *n_params, cf_error *err)
{
    cf_shape3 *sh = cf_calloc((size_t)m->n, sizeof *sh);
    int (*in)[CF_MAX_INPUTS] = cf_calloc((size_t)m->n, sizeof *in);
    if (!sh || !in) {
        free(sh);
        free(in);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    }
    cf_status s = cf_model_infer(m, sh, in, err);
    long total = 0;
    if (!s && f) fprintf(f, "%-18s %-16s %-18s %-16s %10s\n", "layer", "type", "inputs", "output", "params");
    if (!s && f) fprintf(f, "%-18s %-16s %-18s [%d, %d, %d]%*s %10d\n", "input", "input", "-", m->in_c, m->in_h, m->in_w, 4, "", 0);
    for (int i = 0; !s && i < m->n; i++) {
        const cf_layer_spec *l = &m->layers[i];
        int src = in[i][0];
        cf_shape3 x = src < 0 ? (cf_shape3){m->in_c, m->in_h, m->in_w} : sh[src];
        long p = cf_layer_param_count(l, x);
        total += p;
        if (f) {
            char ins[64] = "", shape[48], typ[32];
            for (int k = 0; k < (l->n_inputs ? l->n_inputs : 1); k++) {
                const char *nm = in[i][k] < 0 ? "input" : m->layers[in[i][k]].name;
                size_t used = strlen(ins);
                snprintf(ins + used, sizeof ins - used, "%s%s", k ? "," : "", nm);
            }
            snprintf(shape, sizeof shape, "[%d, %d, %d]", sh[i].c, sh[i].h, sh[i].w);
            snprintf(typ, sizeof typ, "%s%s%s", cf_layer_type_name(l->type), l->act ? "+" : "",
                     l->act ? cf_act_name(l->act) : "");
            fprintf(f, "%-18s %-16s %-18s %-16s %10ld\n", l->name, typ, ins, shape, p);
        }
    }
    if (!s && f) fprintf(f, "total trainable parameters: %ld (%.3f M)\n", total, total / 1e6);
    if (n_params) *n_params = total;
    free(sh);
    free(in);
    return s;
}

/* ---- parsing ------------------------------------------------------------------ */
static cf_status parse_layer(cf_model_spec *m, const cf_config *c, const config_setting_t *g,
                             FILE *warn, cf_error *err)
{
    char where[1100];
    cf_config_where(c, g, where, sizeof where);
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return cf_error_set(err, CF_ERR_INVALID, "%s: each layer must be a group { type = ...; }", where);
    cf_params *p;
    char section[64];
    snprintf(section, sizeof section, "layer %d", cf_model_spec_count(m) + 1);
    CF_TRY(cf_params_from_setting(cf_layer_params, g, NULL, section, warn, &p, err));
    const char *ts = cf_params_str(p, "type");
    cf_layer_type t = cf_layer_type_from_name(ts);
    const char *name = cf_params_str(p, "name");
    cf_status s = CF_OK;
    if (t == CF_LAYER_COUNT || t == CF_LAYER_INPUT) {
        s = cf_error_set(err, CF_ERR_INVALID,
                         "%s: unknown layer type '%s' (allowed: %s)", where, ts, cf_layer_params[0].doc);
        goto out;
    }
    if (*name && cf_model_spec_find(m, name) >= 0) {
        s = cf_error_set(err, CF_ERR_INVALID, "%s: duplicate layer name '%s'", where, name);
        goto out;
    }
    cf_layer_spec *l = cf_model_spec_append(m, t, name);
    if (!l) {
        s = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        goto out;
    }
    l->line = (int)config_setting_source_line(g);
    l->units = cf_params_int(p, "units");
    l->filters = cf_params_int(p, "filters");
    l->kernel = cf_params_int(p, "kernel");
    l->padding = cf_params_int(p, "padding");
    l->size = cf_params_int(p, "size");
    l->bias = cf_params_bool(p, "bias");
    l->rate = (float)cf_params_num(p, "rate");
    l->eps = (float)cf_params_num(p, "eps");
    l->momentum = (float)cf_params_num(p, "momentum");
    l->alpha = (float)cf_params_num(p, "alpha");
    l->act = cf_act_from_name(cf_params_str(p, "activation"));
    int stride = cf_params_int(p, "stride");
    l->stride = stride ? stride : (t == CF_LAYER_MAXPOOL || t == CF_LAYER_AVGPOOL ? l->size : 1);
    if (t == CF_LAYER_ACT && strcmp(ts, "activation")) l->act = cf_act_from_name(ts);
    int ni = cf_params_list_len(p, "inputs");
    if (ni > CF_MAX_INPUTS) {
        s = cf_error_set(err, CF_ERR_INVALID, "%s: at most %d inputs", where, CF_MAX_INPUTS);
        goto out;
    }
    l->n_inputs = ni;
    for (int k = 0; k < ni; k++)
        snprintf(l->inputs[k], CF_NAME_MAX, "%s", cf_params_list_str(p, "inputs", k));
    /* Required settings per type, and settings the type would ignore. */
    if (t == CF_LAYER_DENSE && !cf_params_is_set(p, "units"))
        s = cf_error_set(err, CF_ERR_INVALID, "%s: dense layer needs 'units'", where);
    else if (t == CF_LAYER_CONV && !cf_params_is_set(p, "filters"))
        s = cf_error_set(err, CF_ERR_INVALID, "%s: conv layer needs 'filters'", where);
    else if (t == CF_LAYER_ACT && l->act == CF_ACT_NONE)
        s = cf_error_set(err, CF_ERR_INVALID, "%s: activation layer needs 'activation'", where);
    if (!s && warn) {
        static const struct { const char *key; unsigned types; } use[] = {
            {"units", 1u << CF_LAYER_DENSE},
            {"filters", 1u << CF_LAYER_CONV},
            {"kernel", 1u << CF_LAYER_CONV},
            {"stride", 1u << CF_LAYER_CONV | 1u << CF_LAYER_MAXPOOL | 1u << CF_LAYER_AVGPOOL},
            {"padding", 1u << CF_LAYER_CONV | 1u << CF_LAYER_MAXPOOL | 1u << CF_LAYER_AVGPOOL},
            {"size", 1u << CF_LAYER_MAXPOOL | 1u << CF_LAYER_AVGPOOL},
            {"bias", 1u << CF_LAYER_DENSE | 1u << CF_LAYER_CONV},
            {"rate", 1u << CF_LAYER_DROPOUT},
            {"eps", 1u << CF_LAYER_BATCHNORM},
            {"momentum", 1u << CF_LAYER_BATCHNORM},
            {"activation", ~(1u << CF_LAYER_SOFTMAX | 1u << CF_LAYER_DROPOUT | 1u << CF_LAYER_FLATTEN)},
        };
        for (size_t k = 0; k < sizeof use / sizeof use[0]; k++)
            if (cf_params_is_set(p, use[k].key) && !(use[k].types & (1u << t))) {
                const config_setting_t *ks = config_setting_get_member(g, use[k].key);
                char kw[1100];
                fprintf(warn, "warning: %s: key '%s' is not used by a %s layer\n",
                        cf_config_where(c, ks, kw, sizeof kw), use[k].key, cf_layer_type_name(t));
            }
    }
out:
    cf_params_free(p);
    return s;
}

cf_status cf_model_preset(cf_model_spec *m, const char *preset, int num_layers, int n_classes,
                          cf_error *err)
{
    cf_layer_spec *l;
#define ADD(t, nm) do { if (!(l = cf_model_spec_append(m, t, nm))) return cf_error_set(err, CF_ERR_NOMEM, "out of memory"); } while (0)
    if (!strcmp(preset, "cnn")) {
        ADD(CF_LAYER_CONV, "conv1"); l->filters = 32; l->kernel = 3; l->padding = 1; l->stride = 1; l->act = CF_ACT_RELU;
        ADD(CF_LAYER_MAXPOOL, "pool1"); l->size = 2; l->stride = 2;
        ADD(CF_LAYER_CONV, "conv2"); l->filters = 64; l->kernel = 3; l->padding = 1; l->stride = 1; l->act = CF_ACT_RELU;
        ADD(CF_LAYER_MAXPOOL, "pool2"); l->size = 2; l->stride = 2;
        ADD(CF_LAYER_DENSE, "fc1"); l->units = 128; l->act = CF_ACT_RELU;
        ADD(CF_LAYER_DENSE, "fc2"); l->units = n_classes;
        return CF_OK;
    }
    if (strcmp(preset, "resnet"))
        return cf_error_set(err, CF_ERR_INVALID, "model: unknown preset '%s' (known: mlp, cnn, resnet)", preset);
    static const struct { int depth, bottleneck, blocks[4]; } big[] = {
        {18, 0, {2, 2, 2, 2}},  {34, 0, {3, 4, 6, 3}},   {50, 1, {3, 4, 6, 3}},
        {101, 1, {3, 4, 23, 3}}, {152, 1, {3, 8, 36, 3}}, {200, 1, {3, 24, 36, 3}}};
    int small = num_layers >= 8 && (num_layers - 2) % 6 == 0 && num_layers <= 110 &&
                num_layers != 50;
    int stages, blocks[4], widths[4], bottleneck = 0;
    if (small) {
        stages = 3;
        for (int s = 0; s < 3; s++) blocks[s] = (num_layers - 2) / 6;
        widths[0] = 16; widths[1] = 32; widths[2] = 64;
    } else {
        int k = -1;
        for (int i = 0; i < 6; i++)
            if (big[i].depth == num_layers) k = i;
        if (k < 0)
            return cf_error_set(err, CF_ERR_INVALID,
                                "model: resnet num_layers=%d is not supported (allowed: 20, 32, 44, "
                                "56, 110 for small images; 18, 34, 50, 101, 152, 200)", num_layers);
        stages = 4;
        bottleneck = big[k].bottleneck;
        for (int s = 0; s < 4; s++) { blocks[s] = big[k].blocks[s]; widths[s] = 64 << s; }
    }
    char nm[CF_NAME_MAX], prev[CF_NAME_MAX];
    ADD(CF_LAYER_CONV, "stem"); l->filters = widths[0]; l->bias = 0; l->stride = 1;
    if (small) { l->kernel = 3; l->padding = 1; } else { l->kernel = 7; l->padding = 3; l->stride = 2; }
    ADD(CF_LAYER_BATCHNORM, "stem_bn"); l->act = CF_ACT_RELU;
    if (!small) { ADD(CF_LAYER_MAXPOOL, "stem_pool"); l->size = 3; l->stride = 2; l->padding = 1; }
    snprintf(prev, sizeof prev, "%s", m->layers[m->n - 1].name);
    int in_ch = widths[0];
    for (int s = 0; s < stages; s++) {
        for (int b = 0; b < blocks[s]; b++) {
            int stride = (b == 0 && s > 0) ? 2 : 1;
            int out_ch = bottleneck ? widths[s] * 4 : widths[s];
            char block_in[CF_NAME_MAX];
            snprintf(block_in, sizeof block_in, "%s", prev);
            int nconv = bottleneck ? 3 : 2;
            for (int k = 0; k < nconv; k++) {
                snprintf(nm, sizeof nm, "s%d_b%d_conv%d", s + 1, b + 1, k + 1);
                ADD(CF_LAYER_CONV, nm);
                l->bias = 0;
                if (bottleneck) {
                    l->kernel = k == 1 ? 3 : 1; l->padding = k == 1 ? 1 : 0;
                    l->filters = k == 2 ? out_ch : widths[s]; l->stride = k == 1 ? stride : 1;
                } else {
                    l->kernel = 3; l->padding = 1; l->filters = widths[s]; l->stride = k == 0 ? stride : 1;
                }
                if (k == 0) { l->n_inputs = 1; snprintf(l->inputs[0], CF_NAME_MAX, "%s", block_in); }
                snprintf(nm, sizeof nm, "s%d_b%d_bn%d", s + 1, b + 1, k + 1);
                ADD(CF_LAYER_BATCHNORM, nm);
                if (k < nconv - 1) l->act = CF_ACT_RELU;
            }
            char main_out[CF_NAME_MAX], skip[CF_NAME_MAX];
            snprintf(main_out, sizeof main_out, "%s", m->layers[m->n - 1].name);
            snprintf(skip, sizeof skip, "%s", block_in);
            if (stride != 1 || in_ch != out_ch) { /* projection shortcut (option B) */
                snprintf(nm, sizeof nm, "s%d_b%d_proj", s + 1, b + 1);
                ADD(CF_LAYER_CONV, nm);
                l->kernel = 1; l->padding = 0; l->stride = stride; l->filters = out_ch; l->bias = 0;
                l->n_inputs = 1; snprintf(l->inputs[0], CF_NAME_MAX, "%s", block_in);
                snprintf(nm, sizeof nm, "s%d_b%d_proj_bn", s + 1, b + 1);
                ADD(CF_LAYER_BATCHNORM, nm);
                snprintf(skip, sizeof skip, "%s", nm);
            }
            snprintf(nm, sizeof nm, "s%d_b%d_add", s + 1, b + 1);
            ADD(CF_LAYER_ADD, nm);
            l->act = CF_ACT_RELU;
            l->n_inputs = 2;
            snprintf(l->inputs[0], CF_NAME_MAX, "%s", main_out);
            snprintf(l->inputs[1], CF_NAME_MAX, "%s", skip);
            snprintf(prev, sizeof prev, "%s", nm);
            in_ch = out_ch;
        }
    }
    ADD(CF_LAYER_GAP, "gap");
    ADD(CF_LAYER_DENSE, "fc"); l->units = n_classes;
#undef ADD
    return CF_OK;
}

cf_status cf_model_spec_from_config(const cf_config *c, const config_setting_t *model,
                                    int n_classes, FILE *warn, cf_model_spec **out,
                                    cf_error *err)
{
    cf_params *mp;
    CF_TRY(cf_params_from_setting(cf_model_params, model, "layers", "model", warn, &mp, err));
    cf_model_spec *m = cf_model_spec_new();
    cf_status s = CF_OK;
    char where[1100];
    if (!m) {
        cf_params_free(mp);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    }
    snprintf(m->init, sizeof m->init, "%s", cf_params_str(mp, "init"));
    int nin = cf_params_list_len(mp, "input");
    if (nin == 3) {
        m->in_c = (int)cf_params_list_num(mp, "input", 0);
        m->in_h = (int)cf_params_list_num(mp, "input", 1);
        m->in_w = (int)cf_params_list_num(mp, "input", 2);
    } else if (nin != 0) {
        s = cf_error_set(err, CF_ERR_INVALID, "%s: model.input must be [C, H, W]",
                         cf_config_where(c, config_setting_get_member(model, "input"), where, sizeof where));
        goto fail;
    }
    const char *preset = cf_params_str(mp, "preset");
    const config_setting_t *layers = model ? config_setting_get_member(model, "layers") : NULL;
    if (*preset && layers) {
        s = cf_error_set(err, CF_ERR_INVALID, "%s: model has both 'preset' and 'layers'; choose one",
                         cf_config_where(c, layers, where, sizeof where));
        goto fail;
    }
    if (!strcmp(preset, "mlp")) {
        int nh = cf_params_list_len(mp, "hidden");
        for (int i = 0; i < nh; i++) {
            cf_layer_spec *l = cf_model_spec_append(m, CF_LAYER_DENSE, NULL);
            l->units = (int)cf_params_list_num(mp, "hidden", i);
            l->act = CF_ACT_RELU;
        }
        cf_layer_spec *l = cf_model_spec_append(m, CF_LAYER_DENSE, NULL);
        l->units = n_classes;
    } else if (*preset) {
        s = cf_model_preset(m, preset, cf_params_int(mp, "num_layers"), n_classes, err);
        if (s) goto fail;
    } else {
        if (!layers || (config_setting_type(layers) != CONFIG_TYPE_LIST &&
                        config_setting_type(layers) != CONFIG_TYPE_ARRAY)) {
            s = cf_error_set(err, CF_ERR_INVALID,
                             "%s: model needs 'layers = ( { type = ...; }, ... );' or a 'preset'",
                             cf_config_where(c, layers ? layers : model, where, sizeof where));
            goto fail;
        }
        int n = config_setting_length(layers);
        for (int i = 0; i < n; i++) {
            s = parse_layer(m, c, config_setting_get_elem(layers, (unsigned)i), warn, err);
            if (s) goto fail;
        }
    }
    /* Make every implicit "previous layer" input explicit, so later rewrites
     * (regularizers inserting layers) can rewire by name. */
    for (int i = 1; i < m->n; i++)
        if (!m->layers[i].n_inputs) {
            m->layers[i].n_inputs = 1;
            snprintf(m->layers[i].inputs[0], CF_NAME_MAX, "%s", m->layers[i - 1].name);
        }
    cf_params_free(mp);
    *out = m;
    return CF_OK;
fail:
    cf_params_free(mp);
    cf_model_spec_free(m);
    return s;
}
