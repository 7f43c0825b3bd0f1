/* Just enough JSON for one-object-per-line streams: the journal and the
 * trial's --json output. Reads top-level keys of a flat object (nested
 * values are skipped whole); NaN, Infinity and null read as NAN. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune.h"

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    return p;
}

/* Skip a string starting at the opening quote; returns past the closing one. */
static const char *skip_str(const char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1]) p++;
    return *p ? p + 1 : p;
}

static const char *skip_value(const char *p)
{
    p = ws(p);
    if (*p == '"') return skip_str(p);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (*p) {
            if (*p == '"') {
                p = skip_str(p);
                continue;
            }
            if (*p == '{' || *p == '[') depth++;
            else if (*p == '}' || *p == ']') {
                if (--depth == 0) return p + 1;
            }
            p++;
        }
        return p;
    }
    while (*p && *p != ',' && *p != '}' && *p != ']') p++;
    return p;
}

/* Position of the value of top-level `key`, or NULL. */
static const char *find_key(const char *line, const char *key)
{
    const char *p = ws(line);
    if (*p != '{') return NULL;
    p++;
    size_t kl = strlen(key);
    for (;;) {
        p = ws(p);
        if (*p != '"') return NULL;
        const char *k0 = p + 1, *k1 = skip_str(p);
        int match = (size_t)(k1 - 1 - k0) == kl && !strncmp(k0, key, kl);
        p = ws(k1);
        if (*p != ':') return NULL;
        p = ws(p + 1);
        if (match) return p;
        p = ws(skip_value(p));
        if (*p != ',') return NULL;
        p++;
    }
}

static int read_num(const char *p, double *out)
{
    if (!strncmp(p, "null", 4) || !strncmp(p, "NaN", 3) || !strncmp(p, "nan", 3) ||
        !strncmp(p, "\"NaN\"", 5) || !strncmp(p, "\"nan\"", 5)) {
        *out = NAN;
        return 1;
    }
    if (!strncmp(p, "Infinity", 8) || !strncmp(p, "inf", 3)) {
        *out = INFINITY;
        return 1;
    }
    if (!strncmp(p, "-Infinity", 9) || !strncmp(p, "-inf", 4)) {
        *out = -INFINITY;
        return 1;
    }
    char *end;
    double v = strtod(p, &end);
    if (end == p) return 0;
    *out = v;
    return 1;
}

int cf_tune_json_num_at(const char *line, const char *key, double *out)
{
    const char *p = find_key(line, key);
    return p ? read_num(p, out) : 0;
}

int cf_tune_json_str_at(const char *line, const char *key, char *out, size_t n)
{
    const char *p = find_key(line, key);
    if (!p || *p != '"' || n == 0) return 0;
    size_t o = 0;
    for (p++; *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\\' && p[1]) {
            p++;
            c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'u' ? '?' : *p;
            if (*p == 'u') p += strlen(p) >= 5 ? 4 : 0;
        }
        if (o + 1 < n) out[o++] = c;
    }
    out[o] = 0;
    return 1;
}

int cf_tune_json_nums_at(const char *line, const char *key, double *out, int max)
{
    const char *p = find_key(line, key);
    if (!p || *p != '[') return -1;
    p = ws(p + 1);
    int n = 0;
    while (*p && *p != ']') {
        double v;
        if (!read_num(p, &v)) return -1;
        if (n < max) out[n] = v;
        n++;
        p = ws(skip_value(p));
        if (*p == ',') p = ws(p + 1);
    }
    return n < max ? n : max;
}

void cf_tune_json_escape(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s && o + 7 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, n - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = 0;
}

void cf_tune_json_num(double v, char *out, size_t n)
{
    if (!isfinite(v)) snprintf(out, n, "null");
    else snprintf(out, n, "%.17g", v);
}

/* One line of trial output -> event. Keys with number values become metrics. */
cf_status cf_tune_parse_event_line(const char *line, cf_tune_event *ev, cf_error *err)
{
    char kind[32];
    memset(ev, 0, sizeof *ev);
    if (!cf_tune_json_str_at(line, "event", kind, sizeof kind))
        return cf_error_set(err, CF_ERR_INVALID, "trial output: not an event line: %.80s", line);
    if (!strcmp(kind, "epoch")) {
        ev->kind = CF_TEV_EPOCH;
    } else if (!strcmp(kind, "end")) {
        char status[32] = "";
        cf_tune_json_str_at(line, "status", status, sizeof status);
        ev->kind = !strcmp(status, "ok") ? CF_TEV_OK : CF_TEV_FAILED;
        if (ev->kind == CF_TEV_FAILED && !cf_tune_json_str_at(line, "message", ev->reason, sizeof ev->reason))
            snprintf(ev->reason, sizeof ev->reason, "train ended with status '%s'", status);
    } else {
        return CF_ERR_UNSUPPORTED; /* other events (start, batch, ...) are ignored */
    }
    double e;
    if (cf_tune_json_num_at(line, "epoch", &e) && isfinite(e)) ev->epoch = (int)e;
    /* walk the top-level keys, keep numeric ones */
    const char *p = ws(line);
    if (*p == '{') p++;
    while (ev->n_metrics < CF_TUNE_MAX_METRICS) {
        p = ws(p);
        if (*p != '"') break;
        const char *k0 = p + 1, *k1 = skip_str(p);
        p = ws(k1);
        if (*p != ':') break;
        p = ws(p + 1);
        double v;
        size_t kl = (size_t)(k1 - 1 - k0);
        if (*p != '"' && *p != '{' && *p != '[' && read_num(p, &v) && kl < sizeof ev->names[0]) {
            memcpy(ev->names[ev->n_metrics], k0, kl);
            ev->names[ev->n_metrics][kl] = 0;
            ev->values[ev->n_metrics++] = v;
        }
        p = ws(skip_value(p));
        if (*p != ',') break;
        p++;
    }
    return CF_OK;
}

double cf_tune_event_metric(const cf_tune_event *ev, const char *name)
{
    for (int i = 0; i < ev->n_metrics; i++)
        if (!strcmp(ev->names[i], name)) return ev->values[i];
    return NAN;
}
