/* A plugin built against ABI 2.0, with the 2.0 structs frozen here as a copy
 * (it does not include clforge/plugin.h): once later minors append members to
 * the real headers, this keeps showing that a 2.0 plugin still loads and
 * works (test_loader.c: abi20_plugin_loads_and_works). An augmentation
 * out = a x + b (or its negation), its parameters bound into its state. */
#include <stddef.h>
#include <stdint.h>

/* ---- copy of the ABI 2.0 definitions this plugin uses ---- */
typedef struct cf_error cf_error;
typedef struct cf_params cf_params;
typedef struct cf_rng cf_rng;
enum { V20_OK = 0, V20_PT_END = 0, V20_PT_INT = 1, V20_PT_FLOAT = 2, V20_PT_BOOL = 3 };
enum { V20_AUGMENTATION = 4 };
typedef struct v20_param_def {
    const char *name;
    int type;
    const char *def;
    double min, max;
    const char *choices;
    const char *doc;
    size_t offset, size;
} v20_param_def;
typedef struct v20_desc {
    uint32_t abi_major, abi_minor, struct_size;
    int kind;
    const char *name, *version, *doc;
    const v20_param_def *params;
    const void *vtable;
    const char *aliases;
    size_t state_size;
    void *reserved[6];
} v20_desc;
typedef struct v20_image {
    float *data;
    int c, h, w;
} v20_image;
typedef struct v20_aug_vtable {
    size_t struct_size;
    int (*init)(void *state, const cf_params *hp, cf_error *err);
    int (*create)(const cf_params *hp, void **state, cf_error *err);
    void (*destroy)(void *state);
    void (*out_shape)(void *state, int c, int h, int w, int *oc, int *oh, int *ow);
    int (*apply)(void *state, const v20_image *in, v20_image *out, cf_rng *rng, cf_error *err);
} v20_aug_vtable;
/* ---- end of the copy ---- */

typedef struct affine_state {
    float a;
    double b;
    int negate;
    int64_t repeat; /* INT bound to 64 bits: apply adds b this many times */
} affine_state;

#define AT(f) offsetof(affine_state, f), sizeof(((affine_state *)0)->f)
static const v20_param_def params[] = {
    {"a", V20_PT_FLOAT, "1", -100, 100, NULL, "scale", AT(a)},
    {"b", V20_PT_FLOAT, "0", -100, 100, NULL, "offset", AT(b)},
    {"negate", V20_PT_BOOL, "false", 1, 0, NULL, "negate the result", AT(negate)},
    {"repeat", V20_PT_INT, "1", 0, 10, NULL, "times b is added", AT(repeat)},
    {NULL, V20_PT_END, NULL, 0, 0, NULL, NULL, 0, 0}};

static int affine_apply(void *state, const v20_image *in, v20_image *out, cf_rng *rng,
                        cf_error *err)
{
    const affine_state *s = state;
    (void)rng, (void)err;
    size_t n = (size_t)in->c * in->h * in->w;
    for (size_t i = 0; i < n; i++) {
        double v = s->a * in->data[i];
        for (int64_t k = 0; k < s->repeat; k++) v += s->b;
        out->data[i] = (float)(s->negate ? -v : v);
    }
    return V20_OK;
}

static const v20_aug_vtable vtable = {sizeof(v20_aug_vtable), NULL, NULL, NULL, NULL, affine_apply};

__attribute__((visibility("default"))) const v20_desc clforge_plugin = {
    2, 0, sizeof(v20_desc), V20_AUGMENTATION, "abi20_affine", "2.0.0",
    "test fixture built against the ABI 2.0 structs", params, &vtable, NULL,
    sizeof(affine_state), {0}};
