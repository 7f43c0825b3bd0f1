/* The session's plugins: the registry, the optimizer, and the regularizer
 * and augmentation lists (augmentation_type expanded into the list first). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/sagemaker.h"
#include "train/session.h"

void cf_plugin_inst_free(cf_plugin_inst *pi, int kind)
{
    (void)kind;
    if (pi->state && pi->d) cf_plugin_state_destroy(pi->d, pi->state);
    cf_params_free(pi->p);
    memset(pi, 0, sizeof *pi);
}

cf_status cf_session_plugin(cf_session *s, cf_plugin_kind kind, const config_setting_t *g,
                             cf_plugin_inst *pi, cf_error *err)
{
    char where[1100];
    cf_config_where(&s->cfg, g, where, sizeof where);
    const char *name = NULL;
    if (config_setting_type(g) != CONFIG_TYPE_GROUP || !config_setting_lookup_string(g, "plugin", &name))
        return cf_error_set(err, CF_ERR_INVALID, "%s: expected a group with plugin = \"name\"", where);
    if (cf_registry_find(s->reg, kind, name, &pi->d, err)) return cf_error_prefix(err, "%s", where);
    return cf_plugin_params(pi->d, g, s->warn, &pi->p, err);
}

cf_status cf_session_plugins(cf_session *s, cf_error *err)
{
    /* The registry was opened by cf_session_config (the schema needed it). */
    config_setting_t *og = cf_session_member(s, "optimizer");
    const char *oname;
    /* No optimizer, or only its settings (--set optimizer.learning_rate=0.1,
     * a tuned rate): the default plugin, sgd, as the schema assumes. */
    if (!og || (config_setting_type(og) == CONFIG_TYPE_GROUP && !config_setting_lookup_string(og, "plugin", &oname))) {
        CF_TRY(cf_config_set(&s->cfg, "optimizer.plugin=sgd", err));
        og = cf_session_member(s, "optimizer");
    }
    CF_TRY(cf_session_plugin(s, CF_PLUGIN_OPTIMIZER, og, &s->opt, err));
    CF_TRY(cf_plugin_state_create(s->opt.d, s->opt.p, &s->opt.state, err) ? cf_error_prefix(err, "optimizer %s", s->opt.d->name) : CF_OK);
    const char *preset = cf_params_str(s->root, "augmentation_type");
    if (preset && *preset) CF_TRY(cf_augmentation_preset(&s->cfg.cfg, preset, s->c, s->warn, err));
    static const struct { const char *key; cf_plugin_kind kind; } lists[2] = {
        {"regularizers", CF_PLUGIN_REGULARIZER}, {"augmentations", CF_PLUGIN_AUGMENTATION}};
    for (int li = 0; li < 2; li++) {
        config_setting_t *l = cf_session_member(s, lists[li].key);
        if (!l) continue;
        char where[1100];
        if (config_setting_type(l) != CONFIG_TYPE_LIST)
            return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' must be a list ( {...}, {...} )",
                                cf_config_where(&s->cfg, l, where, sizeof where), lists[li].key);
        int n = config_setting_length(l);
        cf_plugin_inst *arr = cf_calloc((size_t)n, sizeof *arr);
        if (li == 0) { s->regs = arr; s->n_regs = 0; } else { s->augs = arr; s->n_augs = 0; }
        for (int i = 0; i < n; i++) {
            cf_plugin_inst *pi = &arr[i];
            CF_TRY(cf_session_plugin(s, lists[li].kind, config_setting_get_elem(l, (unsigned)i), pi, err));
            if (li == 0) s->n_regs++; else s->n_augs++;
            cf_status cs = cf_plugin_state_create(pi->d, pi->p, &pi->state, err);
            if (cs) return cf_error_prefix(err, "%s %s", cf_plugin_kind_name(lists[li].kind), pi->d->name);
        }
    }
    return CF_OK;
}
