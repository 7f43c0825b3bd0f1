/* clforge — a minimal protocol-buffers encoder: the three wire types the
 * TensorBoard event protos need (varint, 64/32-bit fixed, length-delimited).
 * Nested messages are encoded into their own buffer and appended with
 * cf_pb_msg. Allocation failure is sticky (oom), checked once at the end. */
#ifndef CF_PROTOBUF_H
#define CF_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct cf_pb {
    unsigned char *p;
    size_t len, cap;
    int oom;
} cf_pb;

void cf_pb_varint(cf_pb *b, int field, uint64_t v);   /* wire type 0 (int32/64, enum, bool) */
void cf_pb_double(cf_pb *b, int field, double v);     /* wire type 1 */
void cf_pb_float(cf_pb *b, int field, float v);       /* wire type 5 */
void cf_pb_bytes(cf_pb *b, int field, const void *data, size_t n); /* wire type 2 */
void cf_pb_str(cf_pb *b, int field, const char *s);
void cf_pb_msg(cf_pb *b, int field, const cf_pb *sub); /* an empty sub still writes the field */
void cf_pb_free(cf_pb *b);

#endif
