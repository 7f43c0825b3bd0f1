/* Parameter tables as data: validation of config groups and key=value text
 * against a cf_param_def table, typed access, and the help/doc renderings. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "core/params.h"

const char *cf_param_type_name(cf_param_type t)
{
    switch (t) {
    case CF_PT_INT: return "int";
    case CF_PT_FLOAT: return "float";
    case CF_PT_BOOL: return "bool";
    case CF_PT_STRING: return "string";
    case CF_PT_STRING_LIST: return "string list";
    case CF_PT_FLOAT_LIST: return "float list";
    case CF_PT_GROUP: return "group";
    default: return "?";
    }
}

const cf_param_def *cf_param_find(const cf_param_def *defs, const char *name)
{
    for (const cf_param_def *d = defs; d && d->name; d++)
        if (!strcmp(d->name, name)) return d;
    return NULL;
}

static int n_defs(const cf_param_def *defs)
{
    int n = 0;
    while (defs && defs[n].name) n++;
    return n;
}

static cf_param_value *find_value(const cf_params *p, const char *name)
{
    if (!p) return NULL;
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->v[i].def->name, name)) return &p->v[i];
    return NULL;
}

static int has_range(const cf_param_def *d) { return d->min <= d->max; }

static int choice_ok(const char *choices, const char *s)
{
    size_t n = strlen(s);
    for (const char *c = choices; *c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && !strncmp(c, s, n)) return 1;
        if (!bar) break;
        c = bar + 1;
    }
    return 0;
}

static void describe_allowed(const cf_param_def *d, char *buf, size_t cap)
{
    if (d->type == CF_PT_STRING && d->choices)
        snprintf(buf, cap, "one of %s", d->choices);
    else if (d->type == CF_PT_BOOL)
        snprintf(buf, cap, "true or false");
    else if ((d->type == CF_PT_INT || d->type == CF_PT_FLOAT || d->type == CF_PT_FLOAT_LIST) &&
             has_range(d))
        snprintf(buf, cap, "%s in [%g, %g]", cf_param_type_name(d->type), d->min, d->max);
    else
        snprintf(buf, cap, "a %s", cf_param_type_name(d->type));
}

/* Check number against type/range; msg names `where`. */
static cf_status check_num(const cf_param_def *d, double v, const char *where, cf_error *err)
{
    char allowed[256];
    if (!isfinite(v)) {
        describe_allowed(d, allowed, sizeof allowed);
        return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' must be finite (allowed: %s)", where,
                            d->name, allowed);
    }
    if (d->type == CF_PT_INT && v != floor(v)) {
        describe_allowed(d, allowed, sizeof allowed);
        return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' must be an integer, got %g (allowed: %s)",
                            where, d->name, v, allowed);
    }
    if (has_range(d) && (v < d->min || v > d->max)) {
        describe_allowed(d, allowed, sizeof allowed);
        return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' = %g is out of range (allowed: %s)",
                            where, d->name, v, allowed);
    }
    return CF_OK;
}

static cf_status parse_num_text(const cf_param_def *d, const char *s, double *v, const char *where,
                                cf_error *err)
{
    char allowed[256];
    if (d->type == CF_PT_BOOL) {
        if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes")) *v = 1;
        else if (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no")) *v = 0;
        else
            return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' expects true or false, got '%s'",
                                where, d->name, s);
        return CF_OK;
    }
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    while (*end == ' ') end++;
    if (end == s || *end || errno) {
        describe_allowed(d, allowed, sizeof allowed);
        return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' expects %s, got '%s'", where, d->name,
                            allowed, s);
    }
    return check_num(d, *v, where, err);
}

