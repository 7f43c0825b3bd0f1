/* Per-op fallback: an op the chosen backend's supports_op refuses runs on the
 * reference backend instead of failing the run. The reference backend is
 * opened on first need; every tensor the op touches is copied to it (outputs
 * too: accumulate, b != 0 and the running batch-norm statistics read them)
 * and the outputs are copied back. Slow, but a backend can ship without
 * every kernel and still give the reference's results for the ops it lacks.
 * Said once per op kind on stderr, so a slow run is explained. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/plugin_params.h"
#include "core/util.h"

struct cf_backend_fallback {
    cf_backend *ref;
    unsigned char told[CF_OP_COUNT];
};

#define SLOTS 10 /* in[5] + out[5] */

typedef struct copy_plan {
    int n;
    cf_tensor *orig[SLOTS]; /* distinct tensors of the op, on b */
    cf_tensor dup[SLOTS];   /* their copies on the reference backend */
    int is_out[SLOTS];
} copy_plan;

/* Index of t in the plan, adding it if new. */
static int plan_add(copy_plan *p, cf_tensor *t, int is_out)
{
    for (int i = 0; i < p->n; i++)
        if (p->orig[i] == t) {
            p->is_out[i] |= is_out;
            return i;
        }
    p->orig[p->n] = t;
    p->is_out[p->n] = is_out;
    return p->n++;
}

static void plan_free(copy_plan *p, cf_backend *ref)
{
    for (int i = 0; i < p->n; i++) cf_tensor_free(ref, &p->dup[i]);
}

/* Copy t from backend `from` to `dst` on backend `to` through the host. */
static cf_status copy_tensor(cf_backend *from, const cf_tensor *t, cf_backend *to, cf_tensor *dst,
                             cf_error *err)
{
    size_t n = cf_tensor_numel(t);
    float *host = malloc((n ? n : 1) * sizeof *host);
    if (!host) return cf_error_set(err, CF_ERR_NOMEM, "fallback: out of memory for %zu floats", n);
    cf_status st = cf_tensor_download(from, t, host, err);
    if (!st) st = cf_tensor_upload(to, dst, host, err);
    free(host);
    return st;
}

static cf_status open_reference(cf_backend *b, const cf_op *op, cf_error *err)
{
    if (!b->fallback) {
        b->fallback = cf_calloc(1, sizeof *b->fallback);
        if (!b->fallback) return cf_error_set(err, CF_ERR_NOMEM, "fallback: out of memory");
    }
    if (b->fallback->ref) return CF_OK;
    if (!strcmp(b->name, "reference") || !b->reg)
        return cf_error_set(err, CF_ERR_UNSUPPORTED, "backend %s does not support op %s", b->name,
                            cf_op_name(op->kind));
    cf_status st = cf_backend_open(b->reg, "reference", NULL, &b->fallback->ref, err);
    if (st)
        return cf_error_prefix(err, "backend %s lacks op %s and the reference backend is unusable",
                               b->name, cf_op_name(op->kind));
    return CF_OK;
}

cf_status cf_backend_fallback_exec(cf_backend *b, const cf_op *op, cf_error *err)
{
    CF_TRY(open_reference(b, op, err));
    cf_backend *ref = b->fallback->ref;
    if (!cf_backend_supports(ref, op))
        return cf_error_set(err, CF_ERR_UNSUPPORTED,
                            "neither backend %s nor the reference backend supports op %s", b->name,
                            cf_op_name(op->kind));
    const cf_tensor *bad = cf_op_dtype_mismatch(op, CF_DTYPE_F32);
    if (bad)
        return cf_error_set(
            err, CF_ERR_UNSUPPORTED,
            "backend %s lacks op %s, and the fallback copies f32 only (tensor %s is "
            "%s)",
            b->name, cf_op_name(op->kind), bad->name ? bad->name : "(unnamed)",
            cf_dtype_name(bad->dtype));
    if (!b->fallback->told[op->kind]) {
        b->fallback->told[op->kind] = 1;
        fprintf(stderr, "clforge: backend %s lacks op %s: running it on the reference backend\n",
                b->name, cf_op_name(op->kind));
    }
    copy_plan p = {0};
    cf_op rop = *op;
    for (int k = 0; k < 5; k++) {
        if (op->in[k]) rop.in[k] = &p.dup[plan_add(&p, op->in[k], 0)];
        if (op->out[k]) rop.out[k] = &p.dup[plan_add(&p, op->out[k], 1)];
    }
    cf_status st = CF_OK;
    for (int i = 0; i < p.n && !st; i++) {
        const cf_tensor *t = p.orig[i];
        st = cf_tensor_alloc(ref, &p.dup[i], t->ndim, t->shape, t->name, err);
        if (!st) st = copy_tensor(b, t, ref, &p.dup[i], err);
    }
    if (!st) st = ref->vt->exec(ref->ctx, &rop, err);
    for (int i = 0; i < p.n && !st; i++)
        if (p.is_out[i]) st = copy_tensor(ref, &p.dup[i], b, p.orig[i], err);
    plan_free(&p, ref);
    if (st)
        cf_error_prefix(err, "op %s on the reference backend (fallback for %s)",
                        cf_op_name(op->kind), b->name);
    return st;
}

void cf_backend_fallback_free(cf_backend *b)
{
    if (!b->fallback) return;
    cf_backend_close(b->fallback->ref);
    free(b->fallback);
    b->fallback = NULL;
}
