/* libconfig files: loading with file:line errors, --set overrides by dotted
 * path, and writing the resolved config back as text. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/config_file.h"

static cf_status finish_load(cf_config *c, int ok, const char *name, cf_error *err)
{
    if (!ok) {
        const char *f = config_error_file(&c->cfg);
        cf_status s = config_error_type(&c->cfg) == CONFIG_ERR_FILE_IO
                          ? cf_error_set(err, CF_ERR_IO, "%s: cannot read config file", name)
                          : cf_error_set(err, CF_ERR_INVALID, "%s:%d: syntax error: %s",
                                         f ? f : name, config_error_line(&c->cfg),
                                         config_error_text(&c->cfg));
        config_destroy(&c->cfg);
        return s;
    }
    return CF_OK;
}

cf_status cf_config_load(cf_config *c, const char *path, cf_error *err)
{
    memset(c, 0, sizeof *c);
    config_init(&c->cfg);
    snprintf(c->path, sizeof c->path, "%s", path);
    if (!cf_file_exists(path)) {
        config_destroy(&c->cfg);
        return cf_error_set(err, CF_ERR_IO, "%s: config file not found", path);
    }
    /* @include paths resolve relative to the config's directory. */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        config_set_include_dir(&c->cfg, dir);
    }
    return finish_load(c, config_read_file(&c->cfg, path), path, err);
}

cf_status cf_config_load_string(cf_config *c, const char *text, const char *name, cf_error *err)
{
    memset(c, 0, sizeof *c);
    config_init(&c->cfg);
    snprintf(c->path, sizeof c->path, "%s", name);
    return finish_load(c, config_read_string(&c->cfg, text), name, err);
}

void cf_config_free(cf_config *c)
{
    config_destroy(&c->cfg);
    free(c->text);
    c->text = NULL;
}

const char *cf_config_where(const cf_config *c, const config_setting_t *s, char *buf, size_t cap)
{
    int line = s ? (int)config_setting_source_line(s) : 0;
    const char *f = s ? config_setting_source_file(s) : NULL;
    if (line > 0) snprintf(buf, cap, "%s:%d", f ? f : c->path, line);
    else snprintf(buf, cap, "%s (--set)", c->path);
    return buf;
}

/* Classify override text: int, float, bool, quoted string or bare string. */
static int value_type(const char *v)
{
    if (!strcmp(v, "true") || !strcmp(v, "false")) return CONFIG_TYPE_BOOL;
    if (*v == '"') return CONFIG_TYPE_STRING;
    if (*v == '[') return CONFIG_TYPE_ARRAY;
    char *end;
    errno = 0;
    long long ll = strtoll(v, &end, 10);
    (void)ll;
    if (end != v && !*end && !errno) return CONFIG_TYPE_INT;
    errno = 0;
    strtod(v, &end);
    if (end != v && !*end && !errno) return CONFIG_TYPE_FLOAT;
    return CONFIG_TYPE_STRING;
}

static cf_status assign(config_setting_t *s, const char *key, const char *v, cf_error *err)
{
    int t = config_setting_type(s);
    char *end;
    switch (t) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        /* libconfig stores an int setting out of int's range as 0, which the
         * range check would then report as "'epochs' = 0" */
        if (end != v && !*end && (errno == ERANGE || (t == CONFIG_TYPE_INT && (x > INT_MAX || x < INT_MIN))))
            return cf_error_set(err, CF_ERR_INVALID, "--set %s: %s is out of range for an integer", key, v);
        if (end == v || *end) {
            double d = strtod(v, &end);
            if (end == v || *end)
                return cf_error_set(err, CF_ERR_INVALID, "--set %s: expects an integer, got '%s'",
                                    key, v);
            /* the user gave a float where the file had an int: take the float */
            return config_setting_set_float(s, d) ? CF_OK
                                                  : cf_error_set(err, CF_ERR_INVALID, "--set %s: cannot set", key);
        }
        config_setting_set_int64(s, x);
        return CF_OK;
    }
    case CONFIG_TYPE_FLOAT: {
        double d = strtod(v, &end);
        if (end == v || *end)
            return cf_error_set(err, CF_ERR_INVALID, "--set %s: expects a number, got '%s'", key, v);
        config_setting_set_float(s, d);
        return CF_OK;
    }
    case CONFIG_TYPE_BOOL:
        if (strcmp(v, "true") && strcmp(v, "false"))
            return cf_error_set(err, CF_ERR_INVALID, "--set %s: expects true or false, got '%s'",
                                key, v);
        config_setting_set_bool(s, !strcmp(v, "true"));
        return CF_OK;
    case CONFIG_TYPE_STRING: {
        char buf[1024];
        size_t n = strlen(v);
        if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
            snprintf(buf, sizeof buf, "%.*s", (int)(n - 2), v + 1);
            v = buf;
        }
        config_setting_set_string(s, v);
        return CF_OK;
    }
    default:
        return cf_error_set(err, CF_ERR_INVALID, "--set %s: cannot override a %s with a scalar", key,
                            t == CONFIG_TYPE_GROUP ? "group" : "list");
    }
}

/* Element of a list addressed by number or by its plugin/name/key value. */
static config_setting_t *list_elem(config_setting_t *list, const char *part)
{
    char *end;
    long idx = strtol(part, &end, 10);
    if (end != part && !*end) return config_setting_get_elem(list, (unsigned)idx);
    int n = config_setting_length(list);
    static const char *const keys[] = {"plugin", "name", "key"};
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP) continue;
        for (int k = 0; k < 3; k++) {
            const char *v;
            if (config_setting_lookup_string(e, keys[k], &v) && !strcmp(v, part)) return e;
        }
    }
    return NULL;
}

