/* A plugin instance's state: the engine allocates desc->state_size bytes,
 * stores every bound parameter (cf_param_def.offset/size) into them, runs the
 * optional init, and frees them, so plugins carry no create/destroy
 * boilerplate. Plugins with state_size 0 keep their own create/destroy. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* The three non-backend vtables share their first members' layout, but the
 * kinds are kept explicit so a future reordering cannot go unnoticed. */
static void life_cycle(const cf_plugin_desc *d, cf_plugin_init_fn *init,
                       cf_plugin_create_fn *create, void (**destroy)(void *))
{
    *init = NULL;
    *create = NULL;
    *destroy = NULL;
    switch (d->kind) {
    case CF_PLUGIN_OPTIMIZER: {
        const cf_optimizer_vtable *v = d->vtable;
        *init = v->init, *create = v->create, *destroy = v->destroy;
        break;
    }
    case CF_PLUGIN_REGULARIZER: {
        const cf_regularizer_vtable *v = d->vtable;
        *init = v->init, *create = v->create, *destroy = v->destroy;
        break;
    }
    case CF_PLUGIN_AUGMENTATION: {
        const cf_augmentation_vtable *v = d->vtable;
        *init = v->init, *create = v->create, *destroy = v->destroy;
        break;
    }
    case CF_PLUGIN_BACKEND:
        break;
    }
}

void cf_params_bind(const cf_param_def *defs, const cf_params *hp, void *state)
{
    unsigned char *base = state;
    for (const cf_param_def *p = defs; p && p->name; p++) {
        if (!p->size) continue;
        void *f = base + p->offset;
        /* memcpy: the field may be unaligned in a packed struct */
        switch (p->type) {
        case CF_PT_INT:
            if (p->size == sizeof(int)) {
                int v = cf_params_int(hp, p->name);
                memcpy(f, &v, sizeof v);
            } else {
                int64_t v = (int64_t)llround(cf_params_num(hp, p->name));
                memcpy(f, &v, sizeof v);
            }
            break;
        case CF_PT_FLOAT:
            if (p->size == sizeof(float)) {
                float v = (float)cf_params_num(hp, p->name);
                memcpy(f, &v, sizeof v);
            } else {
                double v = cf_params_num(hp, p->name);
                memcpy(f, &v, sizeof v);
            }
            break;
        case CF_PT_BOOL:
            if (p->size == sizeof(int)) {
                int v = cf_params_bool(hp, p->name);
                memcpy(f, &v, sizeof v);
            } else {
                _Bool v = cf_params_bool(hp, p->name) != 0;
                memcpy(f, &v, sizeof v);
            }
            break;
        case CF_PT_STRING: {
            const char *v = cf_params_str(hp, p->name);
            memcpy(f, &v, sizeof v);
            break;
        }
        default:
            break; /* the loader refuses other bound types */
        }
    }
}

cf_status cf_plugin_state_create(const cf_plugin_desc *d, const cf_params *hp, void **state,
                                 cf_error *err)
{
    cf_plugin_init_fn init;
    cf_plugin_create_fn create;
    void (*destroy)(void *);
    life_cycle(d, &init, &create, &destroy);
    *state = NULL;
    if (!d->state_size) {
        if (!create) return CF_OK;
        if (err) err->msg[0] = 0;
        cf_status st = create(hp, state, err);
        /* a plugin's failure must never pass as success or leave no reason */
        if (st && err && !err->msg[0])
            cf_error_set(err, st, "%s '%s': create failed (status %d) without saying why",
                         cf_plugin_kind_name(d->kind), d->name, (int)st);
        if (!st && !*state)
            return cf_error_set(err, CF_ERR_PLUGIN, "%s '%s': create returned success but no state",
                                cf_plugin_kind_name(d->kind), d->name);
        return st;
    }
    void *s = cf_calloc(1, d->state_size);
    if (!s)
        return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory for its state (%zu bytes)",
                            d->name, d->state_size);
    cf_params_bind(d->params, hp, s);
    if (init) {
        if (err) err->msg[0] = 0;
        cf_status st = init(s, hp, err);
        if (st && err && !err->msg[0])
            cf_error_set(err, st, "%s '%s': init failed (status %d) without saying why",
                         cf_plugin_kind_name(d->kind), d->name, (int)st);
        if (st) {
            if (destroy) destroy(s);
            free(s);
            return st;
        }
    }
    *state = s;
    return CF_OK;
}

void cf_plugin_state_destroy(const cf_plugin_desc *d, void *state)
{
    if (!d) return;
    cf_plugin_init_fn init;
    cf_plugin_create_fn create;
    void (*destroy)(void *);
    life_cycle(d, &init, &create, &destroy);
    if (d->state_size) {
        if (!state) return;
        if (destroy) destroy(state);
        free(state);
    } else if (destroy && state) {
        destroy(state);
    }
}
