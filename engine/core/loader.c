/* Plugin loading: open a shared object, validate its descriptor and vtable
 * against the ABI (major, struct sizes, minor versions, required members,
 * parameter bindings) and hand the engine a zero-filled copy. Every refusal
 * says which check failed and for which file. The registry (registry.c)
 * finds the files; backend.c opens backends. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "core/params.h"
#include "core/plugin_params.h"

/* Engine-owned copy of a loaded plugin's descriptor and vtable, zero-filled
 * past the plugin's struct sizes: members an older minor lacks read as NULL,
 * members a newer minor added are dropped. The rest of the engine only ever
 * sees these copies. */
typedef struct cf_plugin_handle {
    void *dl;
    cf_plugin_desc desc;
    union {
        size_t struct_size;
        cf_backend_vtable b;
        cf_optimizer_vtable o;
        cf_regularizer_vtable r;
        cf_augmentation_vtable a;
    } vt;
} cf_plugin_handle;

/* Size of a struct up to and including `member`. */
#define SIZE_THROUGH(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))

/* What ABI 2.0 defined: a plugin's struct may not be shorter. Later minors
 * only append, so these stay the 2.0 sizes forever. */
#define DESC_SIZE_2_0 SIZE_THROUGH(cf_plugin_desc, state_size)

static size_t vtable_size_2_0(cf_plugin_kind k)
{
    switch (k) {
    case CF_PLUGIN_BACKEND:
        return SIZE_THROUGH(cf_backend_vtable, sync);
    case CF_PLUGIN_OPTIMIZER:
        return SIZE_THROUGH(cf_optimizer_vtable, step);
    case CF_PLUGIN_REGULARIZER:
        return SIZE_THROUGH(cf_regularizer_vtable, apply_grads);
    case CF_PLUGIN_AUGMENTATION:
        return SIZE_THROUGH(cf_augmentation_vtable, apply);
    }
    return 0;
}

static size_t vtable_size_now(cf_plugin_kind k)
{
    switch (k) {
    case CF_PLUGIN_BACKEND: return sizeof(cf_backend_vtable);
    case CF_PLUGIN_OPTIMIZER: return sizeof(cf_optimizer_vtable);
    case CF_PLUGIN_REGULARIZER: return sizeof(cf_regularizer_vtable);
    case CF_PLUGIN_AUGMENTATION: return sizeof(cf_augmentation_vtable);
    }
    return 0;
}

static int no_slots(void *state)
{
    (void)state;
    return 0;
}

/* The first required member that is NULL, or NULL. */
static const char *missing_member(const cf_plugin_handle *p)
{
    switch (p->desc.kind) {
    case CF_PLUGIN_BACKEND: {
        const cf_backend_vtable *v = &p->vt.b;
        if (!v->create) return "create";
        if (!v->destroy) return "destroy";
        if (!v->buffer_alloc) return "buffer_alloc";
        if (!v->buffer_free) return "buffer_free";
        if (!v->upload) return "upload";
        if (!v->download) return "download";
        if (!v->exec) return "exec";
        return NULL;
    }
    case CF_PLUGIN_OPTIMIZER:
        return p->vt.o.step ? NULL : "step";
    case CF_PLUGIN_REGULARIZER:
        return p->vt.r.rewrite_model || p->vt.r.apply_grads ? NULL : "rewrite_model or apply_grads";
    case CF_PLUGIN_AUGMENTATION:
        return p->vt.a.apply || p->vt.a.apply_batch ? NULL : "apply or apply_batch";
    }
    return NULL;
}

/* The state life cycle members (same place in the three non-backend vtables). */
static void state_members(const cf_plugin_handle *p, int *has_init, int *has_create)
{
    *has_init = *has_create = 0;
    switch (p->desc.kind) {
    case CF_PLUGIN_OPTIMIZER:
        *has_init = !!p->vt.o.init;
        *has_create = !!p->vt.o.create;
        break;
    case CF_PLUGIN_REGULARIZER:
        *has_init = !!p->vt.r.init;
        *has_create = !!p->vt.r.create;
        break;
    case CF_PLUGIN_AUGMENTATION:
        *has_init = !!p->vt.a.init;
        *has_create = !!p->vt.a.create;
        break;
    case CF_PLUGIN_BACKEND:
        break;
    }
}

