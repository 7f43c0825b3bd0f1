/* clforge cpu backend — channel-slice copy (concatenation forward/backward):
 * contiguous H*W runs, one memcpy (or add) per (image, channel). */
#include <string.h>

#include "cpu_internal.h"

typedef struct {
    const float *x;
    float *y;
    long xc, yc, hw, s0, d0, nch;
    int acc;
} chan_job;

static void chan_task(void *arg, int tid, long b, long e)
{
    const chan_job *j = arg;
    for (long r = b; r < e; r++) { /* r = image * nch + channel */
        long n = r / j->nch, c = r % j->nch;
        const float *src = j->x + (n * j->xc + j->s0 + c) * j->hw;
        float *dst = j->y + (n * j->yc + j->d0 + c) * j->hw;
        if (j->acc)
            for (long i = 0; i < j->hw; i++) dst[i] += src[i];
        else
            memcpy(dst, src, (size_t)j->hw * sizeof *dst);
    }
}

static void nc_hw(const cf_tensor *t, long *n, long *c, long *hw)
{
    *n = t->shape[0];
    *c = t->ndim > 1 ? t->shape[1] : 1;
    *hw = (long)cf_tensor_row(t) / *c;
}

cf_status cpu_channel_copy(cpu_ctx *c, const cf_op *op, cf_error *err)
{
    CF_TRY(cpu_need(op, 1, 1, "channel_copy", err));
    long xn, yn, yhw;
    chan_job j = {0};
    nc_hw(op->in[0], &xn, &j.xc, &j.hw);
    nc_hw(op->out[0], &yn, &j.yc, &yhw);
    j.s0 = op->p.chan.src_c0;
    j.d0 = op->p.chan.dst_c0;
    j.nch = op->p.chan.channels;
    if (xn != yn || j.hw != yhw || j.s0 < 0 || j.d0 < 0 || j.nch < 1 || j.s0 + j.nch > j.xc ||
        j.d0 + j.nch > j.yc)
        return cpu_err(err, CF_ERR_INVALID,
                       "cpu backend: channel_copy: x [%ld, %ld, %ld] channels %ld..%ld -> y "
                       "[%ld, %ld, %ld] from channel %ld do not fit",
                       xn, j.xc, j.hw, j.s0, j.s0 + j.nch, yn, j.yc, yhw, j.d0);
    j.x = cpu_data(op->in[0]);
    j.y = cpu_data(op->out[0]);
    j.acc = op->accumulate != 0;
    long rows = xn * j.nch;
    if (rows * j.hw < CPU_PAR_MIN)
        chan_task(&j, 0, 0, rows);
    else
        cpu_pool_run(c->pool, rows, chan_task, &j);
    return CF_OK;
}
