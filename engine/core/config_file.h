/* clforge — The libconfig file: load, --set overrides, write back, file:line of a setting. */
#ifndef CLFORGE_CORE_CONFIG_FILE_H
#define CLFORGE_CORE_CONFIG_FILE_H

#include <libconfig.h>
#include "clforge/clforge.h"

/* ---- config_file.c ------------------------------------------------------------------ */
typedef struct cf_config {
    config_t cfg;
    char path[1024];
    char *text; /* resolved config as written back (after --set) */
    int lenient; /* keys no table reads are warnings, not errors (strict_keys = false) */
} cf_config;

/* Load and parse; syntax errors name file:line. */
cf_status cf_config_load(cf_config *c, const char *path, cf_error *err);
cf_status cf_config_load_string(cf_config *c, const char *text, const char *name, cf_error *err);
/* Apply "a.b.c=value" (creates groups as needed; lists indexed by number or
 * by an element's plugin/name). */
cf_status cf_config_set(cf_config *c, const char *assignment, cf_error *err);
/* s as a libconfig string literal (quoted, '"' and '\\' escaped, control
 * characters as spaces), for config text written by a program. */
struct cf_sbuf;
void cf_config_put_str(struct cf_sbuf *b, const char *s);
/* Replace (or add) group.name with the numeric array v[0..n) — how the
 * engine records values it computed (normalisation, input shape). */
cf_status cf_config_put_numbers(cf_config *c, const char *group, const char *name, const double *v,
                                int n, cf_error *err);
void cf_config_free(cf_config *c);
/* The resolved config as libconfig text (malloc'ed). */
char *cf_config_to_string(cf_config *c);
/* "file:line" of a setting (or "--set" for settings created by overrides). */
const char *cf_config_where(const cf_config *c, const config_setting_t *s, char *buf, size_t cap);

#endif
