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

#endif