static cf_status set_from_text(cf_param_value *pv, const char *s, const char *where, cf_error *err)
{
    const cf_param_def *d = pv->def;
    switch (d->type) {
    case CF_PT_INT:
    case CF_PT_FLOAT:
    case CF_PT_BOOL:
        return parse_num_text(d, s, &pv->num, where, err);
    case CF_PT_STRING:
        if (d->choices && !choice_ok(d->choices, s))
            return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' = \"%s\" is not allowed (allowed: %s)",
                                where, d->name, s, d->choices);
        free(pv->str);
        pv->str = cf_strdup(s);
        if (!pv->str) return cf_error_set(err, CF_ERR_NOMEM, "%s: '%s': out of memory", where, d->name);
        return CF_OK;
    case CF_PT_STRING_LIST:
    case CF_PT_FLOAT_LIST: {
        /* Comma-separated text ("10,20" or "fc1,fc2"). */
        for (int i = 0; i < pv->n_list; i++) free(pv->list_str ? pv->list_str[i] : NULL);
        free(pv->list_str);
        free(pv->list_num);
        pv->list_str = NULL;
        pv->list_num = NULL;
        pv->n_list = 0;
        int cap = 1;
        for (const char *c = s; *c; c++) cap += *c == ',';
        pv->list_str = cf_calloc((size_t)cap, sizeof(char *));
        pv->list_num = cf_calloc((size_t)cap, sizeof(double));
        if (!pv->list_str || !pv->list_num)
            return cf_error_set(err, CF_ERR_NOMEM, "%s: '%s': out of memory", where, d->name);
        const char *c = s;
        while (*c) {
            while (*c == ' ' || *c == '[') c++;
            const char *e = c;
            while (*e && *e != ',' && *e != ']') e++;
            const char *t = e;
            while (t > c && (t[-1] == ' ' || t[-1] == '"')) t--;
            while (*c == '"') c++;
            if (t > c) {
                char item[256];
                snprintf(item, sizeof item, "%.*s", (int)(t - c), c);
                pv->list_str[pv->n_list] = cf_strdup(item);
                if (!pv->list_str[pv->n_list])
                    return cf_error_set(err, CF_ERR_NOMEM, "%s: '%s': out of memory", where, d->name);
                pv->n_list++; /* counted before parsing, so that an error frees it too */
                if (d->type == CF_PT_FLOAT_LIST)
                    CF_TRY(parse_num_text(d, item, &pv->list_num[pv->n_list - 1], where, err));
            }
            c = *e ? e + 1 : e;
            if (*c == ']') break;
        }
        return CF_OK;
    }
    default:
        return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' has an unknown type", where, d->name);
    }
}

static cf_status params_alloc(const cf_param_def *defs, cf_params **out, cf_error *err)
{
    cf_params *p = cf_calloc(1, sizeof *p);
    if (!p) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    p->n = n_defs(defs);
    p->v = cf_calloc((size_t)p->n, sizeof *p->v);
    if (!p->v) {
        free(p);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < p->n; i++) p->v[i].def = &defs[i];
    *out = p;
    return CF_OK;
}

/* Defaults for everything not set; a missing required parameter is an error. */
static cf_status params_finish(cf_params *p, cf_error *err)
{
    for (int i = 0; i < p->n; i++) {
        cf_param_value *pv = &p->v[i];
        if (pv->is_set || pv->def->type == CF_PT_GROUP) continue;
        if (!pv->def->def)
            return cf_error_set(err, CF_ERR_INVALID, "%s: required parameter '%s' is missing (%s)",
                                p->where, pv->def->name, pv->def->doc ? pv->def->doc : "");
        CF_TRY(set_from_text(pv, pv->def->def, "default", err));
    }
    return CF_OK;
}

cf_status cf_params_from_kv(const cf_param_def *defs, const char *const *kv, int n_kv,
                            cf_params **out, cf_error *err)
{
    cf_params *p;
    CF_TRY(params_alloc(defs, &p, err));
    snprintf(p->where, sizeof p->where, "parameters");
    for (int i = 0; i + 1 < n_kv; i += 2) {
        cf_param_value *pv = find_value(p, kv[i]);
        if (!pv) {
            cf_params_free(p);
            return cf_error_set(err, CF_ERR_INVALID, "unknown parameter '%s'", kv[i]);
        }
        cf_status s = set_from_text(pv, kv[i + 1], kv[i], err);
        if (s) {
            cf_params_free(p);
            return s;
        }
        pv->is_set = 1;
    }
    cf_status s = params_finish(p, err);
    if (s) {
        cf_params_free(p);
        return s;
    }
    *out = p;
    return CF_OK;
}

static const char *setting_type_name(int t)
{
    switch (t) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    case CONFIG_TYPE_GROUP: return "a group";
    }
    return "?";
}

static int skip_key(const char *skip, const char *name) { return skip && choice_ok(skip, name); }

