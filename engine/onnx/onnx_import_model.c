/* An imported ONNX model as a clforge model file: the config text a trained
 * model carries (model section, input normalisation, class names) and its
 * parameter tensors, so predict/eval/train read it like any model.clf. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/config_file.h"
#include "onnx/onnx.h"

static void put_floats(cf_sbuf *b, const char *key, const double *v, int n)
{
    cf_sbuf_printf(b, "  %s = [", key);
    for (int i = 0; i < n; i++) cf_sbuf_printf(b, "%s%.9e", i ? ", " : "", v[i]);
    cf_sbuf_printf(b, "];\n");
}

cf_status cf_onnx_write_model(const cf_onnx_model *m, const char *path, const double *mean,
                              const double *std, const char *const *class_names, int n_class_names,
                              cf_error *err)
{
    const cf_model_spec *sp = m->spec;
    int ch = sp->in_c;
    if (ch < 1 || ch > 4)
        return cf_error_set(err, CF_ERR_UNSUPPORTED, "%s: the model takes %d channels; clforge models take 1 to 4",
                            path, ch);
    double mu[4] = {0, 0, 0, 0}, sd[4] = {1, 1, 1, 1};
    for (int c = 0; c < ch; c++) {
        if (mean) mu[c] = mean[c];
        else if (m->has_norm) mu[c] = m->mean[c];
        if (std) sd[c] = std[c];
        else if (m->has_norm) sd[c] = m->std[c];
        if (!isfinite(mu[c]) || !(sd[c] > 0) || !isfinite(sd[c]))
            return cf_error_set(err, CF_ERR_INVALID, "channel %d: mean %g, std %g (std must be positive)", c, mu[c], sd[c]);
    }
    const char *const *names = class_names;
    int nn = n_class_names;
    if (!names && m->n_class_names) {
        names = (const char *const *)m->class_names;
        nn = m->n_class_names;
    }
    if (names && nn != m->n_classes)
        return cf_error_set(err, CF_ERR_INVALID, "%d class names for a model with %d outputs", nn, m->n_classes);
    cf_sbuf b = {0};
    cf_sbuf_printf(&b, "# imported from ONNX by clforge import\n");
    cf_model_spec_write(sp, &b);
    /* data.normalize = false: mean/std are fixed, not measured on a dataset */
    cf_sbuf_printf(&b, "data = {\n  normalize = false;\n");
    put_floats(&b, "mean", mu, ch);
    put_floats(&b, "std", sd, ch);
    cf_sbuf_printf(&b, "  class_names = [");
    for (int k = 0; k < m->n_classes; k++) {
        char num[16];
        snprintf(num, sizeof num, "%d", k);
        cf_sbuf_printf(&b, "%s", k ? ", " : "");
        cf_config_put_str(&b, names ? names[k] : num);
    }
    cf_sbuf_printf(&b, "];\n};\n");
    if (!b.s) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    cf_blob bl = m->params;
    bl.text = b.s;
    cf_status st = cf_blob_write(path, &bl, err);
    cf_sbuf_free(&b);
    return st;
}
