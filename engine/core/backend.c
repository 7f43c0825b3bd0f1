/* Backends opened from the registry with their knobs, the tensor helpers on
 * top of a backend's buffers, and op dispatch (with the per-op fallback). */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/params.h"
#include "core/plugin_params.h"

static void engine_only_keys(const cf_param_def *engine, const cf_param_def *own, cf_sbuf *skip)
{
    cf_sbuf_printf(skip, "name"); /* which backend: always the engine's */
    for (const cf_param_def *e = engine; e && e->name; e++)
        if (!cf_param_find(own, e->name))
            cf_sbuf_printf(skip, "%s%s", skip->len ? "|" : "", e->name);
}

cf_status cf_backend_open_group(const cf_registry *r, const char *name,
                                const cf_backend_config *cfg, const config_setting_t *group,
                                const cf_param_def *engine_keys, FILE *warn, cf_backend **out,
                                cf_error *err)
{
    const cf_plugin_desc *d = NULL;
    if (!name || !*name || !strcmp(name, "auto")) {
        int best = 0;
        for (int i = 0; i < cf_registry_count(r); i++) {
            const cf_plugin_desc *c = cf_registry_desc(r, i);
            if (c->kind != CF_PLUGIN_BACKEND) continue;
            const cf_backend_vtable *vt = c->vtable;
            int s = vt->auto_score ? vt->auto_score() : 1;
            if (s > best) {
                best = s;
                d = c;
            }
        }
        if (!d) return cf_error_set(err, CF_ERR_PLUGIN, "backend auto: no usable backend found");
    } else {
        CF_TRY(cf_registry_find(r, CF_PLUGIN_BACKEND, name, &d, err));
    }
    cf_backend *b = cf_calloc(1, sizeof *b);
    if (!b) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    b->desc = d;
    b->vt = d->vtable;
    b->reg = r;
    snprintf(b->name, sizeof b->name, "%s", d->name);
    /* The backend's knobs from the config group (defaults without one). */
    cf_sbuf skip = {0};
    engine_only_keys(engine_keys, d->params, &skip);
    char section[96];
    snprintf(section, sizeof section, "backend (%s)", d->name);
    cf_status s = cf_params_from_setting(d->params, group, skip.s, section, warn, &b->params, err);
    cf_sbuf_free(&skip);
    if (s) {
        free(b);
        return s;
    }
    if (d->state_size) {
        b->knobs = cf_calloc(1, d->state_size);
        if (!b->knobs) {
            cf_backend_close(b);
            return cf_error_set(err, CF_ERR_NOMEM, "backend %s: out of memory", d->name);
        }
        cf_params_bind(d->params, b->params, b->knobs);
    }
    cf_backend_config bc = {0};
    if (cfg) bc = *cfg;
    bc.knobs = b->knobs;
    bc.params = b->params;
    s = b->vt->create(&bc, &b->ctx, err);
    if (s) {
        b->ctx = NULL;
        cf_backend_close(b);
        return cf_error_prefix(err, "backend %s", d->name);
    }
    if (b->vt->device_info) b->vt->device_info(b->ctx, &b->info);
    *out = b;
    return CF_OK;
}

cf_status cf_backend_open(const cf_registry *r, const char *name, const cf_backend_config *cfg,
                          cf_backend **out, cf_error *err)
{
    return cf_backend_open_group(r, name, cfg, NULL, NULL, NULL, out, err);
}

void cf_backend_close(cf_backend *b)
{
    if (!b) return;
    cf_backend_fallback_free(b);
    if (b->ctx) b->vt->destroy(b->ctx);
    free(b->knobs);
    cf_params_free(b->params);
    free(b);
}

int cf_backend_supports(cf_backend *b, const cf_op *op)
{
    if ((int)op->kind <= 0 || op->kind >= CF_OP_COUNT) return 0;
    unsigned char *chk = &b->op_checked[op->kind];
    if (!*chk) *chk = (!b->vt->supports_op || b->vt->supports_op(b->ctx, op)) ? 1 : 2;
    return *chk == 1;
}

