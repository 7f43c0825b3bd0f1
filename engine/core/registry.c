/* The plugin registry: scan the plugin path (config plugin_path,
 * $CLFORGE_PLUGIN_PATH, the build tree, the install directory), keep the
 * first plugin of each kind and name, collect why files were refused, and
 * find plugins by name or alias. */
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
    cf_sbuf shadowed; /* plugins hidden by one of the same kind and name found earlier */
    int oom;          /* an allocation failed while scanning: the listing is incomplete */
};

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
            if (!nn) {
                r->oom = 1;
                break;
            }
            names = nn;
        }
        if (!(names[n] = cf_strdup(de->d_name))) {
            r->oom = 1;
            break;
        }
        n++;
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
            if (err.status == CF_ERR_NOMEM) r->oom = 1;
            cf_sbuf_printf(&r->warnings, "%s\n", err.msg);
            continue;
        }
        int prev = find_index(r, d->kind, d->name);
        if (prev >= 0) { /* earlier directory wins, but never silently */
            cf_sbuf_printf(&r->shadowed, "%s plugin '%s' of %s is used instead of the one in %s\n",
                           cf_plugin_kind_name(d->kind), d->name, r->e[prev].path, path);
            cf_plugin_close(h);
            continue;
        }
        if (r->n == r->cap) {
            int nc = r->cap ? r->cap * 2 : 64; /* cap grows only with the array */
            cf_reg_entry *ne = realloc(r->e, (size_t)nc * sizeof *ne);
            if (!ne) {
                cf_plugin_close(h);
                r->oom = 1;
                for (int k = i + 1; k < n; k++) free(names[k]);
                break;
            }
            r->e = ne;
            r->cap = nc;
        }
        r->e[r->n++] = (cf_reg_entry){d, h, cf_strdup(path)};
        if (!r->e[r->n - 1].path) r->oom = 1;
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
            if (!nd || !(nd[n] = cf_strdup(de->d_name))) {
                if (nd) dirs = nd;
                r->oom = 1;
                break;
            }
            dirs = nd;
            n++;
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
        if (!copy) r->oom = 1;
        for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) scan_dir(r, d);
        free(copy);
    }
    if (running_uninstalled()) scan_tree(r, CF_BUILDDIR);
    scan_dir(r, CF_PLUGINDIR);
    /* A plugin left out for want of memory would later read as "unknown". */
    if (r->oom) {
        cf_registry_destroy(r);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory listing the plugins");
    }
    *out = r;
    return CF_OK;
}

void cf_registry_destroy(cf_registry *r)
{
    if (!r) return;
    /* The engine's descriptor copies go with the registry (backends and
     * plugin states are closed first by convention); the shared objects stay
     * mapped: an unloaded OpenCL or OpenBLAS module can leave exit handlers
     * pointing into it. */
    for (int i = 0; i < r->n; i++) {
        cf_plugin_release(r->e[i].handle);
        free(r->e[i].path);
    }
    free(r->e);
    cf_sbuf_free(&r->warnings);
    cf_sbuf_free(&r->shadowed);
    free(r);
}

int cf_registry_count(const cf_registry *r) { return r ? r->n : 0; }
const cf_plugin_desc *cf_registry_desc(const cf_registry *r, int i) { return r->e[i].desc; }
const char *cf_registry_path(const cf_registry *r, int i) { return r->e[i].path; }
const char *cf_registry_warnings(const cf_registry *r) { return r->warnings.s ? r->warnings.s : ""; }
const char *cf_registry_shadowed(const cf_registry *r) { return r->shadowed.s ? r->shadowed.s : ""; }

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
