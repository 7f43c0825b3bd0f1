/* clforge — Small portable helpers: strings, files, a growable buffer, JSON writing. */
#ifndef CLFORGE_CORE_UTIL_H
#define CLFORGE_CORE_UTIL_H

#include <stddef.h>
#include "clforge/clforge.h"

/* ---- util.c --------------------------------------------------------------- */
char *cf_strdup(const char *s);
void *cf_calloc(size_t n, size_t size); /* NULL on overflow/OOM */
double cf_now(void);                    /* monotonic seconds */
cf_status cf_mkdir_p(const char *path, cf_error *err);
cf_status cf_rm_rf(const char *path);   /* best effort */
/* Write `len` bytes to path atomically: tmp file, fsync, rename. */
cf_status cf_write_file_atomic(const char *path, const void *data, size_t len, cf_error *err);
cf_status cf_read_file(const char *path, char **data, size_t *len, cf_error *err);
int cf_file_exists(const char *path);

/* Growable string buffer. An append that cannot grow it sets oom, and later
 * appends are dropped: a writer checks cf_sbuf_ok before using the text, so a
 * text cut short is never written as if whole. */
typedef struct cf_sbuf {
    char *s;
    size_t len, cap;
    int oom;
} cf_sbuf;
static inline int cf_sbuf_ok(const cf_sbuf *b) { return b->s && !b->oom; }
void cf_sbuf_printf(cf_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cf_sbuf_free(cf_sbuf *b);

/* ---- json.c ------------------------------------------------------------------- */
void cf_json_str(cf_sbuf *b, const char *s); /* quoted, escaped */
void cf_json_num(cf_sbuf *b, double v);      /* null for NaN/Inf */

#endif