cf_status cf_backend_exec(cf_backend *b, const cf_op *op, cf_error *err)
{
    if ((int)op->kind <= 0 || op->kind >= CF_OP_COUNT)
        return cf_error_set(err, CF_ERR_INVALID, "invalid op kind %d", (int)op->kind);
    /* An op the backend lacks runs on the reference backend (backend_fallback.c). */
    if (!cf_backend_supports(b, op)) return cf_backend_fallback_exec(b, op, err);
    return b->vt->exec(b->ctx, op, err);
}

cf_status cf_backend_sync(cf_backend *b, cf_error *err)
{
    return b->vt->sync ? b->vt->sync(b->ctx, err) : CF_OK;
}

cf_status cf_tensor_alloc(cf_backend *b, cf_tensor *t, int ndim, const int *shape,
                          const char *name, cf_error *err)
{
    memset(t, 0, sizeof *t);
    if (ndim < 1 || ndim > CF_MAX_DIMS)
        return cf_error_set(err, CF_ERR_INVALID, "tensor %s: bad rank %d", name, ndim);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0)
            return cf_error_set(err, CF_ERR_INVALID, "tensor %s: bad dimension %d", name, shape[i]);
        t->shape[i] = shape[i];
    }
    t->name = name;
    return b->vt->buffer_alloc(b->ctx, cf_tensor_numel(t) * sizeof(float), name, &t->buf, err);
}

void cf_tensor_free(cf_backend *b, cf_tensor *t)
{
    if (t && t->buf) b->vt->buffer_free(b->ctx, t->buf);
    if (t) t->buf = NULL;
}

/* Host data is float: other dtypes would need a conversion nobody asked for. */
static cf_status host_f32(const cf_tensor *t, const char *what, cf_error *err)
{
    if (t->dtype == CF_DTYPE_F32) return CF_OK;
    return cf_error_set(err, CF_ERR_UNSUPPORTED, "%s of tensor %s: dtype %s, host data is f32",
                        what, t->name ? t->name : "(unnamed)", cf_dtype_name(t->dtype));
}

cf_status cf_tensor_upload(cf_backend *b, cf_tensor *t, const float *src, cf_error *err)
{
    CF_TRY(host_f32(t, "upload", err));
    return b->vt->upload(b->ctx, t->buf, 0, src, cf_tensor_numel(t) * sizeof(float), err);
}

cf_status cf_tensor_download(cf_backend *b, const cf_tensor *t, float *dst, cf_error *err)
{
    CF_TRY(host_f32(t, "download", err));
    return b->vt->download(b->ctx, t->buf, 0, dst, cf_tensor_numel(t) * sizeof(float), err);
}

static cf_status compute_exec(void *ctx, const cf_op *op, cf_error *err)
{
    return cf_backend_exec(ctx, op, err);
}

cf_compute cf_backend_compute(cf_backend *b)
{
    cf_compute c = {b, compute_exec};
    return c;
}

cf_status cf_compute_sumsq(const cf_compute *cx, const cf_tensor *x, const cf_tensor *scratch, double *out,
                           cf_error *err)
{
    if (!cx || cx->exec != compute_exec)
        return cf_error_set(err, CF_ERR_INVALID, "cf_compute_sumsq: the compute is not a backend's (cf_backend_compute)");
    cf_backend *b = cx->ctx;
    /* a 1-element view of the scratch's buffer: sumsq writes one float */
    cf_tensor one = *scratch;
    one.ndim = 1;
    one.shape[0] = 1;
    one.shape[1] = one.shape[2] = one.shape[3] = 0;
    CF_TRY(cf_vec_op(cx, CF_OP_SUMSQ, &one, (cf_tensor *)x, NULL, 1.0f, 0.0f, 0, err));
    float f = 0;
    CF_TRY(host_f32(&one, "download", err));
    CF_TRY(b->vt->download(b->ctx, one.buf, 0, &f, sizeof f, err));
    *out = f;
    return CF_OK;
}
