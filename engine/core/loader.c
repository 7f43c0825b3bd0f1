/* Plugin registry: find shared objects, validate their descriptors, and
 * open backends. Every refusal says which check failed and for which file. */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "core/params.h"
#include "core/plugin_params.h"

typedef struct cf_reg_entry {
    const cf_plugin_desc *desc;
    void *handle;
    char *path;
} cf_reg_entry;

struct cf_registry {
    int n, cap;
    cf_reg_entry *e;
    cf_sbuf warnings;
};

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
        return p->vt.a.apply ? NULL : "apply";
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

static int find_index(const cf_registry *r, cf_plugin_kind kind, const char *name)
{
    for (int i = 0; i < r->n; i++) {
        const cf_plugin_desc *d = r->e[i].desc;
        if (d->kind != kind) continue;
        if (!strcmp(d->name, name)) return i;
    }
    for (int i = 0; i < r->n; i++) { /* then aliases */
        const cf_plugin_desc *d = r->e[i].desc;
        if (d->kind != kind || !d->aliases) continue;
        size_t n = strlen(name);
        for (const char *a = d->aliases; *a;) {
            const char *bar = strchr(a, '|');
            size_t len = bar ? (size_t)(bar - a) : strlen(a);
            if (len == n && !strncmp(a, name, n)) return i;
            if (!bar) break;
            a = bar + 1;
        }
    }
    return -1;
}

static void scan_dir(cf_registry *r, const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp) return;
    struct dirent *de;
    /* Sorted for a stable listing. */
    char **names = NULL;
    int n = 0, cap = 0;
    while ((de = readdir(dp))) {
        size_t len = strlen(de->d_name);
        if (strncmp(de->d_name, "cf_", 3) || len < 4 || strcmp(de->d_name + len - 3, ".so")) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, (size_t)cap * sizeof *names);
            if (!nn) break;
            names = nn;
        }
        names[n++] = cf_strdup(de->d_name);
    }
    closedir(dp);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        free(names[i]);
        const cf_plugin_desc *d;
        void *h;
        cf_error err;
        if (cf_plugin_open(path, &d, &h, &err) != CF_OK) {
            cf_sbuf_printf(&r->warnings, "%s\n", err.msg);
            continue;
        }
        if (find_index(r, d->kind, d->name) >= 0) { /* earlier directory wins */
            cf_plugin_close(h);
            continue;
        }
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 64;
            cf_reg_entry *ne = realloc(r->e, (size_t)r->cap * sizeof *ne);
            if (!ne) {
                cf_plugin_close(h);
                break;
            }
            r->e = ne;
        }
        r->e[r->n++] = (cf_reg_entry){d, h, cf_strdup(path)};
    }
    free(names);
}

/* The build tree, when this process runs from it (uninstalled). */
static int running_uninstalled(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 0;
    exe[n] = '\0';
    size_t bl = strlen(CF_BUILDDIR);
    return !strncmp(exe, CF_BUILDDIR, bl) && (exe[bl] == '/' || exe[bl] == '\0');
}

static void scan_tree(cf_registry *r, const char *top)
{
    static const char *const sub[] = {"backends", "plugins"};
    for (int s = 0; s < 2; s++) {
        char base[PATH_MAX];
        snprintf(base, sizeof base, "%s/%s", top, sub[s]);
        DIR *dp = opendir(base);
        if (!dp) continue;
        struct dirent *de;
        char **dirs = NULL;
        int n = 0;
        while ((de = readdir(dp))) {
            if (de->d_name[0] == '.') continue;
            char **nd = realloc(dirs, (size_t)(n + 1) * sizeof *dirs);
            if (!nd) break;
            dirs = nd;
            dirs[n++] = cf_strdup(de->d_name);
        }
        closedir(dp);
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0 && strcmp(dirs[j - 1], dirs[j]) > 0; j--) {
                char *t = dirs[j];
                dirs[j] = dirs[j - 1];
                dirs[j - 1] = t;
            }
        for (int i = 0; i < n; i++) {
            char libs[PATH_MAX];
            snprintf(libs, sizeof libs, "%s/%s/.libs", base, dirs[i]);
            scan_dir(r, libs);
            free(dirs[i]);
        }
        free(dirs);
    }
}

cf_status cf_registry_create(cf_registry **out, const char *const *extra, int n_extra,
                             cf_error *err)
{
    cf_registry *r = cf_calloc(1, sizeof *r);
    if (!r) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n_extra; i++)
        if (extra[i]) scan_dir(r, extra[i]);
    const char *env = getenv("CLFORGE_PLUGIN_PATH");
    if (env && *env) {
        char *copy = cf_strdup(env), *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) scan_dir(r, d);
        free(copy);
    }
    if (running_uninstalled()) scan_tree(r, CF_BUILDDIR);
    scan_dir(r, CF_PLUGINDIR);
    *out = r;
    return CF_OK;
}