/* A bound parameter's field must have a size the engine can store. */
static int binding_size_ok(cf_param_type t, size_t size)
{
    switch (t) {
    case CF_PT_INT:
        return size == sizeof(int) || size == sizeof(int64_t);
    case CF_PT_FLOAT:
        return size == sizeof(float) || size == sizeof(double);
    case CF_PT_BOOL:
        return size == sizeof(int) || size == sizeof(_Bool);
    case CF_PT_STRING:
        return size == sizeof(const char *);
    default:
        return 0;
    }
}

/* Parameter types this build knows and bindings that fit the state. A
 * newer-minor plugin is refused here only when its table uses a type this
 * build cannot validate (it would otherwise be handed values it never got). */
static cf_status check_params(const char *path, const cf_plugin_desc *d, cf_error *err)
{
    const char *kind = cf_plugin_kind_name(d->kind);
    for (const cf_param_def *p = d->params; p && p->name; p++) {
        if (p->type <= CF_PT_END || p->type > CF_PT_GROUP)
            return cf_error_set(err, CF_ERR_PLUGIN,
                                "%s: %s '%s': parameter '%s' has type %d, unknown to this clforge "
                                "(ABI %d.%d; the plugin was built for %u.%u): upgrade clforge",
                                path, kind, d->name, p->name, (int)p->type, CF_ABI_MAJOR,
                                CF_ABI_MINOR, d->abi_major, d->abi_minor);
        if (!p->size) continue;
        if (!binding_size_ok(p->type, p->size))
            return cf_error_set(
                err, CF_ERR_PLUGIN,
                "%s: %s '%s': parameter '%s' (%s) is bound to a field of %zu bytes; "
                "bind INT to int/int64_t, FLOAT to float/double, BOOL to int/bool, "
                "STRING to const char * (lists and groups cannot be bound)",
                path, kind, d->name, p->name, cf_param_type_name(p->type), p->size);
        if (p->offset + p->size > d->state_size)
            return cf_error_set(err, CF_ERR_PLUGIN,
                                "%s: %s '%s': parameter '%s' is bound at offset %zu (+%zu bytes), "
                                "outside its state_size %zu",
                                path, kind, d->name, p->name, p->offset, p->size, d->state_size);
    }
    return CF_OK;
}

