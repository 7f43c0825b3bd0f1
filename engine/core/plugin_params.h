/* clforge — A plugin's parameters from its config group (loader.c). */
#ifndef CLFORGE_CORE_PLUGIN_PARAMS_H
#define CLFORGE_CORE_PLUGIN_PARAMS_H

#include <libconfig.h>
#include <stdio.h>
#include "clforge/clforge.h"
#include "core/params.h"

/* ---- loader.c ----------------------------------------------------------- */
/* Instantiate kind-specific plugins from a config group {plugin = "x"; ...}. */
cf_status cf_plugin_params(const cf_plugin_desc *d, const config_setting_t *group, FILE *warn,
                           cf_params **out, cf_error *err);

/* Open backend `name` with its knobs validated from the config's `backend`
 * group (NULL: defaults). Keys of engine_keys (the engine's own backend.*
 * table) that the backend does not declare are left to the engine; unknown
 * keys are the schema's to report (core/schema.c knows the backends' knobs). */
cf_status cf_backend_open_group(const cf_registry *r, const char *name,
                                const cf_backend_config *cfg, const config_setting_t *group,
                                const cf_param_def *engine_keys, FILE *warn, cf_backend **out,
                                cf_error *err);

/* ---- backend_fallback.c ------------------------------------------------- */
/* Run op (which b lacks) on the reference backend; tensors are copied. */
cf_status cf_backend_fallback_exec(cf_backend *b, const cf_op *op, cf_error *err);
void cf_backend_fallback_free(cf_backend *b);

#endif
