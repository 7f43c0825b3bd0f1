/* Minimal JSON writing for metrics.jsonl, summary.json and --json events. */
#include <math.h>

#include "core/util.h"

void cf_json_str(cf_sbuf *b, const char *s)
{
    cf_sbuf_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': cf_sbuf_printf(b, "\\\""); break;
        case '\\': cf_sbuf_printf(b, "\\\\"); break;
        case '\n': cf_sbuf_printf(b, "\\n"); break;
        case '\r': cf_sbuf_printf(b, "\\r"); break;
        case '\t': cf_sbuf_printf(b, "\\t"); break;
        default:
            if (*p < 0x20) cf_sbuf_printf(b, "\\u%04x", *p);
            else cf_sbuf_printf(b, "%c", *p);
        }
    }
    cf_sbuf_printf(b, "\"");
}

void cf_json_num(cf_sbuf *b, double v)
{
    if (!isfinite(v)) cf_sbuf_printf(b, "null");
    else cf_sbuf_printf(b, "%.10g", v);
}
