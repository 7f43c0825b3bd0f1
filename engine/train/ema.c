/* clforge — the EMA of the weights; the rule is in ema.h. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "train/ema.h"

static cf_status copy(cf_backend *be, cf_tensor *dst, cf_tensor *src, cf_error *err)
{
    cf_compute cx = cf_backend_compute(be);
    return cf_vec_axpby(&cx, dst, 1.0f, src, 0.0f, err);
}

cf_status cf_ema_init(cf_ema *e, cf_net *net, double decay, int warmup, cf_error *err)
{
    cf_backend *be = cf_net_backend(net);
    e->on = 1;
    e->decay = decay;
    e->warmup = warmup;
    e->n = cf_net_n_params(net);
    e->shadow = cf_calloc((size_t)e->n, sizeof *e->shadow);
    e->backup = cf_calloc((size_t)e->n, sizeof *e->backup);
    if (!e->shadow || !e->backup) return cf_error_set(err, CF_ERR_NOMEM, "train.ema: out of memory");
    for (int i = 0; i < e->n; i++) {
        cf_net_param *p = cf_net_param_at(net, i);
        CF_TRY(cf_tensor_alloc(be, &e->shadow[i], p->value.ndim, p->value.shape, p->name, err));
        CF_TRY(copy(be, &e->shadow[i], &p->value, err));
    }
    return CF_OK;
}

cf_status cf_ema_update(cf_ema *e, cf_net *net, long step, cf_error *err)
{
    if (!e->on) return CF_OK;
    double d = e->decay;
    if (e->warmup && (1.0 + step) / (10.0 + step) < d) d = (1.0 + step) / (10.0 + step);
    cf_compute cx = cf_backend_compute(cf_net_backend(net));
    for (int i = 0; i < e->n; i++)
        CF_TRY(cf_vec_axpby(&cx, &e->shadow[i], (float)(1.0 - d), &cf_net_param_at(net, i)->value, (float)d, err));
    return CF_OK;
}

cf_status cf_ema_swap_in(cf_ema *e, cf_net *net, cf_error *err)
{
    if (!e->on || e->swapped) return CF_OK;
    cf_backend *be = cf_net_backend(net);
    for (int i = 0; i < e->n; i++) {
        cf_net_param *p = cf_net_param_at(net, i);
        if (!e->backup[i].buf) CF_TRY(cf_tensor_alloc(be, &e->backup[i], p->value.ndim, p->value.shape, p->name, err));
        CF_TRY(copy(be, &e->backup[i], &p->value, err));
        CF_TRY(copy(be, &p->value, &e->shadow[i], err));
    }
    e->swapped = 1;
    cf_net_params_changed(net); /* folded batch norms are recomputed from the new values */
    return CF_OK;
}

cf_status cf_ema_swap_out(cf_ema *e, cf_net *net, cf_error *err)
{
    if (!e->on || !e->swapped) return CF_OK;
    cf_backend *be = cf_net_backend(net);
    for (int i = 0; i < e->n; i++) CF_TRY(copy(be, &cf_net_param_at(net, i)->value, &e->backup[i], err));
    e->swapped = 0;
    cf_net_params_changed(net);
    return CF_OK;
}

cf_status cf_ema_save(cf_ema *e, cf_net *net, cf_blob *bl, cf_error *err)
{
    if (!e->on) return CF_OK;
    cf_backend *be = cf_net_backend(net);
    cf_blob_tensor *t = realloc(bl->t, (size_t)(bl->n + e->n) * sizeof *t);
    if (!t) return cf_error_set(err, CF_ERR_NOMEM, "train.ema: out of memory");
    bl->t = t;
    for (int i = 0; i < e->n; i++) {
        cf_blob_tensor *bt = &bl->t[bl->n++];
        memset(bt, 0, sizeof *bt);
        snprintf(bt->name, sizeof bt->name, "ema:%s", cf_net_param_at(net, i)->name);
        bt->ndim = e->shadow[i].ndim;
        memcpy(bt->shape, e->shadow[i].shape, sizeof bt->shape);
        bt->data = malloc(cf_tensor_numel(&e->shadow[i]) * sizeof(float));
        if (!bt->data) return cf_error_set(err, CF_ERR_NOMEM, "train.ema: out of memory");
        CF_TRY(cf_tensor_download(be, &e->shadow[i], bt->data, err));
    }
    return CF_OK;
}

cf_status cf_ema_load(cf_ema *e, cf_net *net, const cf_blob *bl, const char *path, cf_error *err)
{
    if (!e->on) return CF_OK;
    for (int i = 0; i < e->n; i++) {
        char nm[160];
        snprintf(nm, sizeof nm, "ema:%s", cf_net_param_at(net, i)->name);
        const cf_blob_tensor *t = cf_blob_find(bl, nm);
        if (!t || t->ndim != e->shadow[i].ndim || memcmp(t->shape, e->shadow[i].shape, (size_t)t->ndim * sizeof(int)))
            return cf_error_set(err, CF_ERR_IO,
                                "%s: EMA tensor '%s' missing or mis-shaped (the run was checkpointed without "
                                "train.ema?)",
                                path, nm);
        CF_TRY(cf_tensor_upload(cf_net_backend(net), &e->shadow[i], t->data, err));
    }
    return CF_OK;
}

void cf_ema_free(cf_ema *e, cf_backend *be)
{
    for (int i = 0; be && i < e->n; i++) {
        if (e->shadow && e->shadow[i].buf) cf_tensor_free(be, &e->shadow[i]);
        if (e->backup && e->backup[i].buf) cf_tensor_free(be, &e->backup[i]);
    }
    free(e->shadow);
    free(e->backup);
    memset(e, 0, sizeof *e);
}
