/* clforge cpu backend — activations kept in oneDNN's channel-blocked layout.
 *
 * oneDNN's convolutions run on nChw16c (16 channels interleaved per pixel);
 * converting NCHW to it and back around every convolution cost a fifth of
 * their time. So convolutions may leave their outputs blocked and read
 * blocked inputs as they are; batch norm and max pooling have blocked
 * kernels, and elementwise ops run in whatever layout their operands share
 * (below). The buffer records its state (cf_buffer.blk, with the tensor's
 * dims); every other op, and download, sees plain NCHW again because the
 * dispatcher converts such a buffer back before it runs them. Blocked
 * buffers hold exactly as many floats as plain ones (only used when C is a
 * multiple of the block). docs/cpu-backend.md, "Blocked activations". */
#include <string.h>

#include "cpu_internal.h"

typedef struct {
    float *a;       /* the buffer */
    float *tmp;     /* scratch of the same size */
    int C, HW, blk; /* channels, pixels per channel, channel block */
    int to_plain;
} layout_job;

/* Images [b, e) of a into tmp, converted: channel c, pixel i is at
 * c*HW + i in NCHW and at (c/B)*HW*B + i*B + c%B blocked. */
CPU_CLONES
static void convert_task(void *arg, int tid, long b, long e)
{
    const layout_job *j = arg;
    const size_t row = (size_t)j->C * j->HW;
    const int B = j->blk, CB = j->C / B;
    for (long n = b; n < e; n++) {
        const float *src = j->a + (size_t)n * row;
        float *dst = j->tmp + (size_t)n * row;
        for (int cb = 0; cb < CB; cb++)
            for (int c = 0; c < B; c++) {
                size_t plain = (size_t)(cb * B + c) * j->HW, blocked = (size_t)cb * B * j->HW + c;
                if (j->to_plain)
                    for (int i = 0; i < j->HW; i++) dst[plain + i] = src[blocked + (size_t)i * B];
                else
                    for (int i = 0; i < j->HW; i++) dst[blocked + (size_t)i * B] = src[plain + i];
            }
    }
}

cf_status cpu_make_plain(cpu_ctx *c, cf_buffer *buf, cf_error *err)
{
    if (!buf || !buf->blk) return CF_OK;
    size_t n = (size_t)buf->dims[0] * buf->dims[1] * buf->dims[2] * buf->dims[3];
    float *tmp = cpu_scratch(c, n * sizeof(float), err);
    if (!tmp) return err ? err->status : CF_ERR_NOMEM;
    layout_job j = {buf->data, tmp, buf->dims[1], buf->dims[2] * buf->dims[3], buf->blk, 1};
    cpu_pool_run(c->pool, buf->dims[0], convert_task, &j);
    memcpy(buf->data, tmp, n * sizeof(float));
    buf->blk = 0;
    return CF_OK;
}

/* Plain -> blocked by blk as a [dims] tensor (the caller checked C % blk). */
cf_status cpu_make_blocked(cpu_ctx *c, cf_buffer *buf, int blk, const int dims[4],
                           cf_error *err)
{
    if (buf->blk) return CF_OK;
    size_t n = (size_t)dims[0] * dims[1] * dims[2] * dims[3];
    float *tmp = cpu_scratch(c, n * sizeof(float), err);
    if (!tmp) return err ? err->status : CF_ERR_NOMEM;
    layout_job j = {buf->data, tmp, dims[1], dims[2] * dims[3], blk, 0};
    cpu_pool_run(c->pool, dims[0], convert_task, &j);
    memcpy(buf->data, tmp, n * sizeof(float));
    buf->blk = blk;
    memcpy(buf->dims, dims, sizeof buf->dims);
    return CF_OK;
}

int cpu_blocked_ok(int C, int blk, size_t plain_bytes, size_t blocked_bytes)
{
    return (blk == 8 || blk == 16) && C % blk == 0 && plain_bytes == blocked_bytes;
}