void cf_registry_destroy(cf_registry *r)
{
    if (!r) return;
    /* Handles stay open: descriptors and vtables may still be referenced by
     * objects the caller keeps (backends are closed first by convention). */
    for (int i = 0; i < r->n; i++) free(r->e[i].path);
    free(r->e);
    cf_sbuf_free(&r->warnings);
    free(r);
}

int cf_registry_count(const cf_registry *r) { return r ? r->n : 0; }
const cf_plugin_desc *cf_registry_desc(const cf_registry *r, int i) { return r->e[i].desc; }
const char *cf_registry_path(const cf_registry *r, int i) { return r->e[i].path; }
const char *cf_registry_warnings(const cf_registry *r) { return r->warnings.s ? r->warnings.s : ""; }

cf_status cf_registry_find(const cf_registry *r, cf_plugin_kind kind, const char *name,
                           const cf_plugin_desc **desc, cf_error *err)
{
    int i = find_index(r, kind, name);
    if (i >= 0) {
        *desc = r->e[i].desc;
        return CF_OK;
    }
    cf_sbuf known = {0};
    for (int j = 0; j < r->n; j++)
        if (r->e[j].desc->kind == kind)
            cf_sbuf_printf(&known, "%s%s", known.len ? ", " : "", r->e[j].desc->name);
    cf_error_set(err, CF_ERR_PLUGIN, "unknown %s '%s' (known: %s)", cf_plugin_kind_name(kind), name,
                 known.s ? known.s : "none found — check CLFORGE_PLUGIN_PATH / plugin_path");
    cf_sbuf_free(&known);
    return CF_ERR_PLUGIN;
}

/* Keys of `group` the backend's table does not declare but the engine's
 * table does ("name", and e.g. "threads" for a backend without that knob):
 * the backend's pass must not warn about them. */
static void engine_only_keys(const cf_param_def *engine, const cf_param_def *own, cf_sbuf *skip)
{
    cf_sbuf_printf(skip, "name"); /* which backend: always the engine's */
    for (const cf_param_def *e = engine; e && e->name; e++)
        if (!cf_param_find(own, e->name))
            cf_sbuf_printf(skip, "%s%s", skip->len ? "|" : "", e->name);
}

cf_status cf_backend_open_group(const cf_registry *r, const char *name,
                                const cf_backend_config *cfg, const config_setting_t *group,
                                const cf_param_def *engine_keys, FILE *warn, cf_backend **out,
                                cf_error *err)
{
    const cf_plugin_desc *d = NULL;
    if (!name || !*name || !strcmp(name, "auto")) {
        int best = 0;
        for (int i = 0; i < r->n; i++) {
            const cf_plugin_desc *c = r->e[i].desc;
            if (c->kind != CF_PLUGIN_BACKEND) continue;
            const cf_backend_vtable *vt = c->vtable;
            int s = vt->auto_score ? vt->auto_score() : 1;
            if (s > best) {
                best = s;
                d = c;
            }
        }
        if (!d) return cf_error_set(err, CF_ERR_PLUGIN, "backend auto: no usable backend found");
    } else {
        CF_TRY(cf_registry_find(r, CF_PLUGIN_BACKEND, name, &d, err));
    }
    cf_backend *b = cf_calloc(1, sizeof *b);
    if (!b) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    b->desc = d;
    b->vt = d->vtable;
    b->reg = r;
    snprintf(b->name, sizeof b->name, "%s", d->name);
    /* The backend's knobs from the config group (defaults without one). */
    cf_sbuf skip = {0};
    engine_only_keys(engine_keys, d->params, &skip);
    char section[96];
    snprintf(section, sizeof section, "backend (%s)", d->name);
    cf_status s = cf_params_from_setting(d->params, group, skip.s, section, warn, &b->params, err);
    cf_sbuf_free(&skip);
    if (s) {
        free(b);
        return s;
    }
    if (d->state_size) {
        b->knobs = cf_calloc(1, d->state_size);
        if (!b->knobs) {
            cf_backend_close(b);
            return cf_error_set(err, CF_ERR_NOMEM, "backend %s: out of memory", d->name);
        }
        cf_params_bind(d->params, b->params, b->knobs);
    }
    cf_backend_config bc = {0};
    if (cfg) bc = *cfg;
    bc.knobs = b->knobs;
    bc.params = b->params;
    s = b->vt->create(&bc, &b->ctx, err);
    if (s) {
        b->ctx = NULL;
        cf_backend_close(b);
        return cf_error_prefix(err, "backend %s", d->name);
    }
    if (b->vt->device_info) b->vt->device_info(b->ctx, &b->info);
    *out = b;
    return CF_OK;
}

