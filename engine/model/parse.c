/* The model section of the config: the key tables (the config reference is
 * generated from them), one layer group at a time through its type's parse
 * hook, or a preset. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/params.h"
#include "model/model.h"

/* Every key a layer group may hold: validated here once, read by the types
 * (cf_layer_type_def.keys says which type reads which). */
const cf_param_def cf_layer_params[] = {
    {"type", CF_PT_STRING, NULL, CF_PARAM_NO_RANGE, NULL,
     "dense, conv, maxpool, avgpool, gap, flatten, add, concat, activation, relu, leaky_relu, "
     "sigmoid, tanh, elu, gelu, softmax, dropout, batchnorm"},
    {"name", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "unique name (default: type + number)"},
    {"inputs", CF_PT_STRING_LIST, "", CF_PARAM_NO_RANGE, NULL,
     "names of the input layers (default: the previous layer); add and concat take 2 to 16"},
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
    {"preset", CF_PT_STRING, "", CF_PARAM_NO_RANGE, "|mlp|cnn|resnet|wrn",
     "expand a ready-made model instead of listing layers"},
    {"num_layers", CF_PT_INT, "20", 1, 1000, NULL,
     "resnet depth: 20/32/44/56/110 (small images) or 18/34/50/101/152/200"},
    {"depth", CF_PT_INT, "28", 10, 1000, NULL, "wrn: depth d = 6n + 4 (16, 22, 28, 40, ...)"},
    {"widen", CF_PT_INT, "10", 1, 64, NULL, "wrn: widening factor k (widths 16k, 32k, 64k)"},
    {"dropout", CF_PT_FLOAT, "0", 0, 0.99, NULL, "wrn: dropout rate between the two convolutions of each block"},
    {"hidden", CF_PT_FLOAT_LIST, "256,128", 1, 1 << 20, NULL, "mlp: hidden layer sizes"},
    {"init", CF_PT_STRING, "he", CF_PARAM_NO_RANGE, "he|xavier", "weight initialisation"},
    {"init_from", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL,
     "start from this model: a model.clf, a checkpoint (.ckpt) or an .onnx file; parameters are matched by "
     "layer name and shape, the rest keep their seeded init and are listed (a resumed run's checkpoint wins; "
     "docs/transfer.md)"},
    {"init_exclude", CF_PT_STRING_LIST, "", CF_PARAM_NO_RANGE, NULL,
     "layer names or globs (fnmatch: \"out\", \"s4_*\") re-initialised even where init_from has them with the "
     "same shape (a new head); a pattern matching no layer is an error"},
    CF_PARAM_TABLE_END};

/* Keys every type reads (the rest belong to the types). */
static int common_key(const char *k)
{
    return !strcmp(k, "type") || !strcmp(k, "name") || !strcmp(k, "inputs") || !strcmp(k, "alpha");
}

static int type_reads(const cf_layer_type_def *d, const char *key)
{
    if (!strcmp(key, "activation")) return !(d->flags & CF_LAYER_NO_ACT);
    for (int i = 0; d->keys && d->keys[i]; i++)
        if (!strcmp(d->keys[i], key)) return 1;
    return 0;
}

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
    const cf_layer_type_def *d = cf_layer_def(t);
    const char *name = cf_params_str(p, "name");
    cf_status s = CF_OK;
    if (!d || !d->parse) { /* "input" is the model's input, not a layer */
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
    l->alpha = (float)cf_params_num(p, "alpha");
    l->act = cf_act_from_name(cf_params_str(p, "activation"));
    int ni = cf_params_list_len(p, "inputs");
    if (ni > CF_MAX_INPUTS) {
        s = cf_error_set(err, CF_ERR_INVALID, "%s: at most %d inputs", where, CF_MAX_INPUTS);
        goto out;
    }
    l->n_inputs = ni;
    for (int k = 0; k < ni; k++)
        snprintf(l->inputs[k], CF_NAME_MAX, "%s", cf_params_list_str(p, "inputs", k));
    s = d->parse(l, p, ts, where, err);
    /* A layer key this type does not read (kernel on a dense layer) would be
     * silently ignored: an error like any unknown key, unless lenient. */
    for (const cf_param_def *k = cf_layer_params; !s && k->name; k++)
        if (!common_key(k->name) && cf_params_is_set(p, k->name) && !type_reads(d, k->name)) {
            const config_setting_t *ks = config_setting_get_member(g, k->name);
            char kw[1100];
            cf_config_where(c, ks, kw, sizeof kw);
            if (!c->lenient)
                s = cf_error_set(err, CF_ERR_INVALID, "%s: key '%s' is not used by a %s layer", kw, k->name, d->name);
            else if (warn)
                fprintf(warn, "warning: %s: key '%s' is not used by a %s layer\n", kw, k->name, d->name);
        }
out:
    cf_params_free(p);
    return s;
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
            CF_DENSE(l)->units = (int)cf_params_list_num(mp, "hidden", i);
            l->act = CF_ACT_RELU;
        }
        cf_layer_spec *l = cf_model_spec_append(m, CF_LAYER_DENSE, NULL);
        CF_DENSE(l)->units = n_classes;
    } else if (!strcmp(preset, "wrn")) {
        s = cf_model_preset_wrn(m, cf_params_int(mp, "depth"), cf_params_int(mp, "widen"),
                                cf_params_num(mp, "dropout"), n_classes, err);
        if (s) goto fail;
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
