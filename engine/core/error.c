/* Error values: one line, filled by the failing callee, prefixed by callers. */
#include <stdio.h>
#include <string.h>

#include "clforge/error.h"

cf_status cf_error_setv(cf_error *err, cf_status status, const char *fmt, va_list ap)
{
    if (err) {
        err->status = status;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return status;
}

cf_status cf_error_set(cf_error *err, cf_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cf_error_setv(err, status, fmt, ap);
    va_end(ap);
    return status;
}

cf_status cf_error_prefix(cf_error *err, const char *fmt, ...)
{
    if (!err) return CF_ERR_INVALID;
    char head[CF_ERROR_MSG_MAX], old[CF_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", head, old);
    return err->status;
}

void cf_error_clear(cf_error *err)
{
    if (err) {
        err->status = CF_OK;
        err->msg[0] = '\0';
    }
}

const char *cf_status_name(cf_status s)
{
    switch (s) {
    case CF_OK: return "ok";
    case CF_ERR_INVALID: return "invalid";
    case CF_ERR_IO: return "i/o error";
    case CF_ERR_NOMEM: return "out of memory";
    case CF_ERR_UNSUPPORTED: return "unsupported";
    case CF_ERR_BACKEND: return "backend error";
    case CF_ERR_PLUGIN: return "plugin error";
    case CF_ERR_NUMERIC: return "numeric error";
    case CF_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown";
}
