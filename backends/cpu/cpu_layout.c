/* clforge cpu backend — activations kept in oneDNN's channel-blocked layout
 * between fused convolutions.
 *
 * At inference the engine issues chains of conv2d_fwd_act ops (batch norm
 * folded in). Converting NCHW to oneDNN's blocked layout (nChw16c: 16
 * channels interleaved per pixel) and back around every convolution costs
 * two extra passes per layer, so a conv2d_fwd_act may leave its output in
 * the blocked layout and the next one reads it as it is. The buffer records
 * that (cf_buffer.blk); every other op, and download, sees plain NCHW again
 * because the dispatcher converts such a buffer back before it runs them.
 * Blocked buffers hold exactly as many floats as plain ones (only used when
 * C is a multiple of the block). */
#include <string.h>

#include "cpu_internal.h"

typedef struct {
    float *a;       /* the buffer */
    float *tmp;     /* scratch of the same size */
    int C, HW, blk; /* channels, pixels per channel, channel block */
    int to_plain;
} layout_job;

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
                float *pl = (j->to_plain ? dst : (float *)src) + (size_t)(cb * B + c) * j->HW;
                const float *bl = (j->to_plain ? src : dst) + (size_t)cb * B * j->HW + c;
                if (j->to_plain)
                    for (int i = 0; i < j->HW; i++) pl[i] = bl[(size_t)i * B];
                else
                    for (int i = 0; i < j->HW; i++) ((float *)bl)[(size_t)i * B] = pl[i];
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

int cpu_blocked_ok(int C, int blk, size_t plain_bytes, size_t blocked_bytes)
{
    return (blk == 8 || blk == 16) && C % blk == 0 && plain_bytes == blocked_bytes;
}
