/* ONNX operators as clforge layers: one mapping per op_type, each checking
 * every attribute it is given against what the clforge layer can do, with
 * an error naming the node, the op and the attribute when it cannot. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_import.h"

/* ---- inputs ------------------------------------------------------------------ */
static cf_status act_in(oi_ctx *c, const Onnx__NodeProto *n, size_t k, oi_value **v, cf_error *err)
{
    *v = k < n->n_input ? oi_find(c, n->input[k]) : NULL;
    if (!*v) return oi_node_error(n, err, "input %zu is missing", k);
    if ((*v)->is_const)
        return oi_node_error(n, err, "input %zu ('%s') is a constant: clforge computes on the image only "
                                     "(export with constant folding on)", k, n->input[k]);
    return CF_OK;
}

/* A constant input; optional ones may be absent (*v = NULL). */
static cf_status const_in(oi_ctx *c, const Onnx__NodeProto *n, size_t k, int optional, oi_value **v,
                          cf_error *err)
{
    *v = k < n->n_input && *n->input[k] ? oi_find(c, n->input[k]) : NULL;
    if (!*v) return optional ? CF_OK : oi_node_error(n, err, "input %zu is missing", k);
    if (!(*v)->is_const)
        return oi_node_error(n, err, "input %zu ('%s') must be an initializer or a Constant (clforge has no "
                                     "computed weights)", k, n->input[k]);
    return CF_OK;
}

/* Extra outputs (BatchNormalization's statistics, MaxPool's indices,
 * Dropout's mask) that something reads: clforge cannot give them. */
static cf_status only_first_output(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    for (size_t k = 1; k < n->n_output; k++)
        if (*n->output[k] && oi_uses(c, n->output[k]))
            return oi_node_error(n, err, "output %zu ('%s') is used: clforge computes only the first output", k,
                                 n->output[k]);
    return CF_OK;
}

/* ---- windows: kernel, strides, pads, dilations ---------------------------------- */
typedef struct win { int k, s, p; } win;

static cf_status ints2(const Onnx__NodeProto *n, const char *name, int def, int *out, cf_error *err)
{
    const Onnx__AttributeProto *a = oi_attr(n, name);
    if (!a || !a->n_ints) {
        *out = def;
        return CF_OK;
    }
    if (a->n_ints != 2) return oi_node_error(n, err, "attribute '%s' has %zu values (clforge works on 2-D images)", name, a->n_ints);
    if (a->ints[0] != a->ints[1])
        return oi_node_error(n, err, "attribute '%s' = [%lld, %lld]: clforge uses the same value on both axes", name,
                             (long long)a->ints[0], (long long)a->ints[1]);
    if (a->ints[0] < 0 || a->ints[0] > 64) return oi_node_error(n, err, "attribute '%s' = %lld is out of range", name, (long long)a->ints[0]);
    *out = (int)a->ints[0];
    return CF_OK;
}

static cf_status window(const Onnx__NodeProto *n, int k, cf_shape3 in, win *w, cf_error *err)
{
    w->k = k;
    CF_TRY(ints2(n, "strides", 1, &w->s, err));
    if (w->s < 1) return oi_node_error(n, err, "attribute 'strides' must be positive");
    int dil;
    CF_TRY(ints2(n, "dilations", 1, &dil, err));
    if (dil != 1) return oi_node_error(n, err, "attribute 'dilations' = %d: clforge has no dilated windows", dil);
    const Onnx__AttributeProto *ap = oi_attr(n, "auto_pad");
    char mode[32] = "NOTSET";
    if (ap && ap->has_s) snprintf(mode, sizeof mode, "%.*s", (int)ap->s.len, (const char *)ap->s.data);
    if (!strcmp(mode, "VALID")) w->p = 0;
    else if (!strcmp(mode, "SAME_UPPER") || !strcmp(mode, "SAME_LOWER")) {
        int th = ((in.h + w->s - 1) / w->s - 1) * w->s + k - in.h, tw = ((in.w + w->s - 1) / w->s - 1) * w->s + k - in.w;
        th = th < 0 ? 0 : th;
        tw = tw < 0 ? 0 : tw;
        if (th != tw || th % 2)
            return oi_node_error(n, err, "attribute 'auto_pad' = %s pads unevenly here: clforge pads every side alike", mode);
        w->p = th / 2;
    } else if (!strcmp(mode, "NOTSET")) {
        const Onnx__AttributeProto *a = oi_attr(n, "pads");
        w->p = 0;
        if (a && a->n_ints) {
            if (a->n_ints != 4) return oi_node_error(n, err, "attribute 'pads' has %zu values (need 4)", a->n_ints);
            for (int i = 1; i < 4; i++)
                if (a->ints[i] != a->ints[0])
                    return oi_node_error(n, err, "attribute 'pads' = [%lld, %lld, %lld, %lld]: clforge pads every side alike",
                                         (long long)a->ints[0], (long long)a->ints[1], (long long)a->ints[2],
                                         (long long)a->ints[3]);
            if (a->ints[0] < 0 || a->ints[0] > 64) return oi_node_error(n, err, "attribute 'pads' is out of range");
            w->p = (int)a->ints[0];
        }
    } else
        return oi_node_error(n, err, "attribute 'auto_pad' = '%s' is not an ONNX value", mode);
    return CF_OK;
}