static cf_status set_array(config_setting_t *parent, const char *name, const char *v,
                           const char *key, cf_error *err)
{
    config_setting_t *old = config_setting_get_member(parent, name);
    if (old) config_setting_remove(parent, name);
    config_setting_t *a = config_setting_add(parent, name, CONFIG_TYPE_ARRAY);
    if (!a) return cf_error_set(err, CF_ERR_INVALID, "--set %s: cannot create array", key);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", v + 1);
    char *close = strrchr(buf, ']');
    if (close) *close = '\0';
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok)) tok++;
        char *e = tok + strlen(tok);
        while (e > tok && isspace((unsigned char)e[-1])) *--e = '\0';
        int t = value_type(tok);
        config_setting_t *el = config_setting_add(a, NULL, t == CONFIG_TYPE_BOOL ? CONFIG_TYPE_BOOL : t);
        if (!el) return cf_error_set(err, CF_ERR_INVALID, "--set %s: array elements must share one type", key);
        CF_TRY(assign(el, key, tok, err));
    }
    return CF_OK;
}

cf_status cf_config_set(cf_config *c, const char *assignment, cf_error *err)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return cf_error_set(err, CF_ERR_INVALID, "--set '%s': expected key=value", assignment);
    char key[512];
    snprintf(key, sizeof key, "%.*s", (int)(eq - assignment), assignment);
    const char *val = eq + 1;
    config_setting_t *cur = config_root_setting(&c->cfg);
    char path[512];
    snprintf(path, sizeof path, "%s", key);
    char *save = NULL, *part = strtok_r(path, ".", &save);
    while (part) {
        char *next = strtok_r(NULL, ".", &save);
        int ct = config_setting_type(cur);
        config_setting_t *child = ct == CONFIG_TYPE_GROUP ? config_setting_get_member(cur, part)
                                                          : list_elem(cur, part);
        if (!next) { /* leaf */
            if (*val == '[') {
                if (ct != CONFIG_TYPE_GROUP)
                    return cf_error_set(err, CF_ERR_INVALID, "--set %s: cannot set inside a list", key);
                return set_array(cur, part, val, key, err);
            }
            if (!child) {
                if (ct != CONFIG_TYPE_GROUP)
                    return cf_error_set(err, CF_ERR_INVALID, "--set %s: no list element '%s'", key, part);
                child = config_setting_add(cur, part, value_type(val));
                if (!child)
                    return cf_error_set(err, CF_ERR_INVALID, "--set %s: invalid key '%s'", key, part);
            }
            return assign(child, key, val, err);
        }
        if (!child) {
            if (ct != CONFIG_TYPE_GROUP)
                return cf_error_set(err, CF_ERR_INVALID,
                                    "--set %s: no element '%s' in the list (use an index, or the "
                                    "element's plugin/name)",
                                    key, part);
            child = config_setting_add(cur, part, CONFIG_TYPE_GROUP);
            if (!child) return cf_error_set(err, CF_ERR_INVALID, "--set %s: invalid key '%s'", key, part);
        }
        int t = config_setting_type(child);
        if (t != CONFIG_TYPE_GROUP && t != CONFIG_TYPE_LIST)
            return cf_error_set(err, CF_ERR_INVALID, "--set %s: '%s' is a value, not a group", key, part);
        cur = child;
        part = next;
    }
    return CF_OK;
}

void cf_config_put_str(cf_sbuf *b, const char *s)
{
    cf_sbuf_printf(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') cf_sbuf_printf(b, "\\%c", *s);
        else cf_sbuf_printf(b, "%c", (unsigned char)*s < 0x20 ? ' ' : *s);
    }
    cf_sbuf_printf(b, "\"");
}

cf_status cf_config_put_numbers(cf_config *c, const char *group, const char *name, const double *v,
                                int n, cf_error *err)
{
    config_setting_t *root = config_root_setting(&c->cfg);
    config_setting_t *g = config_setting_get_member(root, group);
    if (!g) g = config_setting_add(root, group, CONFIG_TYPE_GROUP);
    if (!g || config_setting_type(g) != CONFIG_TYPE_GROUP)
        return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' is not a group", c->path, group);
    if (config_setting_get_member(g, name)) config_setting_remove(g, name);
    config_setting_t *a = config_setting_add(g, name, CONFIG_TYPE_ARRAY);
    if (!a) return cf_error_set(err, CF_ERR_INVALID, "%s: cannot set %s.%s", c->path, group, name);
    /* Nine significant digits, as written; whole numbers as ints (an array
     * holds one type, so any fraction makes them all floats). */
    char txt[64];
    int all_int = 1;
    for (int i = 0; i < n; i++) {
        snprintf(txt, sizeof txt, "%.9g", v[i]);
        all_int &= value_type(txt) == CONFIG_TYPE_INT;
    }
    for (int i = 0; i < n; i++) {
        snprintf(txt, sizeof txt, "%.9g", v[i]);
        config_setting_t *e = config_setting_add(a, NULL, all_int ? CONFIG_TYPE_INT : CONFIG_TYPE_FLOAT);
        if (!e) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        if (all_int) config_setting_set_int(e, (int)strtol(txt, NULL, 10));
        else config_setting_set_float(e, strtod(txt, NULL));
    }
    return CF_OK;
}

char *cf_config_to_string(cf_config *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    config_write(&c->cfg, f);
    fclose(f);
    return buf;
}
