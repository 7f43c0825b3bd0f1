/* clforge — training checkpoints (see checkpoint.h). The metadata is text
 * ("epoch=3\nstep=120\nschedule=...\nearly_stop=...\n"): doubles printed
 * with %.17g round-trip exactly. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "train/checkpoint.h"

cf_status cf_checkpoint_save(cf_session *s, const char *path, int epoch, long step,
                            const cf_early_stop *es, cf_error *err)
{
    int np = cf_net_n_params(s->net), ns = cf_net_slots(s->net);
    cf_blob bl = {0};
    cf_sbuf meta = {0};
    double st[64];
    cf_sbuf_printf(&meta, "epoch=%d\nstep=%ld\n", epoch, step);
    int n = cf_schedule_state(s->sched, st, 64);
    cf_sbuf_printf(&meta, "schedule=");
    for (int i = 0; i < n; i++) cf_sbuf_printf(&meta, "%s%.17g", i ? "," : "", st[i]);
    n = cf_early_stop_state(es, st, 64);
    cf_sbuf_printf(&meta, "\nearly_stop=");
    for (int i = 0; i < n; i++) cf_sbuf_printf(&meta, "%s%.17g", i ? "," : "", st[i]);
    cf_sbuf_printf(&meta, "\n");
    bl.text = meta.s;
    bl.t = cf_calloc((size_t)np * (size_t)(1 + ns), sizeof *bl.t);
    /* metadata cut short by a failed append would restore another schedule */
    cf_status rc = bl.t && cf_sbuf_ok(&meta) ? CF_OK : cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < np && !rc; i++) {
        cf_net_param *p = cf_net_param_at(s->net, i);
        for (int k = -1; k < (p->slots ? ns : 0) && !rc; k++) { /* frozen: no slots */
            cf_tensor *t = k < 0 ? &p->value : &p->slots[k];
            cf_blob_tensor *bt = &bl.t[bl.n++];
            if (k < 0) snprintf(bt->name, sizeof bt->name, "%s", p->name);
            else snprintf(bt->name, sizeof bt->name, "slot%d:%s", k, p->name);
            bt->ndim = t->ndim;
            memcpy(bt->shape, t->shape, sizeof bt->shape);
            bt->data = malloc(cf_tensor_numel(t) * sizeof(float));
            rc = bt->data ? cf_tensor_download(s->be, t, bt->data, err)
                          : cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        }
    }
    if (!rc) rc = cf_ema_save(&s->ema, s->net, &bl, err);
    if (!rc) rc = cf_blob_write(path, &bl, err);
    cf_blob_free(&bl);
    return rc;
}

static int parse_doubles(const char *text, const char *key, double *out, int cap)
{
    const char *p = strstr(text, key);
    if (!p) return 0;
    p += strlen(key);
    int n = 0;
    while (*p && *p != '\n' && n < cap) {
        char *end;
        out[n++] = strtod(p, &end);
        if (end == p) return n - 1;
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

cf_status cf_checkpoint_load(cf_session *s, const char *path, int *epoch, long *step,
                            cf_early_stop *es, cf_error *err)
{
    cf_blob bl;
    CF_TRY(cf_blob_read(path, &bl, err));
    cf_status rc = CF_OK;
    double st[64];
    const char *e = strstr(bl.text, "epoch="), *sp = strstr(bl.text, "step=");
    if (!e || !sp) {
        rc = cf_error_set(err, CF_ERR_IO, "%s: checkpoint metadata missing", path);
        goto out;
    }
    /* The CRC only says the bytes are as written: the numbers are checked too
     * (epoch=-5 overran the trainer's history, a huge step overflowed it). */
    char *end;
    errno = 0;
    long ep = strtol(e + 6, &end, 10);
    if (errno || end == e + 6 || (*end && *end != '\n') || ep < 1 || ep > 100000) {
        rc = cf_error_set(err, CF_ERR_IO, "%s: checkpoint metadata: epoch '%.*s' is not an epoch number (1 to 100000)",
                          path, (int)strcspn(e + 6, "\n") < 24 ? (int)strcspn(e + 6, "\n") : 24, e + 6);
        goto out;
    }
    errno = 0;
    long long stp = strtoll(sp + 5, &end, 10);
    if (errno || end == sp + 5 || (*end && *end != '\n') || stp < 0 || stp > (1LL << 50)) {
        rc = cf_error_set(err, CF_ERR_IO, "%s: checkpoint metadata: step '%.*s' is not a step count", path,
                          (int)strcspn(sp + 5, "\n") < 24 ? (int)strcspn(sp + 5, "\n") : 24, sp + 5);
        goto out;
    }
    *epoch = (int)ep;
    *step = (long)stp;
    int n = parse_doubles(bl.text, "schedule=", st, 64);
    if ((rc = cf_schedule_restore(s->sched, st, n, err))) goto out;
    n = parse_doubles(bl.text, "early_stop=", st, 64);
    if ((rc = cf_early_stop_restore(es, st, n, err))) goto out;
    if ((rc = cf_session_load_weights(s, &bl, path, err))) goto out;
    if ((rc = cf_ema_load(&s->ema, s->net, &bl, path, err))) goto out;
    for (int i = 0; i < cf_net_n_params(s->net) && !rc; i++) {
        cf_net_param *p = cf_net_param_at(s->net, i);
        for (int k = 0; p->slots && k < cf_net_slots(s->net) && !rc; k++) {
            char nm[128];
            snprintf(nm, sizeof nm, "slot%d:%s", k, p->name);
            const cf_blob_tensor *t = cf_blob_find(&bl, nm);
            if (!t || cf_tensor_numel(&p->slots[k]) != (size_t)t->shape[0] * (t->ndim > 1 ? (size_t)t->shape[1] : 1) * (t->ndim > 2 ? (size_t)t->shape[2] : 1) * (t->ndim > 3 ? (size_t)t->shape[3] : 1))
                rc = cf_error_set(err, CF_ERR_IO, "%s: optimizer state '%s' missing or mis-shaped (different optimizer?)", path, nm);
            else
                rc = cf_tensor_upload(s->be, &p->slots[k], t->data, err);
        }
    }
out:
    cf_blob_free(&bl);
    return rc;
}

