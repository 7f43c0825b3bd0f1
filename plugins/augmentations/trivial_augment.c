/* trivial_augment — TrivialAugment (Mueller and Hutter 2021) as
 * torchvision's TrivialAugmentWide: one op drawn uniformly from the 14 of
 * aug_policy.h, its magnitude bin uniform in [0, num_magnitude_bins), a
 * random sign for signed ops. Works on 1- and 3-channel images (Color is
 * the identity on greyscale). Place before `normalize`. */
#include "aug_policy.h"

typedef struct ta_state {
    int bins;
    float fill;
} ta_state;

static const cf_param_def ta_params[] = {
    {"num_magnitude_bins", CF_PT_INT, "31", 1, 1000, NULL, "magnitude bins over each op's range",
     CF_PARAM_AT(ta_state, bins)},
    {"fill", CF_PT_FLOAT, "0", -1e6, 1e6, NULL, "value of pixels moved in by geometric ops",
     CF_PARAM_AT(ta_state, fill)},
    CF_PARAM_TABLE_END};

static cf_status ta_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng, cf_error *err)
{
    const ta_state *s = state;
    (void)err;
    aug_policy_apply(aug_policy_draw(rng, -1, s->bins, 1, in->w, in->h), in, out, s->fill);
    return CF_OK;
}

static const cf_augmentation_vtable ta_vtable = {
    sizeof(cf_augmentation_vtable), NULL, NULL, NULL, NULL, ta_apply, NULL};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "trivial_augment", "1.0.0",
    "TrivialAugment: one random op at a random magnitude (torchvision TrivialAugmentWide)", ta_params,
    &ta_vtable, sizeof(ta_state));