/* Everything after dlsym: version, sizes, required members, the table. */
static cf_status check_desc(const char *path, const cf_plugin_desc *raw, cf_plugin_handle *p,
                            cf_error *err)
{
    if (raw->abi_major != CF_ABI_MAJOR)
        return cf_error_set(err, CF_ERR_PLUGIN,
                            "%s: plugin ABI version %u.%u does not match this clforge (ABI %d.%d); "
                            "rebuild the plugin against this SDK",
                            path, raw->abi_major, raw->abi_minor, CF_ABI_MAJOR, CF_ABI_MINOR);
    if (raw->struct_size < DESC_SIZE_2_0)
        return cf_error_set(err, CF_ERR_PLUGIN,
                            "%s: descriptor size %u is smaller than ABI %d.0's %zu (corrupt, or "
                            "not built from plugin.h)",
                            path, raw->struct_size, CF_ABI_MAJOR, (size_t)DESC_SIZE_2_0);
    memcpy(&p->desc, raw, raw->struct_size < sizeof p->desc ? raw->struct_size : sizeof p->desc);
    p->desc.struct_size = sizeof p->desc;
    const cf_plugin_desc *d = &p->desc;
    size_t vmin = vtable_size_2_0(d->kind);
    if (!vmin)
        return cf_error_set(err, CF_ERR_PLUGIN, "%s: descriptor has an unknown kind (%d)", path,
                            (int)d->kind);
    const char *kind = cf_plugin_kind_name(d->kind);
    if (!d->name || !*d->name)
        return cf_error_set(err, CF_ERR_PLUGIN, "%s: %s descriptor has no name", path, kind);
    if (!d->vtable)
        return cf_error_set(err, CF_ERR_PLUGIN, "%s: %s '%s': descriptor has no vtable", path, kind,
                            d->name);
    size_t vsize = *(const size_t *)d->vtable;
    if (vsize < vmin)
        return cf_error_set(err, CF_ERR_PLUGIN,
                            "%s: %s '%s': vtable size %zu is smaller than ABI %d.0's %zu (corrupt, "
                            "or not built from plugin.h)",
                            path, kind, d->name, vsize, CF_ABI_MAJOR, vmin);
    size_t vnow = vtable_size_now(d->kind);
    memcpy(&p->vt, d->vtable, vsize < vnow ? vsize : vnow);
    p->vt.struct_size = vnow;
    p->desc.vtable = &p->vt;
    const char *miss = missing_member(p);
    if (miss)
        return cf_error_set(err, CF_ERR_PLUGIN, "%s: %s '%s': required vtable member '%s' is NULL",
                            path, kind, d->name, miss);
    int has_init, has_create;
    state_members(p, &has_init, &has_create);
    if (d->state_size && has_create)
        return cf_error_set(err, CF_ERR_PLUGIN,
                            "%s: %s '%s': create must be NULL when state_size is set (the engine "
                            "allocates the state; use init)",
                            path, kind, d->name);
    if (!d->state_size && has_init)
        return cf_error_set(err, CF_ERR_PLUGIN,
                            "%s: %s '%s': init needs a state (state_size is 0; use create)", path,
                            kind, d->name);
    if (d->kind == CF_PLUGIN_OPTIMIZER && !p->vt.o.n_slots) p->vt.o.n_slots = no_slots;
    return check_params(path, d, err);
}

cf_status cf_plugin_open(const char *path, const cf_plugin_desc **desc, void **handle,
                         cf_error *err)
{
    if (access(path, R_OK) != 0)
        return cf_error_set(err, CF_ERR_PLUGIN, "%s: plugin file not found or not readable", path);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        return cf_error_set(err, CF_ERR_PLUGIN, "%s: cannot load shared object: %s", path,
                            e ? e : "unknown dlopen error");
    }
    const cf_plugin_desc *d = dlsym(h, CF_PLUGIN_SYMBOL);
    if (!d) {
        dlclose(h);
        return cf_error_set(err, CF_ERR_PLUGIN,
                            "%s: not a clforge plugin (no '%s' descriptor symbol)", path,
                            CF_PLUGIN_SYMBOL);
    }
    cf_status st = cf_plugin_adopt(d, path, desc, handle, err);
    if (st) dlclose(h);
    else ((cf_plugin_handle *)*handle)->dl = h;
    return st;
}

cf_status cf_plugin_adopt(const cf_plugin_desc *raw, const char *origin,
                          const cf_plugin_desc **desc, void **handle, cf_error *err)
{
    cf_plugin_handle *p = cf_calloc(1, sizeof *p);
    if (!p) return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", origin);
    cf_status st = check_desc(origin, raw, p, err);
    if (st) {
        free(p);
        return st;
    }
    *desc = &p->desc;
    *handle = p;
    return CF_OK;
}

void cf_plugin_close(void *handle)
{
    cf_plugin_handle *p = handle;
    if (!p) return;
    if (p->dl) dlclose(p->dl);
    free(p);
}

void cf_plugin_release(void *handle) { free(handle); /* the copy only; p->dl stays loaded */ }

cf_status cf_plugin_params(const cf_plugin_desc *d, const config_setting_t *group, FILE *warn,
                           cf_params **out, cf_error *err)
{
    char section[128];
    snprintf(section, sizeof section, "%s '%s'", cf_plugin_kind_name(d->kind), d->name);
    return cf_params_from_setting(d->params, group, "plugin", section, warn, out, err);
}
