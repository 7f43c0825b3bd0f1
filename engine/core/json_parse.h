/* clforge — a small JSON reader (DOM) for the run directory's files.
 *
 * Reads metrics.jsonl lines, summary.json and similar files the engine writes
 * itself. Strict JSON plus the tokens NaN, Infinity and -Infinity (which
 * Python's json module and printf-based writers emit for non-finite values).
 * Errors name line and column. Nesting is limited to CF_JVAL_MAX_DEPTH. */
#ifndef CF_JSON_PARSE_H
#define CF_JSON_PARSE_H

#include <stddef.h>

#include "clforge/error.h"

#define CF_JVAL_MAX_DEPTH 64

typedef enum cf_jval_type {
    CF_JVAL_NULL = 0,
    CF_JVAL_BOOL,
    CF_JVAL_NUMBER,
    CF_JVAL_STRING,
    CF_JVAL_ARRAY,
    CF_JVAL_OBJECT
} cf_jval_type;

typedef struct cf_jval cf_jval;
struct cf_jval {
    cf_jval_type type;
    double num;     /* NUMBER; BOOL as 0/1 */
    char *str;      /* STRING, UTF-8, NUL-terminated (embedded \u0000 ends it) */
    int n;          /* ARRAY/OBJECT: number of items */
    cf_jval **items;
    char **keys;    /* OBJECT: keys[i] names items[i] */
};

/* Parse exactly one value (surrounding whitespace allowed). `what` names the
 * source in error messages ("summary.json"); may be NULL. */
cf_status cf_jval_parse(const char *text, size_t len, const char *what, cf_jval **out,
                        cf_error *err);
/* Read and parse a whole file. */
cf_status cf_jval_parse_file(const char *path, cf_jval **out, cf_error *err);
void cf_jval_free(cf_jval *v);

/* Lookups are NULL-safe: a missing key or a wrong type yields NULL / def. */
const cf_jval *cf_jval_get(const cf_jval *obj, const char *key);
/* Dotted path: "test.macro.f1". */
const cf_jval *cf_jval_path(const cf_jval *v, const char *path);
const cf_jval *cf_jval_at(const cf_jval *arr, int i);
int cf_jval_len(const cf_jval *v); /* ARRAY/OBJECT item count, else 0 */
double cf_jval_num(const cf_jval *v, double def);
const char *cf_jval_str(const cf_jval *v, const char *def);

#endif
