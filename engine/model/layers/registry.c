/* The layer type table (registry.h lists the entries) and name lookup. */
#include <string.h>

#include "model/layer.h"

#define CF_LAYER_EXTERN(e, sym) extern const cf_layer_type_def cf_layer_##sym;
CF_LAYER_TYPES(CF_LAYER_EXTERN)
#undef CF_LAYER_EXTERN

#define CF_LAYER_ENTRY(e, sym) [CF_LAYER_##e] = &cf_layer_##sym,
static const cf_layer_type_def *const types[CF_LAYER_COUNT] = {CF_LAYER_TYPES(CF_LAYER_ENTRY)};
#undef CF_LAYER_ENTRY

const cf_layer_type_def *cf_layer_def(cf_layer_type t)
{
    return (int)t >= 0 && t < CF_LAYER_COUNT ? types[t] : NULL;
}

const char *cf_layer_type_name(cf_layer_type t)
{
    const cf_layer_type_def *d = cf_layer_def(t);
    return d ? d->name : "?";
}

/* Names first, then aliases, each in table order ("linear" is dense's alias
 * before it could be read as an activation). */
cf_layer_type cf_layer_type_from_name(const char *s)
{
    for (int i = 0; i < CF_LAYER_COUNT; i++)
        if (!strcmp(s, types[i]->name)) return (cf_layer_type)i;
    for (int i = 0; i < CF_LAYER_COUNT; i++)
        for (int k = 0; types[i]->aliases && types[i]->aliases[k]; k++)
            if (!strcmp(s, types[i]->aliases[k])) return (cf_layer_type)i;
    return CF_LAYER_COUNT;
}

cf_act cf_act_from_name(const char *s)
{
    for (int a = 0; a < CF_ACT_COUNT; a++)
        if (!strcmp(s, cf_act_name((cf_act)a))) return (cf_act)a;
    if (!strcmp(s, "linear") || !strcmp(s, "identity")) return CF_ACT_NONE;
    if (!strcmp(s, "leaky")) return CF_ACT_LEAKY_RELU;
    return CF_ACT_COUNT;
}
