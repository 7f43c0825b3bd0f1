/* ONNX tensors (initializers, Constant values) as floats and integers, node
 * attributes, and the imported model's parameter tensors. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "onnx/onnx_import.h"

void oi_const_free(oi_const *k)
{
    free(k->f);
    free(k->i);
    memset(k, 0, sizeof *k);
}

static int elem_size(int32_t type)
{
    switch (type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return 4;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return 8;
    default: return 0;
    }
}
/* A float tensor's value as an integer (shapes, axes): NaN and values past
 * int64's range would be undefined to convert, so they become 0, which every
 * use then refuses as a size. */
static int64_t to_int64(double v)
{
    return v == v && v > -9.2e18 && v < 9.2e18 ? (int64_t)v : 0;
}


cf_status oi_const_from_tensor(const Onnx__TensorProto *t, const char *what, oi_const *out,
                               cf_error *err)
{
    memset(out, 0, sizeof *out);
    const char *nm = t->name && *t->name ? t->name : what;
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return cf_error_set(err, CF_ERR_UNSUPPORTED,
                            "tensor '%s': its data is in an external file; clforge reads self-contained "
                            "models (torch.onnx.export(..., external_data=False) or onnx.save without "
                            "save_as_external_data)", nm);
    int es = elem_size(t->data_type);
    if (!es)
        return cf_error_set(err, CF_ERR_UNSUPPORTED,
                            "tensor '%s': data type %d is not supported (float, double, int32, int64 are)",
                            nm, (int)t->data_type);
    if (t->n_dims > OI_MAX_DIMS)
        return cf_error_set(err, CF_ERR_UNSUPPORTED, "tensor '%s': %zu dimensions (at most %d)", nm,
                            t->n_dims, OI_MAX_DIMS);
    size_t n = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] < 0 || t->dims[d] > (1LL << 31) || (t->dims[d] && n > ((size_t)1 << 40) / (size_t)t->dims[d]))
            return cf_error_set(err, CF_ERR_IO, "tensor '%s': dimension %zu is %lld", nm, d,
                                (long long)t->dims[d]);
        n *= (size_t)t->dims[d];
        out->dims[d] = t->dims[d];
    }
    out->ndim = (int)t->n_dims;
    out->n = n;
    size_t have;
    if (t->has_raw_data) have = t->raw_data.len / (size_t)es;
    else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) have = t->n_float_data;
    else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) have = t->n_double_data;
    else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) have = t->n_int64_data;
    else have = t->n_int32_data;
    if (have != n || (t->has_raw_data && t->raw_data.len % (size_t)es))
        return cf_error_set(err, CF_ERR_IO, "tensor '%s': %zu values for a shape of %zu", nm, have, n);
    out->f = malloc((n ? n : 1) * sizeof *out->f);
    out->i = malloc((n ? n : 1) * sizeof *out->i);
    if (!out->f || !out->i) {
        oi_const_free(out);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory reading tensor '%s'", nm);
    }
    const uint8_t *raw = t->has_raw_data ? t->raw_data.data : NULL;
    for (size_t k = 0; k < n; k++) {
        double v = 0;
        int64_t iv = 0;
        /* raw_data is little-endian, as the hosts clforge runs on */
        switch (t->data_type) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
            float f;
            if (raw) memcpy(&f, raw + 4 * k, 4);
            else f = t->float_data[k];
            v = f;
            iv = to_int64(v);
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
            if (raw) memcpy(&v, raw + 8 * k, 8);
            else v = t->double_data[k];
            iv = to_int64(v);
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
            if (raw) memcpy(&iv, raw + 8 * k, 8);
            else iv = t->int64_data[k];
            v = (double)iv;
            break;
        default: {
            int32_t i32;
            if (raw) memcpy(&i32, raw + 4 * k, 4);
            else i32 = t->int32_data[k];
            iv = i32;
            v = i32;
        }
        }
        out->f[k] = (float)v;
        out->i[k] = iv;
    }
    return CF_OK;
}

const Onnx__AttributeProto *oi_attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && !strcmp(n->attribute[i]->name, name)) return n->attribute[i];
    return NULL;
}

int64_t oi_attr_int(const Onnx__NodeProto *n, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = oi_attr(n, name);
    return a && a->has_i ? a->i : def;
}

float oi_attr_float(const Onnx__NodeProto *n, const char *name, float def)
{
    const Onnx__AttributeProto *a = oi_attr(n, name);
    return a && a->has_f ? a->f : def;
}

cf_status oi_attrs_known(const Onnx__NodeProto *n, const char *const *known, cf_error *err)
{
    for (size_t i = 0; i < n->n_attribute; i++) {
        const char *a = n->attribute[i]->name ? n->attribute[i]->name : "";
        int ok = 0;
        for (int k = 0; known && known[k] && !ok; k++) ok = !strcmp(known[k], a);
        if (!ok) return oi_node_error(n, err, "attribute '%s' is not supported by clforge", a);
    }
    return CF_OK;
}

cf_status oi_param(oi_ctx *c, const char *layer, const char *what, int ndim, const int *shape,
                   const float *src, int transpose, cf_error *err)
{
    cf_blob *b = &c->out->params;
    if (b->n == c->n_param_cap) {
        int nc = c->n_param_cap ? 2 * c->n_param_cap : 64;
        cf_blob_tensor *nt = realloc(b->t, (size_t)nc * sizeof *nt);
        if (!nt) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        b->t = nt;
        c->n_param_cap = nc;
    }
    cf_blob_tensor *t = &b->t[b->n];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s.%s", layer, what);
    t->ndim = ndim;
    size_t n = 1;
    for (int d = 0; d < ndim; d++) {
        t->shape[d] = shape[d];
        n *= (size_t)shape[d];
    }
    t->data = malloc(n * sizeof *t->data);
    if (!t->data) return cf_error_set(err, CF_ERR_NOMEM, "out of memory for tensor '%s'", t->name);
    if (transpose) { /* src is [shape[1], shape[0]] */
        int rows = shape[0], cols = shape[1];
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < cols; k++) t->data[(size_t)r * cols + k] = src[(size_t)k * rows + r];
    } else
        memcpy(t->data, src, n * sizeof *t->data);
    b->n++;
    return CF_OK;
}