static cf_status square_kernel(const Onnx__NodeProto *n, int *k, cf_error *err)
{
    const Onnx__AttributeProto *a = oi_attr(n, "kernel_shape");
    if (!a || !a->n_ints) return oi_node_error(n, err, "attribute 'kernel_shape' is missing");
    return ints2(n, "kernel_shape", 0, k, err);
}

/* ceil_mode = 1 is fine where it gives the floor's size (most image sizes). */
static cf_status ceil_mode(const Onnx__NodeProto *n, cf_shape3 in, const win *w, cf_error *err)
{
    if (!oi_attr_int(n, "ceil_mode", 0)) return CF_OK;
    int d[2] = {in.h, in.w};
    for (int i = 0; i < 2; i++) {
        int fl = (d[i] + 2 * w->p - w->k) / w->s + 1;
        int ce = (d[i] + 2 * w->p - w->k + w->s - 1) / w->s + 1;
        if ((ce - 1) * w->s >= d[i] + w->p) ce--; /* the last window must start inside */
        if (ce != fl)
            return oi_node_error(n, err, "attribute 'ceil_mode' = 1 gives %d outputs where clforge's floor gives %d "
                                         "(input %d): clforge pools with floor", ce, fl, d[i]);
    }
    return CF_OK;
}

/* ---- the mappings ---------------------------------------------------------------- */
typedef cf_status (*map_fn)(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err);

static cf_status map_conv(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    oi_value *x, *w, *b;
    CF_TRY(act_in(c, n, 0, &x, err));
    CF_TRY(const_in(c, n, 1, 0, &w, err));
    CF_TRY(const_in(c, n, 2, 1, &b, err));
    if (x->rank != 4) return oi_node_error(n, err, "input is not an image [N, C, H, W]");
    if (w->c.ndim != 4) return oi_node_error(n, err, "weight '%s' has %d dimensions (clforge convolves 2-D images)", w->name, w->c.ndim);
    int64_t g = oi_attr_int(n, "group", 1);
    if (g != 1)
        return oi_node_error(n, err, "attribute 'group' = %lld: clforge has no grouped or depthwise convolution", (long long)g);
    int f = (int)w->c.dims[0], k = (int)w->c.dims[2];
    if (w->c.dims[1] != x->shape.c)
        return oi_node_error(n, err, "weight '%s' expects %lld input channels, the input has %d", w->name,
                             (long long)w->c.dims[1], x->shape.c);
    if (w->c.dims[2] != w->c.dims[3])
        return oi_node_error(n, err, "kernel %lldx%lld: clforge's kernels are square", (long long)w->c.dims[2],
                             (long long)w->c.dims[3]);
    if (oi_attr(n, "kernel_shape")) {
        int ks;
        CF_TRY(ints2(n, "kernel_shape", k, &ks, err));
        if (ks != k) return oi_node_error(n, err, "attribute 'kernel_shape' = %d, the weight's is %d", ks, k);
    }
    if (k < 1 || k > 64 || f < 1 || f > (1 << 16)) return oi_node_error(n, err, "kernel %d with %d filters is out of range", k, f);
    if (b && (int)b->c.n != f) return oi_node_error(n, err, "bias '%s' has %zu values for %d filters", b->name, b->c.n, f);
    win wn;
    CF_TRY(window(n, k, x->shape, &wn, err));
    cf_layer_spec *l;
    CF_TRY(oi_new_layer(c, n, CF_LAYER_CONV, w->name, &x, 1, &l, err));
    cf_conv_params *p = CF_CONV(l);
    p->filters = f;
    p->kernel = k;
    p->stride = wn.s;
    p->padding = wn.p;
    p->bias = b != NULL;
    int sh[4] = {f, x->shape.c, k, k};
    CF_TRY(oi_param(c, l->name, "weight", 4, sh, w->c.f, 0, err));
    if (b) CF_TRY(oi_param(c, l->name, "bias", 1, sh, b->c.f, 0, err));
    return oi_bind(c, n, err);
}

