/* clforge — the library API used by the CLI, the tests and embedders.
 * Plugin authors need only plugin.h. */
#ifndef CLFORGE_CLFORGE_H
#define CLFORGE_CLFORGE_H

#include <stdio.h>

#include "clforge/backend.h"
#include "clforge/error.h"
#include "clforge/philox.h"
#include "clforge/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

const char *cf_version(void);

/* ---- plugin registry -------------------------------------------------------
 * Search order: the directories in `extra` (config plugin_path), then
 * $CLFORGE_PLUGIN_PATH (colon-separated), then the build tree when running
 * uninstalled, then the install directory. The first plugin of a kind and
 * name wins. Files are named cf_<kind>_<name>.so. */
typedef struct cf_registry cf_registry;

cf_status cf_registry_create(cf_registry **out, const char *const *extra, int n_extra,
                             cf_error *err);
void cf_registry_destroy(cf_registry *r);
int cf_registry_count(const cf_registry *r);
const cf_plugin_desc *cf_registry_desc(const cf_registry *r, int i);
const char *cf_registry_path(const cf_registry *r, int i);
/* Problems met while scanning (files refused, with the reason), one per line. */
const char *cf_registry_warnings(const cf_registry *r);
/* Plugins hidden by an earlier one of the same kind and name (a user's
 * "sgd" in plugin_path before the built-in), one per line. */
const char *cf_registry_shadowed(const cf_registry *r);
/* Find by kind and name (or alias). On failure err lists the known names. */
cf_status cf_registry_find(const cf_registry *r, cf_plugin_kind kind, const char *name,
                           const cf_plugin_desc **desc, cf_error *err);
/* Open one file and validate its descriptor (file, symbol, ABI version and
 * sizes, required members, parameter bindings). *desc is an engine-owned
 * copy (members past the plugin's struct sizes read as NULL); *handle is
 * released with cf_plugin_close, which also invalidates *desc. */
cf_status cf_plugin_open(const char *path, const cf_plugin_desc **desc, void **handle,
                         cf_error *err);
void cf_plugin_close(void *handle);
/* Free the engine's copy but keep the shared object loaded (what the
 * registry does: a module's exit handlers may still point into it). */
void cf_plugin_release(void *handle);
/* The same checks for a descriptor already in memory (a plugin linked into
 * the program, or a test); origin names it in messages. */
cf_status cf_plugin_adopt(const cf_plugin_desc *raw, const char *origin,
                          const cf_plugin_desc **desc, void **handle, cf_error *err);

/* ---- plugin instances (optimizer, regularizer, augmentation) ---------------
 * The state life cycle of plugin.h: with desc->state_size the engine
 * allocates and binds the state, then calls init; otherwise the plugin's
 * create. hp must outlive the state (bound strings point into it). */
cf_status cf_plugin_state_create(const cf_plugin_desc *d, const cf_params *hp, void **state,
                                 cf_error *err);
void cf_plugin_state_destroy(const cf_plugin_desc *d, void *state);
/* Store the bound parameters of defs (offset/size) from hp into state. */
void cf_params_bind(const cf_param_def *defs, const cf_params *hp, void *state);

/* ---- backends ----------------------------------------------------------- */
typedef struct cf_backend_fallback cf_backend_fallback;
typedef struct cf_backend {
    const cf_plugin_desc *desc;
    const cf_backend_vtable *vt;
    void *ctx;
    cf_device_info info;
    char name[64];
    unsigned char op_checked[CF_OP_COUNT]; /* 1 supported, 2 not, 0 unknown */
    const cf_registry *reg;        /* where the fallback finds the reference backend */
    cf_params *params;             /* the backend's validated knobs */
    void *knobs;                   /* ...bound into desc->state_size bytes, or NULL */
    cf_backend_fallback *fallback; /* reference backend for ops b lacks (lazy) */
} cf_backend;

/* name: a backend name, or "auto" (highest auto_score). The backend's knobs
 * take their table's defaults (see cf_backend_open_group in core/ for a
 * config group). */
cf_status cf_backend_open(const cf_registry *r, const char *name, const cf_backend_config *cfg,
                          cf_backend **out, cf_error *err);
void cf_backend_close(cf_backend *b);
/* Runs op on b, or, when b's supports_op says no, on the reference backend
 * with the tensors copied over and back (said once per op kind on stderr). */
cf_status cf_backend_exec(cf_backend *b, const cf_op *op, cf_error *err);
/* Whether b itself runs ops of op's kind (its supports_op answer, cached per
 * kind); the engine asks it to choose fused ops. */
int cf_backend_supports(cf_backend *b, const cf_op *op);
cf_status cf_backend_sync(cf_backend *b, cf_error *err);

/* Allocate a tensor's buffer on the backend (contents undefined). */
cf_status cf_tensor_alloc(cf_backend *b, cf_tensor *t, int ndim, const int *shape,
                          const char *name, cf_error *err);
void cf_tensor_free(cf_backend *b, cf_tensor *t);
cf_status cf_tensor_upload(cf_backend *b, cf_tensor *t, const float *src, cf_error *err);
cf_status cf_tensor_download(cf_backend *b, const cf_tensor *t, float *dst, cf_error *err);

/* A cf_compute that runs on backend b (for optimizers/regularizers). */
cf_compute cf_backend_compute(cf_backend *b);
/* For optimizers that need a norm on the host (LARS, LAMB trust ratios): the
 * sum of squares of x, computed on the device into the first element of
 * `scratch` (any tensor of the same backend the caller may overwrite, e.g. a
 * scratch slot) and read back. cx must come from cf_backend_compute. */
cf_status cf_compute_sumsq(const cf_compute *cx, const cf_tensor *x, const cf_tensor *scratch, double *out,
                           cf_error *err);

#ifdef __cplusplus
}
#endif
#endif
