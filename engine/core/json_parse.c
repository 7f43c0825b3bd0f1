/* clforge — a small recursive-descent JSON reader; see json_parse.h. */
#include "core/json_parse.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jp {
    const char *s, *end, *start;
    const char *what;
    cf_error *err;
} jp;

static cf_status jp_fail(jp *p, cf_status st, const char *msg)
{
    int line = 1, col = 1;
    for (const char *c = p->start; c < p->s && c < p->end; c++) {
        if (*c == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return cf_error_set(p->err, st, "%s:%d:%d: %s", p->what ? p->what : "json", line, col, msg);
}

static void jp_ws(jp *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
        p->s++;
}

static int jp_lit(jp *p, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(p->end - p->s) >= n && memcmp(p->s, lit, n) == 0) {
        p->s += n;
        return 1;
    }
    return 0;
}

static cf_jval *jv_new(cf_jval_type t)
{
    cf_jval *v = calloc(1, sizeof *v);
    if (v) v->type = t;
    return v;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(jp *p, unsigned *cp)
{
    if (p->end - p->s < 4) return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->s[i]);
        if (h < 0) return 0;
        v = v * 16 + (unsigned)h;
    }
    p->s += 4;
    *cp = v;
    return 1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* p->s is just past the opening quote. Escapes never grow the text (\uXXXX,
 * 6 bytes, becomes at most 4; a surrogate pair, 12 bytes, becomes 4), so the
 * raw span length bounds the output. */
static cf_status jp_string(jp *p, char **out)
{
    const char *q = p->s;
    while (q < p->end && *q != '"') {
        if (*q == '\\') q++;
        q++;
    }
    if (q >= p->end) return jp_fail(p, CF_ERR_INVALID, "unterminated string");
    char *buf = malloc((size_t)(q - p->s) + 1), *o = buf;
    if (!buf) return jp_fail(p, CF_ERR_NOMEM, "out of memory");
    while (*p->s != '"') {
        unsigned char c = (unsigned char)*p->s;
        if (c < 0x20) {
            free(buf);
            return jp_fail(p, CF_ERR_INVALID, "control character in string");
        }
        if (c != '\\') {
            *o++ = (char)c;
            p->s++;
            continue;
        }
        p->s++;
        char e = *p->s++;
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (!read_hex4(p, &cp)) {
                free(buf);
                return jp_fail(p, CF_ERR_INVALID, "bad \\u escape");
            }
            if (cp >= 0xD800 && cp < 0xDC00 && p->end - p->s >= 6 && p->s[0] == '\\' &&
                p->s[1] == 'u') {
                const char *save = p->s;
                p->s += 2;
                if (read_hex4(p, &lo) && lo >= 0xDC00 && lo < 0xE000)
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                else
                    p->s = save;
            }
            if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD; /* lone surrogate */
            o += put_utf8(o, cp);
            break;
        }
        default:
            free(buf);
            p->s--;
            return jp_fail(p, CF_ERR_INVALID, "bad escape in string");
        }
    }
    p->s++;
    *o = 0;
    *out = buf;
    return CF_OK;
}

static cf_status jp_value(jp *p, int depth, cf_jval **out);

static cf_status jp_push(jp *p, cf_jval *v, char *key, cf_jval *item, int *cap)
{
    if (v->n == *cap) {
        int nc = *cap ? *cap * 2 : 4;
        cf_jval **ni = realloc(v->items, (size_t)nc * sizeof *ni);
        if (!ni) return jp_fail(p, CF_ERR_NOMEM, "out of memory");
        v->items = ni;
        if (v->type == CF_JVAL_OBJECT) {
            char **nk = realloc(v->keys, (size_t)nc * sizeof *nk);
            if (!nk) return jp_fail(p, CF_ERR_NOMEM, "out of memory");
            v->keys = nk;
        }
        *cap = nc;
    }
    if (v->type == CF_JVAL_OBJECT) v->keys[v->n] = key;
    v->items[v->n++] = item;
    return CF_OK;
}

static cf_status jp_container(jp *p, int depth, cf_jval_type t, cf_jval **out)
{
    char close = t == CF_JVAL_ARRAY ? ']' : '}';
    cf_jval *v = jv_new(t);
    if (!v) return jp_fail(p, CF_ERR_NOMEM, "out of memory");
    int cap = 0;
    cf_status st = CF_OK;
    p->s++;
    jp_ws(p);
    if (p->s < p->end && *p->s == close) {
        p->s++;
        *out = v;
        return CF_OK;
    }
    for (;;) {
        char *key = NULL;
        cf_jval *item = NULL;
        jp_ws(p);
        if (t == CF_JVAL_OBJECT) {
            if (p->s >= p->end || *p->s != '"') {
                st = jp_fail(p, CF_ERR_INVALID, "expected a string key");
                break;
            }
            p->s++;
            if ((st = jp_string(p, &key)) != CF_OK) break;
            jp_ws(p);
            if (p->s >= p->end || *p->s != ':') {
                free(key);
                st = jp_fail(p, CF_ERR_INVALID, "expected ':' after key");
                break;
            }
            p->s++;
        }
        if ((st = jp_value(p, depth + 1, &item)) != CF_OK) {
            free(key);
            break;
        }
        if ((st = jp_push(p, v, key, item, &cap)) != CF_OK) {
            free(key);
            cf_jval_free(item);
            break;
        }
        jp_ws(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            continue;
        }
        if (p->s < p->end && *p->s == close) {
            p->s++;
            *out = v;
            return CF_OK;
        }
        st = jp_fail(p, CF_ERR_INVALID,
                     t == CF_JVAL_ARRAY ? "expected ',' or ']'" : "expected ',' or '}'");
        break;
    }
    cf_jval_free(v);
    return st;
}