static cf_status map_batchnorm(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    oi_value *x, *k[4];
    CF_TRY(act_in(c, n, 0, &x, err));
    for (int i = 0; i < 4; i++) {
        CF_TRY(const_in(c, n, (size_t)i + 1, 0, &k[i], err));
        if ((int)k[i]->c.n != x->shape.c)
            return oi_node_error(n, err, "'%s' has %zu values for %d channels", k[i]->name, k[i]->c.n, x->shape.c);
    }
    if (oi_attr_int(n, "training_mode", 0))
        return oi_node_error(n, err, "attribute 'training_mode' = 1: clforge imports inference graphs");
    if (!oi_attr_int(n, "spatial", 1)) return oi_node_error(n, err, "attribute 'spatial' = 0 is not supported by clforge");
    CF_TRY(only_first_output(c, n, err));
    cf_layer_spec *l;
    CF_TRY(oi_new_layer(c, n, CF_LAYER_BATCHNORM, k[0]->name, &x, 1, &l, err));
    float eps = oi_attr_float(n, "epsilon", 1e-5f), mom = oi_attr_float(n, "momentum", 0.9f);
    if (!(eps >= 0 && eps <= 1)) return oi_node_error(n, err, "attribute 'epsilon' = %g is out of range", eps);
    CF_BATCHNORM(l)->eps = eps;
    /* ONNX keeps momentum of the running value, clforge (as PyTorch) of the batch's */
    CF_BATCHNORM(l)->momentum = mom >= 0 && mom <= 1 ? 1 - mom : 0.1f;
    static const char *const what[4] = {"gamma", "beta", "running_mean", "running_var"};
    int sh[1] = {x->shape.c};
    for (int i = 0; i < 4; i++) CF_TRY(oi_param(c, l->name, what[i], 1, sh, k[i]->c.f, 0, err));
    return oi_bind(c, n, err);
}

/* An activation folds into the layer before it when nothing else reads
 * that layer's output; otherwise it is a layer of its own. */
static cf_status map_activation(oi_ctx *c, const Onnx__NodeProto *n, cf_act act, float alpha, cf_error *err)
{
    oi_value *x;
    CF_TRY(act_in(c, n, 0, &x, err));
    if (x->layer >= 0) {
        cf_layer_spec *prev = &c->out->spec->layers[x->layer];
        const cf_layer_type_def *d = cf_layer_def(prev->type);
        if (prev->act == CF_ACT_NONE && !(d->flags & (CF_LAYER_NO_ACT | CF_LAYER_ALIAS)) &&
            oi_uses(c, x->name) == 1) {
            prev->act = act;
            prev->alpha = alpha;
            return oi_alias(c, n, x, err);
        }
    }
    cf_layer_spec *l;
    CF_TRY(oi_new_layer(c, n, CF_LAYER_ACT, NULL, &x, 1, &l, err));
    l->act = act;
    l->alpha = alpha;
    return oi_bind(c, n, err);
}

static cf_status map_relu(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err) { return map_activation(c, n, CF_ACT_RELU, -1, err); }
static cf_status map_sigmoid(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err) { return map_activation(c, n, CF_ACT_SIGMOID, -1, err); }
static cf_status map_tanh(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err) { return map_activation(c, n, CF_ACT_TANH, -1, err); }
static cf_status map_leaky(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    return map_activation(c, n, CF_ACT_LEAKY_RELU, oi_attr_float(n, "alpha", 0.01f), err);
}
static cf_status map_elu(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    return map_activation(c, n, CF_ACT_ELU, oi_attr_float(n, "alpha", 1.0f), err);
}

