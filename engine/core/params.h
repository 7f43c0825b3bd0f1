/* clforge — Parameter tables as data: validated values of a plugin or config section. */
#ifndef CLFORGE_CORE_PARAMS_H
#define CLFORGE_CORE_PARAMS_H

#include <libconfig.h>
#include <stdio.h>
#include "clforge/clforge.h"

/* ---- params.c --------------------------- */
typedef struct cf_param_value {
    const cf_param_def *def;
    int is_set;
    double num;
    char *str;
    int n_list;
    char **list_str;
    double *list_num;
} cf_param_value;

struct cf_params {
    int n;
    cf_param_value *v;
    char where[256]; /* "file.cfg:12 (optimizer)" for messages */
};

/* Build from name/value text pairs (tests); an unknown name is an error. */
cf_status cf_params_from_kv(const cf_param_def *defs, const char *const *kv, int n_kv,
                            cf_params **out, cf_error *err);
/* Validate the values of a libconfig group against defs. Keys in `skip`
 * ("plugin|name") are the caller's; keys defs lacks are skipped here: the
 * schema (core/schema.c) reports them, as errors or warnings, before any
 * section is read. `warn` is kept for callers' compatibility (unused). */
cf_status cf_params_from_setting(const cf_param_def *defs, const config_setting_t *group,
                                 const char *skip, const char *section, FILE *warn,
                                 cf_params **out, cf_error *err);
void cf_params_free(cf_params *p);
const cf_param_def *cf_param_find(const cf_param_def *defs, const char *name);
/* "name  type  default  range  doc" lines for --help / `clforge plugins NAME`. */
void cf_params_print_table(const cf_param_def *defs, FILE *f);
/* Markdown table (docs). */
void cf_params_print_markdown(const cf_param_def *defs, FILE *f);
const char *cf_param_type_name(cf_param_type t);

#endif
