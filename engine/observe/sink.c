/* clforge — the sink list: adding, dispatching events, freeing. */
#include "observe/sink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

cf_status cf_sinks_add(cf_sinks *l, const cf_sink *s, cf_error *err)
{
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 8;
        cf_sink *nv = realloc(l->v, (size_t)nc * sizeof *nv);
        if (!nv) {
            if (s->free) {
                cf_sink tmp = *s;
                tmp.free(&tmp);
            }
            return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        }
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = *s;
    return CF_OK;
}

cf_status cf_sinks_prepend(cf_sinks *l, cf_sinks *front, cf_error *err)
{
    int n = l->n + front->n;
    cf_sink *nv = n ? malloc((size_t)n * sizeof *nv) : NULL;
    if (n && !nv) {
        cf_sinks_free(front);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    }
    if (front->n) memcpy(nv, front->v, (size_t)front->n * sizeof *nv);
    if (l->n) memcpy(nv + front->n, l->v, (size_t)l->n * sizeof *nv);
    free(l->v);
    free(front->v);
    memset(front, 0, sizeof *front);
    l->v = nv;
    l->n = l->cap = n;
    return CF_OK;
}

void cf_sinks_free(cf_sinks *l)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i].free) l->v[i].free(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Call member cb of every sink; keep the first failure (sinks name their
 * files in their messages). */
#define DISPATCH(cb, ev)                                                                           \
    do {                                                                                           \
        cf_status first = CF_OK;                                                                   \
        for (int i = 0; i < l->n; i++) {                                                           \
            if (!l->v[i].cb) continue;                                                             \
            cf_error e;                                                                            \
            cf_status st = l->v[i].cb(&l->v[i], ev, &e);                                           \
            if (st && !first) first = cf_error_set(err, st, "%s", e.msg);                          \
        }                                                                                          \
        return first;                                                                              \
    } while (0)

cf_status cf_sinks_open(cf_sinks *l, const cf_ev_open *ev, cf_error *err) { DISPATCH(open, ev); }
cf_status cf_sinks_start(cf_sinks *l, const cf_ev_start *ev, cf_error *err) { DISPATCH(start, ev); }
cf_status cf_sinks_batch(cf_sinks *l, const cf_ev_batch *ev, cf_error *err) { DISPATCH(batch, ev); }
cf_status cf_sinks_epoch(cf_sinks *l, const cf_ev_epoch *ev, cf_error *err) { DISPATCH(epoch, ev); }
cf_status cf_sinks_checkpoint(cf_sinks *l, const cf_ev_checkpoint *ev, cf_error *err)
{
    DISPATCH(checkpoint, ev);
}
cf_status cf_sinks_note(cf_sinks *l, const char *text, cf_error *err) { DISPATCH(note, text); }
cf_status cf_sinks_eval(cf_sinks *l, const cf_ev_eval *ev, cf_error *err) { DISPATCH(eval, ev); }

cf_status cf_sinks_end(cf_sinks *l, cf_ev_end *ev, cf_error *err)
{
    cf_status first = CF_OK;
    for (int i = 0; i < l->n; i++) {
        if (!l->v[i].end) continue;
        cf_error e;
        cf_status st = l->v[i].end(&l->v[i], ev, &e);
        if (st && !first) {
            first = st;
            if (!ev->status) { /* the run had gone well until now: this is its outcome */
                cf_error_set(err, st, "%s", e.msg);
                ev->status = st;
                ev->message = err->msg;
                ev->outcome = "failed";
            }
        }
    }
    return first;
}

cf_status cf_sink_append(const char *run_dir, const char *name, const char *text, size_t len,
                         cf_error *err)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", run_dir, name);
    FILE *f = fopen(path, "a");
    if (!f) return cf_error_set(err, CF_ERR_IO, "%s: %s", path, strerror(errno));
    int bad = fwrite(text, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0;
    int e = errno;
    bad |= fclose(f) != 0;
    if (bad) return cf_error_set(err, CF_ERR_IO, "%s: write failed: %s", path, strerror(e ? e : errno));
    return CF_OK;
}

cf_status cf_sink_flush(FILE *f, const char *what, cf_error *err)
{
    if (fflush(f) != 0 || ferror(f)) {
        clearerr(f);
        return cf_error_set(err, CF_ERR_IO, "writing the %s failed: %s", what, strerror(errno));
    }
    return CF_OK;
}