static cf_status map_pool(oi_ctx *c, const Onnx__NodeProto *n, cf_layer_type t, cf_error *err)
{
    oi_value *x;
    CF_TRY(act_in(c, n, 0, &x, err));
    if (x->rank != 4) return oi_node_error(n, err, "input is not an image [N, C, H, W]");
    int k;
    CF_TRY(square_kernel(n, &k, err));
    win w;
    CF_TRY(window(n, k, x->shape, &w, err));
    CF_TRY(ceil_mode(n, x->shape, &w, err));
    if (oi_attr_int(n, "storage_order", 0)) return oi_node_error(n, err, "attribute 'storage_order' = 1 is not supported");
    if (t == CF_LAYER_AVGPOOL && w.p && !oi_attr_int(n, "count_include_pad", 0))
        return oi_node_error(n, err, "attribute 'count_include_pad' = 0 with padding: clforge's average pool divides by "
                                     "the whole window");
    CF_TRY(only_first_output(c, n, err));
    cf_layer_spec *l;
    CF_TRY(oi_new_layer(c, n, t, NULL, &x, 1, &l, err));
    CF_POOL(l)->size = k;
    CF_POOL(l)->stride = w.s;
    CF_POOL(l)->padding = w.p;
    return oi_bind(c, n, err);
}

static cf_status map_maxpool(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err) { return map_pool(c, n, CF_LAYER_MAXPOOL, err); }
static cf_status map_avgpool(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err) { return map_pool(c, n, CF_LAYER_AVGPOOL, err); }

static cf_status gap(oi_ctx *c, const Onnx__NodeProto *n, oi_value *x, int keep, cf_error *err)
{
    cf_layer_spec *l;
    CF_TRY(oi_new_layer(c, n, CF_LAYER_GAP, NULL, &x, 1, &l, err));
    CF_TRY(oi_bind(c, n, err));
    c->v[c->nv - 1].rank = keep ? 4 : 2;
    return CF_OK;
}

static cf_status map_gap(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    oi_value *x;
    CF_TRY(act_in(c, n, 0, &x, err));
    if (x->rank != 4) return oi_node_error(n, err, "input is not an image [N, C, H, W]");
    return gap(c, n, x, 1, err);
}

/* ReduceMean over H and W: the global average pool (the dynamo exporter's). */
static cf_status map_reducemean(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    oi_value *x, *ax;
    CF_TRY(act_in(c, n, 0, &x, err));
    CF_TRY(const_in(c, n, 1, 1, &ax, err));
    const Onnx__AttributeProto *a = oi_attr(n, "axes");
    int64_t axes[8];
    size_t na = 0;
    for (; ax && na < ax->c.n && na < 8; na++) axes[na] = ax->c.i[na];
    for (; a && na < a->n_ints && na < 8; na++) axes[na] = a->ints[na];
    int h = 0, w = 0, other = 0;
    for (size_t i = 0; i < na; i++) {
        int64_t v = axes[i] < 0 ? axes[i] + x->rank : axes[i];
        h += v == 2;
        w += v == 3;
        other += v != 2 && v != 3;
    }
    if (x->rank != 4 || h != 1 || w != 1 || other)
        return oi_node_error(n, err, "a mean over other axes than H and W: clforge averages whole feature maps only");
    return gap(c, n, x, (int)oi_attr_int(n, "keepdims", 1), err);
}

/* A flatten of the model input itself is no layer (clforge refuses one: a
 * dense layer reads the raw input flattened), only a [N, C*H*W] view of it —
 * what clforge's own export of an mlp writes. */
static cf_status flatten_input(oi_ctx *c, const Onnx__NodeProto *n, const oi_value *x, cf_error *err)
{
    CF_TRY(oi_alias(c, n, x, err));
    oi_value *v = &c->v[c->nv - 1];
    v->rank = 2;
    v->shape = (cf_shape3){x->shape.c * x->shape.h * x->shape.w, 1, 1};
    return CF_OK;
}

static cf_status map_flatten(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    oi_value *x;
    CF_TRY(act_in(c, n, 0, &x, err));
    int64_t axis = oi_attr_int(n, "axis", 1);
    if (axis != 1 && axis != 1 - x->rank)
        return oi_node_error(n, err, "attribute 'axis' = %lld: clforge flattens each sample ([N, C*H*W], axis 1)",
                             (long long)axis);
    if (x->rank == 2) return oi_alias(c, n, x, err);
    if (x->layer < 0) return flatten_input(c, n, x, err);
    cf_layer_spec *l;
    CF_TRY(oi_new_layer(c, n, CF_LAYER_FLATTEN, NULL, &x, 1, &l, err));
    return oi_bind(c, n, err);
}

/* Reshape to [N, C*H*W] (any of -1, 0 or the export's batch size first): a
 * flatten; to the same [N, C, H, W]: nothing. */