static cf_status jp_number(jp *p, cf_jval **out)
{
    const char *q = p->s;
    if (q < p->end && *q == '-') q++;
    if (q >= p->end || !((*q >= '0' && *q <= '9'))) return jp_fail(p, CF_ERR_INVALID, "bad number");
    while (q < p->end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' ||
                          *q == '+' || *q == '-'))
        q++;
    char tmp[64];
    size_t n = (size_t)(q - p->s);
    if (n >= sizeof tmp) return jp_fail(p, CF_ERR_INVALID, "number too long");
    memcpy(tmp, p->s, n);
    tmp[n] = 0;
    char *e;
    errno = 0;
    double d = strtod(tmp, &e);
    if (*e) return jp_fail(p, CF_ERR_INVALID, "bad number");
    cf_jval *v = jv_new(CF_JVAL_NUMBER);
    if (!v) return jp_fail(p, CF_ERR_NOMEM, "out of memory");
    v->num = d;
    p->s = q;
    *out = v;
    return CF_OK;
}

static cf_status jp_value(jp *p, int depth, cf_jval **out)
{
    if (depth > CF_JVAL_MAX_DEPTH) return jp_fail(p, CF_ERR_INVALID, "nesting too deep");
    jp_ws(p);
    if (p->s >= p->end) return jp_fail(p, CF_ERR_INVALID, "unexpected end of input");
    char c = *p->s;
    if (c == '{') return jp_container(p, depth, CF_JVAL_OBJECT, out);
    if (c == '[') return jp_container(p, depth, CF_JVAL_ARRAY, out);
    if (c == '"') {
        char *s;
        p->s++;
        CF_TRY(jp_string(p, &s));
        cf_jval *v = jv_new(CF_JVAL_STRING);
        if (!v) {
            free(s);
            return jp_fail(p, CF_ERR_NOMEM, "out of memory");
        }
        v->str = s;
        *out = v;
        return CF_OK;
    }
    cf_jval_type t = CF_JVAL_NULL;
    double num = 0;
    if (jp_lit(p, "true")) {
        t = CF_JVAL_BOOL;
        num = 1;
    } else if (jp_lit(p, "false")) {
        t = CF_JVAL_BOOL;
    } else if (jp_lit(p, "null")) {
        t = CF_JVAL_NULL;
    } else if (jp_lit(p, "NaN")) {
        t = CF_JVAL_NUMBER;
        num = NAN;
    } else if (jp_lit(p, "Infinity")) {
        t = CF_JVAL_NUMBER;
        num = INFINITY;
    } else if (jp_lit(p, "-Infinity")) {
        t = CF_JVAL_NUMBER;
        num = -INFINITY;
    } else {
        return jp_number(p, out);
    }
    cf_jval *v = jv_new(t);
    if (!v) return jp_fail(p, CF_ERR_NOMEM, "out of memory");
    v->num = num;
    *out = v;
    return CF_OK;
}

cf_status cf_jval_parse(const char *text, size_t len, const char *what, cf_jval **out,
                        cf_error *err)
{
    jp p = {text, text + len, text, what, err};
    cf_jval *v = NULL;
    *out = NULL;
    CF_TRY(jp_value(&p, 0, &v));
    jp_ws(&p);
    if (p.s != p.end) {
        cf_jval_free(v);
        return jp_fail(&p, CF_ERR_INVALID, "trailing characters after the value");
    }
    *out = v;
    return CF_OK;
}

cf_status cf_jval_parse_file(const char *path, cf_jval **out, cf_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return cf_error_set(err, CF_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap) break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
    if (bad) {
        free(buf);
        return cf_error_set(err, CF_ERR_IO, "%s: read error", path);
    }
    cf_status st = cf_jval_parse(buf, n, path, out, err);
    free(buf);
    return st;
}

void cf_jval_free(cf_jval *v)
{
    if (!v) return;
    for (int i = 0; i < v->n; i++) {
        cf_jval_free(v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

const cf_jval *cf_jval_get(const cf_jval *obj, const char *key)
{
    if (!obj || obj->type != CF_JVAL_OBJECT || !key) return NULL;
    for (int i = obj->n - 1; i >= 0; i--) /* last duplicate wins, as in most readers */
        if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
    return NULL;
}

const cf_jval *cf_jval_path(const cf_jval *v, const char *path)
{
    char key[256];
    while (v && path && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key) return NULL;
        memcpy(key, path, n);
        key[n] = 0;
        v = cf_jval_get(v, key);
        path = dot ? dot + 1 : NULL;
    }
    return v;
}

const cf_jval *cf_jval_at(const cf_jval *arr, int i)
{
    if (!arr || (arr->type != CF_JVAL_ARRAY && arr->type != CF_JVAL_OBJECT) || i < 0 ||
        i >= arr->n)
        return NULL;
    return arr->items[i];
}

int cf_jval_len(const cf_jval *v)
{
    return v && (v->type == CF_JVAL_ARRAY || v->type == CF_JVAL_OBJECT) ? v->n : 0;
}

double cf_jval_num(const cf_jval *v, double def)
{
    return v && (v->type == CF_JVAL_NUMBER || v->type == CF_JVAL_BOOL) ? v->num : def;
}

const char *cf_jval_str(const cf_jval *v, const char *def)
{
    return v && v->type == CF_JVAL_STRING ? v->str : def;
}
