/* The model spec back as the config's model section (libconfig text that
 * cf_model_spec_from_config reads into the same spec): how a model made by
 * a program (the ONNX importer) is stored in a model file. */
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "core/config_file.h"
#include "model/model.h"

/* libconfig reads "1" as an int and "1.0" as a float: keep floats floats. */
static void put_float(cf_sbuf *b, const char *key, double v)
{
    char num[64];
    snprintf(num, sizeof num, "%.9g", v);
    if (!strpbrk(num, ".eEn")) strcat(num, ".0");
    cf_sbuf_printf(b, " %s = %s;", key, num);
}

void cf_model_spec_write(const cf_model_spec *m, cf_sbuf *b)
{
    cf_sbuf_printf(b, "model = {\n  input = [%d, %d, %d];\n  init = ", m->in_c, m->in_h, m->in_w);
    cf_config_put_str(b, m->init);
    cf_sbuf_printf(b, ";\n  layers = (\n");
    for (int i = 0; i < m->n; i++) {
        const cf_layer_spec *l = &m->layers[i];
        const cf_layer_type_def *d = cf_layer_def(l->type);
        cf_sbuf_printf(b, "    { type = ");
        cf_config_put_str(b, d->name);
        cf_sbuf_printf(b, "; name = ");
        cf_config_put_str(b, l->name);
        cf_sbuf_printf(b, ";");
        if (l->n_inputs) {
            cf_sbuf_printf(b, " inputs = [");
            for (int k = 0; k < l->n_inputs; k++) {
                cf_sbuf_printf(b, "%s", k ? ", " : "");
                cf_config_put_str(b, l->inputs[k]);
            }
            cf_sbuf_printf(b, "];");
        }
        switch (l->type) {
        case CF_LAYER_DENSE:
            cf_sbuf_printf(b, " units = %d; bias = %s;", CF_DENSE(l)->units, CF_DENSE(l)->bias ? "true" : "false");
            break;
        case CF_LAYER_CONV: {
            const cf_conv_params *c = CF_CONV(l);
            cf_sbuf_printf(b, " filters = %d; kernel = %d; stride = %d; padding = %d; bias = %s;", c->filters,
                           c->kernel, c->stride, c->padding, c->bias ? "true" : "false");
            break;
        }
        case CF_LAYER_MAXPOOL:
        case CF_LAYER_AVGPOOL:
            cf_sbuf_printf(b, " size = %d; stride = %d; padding = %d;", CF_POOL(l)->size, CF_POOL(l)->stride,
                           CF_POOL(l)->padding);
            break;
        case CF_LAYER_DROPOUT: put_float(b, "rate", CF_DROPOUT(l)->rate); break;
        case CF_LAYER_BATCHNORM:
            put_float(b, "eps", CF_BATCHNORM(l)->eps);
            put_float(b, "momentum", CF_BATCHNORM(l)->momentum);
            break;
        default: break;
        }
        if (!(d->flags & CF_LAYER_NO_ACT) && (l->act != CF_ACT_NONE || l->type == CF_LAYER_ACT)) {
            cf_sbuf_printf(b, " activation = ");
            cf_config_put_str(b, cf_act_name(l->act));
            cf_sbuf_printf(b, ";");
            if (l->alpha >= 0) put_float(b, "alpha", l->alpha);
        }
        cf_sbuf_printf(b, " }%s\n", i + 1 < m->n ? "," : "");
    }
    cf_sbuf_printf(b, "  );\n};\n");
}
