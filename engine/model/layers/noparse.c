/* The parse hook of types without settings of their own. */
#include "model/layer.h"

cf_status cf_layer_parse_none(cf_layer_spec *l, const struct cf_params *p, const char *type,
                              const char *where, cf_error *err)
{
    return CF_OK;
}
