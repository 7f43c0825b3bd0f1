/* The op set of torchvision's RandAugment and TrivialAugmentWide
 * (torchvision/transforms/autoaugment.py): 14 ops, each with its magnitude
 * bins (linspace over num_bins) and whether a random sign applies. The
 * policies draw an op uniformly, then its bin (TrivialAugment: uniform;
 * RandAugment: the fixed `magnitude`), then the sign (one draw, signed ops
 * only), and apply it through aug_ops.h. Geometric ops sample bilinearly
 * (torchvision's default is nearest). */
#ifndef CF_PLUGIN_AUG_POLICY_H
#define CF_PLUGIN_AUG_POLICY_H

#include "aug_ops.h"

typedef enum aug_policy_op {
    AUG_IDENTITY, AUG_SHEAR_X, AUG_SHEAR_Y, AUG_TRANSLATE_X, AUG_TRANSLATE_Y, AUG_ROTATE, AUG_BRIGHTNESS,
    AUG_COLOR, AUG_CONTRAST, AUG_SHARPNESS, AUG_POSTERIZE, AUG_SOLARIZE, AUG_AUTOCONTRAST, AUG_EQUALIZE,
    AUG_N_POLICY_OPS
} aug_policy_op;

static const char *const aug_policy_op_names[AUG_N_POLICY_OPS] = {
    "Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness",
    "Color", "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize"};

/* torch.linspace(lo, hi, n)[i] */
static inline double aug_linspace(double lo, double hi, int n, int i)
{
    return n > 1 ? lo + (hi - lo) * i / (n - 1) : lo;
}

/* The unsigned magnitude of op at bin i of n; wide: TrivialAugmentWide's
 * ranges, else RandAugment's. w, h: the image's size. *is_signed: whether a
 * random sign applies. */
static inline double aug_policy_magnitude(aug_policy_op op, int i, int n, int wide, int w, int h, int *is_signed)
{
    *is_signed = 1;
    switch (op) {
    case AUG_SHEAR_X:
    case AUG_SHEAR_Y: return aug_linspace(0, wide ? 0.99 : 0.3, n, i);
    case AUG_TRANSLATE_X: return aug_linspace(0, wide ? 32.0 : 150.0 / 331.0 * w, n, i);
    case AUG_TRANSLATE_Y: return aug_linspace(0, wide ? 32.0 : 150.0 / 331.0 * h, n, i);
    case AUG_ROTATE: return aug_linspace(0, wide ? 135.0 : 30.0, n, i);
    case AUG_BRIGHTNESS:
    case AUG_COLOR:
    case AUG_CONTRAST:
    case AUG_SHARPNESS: return aug_linspace(0, wide ? 0.99 : 0.9, n, i);
    default: break;
    }
    *is_signed = 0;
    switch (op) {
    case AUG_POSTERIZE: /* 8 - round(i / ((n - 1) / 6 or 4)), torch's round: half to even */
        return n > 1 ? 8 - nearbyint(i / ((n - 1) / (wide ? 6.0 : 4.0))) : 8;
    case AUG_SOLARIZE: return aug_linspace(1.0, 0.0, n, i); /* linspace(255, 0) / 255 */
    default: return 0;
    }
}

typedef struct aug_policy_pick {
    aug_policy_op op;
    double magnitude; /* signed */
} aug_policy_pick;

/* One draw: op uniform, bin uniform (bin < 0) or the given one, sign. */
static inline aug_policy_pick aug_policy_draw(cf_rng *r, int bin, int n, int wide, int w, int h)
{
    aug_policy_pick p;
    p.op = (aug_policy_op)cf_rng_below(r, AUG_N_POLICY_OPS);
    const int i = bin >= 0 ? bin : (int)cf_rng_below(r, (uint32_t)n);
    int sgn;
    p.magnitude = aug_policy_magnitude(p.op, i, n, wide, w, h, &sgn);
    if (sgn && cf_rng_below(r, 2)) p.magnitude = -p.magnitude;
    return p;
}

static inline void aug_policy_apply(aug_policy_pick p, const cf_image *in, cf_image *out, float fill)
{
    const float f = (float)(1.0 + p.magnitude);
    switch (p.op) {
    case AUG_IDENTITY: aug_copy(in, out); break;
    case AUG_SHEAR_X: aug_op_shear_origin(in, out, p.magnitude, 0, fill); break;
    case AUG_SHEAR_Y: aug_op_shear_origin(in, out, 0, p.magnitude, fill); break;
    case AUG_TRANSLATE_X: aug_op_translate(in, out, (int)p.magnitude, 0, fill); break;
    case AUG_TRANSLATE_Y: aug_op_translate(in, out, 0, (int)p.magnitude, fill); break;
    case AUG_ROTATE: aug_op_rotate(in, out, p.magnitude, fill); break;
    case AUG_BRIGHTNESS: aug_op_brightness(in, out, f, 1); break;
    case AUG_COLOR: aug_op_saturation(in, out, f, 1); break;
    case AUG_CONTRAST: aug_op_contrast(in, out, f, 1); break;
    case AUG_SHARPNESS: aug_op_sharpness(in, out, f); break;
    case AUG_POSTERIZE: aug_op_posterize(in, out, (int)p.magnitude); break;
    case AUG_SOLARIZE: aug_op_solarize(in, out, (float)p.magnitude); break;
    case AUG_AUTOCONTRAST: aug_op_autocontrast(in, out); break;
    case AUG_EQUALIZE: aug_op_equalize(in, out); break;
    default: aug_copy(in, out); break;
    }
}

#endif
