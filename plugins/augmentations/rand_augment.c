/* rand_augment — RandAugment (Cubuk et al. 2020) as torchvision's: num_ops
 * ops drawn uniformly (with repetition) from the 14 of aug_policy.h, each at
 * bin `magnitude` of num_magnitude_bins (M = 9 of 0..30 by default, as
 * torchvision; num_magnitude_bins = 11 gives the paper's 0..10 scale), a
 * random sign for signed ops, applied in turn. Place before `normalize`. */
#include "aug_policy.h"

typedef struct ra_state {
    int num_ops, magnitude, bins;
    float fill;
} ra_state;

static const cf_param_def ra_params[] = {
    {"num_ops", CF_PT_INT, "2", 0, 100, NULL, "ops applied in turn (N)", CF_PARAM_AT(ra_state, num_ops)},
    {"magnitude", CF_PT_INT, "9", 0, 999, NULL, "magnitude bin of every op (M), < num_magnitude_bins",
     CF_PARAM_AT(ra_state, magnitude)},
    {"num_magnitude_bins", CF_PT_INT, "31", 1, 1000, NULL, "magnitude bins over each op's range",
     CF_PARAM_AT(ra_state, bins)},
    {"fill", CF_PT_FLOAT, "0", -1e6, 1e6, NULL, "value of pixels moved in by geometric ops",
     CF_PARAM_AT(ra_state, fill)},
    CF_PARAM_TABLE_END};

static cf_status ra_init(void *state, const cf_params *hp, cf_error *err)
{
    const ra_state *s = state;
    (void)hp;
    if (s->magnitude >= s->bins)
        return cf_error_set(err, CF_ERR_INVALID, "rand_augment: magnitude %d must be below num_magnitude_bins %d",
                            s->magnitude, s->bins);
    return CF_OK;
}

static cf_status ra_apply(void *state, const cf_image *in, cf_image *out, cf_rng *rng, cf_error *err)
{
    const ra_state *s = state;
    if (s->num_ops == 0) {
        aug_copy(in, out);
        return CF_OK;
    }
    float *tmp = s->num_ops > 1 ? malloc(aug_numel(in) * sizeof *tmp) : NULL;
    if (s->num_ops > 1 && !tmp) return cf_error_set(err, CF_ERR_NOMEM, "rand_augment: out of memory");
    /* ping-pong so that the last op writes out */
    cf_image t = {tmp, in->c, in->h, in->w}, *bufs[2] = {out, &t};
    const cf_image *cur = in;
    for (int k = 0; k < s->num_ops; k++) {
        cf_image *dst = bufs[(s->num_ops - 1 - k) % 2];
        aug_policy_apply(aug_policy_draw(rng, s->magnitude, s->bins, 0, in->w, in->h), cur, dst, s->fill);
        cur = dst;
    }
    free(tmp);
    return CF_OK;
}

static const cf_augmentation_vtable ra_vtable = {
    sizeof(cf_augmentation_vtable), ra_init, NULL, NULL, NULL, ra_apply, NULL};

CF_EXPORT const cf_plugin_desc clforge_plugin = CF_PLUGIN_DESC_INIT_STATE(
    CF_PLUGIN_AUGMENTATION, "rand_augment", "1.0.0",
    "RandAugment: N random ops at magnitude M (torchvision RandAugment)", ra_params, &ra_vtable,
    sizeof(ra_state));
