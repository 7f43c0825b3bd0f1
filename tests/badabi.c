/* A plugin built against a future, incompatible ABI: the loader must refuse it. */
#include "clforge/plugin.h"
static const cf_optimizer_vtable vt = {sizeof vt};
CF_EXPORT const cf_plugin_desc clforge_plugin = {CF_ABI_MAJOR + 1, 0, sizeof(cf_plugin_desc),
    CF_PLUGIN_OPTIMIZER, "badabi", "9.0", "test fixture", NULL, &vt, NULL, 0, {0}};