static cf_status set_from_setting(cf_param_value *pv, const config_setting_t *s, const char *where,
                                  cf_error *err)
{
    const cf_param_def *d = pv->def;
    int t = config_setting_type(s);
    char allowed[256];
    describe_allowed(d, allowed, sizeof allowed);
    switch (d->type) {
    case CF_PT_INT:
    case CF_PT_FLOAT:
        if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) pv->num = (double)config_setting_get_int64(s);
        else if (t == CONFIG_TYPE_FLOAT) pv->num = config_setting_get_float(s);
        else
            return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' expects %s, got %s", where, d->name,
                                allowed, setting_type_name(t));
        return check_num(d, pv->num, where, err);
    case CF_PT_BOOL:
        if (t == CONFIG_TYPE_BOOL) pv->num = config_setting_get_bool(s);
        else if (t == CONFIG_TYPE_INT && (config_setting_get_int(s) == 0 || config_setting_get_int(s) == 1))
            pv->num = config_setting_get_int(s);
        else
            return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' expects true or false, got %s",
                                where, d->name, setting_type_name(t));
        return CF_OK;
    case CF_PT_STRING:
        if (t != CONFIG_TYPE_STRING)
            return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' expects %s, got %s", where, d->name,
                                allowed, setting_type_name(t));
        return set_from_text(pv, config_setting_get_string(s), where, err);
    case CF_PT_GROUP:
        if (t != CONFIG_TYPE_GROUP && t != CONFIG_TYPE_LIST)
            return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' must be a group { ... } or a list ( ... ), got %s",
                                where, d->name, setting_type_name(t));
        return CF_OK;
    case CF_PT_STRING_LIST:
    case CF_PT_FLOAT_LIST: {
        cf_sbuf b = {0};
        if (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) {
            int n = config_setting_length(s);
            for (int i = 0; i < n; i++) {
                const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
                int et = config_setting_type(e);
                if (d->type == CF_PT_STRING_LIST && et == CONFIG_TYPE_STRING)
                    cf_sbuf_printf(&b, "%s%s", i ? "," : "", config_setting_get_string(e));
                else if (d->type == CF_PT_STRING_LIST && (et == CONFIG_TYPE_INT || et == CONFIG_TYPE_INT64))
                    cf_sbuf_printf(&b, "%s%lld", i ? "," : "", config_setting_get_int64(e)); /* classes = [5, 6] */
                else if (d->type == CF_PT_FLOAT_LIST && (et == CONFIG_TYPE_INT || et == CONFIG_TYPE_FLOAT || et == CONFIG_TYPE_INT64))
                    cf_sbuf_printf(&b, "%s%.17g", i ? "," : "",
                                   et == CONFIG_TYPE_FLOAT ? config_setting_get_float(e)
                                                           : (double)config_setting_get_int64(e));
                else {
                    cf_sbuf_free(&b);
                    return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' expects %s, element %d is %s",
                                        where, d->name, allowed, i, setting_type_name(et));
                }
            }
        } else if (d->type == CF_PT_STRING_LIST && t == CONFIG_TYPE_STRING) {
            cf_sbuf_printf(&b, "%s", config_setting_get_string(s));
        } else if (d->type == CF_PT_FLOAT_LIST && (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_FLOAT)) {
            cf_sbuf_printf(&b, "%.17g", t == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
                                                               : (double)config_setting_get_int(s));
        } else if (d->type == CF_PT_FLOAT_LIST && t == CONFIG_TYPE_STRING) {
            cf_sbuf_printf(&b, "%s", config_setting_get_string(s)); /* "10,20" */
        } else {
            return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' expects %s, got %s", where, d->name,
                                allowed, setting_type_name(t));
        }
        cf_status st = b.oom ? cf_error_set(err, CF_ERR_NOMEM, "%s: '%s': out of memory", where, d->name)
                             : set_from_text(pv, b.s ? b.s : "", where, err);
        cf_sbuf_free(&b);
        return st;
    }
    default:
        return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' has an unknown type", where, d->name);
    }
}

