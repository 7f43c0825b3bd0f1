/* One file format for models and checkpoints: a text block (config and
 * metadata) plus named float tensors, with a CRC-32 so a truncated or corrupt
 * file is refused instead of silently loaded. Written atomically. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/util.h"
#include "model/modelfile.h"

static const char MAGIC[8] = {'C', 'L', 'F', 'O', 'R', 'G', 'E', '1'};

static void put(cf_sbuf *b, const void *p, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc < b->len + n + 1) nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1; /* a file with a part missing would still get a valid CRC */
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
}

static void put_u32(cf_sbuf *b, uint32_t v) { put(b, &v, 4); }

cf_status cf_blob_write(const char *path, const cf_blob *bl, cf_error *err)
{
    cf_sbuf b = {0};
    put(&b, MAGIC, 8);
    size_t tl = bl->text ? strlen(bl->text) : 0;
    put_u32(&b, (uint32_t)tl);
    put(&b, bl->text ? bl->text : "", tl);
    put_u32(&b, (uint32_t)bl->n);
    for (int i = 0; i < bl->n; i++) {
        const cf_blob_tensor *t = &bl->t[i];
        uint32_t nl = (uint32_t)strlen(t->name);
        put_u32(&b, nl);
        put(&b, t->name, nl);
        put_u32(&b, (uint32_t)t->ndim);
        size_t cnt = 1;
        for (int d = 0; d < t->ndim; d++) {
            put_u32(&b, (uint32_t)t->shape[d]);
            cnt *= (size_t)t->shape[d];
        }
        put(&b, t->data, cnt * sizeof(float));
    }
    if (!cf_sbuf_ok(&b)) {
        cf_sbuf_free(&b);
        return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
    }
    uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)b.s + 8, (uInt)(b.len - 8));
    put_u32(&b, crc);
    if (b.oom) {
        cf_sbuf_free(&b);
        return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
    }
    cf_status s = cf_write_file_atomic(path, b.s, b.len, err);
    cf_sbuf_free(&b);
    return s;
}

typedef struct reader {
    const unsigned char *p, *end;
} reader;

static int get(reader *r, void *dst, size_t n)
{
    if ((size_t)(r->end - r->p) < n) return 0;
    memcpy(dst, r->p, n);
    r->p += n;
    return 1;
}

cf_status cf_blob_read(const char *path, cf_blob *bl, cf_error *err)
{
    memset(bl, 0, sizeof *bl);
    char *data;
    size_t len;
    CF_TRY(cf_read_file(path, &data, &len, err));
    cf_status s = CF_OK;
    if (len < 16 || memcmp(data, MAGIC, 8)) {
        s = cf_error_set(err, CF_ERR_IO, "%s: not a clforge model/checkpoint file", path);
        goto out;
    }
    uint32_t stored;
    memcpy(&stored, data + len - 4, 4);
    if ((uint32_t)crc32(0L, (const Bytef *)data + 8, (uInt)(len - 12)) != stored) {
        s = cf_error_set(err, CF_ERR_IO, "%s: file is truncated or corrupt (checksum mismatch); "
                                         "refusing to load it", path);
        goto out;
    }
    reader r = {(const unsigned char *)data + 8, (const unsigned char *)data + len - 4};
    uint32_t tl, n;
    if (!get(&r, &tl, 4) || (size_t)(r.end - r.p) < tl) goto corrupt;
    bl->text = malloc(tl + 1);
    if (!bl->text) goto nomem;
    get(&r, bl->text, tl);
    bl->text[tl] = '\0';
    if (!get(&r, &n, 4) || n > (1u << 20)) goto corrupt;
    bl->t = cf_calloc(n, sizeof *bl->t);
    if (!bl->t) goto nomem;
    for (uint32_t i = 0; i < n; i++) {
        cf_blob_tensor *t = &bl->t[i];
        uint32_t nl, nd;
        if (!get(&r, &nl, 4) || nl >= sizeof t->name || !get(&r, t->name, nl)) goto corrupt;
        t->name[nl] = '\0';
        if (!get(&r, &nd, 4) || nd < 1 || nd > CF_MAX_DIMS) goto corrupt;
        t->ndim = (int)nd;
        size_t cnt = 1;
        for (uint32_t d = 0; d < nd; d++) {
            uint32_t v;
            if (!get(&r, &v, 4) || v == 0 || v > (1u << 30)) goto corrupt;
            if (cnt > SIZE_MAX / sizeof(float) / v) goto corrupt; /* cnt * 4 must not wrap */
            t->shape[d] = (int)v;
            cnt *= v;
        }
        if ((size_t)(r.end - r.p) / sizeof(float) < cnt) goto corrupt;
        t->data = malloc(cnt * sizeof(float));
        if (!t->data) goto nomem;
        get(&r, t->data, cnt * sizeof(float));
        bl->n++;
        /* A valid CRC only says the bytes are as written: weights that went
         * NaN/Inf before the save would evaluate to uniform probabilities. */
        for (size_t k = 0; k < cnt; k++)
            if (!isfinite(t->data[k])) {
                s = cf_error_set(err, CF_ERR_INVALID, "%s: tensor '%s' holds %s at element %zu: the file is unusable",
                                 path, t->name, isnan(t->data[k]) ? "NaN" : "an infinite value", k);
                cf_blob_free(bl);
                goto out;
            }
    }
    goto out;
corrupt:
    s = cf_error_set(err, CF_ERR_IO, "%s: malformed file structure", path);
    cf_blob_free(bl);
    goto out;
nomem:
    s = cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
    cf_blob_free(bl);
out:
    free(data);
    return s;
}

void cf_blob_free(cf_blob *bl)
{
    free(bl->text);
    for (int i = 0; i < bl->n; i++) free(bl->t[i].data);
    free(bl->t);
    memset(bl, 0, sizeof *bl);
}

const cf_blob_tensor *cf_blob_find(const cf_blob *bl, const char *name)
{
    for (int i = 0; i < bl->n; i++)
        if (!strcmp(bl->t[i].name, name)) return &bl->t[i];
    return NULL;
}