static cf_status map_reshape(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    oi_value *x, *s;
    CF_TRY(act_in(c, n, 0, &x, err));
    CF_TRY(const_in(c, n, 1, 0, &s, err));
    long chw = (long)x->shape.c * x->shape.h * x->shape.w;
    const int64_t *d = s->c.i;
    if (s->c.n == 2 && (d[1] == chw || (d[1] == -1 && d[0] != -1)) && d[0] >= -1) {
        if (x->rank == 2) return oi_alias(c, n, x, err);
        if (x->layer < 0) return flatten_input(c, n, x, err);
        cf_layer_spec *l;
        CF_TRY(oi_new_layer(c, n, CF_LAYER_FLATTEN, NULL, &x, 1, &l, err));
        return oi_bind(c, n, err);
    }
    if (s->c.n == 4 && x->rank == 4 && d[1] == x->shape.c && d[2] == x->shape.h && d[3] == x->shape.w)
        return oi_alias(c, n, x, err);
    char shape[160] = "";
    for (size_t i = 0; i < s->c.n && i < 8; i++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", i ? ", " : "", (long long)d[i]);
    return oi_node_error(n, err, "reshape of [N, %d, %d, %d] to [%s]: clforge reshapes only to [N, C*H*W] (a flatten)",
                         x->shape.c, x->shape.h, x->shape.w, shape);
}

static cf_status dense(oi_ctx *c, const Onnx__NodeProto *n, oi_value *x, const oi_value *w, int trans_w,
                       float alpha, const oi_value *b, float beta, cf_error *err)
{
    if (w->c.ndim != 2) return oi_node_error(n, err, "weight '%s' has %d dimensions (need 2)", w->name, w->c.ndim);
    long fin = (long)x->shape.c * x->shape.h * x->shape.w;
    int units = (int)(trans_w ? w->c.dims[0] : w->c.dims[1]);
    long win_ = (long)(trans_w ? w->c.dims[1] : w->c.dims[0]);
    if (win_ != fin) return oi_node_error(n, err, "weight '%s' takes %ld features, the input has %ld", w->name, win_, fin);
    if (b && (int)b->c.n != units && b->c.n != 1)
        return oi_node_error(n, err, "bias '%s' has %zu values for %d outputs", b->name, b->c.n, units);
    cf_layer_spec *l;
    CF_TRY(oi_new_layer(c, n, CF_LAYER_DENSE, w->name, &x, 1, &l, err));
    CF_DENSE(l)->units = units;
    CF_DENSE(l)->bias = b != NULL;
    int sh[2] = {units, (int)fin};
    /* stored [units, fin] as cf_net's dense weight; ONNX's B without transB is [fin, units] */
    CF_TRY(oi_param(c, l->name, "weight", 2, sh, w->c.f, !trans_w, err));
    cf_blob_tensor *t = &c->out->params.t[c->out->params.n - 1];
    if (alpha != 1)
        for (size_t i = 0; i < (size_t)units * fin; i++) t->data[i] *= alpha;
    if (b) {
        float *bv = malloc((size_t)units * sizeof *bv);
        if (!bv) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        for (int i = 0; i < units; i++) bv[i] = beta * b->c.f[b->c.n == 1 ? 0 : i];
        cf_status st = oi_param(c, l->name, "bias", 1, sh, bv, 0, err);
        free(bv);
        CF_TRY(st);
    }
    return oi_bind(c, n, err);
}

static cf_status map_gemm(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    oi_value *x, *w, *b;
    CF_TRY(act_in(c, n, 0, &x, err));
    CF_TRY(const_in(c, n, 1, 0, &w, err));
    CF_TRY(const_in(c, n, 2, 1, &b, err));
    if (oi_attr_int(n, "transA", 0)) return oi_node_error(n, err, "attribute 'transA' = 1: the input must be [N, features]");
    return dense(c, n, x, w, (int)oi_attr_int(n, "transB", 0), oi_attr_float(n, "alpha", 1), b,
                 oi_attr_float(n, "beta", 1), err);
}

static cf_status map_matmul(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    oi_value *x, *w;
    CF_TRY(act_in(c, n, 0, &x, err));
    CF_TRY(const_in(c, n, 1, 0, &w, err));
    if (x->rank != 2) return oi_node_error(n, err, "input is not [N, features] (flatten it first)");
    return dense(c, n, x, w, 0, 1, NULL, 1, err);
}

/* x - k, x / k... on the untouched model input: its normalisation, kept as
 * data.mean/std: x' = (x - mean) / std. */
static cf_status normalise(oi_ctx *c, const Onnx__NodeProto *n, oi_value *x, const oi_value *k, char op, cf_error *err)
{
    cf_onnx_model *m = c->out;
    int ch = x->shape.c;
    if (ch > 4 || (k->c.n != 1 && (int)k->c.n != ch) || oi_uses(c, x->name) != 1 || oi_uses(c, c->input_name) != 1)
        return oi_node_error(n, err, "arithmetic with a constant: clforge takes it only as the per-channel "
                                     "normalisation of the input, alone on the input");
    if (!m->has_norm) {
        for (int i = 0; i < 4; i++) m->mean[i] = 0, m->std[i] = 1;
        if (c->log) fprintf(c->log, "onnx import: node '%s' (%s) and the constant arithmetic after it on the input "
                                    "become its normalisation (data.mean/std)\n", n->name ? n->name : "", n->op_type);
    }
    m->has_norm = 1;
    for (int i = 0; i < ch; i++) {
        double v = k->c.f[k->c.n == 1 ? 0 : i];
        if ((op == '/' || op == '*') && !(v != 0 && isfinite(v)))
            return oi_node_error(n, err, "normalisation by %g", v);
        switch (op) {
        case '-': m->mean[i] += v * m->std[i]; break;
        case '+': m->mean[i] -= v * m->std[i]; break;
        case '/': m->std[i] *= v; break;
        default: m->std[i] /= v;
        }
    }
    return oi_alias(c, n, x, err);
}

static cf_status arith_const(oi_ctx *c, const Onnx__NodeProto *n, char op, cf_error *err)
{
    oi_value *a = oi_find(c, n->input[0]), *b = n->n_input > 1 ? oi_find(c, n->input[1]) : NULL;
    if (n->n_input != 2 || !a || !b) return oi_node_error(n, err, "needs two inputs");
    if (op == '+' || op == '*')
        if (a->is_const) { oi_value *t = a; a = b; b = t; }
    if (a->is_const || !b->is_const)
        return oi_node_error(n, err, "clforge computes this only between an activation and a constant");
    if (a->layer < 0 && c->input_raw) return normalise(c, n, a, b, op, err);
    /* MatMul + Add, Conv without bias + Add: the bias of that layer */
    cf_layer_spec *l = a->layer >= 0 ? &c->out->spec->layers[a->layer] : NULL;
    if (op == '+' && l && l->act == CF_ACT_NONE && oi_uses(c, a->name) == 1 &&
        ((l->type == CF_LAYER_DENSE && !CF_DENSE(l)->bias && (int)b->c.n == CF_DENSE(l)->units) ||
         (l->type == CF_LAYER_CONV && !CF_CONV(l)->bias && (int)b->c.n == CF_CONV(l)->filters))) {
        int sh[1] = {(int)b->c.n};
        if (l->type == CF_LAYER_DENSE) CF_DENSE(l)->bias = 1;
        else CF_CONV(l)->bias = 1;
        CF_TRY(oi_param(c, l->name, "bias", 1, sh, b->c.f, 0, err));
        return oi_alias(c, n, a, err);
    }
    return oi_node_error(n, err, "arithmetic with a constant: clforge takes it only as the bias of the Gemm, MatMul or "
                                 "Conv just before it, or as the normalisation of the input");
}

static cf_status map_add(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    oi_value *in[CF_MAX_INPUTS];
    int all_act = n->n_input >= 2 && n->n_input <= CF_MAX_INPUTS;
    for (size_t k = 0; k < n->n_input && all_act; k++) {
        in[k] = oi_find(c, n->input[k]);
        all_act = in[k] && !in[k]->is_const;
    }
    if (!all_act) return arith_const(c, n, '+', err);
    for (size_t k = 1; k < n->n_input; k++)
        if (in[k]->shape.c != in[0]->shape.c || in[k]->shape.h != in[0]->shape.h || in[k]->shape.w != in[0]->shape.w)
            return oi_node_error(n, err, "adds [%d, %d, %d] to [%d, %d, %d]: clforge adds equal shapes (no broadcasting)",
                                 in[k]->shape.c, in[k]->shape.h, in[k]->shape.w, in[0]->shape.c, in[0]->shape.h,
                                 in[0]->shape.w);
    cf_layer_spec *l;
    CF_TRY(oi_new_layer(c, n, CF_LAYER_ADD, NULL, in, (int)n->n_input, &l, err));
    return oi_bind(c, n, err);
}

static cf_status map_sub(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err) { return arith_const(c, n, '-', err); }
static cf_status map_mul(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err) { return arith_const(c, n, '*', err); }
static cf_status map_div(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err) { return arith_const(c, n, '/', err); }

static cf_status map_concat(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    oi_value *in[CF_MAX_INPUTS];
    if (n->n_input < 1 || n->n_input > CF_MAX_INPUTS)
        return oi_node_error(n, err, "%zu inputs (clforge concatenates 1 to %d)", n->n_input, CF_MAX_INPUTS);
    for (size_t k = 0; k < n->n_input; k++) CF_TRY(act_in(c, n, k, &in[k], err));
    int64_t axis = oi_attr_int(n, "axis", 1);
    if (axis != 1 && axis != 1 - in[0]->rank)
        return oi_node_error(n, err, "attribute 'axis' = %lld: clforge concatenates channels (axis 1)", (long long)axis);
    for (size_t k = 1; k < n->n_input; k++)
        if (in[k]->shape.h != in[0]->shape.h || in[k]->shape.w != in[0]->shape.w || in[k]->rank != in[0]->rank)
            return oi_node_error(n, err, "inputs of different sizes");
    cf_layer_spec *l;
    CF_TRY(oi_new_layer(c, n, CF_LAYER_CONCAT, NULL, in, (int)n->n_input, &l, err));
    return oi_bind(c, n, err);
}

static cf_status map_identity(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    oi_value *x = n->n_input ? oi_find(c, n->input[0]) : NULL;
    if (!x) return oi_node_error(n, err, "input is missing");
    return oi_alias(c, n, x, err);
}

/* Dropout: the identity at inference; a dropout layer so fine-tuning drops. */
static cf_status map_dropout(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    oi_value *x, *r, *tm;
    CF_TRY(act_in(c, n, 0, &x, err));
    CF_TRY(const_in(c, n, 1, 1, &r, err));
    CF_TRY(const_in(c, n, 2, 1, &tm, err));
    CF_TRY(only_first_output(c, n, err));
    if (tm && tm->c.n && tm->c.i[0]) return oi_node_error(n, err, "training_mode is true: clforge imports inference graphs");
    float rate = r && r->c.n ? r->c.f[0] : oi_attr_float(n, "ratio", 0.5f);
    if (!(rate >= 0 && rate <= 0.99f)) return oi_node_error(n, err, "ratio %g is out of clforge's range [0, 0.99]", rate);
    cf_layer_spec *l;
    CF_TRY(oi_new_layer(c, n, CF_LAYER_DROPOUT, NULL, &x, 1, &l, err));
    CF_DROPOUT(l)->rate = rate;
    return oi_bind(c, n, err);
}

/* A final Softmax is dropped: clforge's output is the logits, and its
 * probabilities are their softmax. Elsewhere: a softmax layer. */
static cf_status map_softmax(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    oi_value *x;
    CF_TRY(act_in(c, n, 0, &x, err));
    int64_t axis = oi_attr_int(n, "axis", -1);
    int flat = x->rank == 2 || (x->shape.h == 1 && x->shape.w == 1 && axis == 1);
    if (!flat || (axis != 1 && axis != -1))
        return oi_node_error(n, err, "softmax over axis %lld of [N, %d, %d, %d]: clforge takes a softmax over each "
                                     "sample's features", (long long)axis, x->shape.c, x->shape.h, x->shape.w);
    int is_out = 0;
    for (size_t i = 0; i < c->g->n_output; i++) is_out |= n->n_output && !strcmp(c->g->output[i]->name, n->output[0]);
    if (is_out && x->layer >= 0 && oi_uses(c, x->name) == 1 && oi_uses(c, n->output[0]) == 1) {
        if (c->log) fprintf(c->log, "onnx import: the final Softmax '%s' is dropped: clforge's output is the logits "
                                    "and its probabilities their softmax\n", n->name ? n->name : "");
        return oi_alias(c, n, x, err);
    }
    cf_layer_spec *l;
    CF_TRY(oi_new_layer(c, n, CF_LAYER_SOFTMAX, NULL, &x, 1, &l, err));
    return oi_bind(c, n, err);
}

static cf_status map_constant(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    if (!n->n_output) return oi_node_error(n, err, "no output");
    const Onnx__AttributeProto *a = n->n_attribute == 1 ? n->attribute[0] : NULL;
    if (!a) return oi_node_error(n, err, "needs exactly one value attribute");
    oi_value *v = oi_add(c, n->output[0], err);
    if (!v) return CF_ERR_INVALID;
    v->is_const = 1;
    oi_const *k = &v->c;
    if (!strcmp(a->name, "value") && a->t) {
        cf_status st = oi_const_from_tensor(a->t, n->output[0], k, err);
        return st ? oi_node_error(n, err, "%s", err->msg) : CF_OK;
    }
    size_t cnt = !strcmp(a->name, "value_floats") ? a->n_floats : !strcmp(a->name, "value_ints") ? a->n_ints : 1;
    int scalar = !strcmp(a->name, "value_float") || !strcmp(a->name, "value_int");
    if (!scalar && strcmp(a->name, "value_floats") && strcmp(a->name, "value_ints"))
        return oi_node_error(n, err, "attribute '%s' is not supported by clforge", a->name);
    k->f = malloc((cnt ? cnt : 1) * sizeof *k->f);
    k->i = malloc((cnt ? cnt : 1) * sizeof *k->i);
    if (!k->f || !k->i) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    k->n = cnt;
    k->ndim = scalar ? 0 : 1;
    k->dims[0] = (int64_t)cnt;
    for (size_t i = 0; i < cnt; i++) {
        double d = !strcmp(a->name, "value_float") ? a->f : !strcmp(a->name, "value_int") ? (double)a->i
                   : !strcmp(a->name, "value_floats") ? a->floats[i] : (double)a->ints[i];
        k->f[i] = (float)d;
        k->i[i] = !strcmp(a->name, "value_int") ? a->i : !strcmp(a->name, "value_ints") ? a->ints[i] : (int64_t)d;
    }
    return CF_OK;
}

static const char *const a_none[] = {NULL};
static const char *const a_conv[] = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", NULL};
static const char *const a_bn[] = {"epsilon", "momentum", "training_mode", "spatial", NULL};
static const char *const a_maxpool[] = {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides", NULL};
static const char *const a_avgpool[] = {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides", NULL};
static const char *const a_alpha[] = {"alpha", NULL};
static const char *const a_axis[] = {"axis", NULL};
static const char *const a_reshape[] = {"allowzero", NULL};
static const char *const a_gemm[] = {"alpha", "beta", "transA", "transB", NULL};
static const char *const a_reduce[] = {"axes", "keepdims", "noop_with_empty_axes", NULL};
static const char *const a_dropout[] = {"ratio", "seed", NULL};
static const char *const a_constant[] = {"value", "value_float", "value_floats", "value_int", "value_ints", NULL};

static const struct {
    const char *op;
    map_fn fn;
    const char *const *attrs;
} ops[] = {
    {"Conv", map_conv, a_conv},
    {"BatchNormalization", map_batchnorm, a_bn},
    {"Relu", map_relu, a_none},
    {"LeakyRelu", map_leaky, a_alpha},
    {"Sigmoid", map_sigmoid, a_none},
    {"Tanh", map_tanh, a_none},
    {"Elu", map_elu, a_alpha},
    {"MaxPool", map_maxpool, a_maxpool},
    {"AveragePool", map_avgpool, a_avgpool},
    {"GlobalAveragePool", map_gap, a_none},
    {"ReduceMean", map_reducemean, a_reduce},
    {"Flatten", map_flatten, a_axis},
    {"Reshape", map_reshape, a_reshape},
    {"Gemm", map_gemm, a_gemm},
    {"MatMul", map_matmul, a_none},
    {"Add", map_add, a_none},
    {"Sub", map_sub, a_none},
    {"Mul", map_mul, a_none},
    {"Div", map_div, a_none},
    {"Concat", map_concat, a_axis},
    {"Identity", map_identity, a_none},
    {"Dropout", map_dropout, a_dropout},
    {"Softmax", map_softmax, a_axis},
    {"Constant", map_constant, a_constant},
};

cf_status oi_map_node(oi_ctx *c, const Onnx__NodeProto *n, cf_error *err)
{
    const char *op = n->op_type ? n->op_type : "";
    if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx"))
        return oi_node_error(n, err, "operator of domain '%s': clforge reads the standard ONNX operators", n->domain);
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (!strcmp(ops[i].op, op)) {
            CF_TRY(oi_attrs_known(n, ops[i].attrs, err));
            return ops[i].fn(c, n, err);
        }
    return oi_node_error(n, err, "operator '%s' is not supported by clforge (it imports Conv, BatchNormalization, "
                                 "Relu, LeakyRelu, Sigmoid, Tanh, Elu, MaxPool, AveragePool, GlobalAveragePool, "
                                 "ReduceMean, Flatten, Reshape, Gemm, MatMul, Add, Sub/Mul/Div of the input, Concat, "
                                 "Identity, Dropout, Softmax, Constant)", op);
}
