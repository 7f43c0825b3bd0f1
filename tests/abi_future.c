/* A plugin from a future minor of this major: longer descriptor and vtable
 * (members this build does not know, after the ones it does). The loader must
 * accept it, ignore the extra members and run what it knows. */
#include "clforge/plugin.h"

typedef struct future_vtable {
    cf_augmentation_vtable known;
    void (*added_later)(void *state); /* unknown here: must be ignored */
} future_vtable;

typedef struct future_desc {
    cf_plugin_desc known;
    const char *added_later;
} future_desc;

static void never_called(void *state) { (void)state; }

static cf_status copy_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng,
                            cf_error *err)
{
    (void)state, (void)rng, (void)err;
    for (int i = 0; i < in->c * in->h * in->w; i++) out->data[i] = in->data[i];
    return CF_OK;
}

static const future_vtable vt = {
    {sizeof(future_vtable), NULL, NULL, NULL, NULL, copy_apply}, never_called};

CF_EXPORT const future_desc clforge_plugin = {
    {CF_ABI_MAJOR, CF_ABI_MINOR + 7, (uint32_t)sizeof(future_desc), CF_PLUGIN_AUGMENTATION,
     "future_copy", "2.7.0", "test fixture from a later minor", NULL, (const void *)&vt, NULL, 0,
     {0}},
    "a member of the descriptor this build does not know"};