/* Elementwise ops do not care how elements are ordered, as long as every
 * operand is ordered the same way: they run on blocked data as they are and
 * their outputs take the layout of what they read. When some operands are
 * blocked and the others plain, the plain ones are blocked to match (the
 * next convolution or batch norm wants that layout); operands blocked in
 * different ways are all made plain. */
int cpu_layout_agnostic(cf_op_kind k)
{
    switch (k) {
    case CF_OP_ADD:
    case CF_OP_ACT_FWD:
    case CF_OP_ACT_BWD:
    case CF_OP_FILL:
    case CF_OP_AXPBY:
    case CF_OP_MUL:
    case CF_OP_DIV:
    case CF_OP_SQRT:
    case CF_OP_SIGN:
    case CF_OP_MAX: return 1;
    default: return 0;
    }
}

static int reads_out(const cf_op *op)
{
    if (op->accumulate) return 1;
    switch (op->kind) {
    case CF_OP_AXPBY:
    case CF_OP_MUL:
    case CF_OP_DIV:
    case CF_OP_SIGN: return op->p.vec.b != 0;
    default: return 0;
    }
}

cf_status cpu_layout_before(cpu_ctx *c, const cf_op *op, cpu_layout *lay, cf_error *err)
{
    cf_buffer *rd[10];
    int n = 0;
    for (int i = 0; i < 5; i++)
        if (op->in[i] && op->in[i]->buf) rd[n++] = op->in[i]->buf;
    if (reads_out(op))
        for (int i = 0; i < 5; i++)
            if (op->out[i] && op->out[i]->buf) rd[n++] = op->out[i]->buf;
    lay->blk = 0;
    memset(lay->dims, 0, sizeof lay->dims);
    int mixed = 0;
    for (int i = 0; i < n; i++) {
        if (!rd[i]->blk) continue;
        if (!lay->blk) {
            lay->blk = rd[i]->blk;
            memcpy(lay->dims, rd[i]->dims, sizeof lay->dims);
        } else if (rd[i]->blk != lay->blk || memcmp(rd[i]->dims, lay->dims, sizeof lay->dims)) {
            mixed = 1;
        }
    }
    size_t want = lay->blk ? (size_t)lay->dims[0] * lay->dims[1] * lay->dims[2] * lay->dims[3]
                           : 0;
    for (int i = 0; i < n && lay->blk && !mixed; i++)
        if (!rd[i]->blk && rd[i]->bytes < want * sizeof(float)) mixed = 1;
    for (int i = 0; i < 5 && lay->blk && !mixed; i++) /* every operand must have that size */
        if ((op->in[i] && op->in[i]->buf && cf_tensor_numel(op->in[i]) != want) ||
            (op->out[i] && op->out[i]->buf && cf_tensor_numel(op->out[i]) != want))
            mixed = 1;
    if (mixed) {
        lay->blk = 0;
        for (int i = 0; i < n; i++) CF_TRY(cpu_make_plain(c, rd[i], err));
    } else if (lay->blk) {
        for (int i = 0; i < n; i++) CF_TRY(cpu_make_blocked(c, rd[i], lay->blk, lay->dims, err));
    }
    return CF_OK;
}

void cpu_layout_after(const cf_op *op, const cpu_layout *lay)
{
    for (int i = 0; i < 5; i++)
        if (op->out[i] && op->out[i]->buf) {
            op->out[i]->buf->blk = lay->blk;
            memcpy(op->out[i]->buf->dims, lay->dims, sizeof lay->dims);
        }
}

cf_status cpu_plain_operands(cpu_ctx *c, const cf_op *op, cf_error *err)
{
    for (int i = 0; i < 5; i++) {
        if (op->in[i] && op->in[i]->buf) CF_TRY(cpu_make_plain(c, op->in[i]->buf, err));
        cf_buffer *o = op->out[i] ? op->out[i]->buf : NULL;
        if (!o || !o->blk) continue;
        if (reads_out(op)) CF_TRY(cpu_make_plain(c, o, err));
        else o->blk = 0; /* overwritten whole: nothing to convert */
    }
    return CF_OK;
}
