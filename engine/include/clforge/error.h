/* clforge — error reporting shared by the engine, backends and plugins.
 *
 * Library code never exits: every fallible call returns a cf_status and, on
 * failure, fills a caller-provided cf_error with one human-readable line that
 * names the place (file:line, path, tensor, OpenCL call, ...). Only the CLI
 * decides to exit. */
#ifndef CLFORGE_ERROR_H
#define CLFORGE_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cf_status {
    CF_OK = 0,
    CF_ERR_INVALID = 1,     /* bad argument, bad config value */
    CF_ERR_IO = 2,          /* file missing, unreadable, corrupt */
    CF_ERR_NOMEM = 3,       /* host or device out of memory */
    CF_ERR_UNSUPPORTED = 4, /* op/feature not available on this backend */
    CF_ERR_BACKEND = 5,     /* device/driver failure */
    CF_ERR_PLUGIN = 6,      /* plugin could not be loaded or refused */
    CF_ERR_NUMERIC = 7,     /* NaN/Inf where a finite value is required */
    CF_ERR_INTERRUPTED = 8  /* stopped on request (signal, pruning) */
} cf_status;

#define CF_ERROR_MSG_MAX 1024

typedef struct cf_error {
    cf_status status;
    char msg[CF_ERROR_MSG_MAX];
} cf_error;

/* Set err (may be NULL) and return status. printf-style. */
cf_status cf_error_set(cf_error *err, cf_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
cf_status cf_error_setv(cf_error *err, cf_status status, const char *fmt, va_list ap);
/* Prefix an existing message: "ctx: old message". */
cf_status cf_error_prefix(cf_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cf_error_clear(cf_error *err);
const char *cf_status_name(cf_status s);

#define CF_TRY(expr)                                                                               \
    do {                                                                                           \
        cf_status cf_try_s_ = (expr);                                                              \
        if (cf_try_s_ != CF_OK) return cf_try_s_;                                                  \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