cf_status cf_backend_open(const cf_registry *r, const char *name, const cf_backend_config *cfg,
                          cf_backend **out, cf_error *err)
{
    return cf_backend_open_group(r, name, cfg, NULL, NULL, NULL, out, err);
}

void cf_backend_close(cf_backend *b)
{
    if (!b) return;
    cf_backend_fallback_free(b);
    if (b->ctx) b->vt->destroy(b->ctx);
    free(b->knobs);
    cf_params_free(b->params);
    free(b);
}

int cf_backend_supports(cf_backend *b, const cf_op *op)
{
    if ((int)op->kind <= 0 || op->kind >= CF_OP_COUNT) return 0;
    unsigned char *chk = &b->op_checked[op->kind];
    if (!*chk) *chk = (!b->vt->supports_op || b->vt->supports_op(b->ctx, op)) ? 1 : 2;
    return *chk == 1;
}

cf_status cf_backend_exec(cf_backend *b, const cf_op *op, cf_error *err)
{
    if ((int)op->kind <= 0 || op->kind >= CF_OP_COUNT)
        return cf_error_set(err, CF_ERR_INVALID, "invalid op kind %d", (int)op->kind);
    /* An op the backend lacks runs on the reference backend (backend_fallback.c). */
    if (!cf_backend_supports(b, op)) return cf_backend_fallback_exec(b, op, err);
    return b->vt->exec(b->ctx, op, err);
}

cf_status cf_backend_sync(cf_backend *b, cf_error *err)
{
    return b->vt->sync ? b->vt->sync(b->ctx, err) : CF_OK;
}

cf_status cf_tensor_alloc(cf_backend *b, cf_tensor *t, int ndim, const int *shape,
                          const char *name, cf_error *err)
{
    memset(t, 0, sizeof *t);
    if (ndim < 1 || ndim > CF_MAX_DIMS)
        return cf_error_set(err, CF_ERR_INVALID, "tensor %s: bad rank %d", name, ndim);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0)
            return cf_error_set(err, CF_ERR_INVALID, "tensor %s: bad dimension %d", name, shape[i]);
        t->shape[i] = shape[i];
    }
    t->name = name;
    return b->vt->buffer_alloc(b->ctx, cf_tensor_numel(t) * sizeof(float), name, &t->buf, err);
}

void cf_tensor_free(cf_backend *b, cf_tensor *t)
{
    if (t && t->buf) b->vt->buffer_free(b->ctx, t->buf);
    if (t) t->buf = NULL;
}

/* Host data is float: other dtypes would need a conversion nobody asked for. */
static cf_status host_f32(const cf_tensor *t, const char *what, cf_error *err)
{
    if (t->dtype == CF_DTYPE_F32) return CF_OK;
    return cf_error_set(err, CF_ERR_UNSUPPORTED, "%s of tensor %s: dtype %s, host data is f32",
                        what, t->name ? t->name : "(unnamed)", cf_dtype_name(t->dtype));
}

cf_status cf_tensor_upload(cf_backend *b, cf_tensor *t, const float *src, cf_error *err)
{
    CF_TRY(host_f32(t, "upload", err));
    return b->vt->upload(b->ctx, t->buf, 0, src, cf_tensor_numel(t) * sizeof(float), err);
}

cf_status cf_tensor_download(cf_backend *b, const cf_tensor *t, float *dst, cf_error *err)
{
    CF_TRY(host_f32(t, "download", err));
    return b->vt->download(b->ctx, t->buf, 0, dst, cf_tensor_numel(t) * sizeof(float), err);
}

static cf_status compute_exec(void *ctx, const cf_op *op, cf_error *err)
{
    return cf_backend_exec(ctx, op, err);
}

cf_compute cf_backend_compute(cf_backend *b)
{
    cf_compute c = {b, compute_exec};
    return c;
}

cf_status cf_plugin_params(const cf_plugin_desc *d, const config_setting_t *group, FILE *warn,
                           cf_params **out, cf_error *err)
{
    char section[128];
    snprintf(section, sizeof section, "%s '%s'", cf_plugin_kind_name(d->kind), d->name);
    return cf_params_from_setting(d->params, group, "plugin", section, warn, out, err);
}