cf_status cf_params_from_setting(const cf_param_def *defs, const config_setting_t *group,
                                 const char *skip, const char *section, FILE *warn,
                                 cf_params **out, cf_error *err)
{
    (void)warn;
    cf_params *p;
    CF_TRY(params_alloc(defs, &p, err));
    const char *file = group ? config_setting_source_file(group) : NULL;
    int gline = group ? (int)config_setting_source_line(group) : 0;
    if (file && gline)
        snprintf(p->where, sizeof p->where, "%s:%d (%s)", file, gline, section);
    else
        snprintf(p->where, sizeof p->where, "%s", section);
    int n = group ? config_setting_length(group) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        if (!name || skip_key(skip, name)) continue;
        char where[512];
        int line = (int)config_setting_source_line(s);
        const char *sf = config_setting_source_file(s);
        if (sf && line)
            snprintf(where, sizeof where, "%s:%d", sf, line);
        else
            snprintf(where, sizeof where, "%s (--set)", section);
        cf_param_value *pv = find_value(p, name);
        if (!pv) continue; /* undeclared keys are the schema's to report (core/schema.c) */
        cf_status st = set_from_setting(pv, s, where, err);
        if (st) {
            cf_params_free(p);
            return st;
        }
        pv->is_set = 1;
    }
    cf_status st = params_finish(p, err);
    if (st) {
        cf_params_free(p);
        return st;
    }
    *out = p;
    return CF_OK;
}

void cf_params_free(cf_params *p)
{
    if (!p) return;
    for (int i = 0; i < p->n; i++) {
        free(p->v[i].str);
        for (int j = 0; j < p->v[i].n_list; j++) free(p->v[i].list_str[j]);
        free(p->v[i].list_str);
        free(p->v[i].list_num);
    }
    free(p->v);
    free(p);
}

double cf_params_num(const cf_params *p, const char *name)
{
    cf_param_value *v = find_value(p, name);
    return v ? v->num : NAN;
}
int cf_params_int(const cf_params *p, const char *name) { return (int)lround(cf_params_num(p, name)); }
int cf_params_bool(const cf_params *p, const char *name)
{
    cf_param_value *v = find_value(p, name);
    return v ? v->num != 0 : 0;
}
const char *cf_params_str(const cf_params *p, const char *name)
{
    cf_param_value *v = find_value(p, name);
    return v ? v->str : NULL;
}
int cf_params_list_len(const cf_params *p, const char *name)
{
    cf_param_value *v = find_value(p, name);
    return v ? v->n_list : 0;
}
const char *cf_params_list_str(const cf_params *p, const char *name, int i)
{
    cf_param_value *v = find_value(p, name);
    return v && i >= 0 && i < v->n_list ? v->list_str[i] : NULL;
}
double cf_params_list_num(const cf_params *p, const char *name, int i)
{
    cf_param_value *v = find_value(p, name);
    return v && i >= 0 && i < v->n_list && v->list_num ? v->list_num[i] : NAN;
}
int cf_params_is_set(const cf_params *p, const char *name)
{
    cf_param_value *v = find_value(p, name);
    return v ? v->is_set : 0;
}

static void range_text(const cf_param_def *d, char *buf, size_t cap)
{
    if (d->type == CF_PT_STRING && d->choices) snprintf(buf, cap, "%s", d->choices);
    else if (has_range(d)) snprintf(buf, cap, "[%.10g, %.10g]", d->min, d->max);
    else snprintf(buf, cap, "-");
}

void cf_params_print_table(const cf_param_def *defs, FILE *f)
{
    fprintf(f, "  %-22s %-11s %-12s %-22s %s\n", "parameter", "type", "default", "range", "description");
    for (const cf_param_def *d = defs; d && d->name; d++) {
        char r[256];
        range_text(d, r, sizeof r);
        fprintf(f, "  %-22s %-11s %-12s %-22s %s\n", d->name, cf_param_type_name(d->type),
                d->type == CF_PT_GROUP ? "-" : d->def ? (*d->def ? d->def : "\"\"") : "(required)", r,
                d->doc ? d->doc : "");
    }
}

void cf_params_print_markdown(const cf_param_def *defs, FILE *f)
{
    fprintf(f, "| key | type | default | range | description |\n|---|---|---|---|---|\n");
    for (const cf_param_def *d = defs; d && d->name; d++) {
        char r[256];
        range_text(d, r, sizeof r);
        for (char *c = r; *c; c++)
            if (*c == '|') *c = '/';
        fprintf(f, "| `%s` | %s | %s | %s | %s |\n", d->name, cf_param_type_name(d->type),
                d->type == CF_PT_GROUP ? "-" : d->def ? (*d->def ? d->def : "\"\"") : "required", r,
                d->doc ? d->doc : "");
    }
}
