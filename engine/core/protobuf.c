/* clforge — protocol-buffers wire format, little-endian fixed fields (see protobuf.h). */
#include "core/protobuf.h"

#include <stdlib.h>
#include <string.h>

static void put(cf_pb *b, const void *data, size_t n)
{
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 64;
        while (nc < b->len + n) nc *= 2;
        unsigned char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void raw_varint(cf_pb *b, uint64_t v)
{
    unsigned char tmp[10];
    int n = 0;
    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) tmp[n] |= 0x80;
        n++;
    } while (v);
    put(b, tmp, (size_t)n);
}

static void key(cf_pb *b, int field, int wire) { raw_varint(b, ((uint64_t)field << 3) | (uint64_t)wire); }

static void le(cf_pb *b, uint64_t v, int n)
{
    unsigned char tmp[8];
    for (int i = 0; i < n; i++) tmp[i] = (unsigned char)(v >> (8 * i));
    put(b, tmp, (size_t)n);
}

void cf_pb_varint(cf_pb *b, int field, uint64_t v)
{
    key(b, field, 0);
    raw_varint(b, v);
}

void cf_pb_double(cf_pb *b, int field, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    key(b, field, 1);
    le(b, u, 8);
}

void cf_pb_float(cf_pb *b, int field, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    key(b, field, 5);
    le(b, u, 4);
}

void cf_pb_bytes(cf_pb *b, int field, const void *data, size_t n)
{
    key(b, field, 2);
    raw_varint(b, n);
    put(b, data, n);
}

void cf_pb_str(cf_pb *b, int field, const char *s) { cf_pb_bytes(b, field, s, strlen(s)); }

void cf_pb_msg(cf_pb *b, int field, const cf_pb *sub)
{
    if (sub->oom) b->oom = 1;
    cf_pb_bytes(b, field, sub->p, sub->len);
}

void cf_pb_free(cf_pb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
