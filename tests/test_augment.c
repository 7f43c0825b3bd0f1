/* Augmentation plugins: each is deterministic for a seed, random across
 * seeds where it should be, reports its output shape truthfully, and does
 * what its documentation says (hflip twice = identity, crop keeps size,
 * normalize gives mean 0, ...). Images are non-square so h/w mix-ups show. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/params.h"
#include "../plugins/augmentations/aug_policy.h"

static cf_registry *reg;

static void setup(void)
{
    cf_error err = {0};
    ck_assert_msg(cf_registry_create(&reg, NULL, 0, &err) == CF_OK, "registry: %s", err.msg);
}

static void teardown(void)
{
    cf_registry_destroy(reg);
    reg = NULL;
}

typedef struct aug {
    const cf_plugin_desc *d;
    const cf_augmentation_vtable *vt;
    cf_params *hp;
    void *state;
} aug;

/* Create plugin `name` with key/value text parameters; on failure return the
 * status and leave the message in *err (for the error tests). */
static cf_status aug_try(aug *a, const char *name, const char *const *kv, int n_kv, cf_error *err)
{
    memset(a, 0, sizeof *a);
    ck_assert_msg(cf_registry_find(reg, CF_PLUGIN_AUGMENTATION, name, &a->d, err) == CF_OK, "%s",
                  err->msg);
    a->vt = a->d->vtable;
    ck_assert_msg(cf_params_from_kv(a->d->params, kv, n_kv, &a->hp, err) == CF_OK, "%s: %s", name,
                  err->msg);
    cf_status st = cf_plugin_state_create(a->d, a->hp, &a->state, err);
    if (st != CF_OK) {
        cf_params_free(a->hp);
        a->hp = NULL;
    }
    return st;
}

static void aug_make(aug *a, const char *name, const char *const *kv, int n_kv)
{
    cf_error err = {0};
    ck_assert_msg(aug_try(a, name, kv, n_kv, &err) == CF_OK, "%s create: %s", name, err.msg);
}

static void aug_free(aug *a)
{
    cf_plugin_state_destroy(a->d, a->state);
    cf_params_free(a->hp);
}

static cf_image img_new(int c, int h, int w)
{
    cf_image im = {calloc((size_t)c * h * w, sizeof(float)), c, h, w};
    ck_assert_ptr_nonnull(im.data);
    return im;
}

/* Distinct values in [0.05, 0.95] (no clipping surprises). */
static cf_image img_test(int c, int h, int w)
{
    cf_image im = img_new(c, h, w);
    for (size_t k = 0; k < (size_t)c * h * w; k++)
        im.data[k] = (float)(0.05 + 0.9 * fmod(0.6180339887 * (double)(k + 1) * 7.0, 1.0));
    return im;
}

static float *px(const cf_image *im, int c, int i, int j)
{
    return &im->data[((size_t)c * im->h + i) * im->w + j];
}

/* Apply with the stream of (seed, epoch 1, sample); out is allocated from
 * out_shape. Returns the status (out->data NULL on failure). */
static cf_status aug_run(const aug *a, const cf_image *in, cf_image *out, uint64_t seed,
                         uint64_t sample, cf_error *err)
{
    int oc = in->c, oh = in->h, ow = in->w;
    if (a->vt->out_shape) a->vt->out_shape(a->state, in->c, in->h, in->w, &oc, &oh, &ow);
    *out = img_new(oc, oh, ow);
    for (size_t k = 0; k < (size_t)oc * oh * ow; k++) out->data[k] = NAN; /* must be written */
    cf_rng rng = cf_rng_make(seed, CF_RNG_AUGMENT, 1, sample);
    cf_status st = a->vt->apply(a->state, in, out, &rng, err);
    if (st != CF_OK) {
        free(out->data);
        out->data = NULL;
    }
    return st;
}

static cf_image aug_apply(const aug *a, const cf_image *in, uint64_t seed, uint64_t sample)
{
    cf_error err = {0};
    cf_image out;
    ck_assert_msg(aug_run(a, in, &out, seed, sample, &err) == CF_OK, "%s: %s", a->d->name,
                  err.msg);
    for (size_t k = 0; k < (size_t)out.c * out.h * out.w; k++)
        ck_assert_msg(isfinite(out.data[k]), "%s left output element %zu unwritten", a->d->name,
                      k);
    return out;
}

static int img_eq(const cf_image *a, const cf_image *b, float tol)
{
    if (a->c != b->c || a->h != b->h || a->w != b->w) return 0;
    for (size_t k = 0; k < (size_t)a->c * a->h * a->w; k++)
        if (!(fabsf(a->data[k] - b->data[k]) <= tol)) return 0;
    return 1;
}

#define KV(...) (const char *const[]){__VA_ARGS__}, (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

/* ---- catalogue and the properties every plugin shares ------------------------ */

typedef struct aug_case {
    const char *name;
    const char *kv[8];
    int n_kv;
    int random; /* output varies with the seed */
} aug_case;

static const aug_case cases[] = {
    {"hflip", {0}, 0, 1},
    {"vflip", {0}, 0, 1},
    {"random_crop", {"padding", "3"}, 2, 1},
    {"random_resized_crop", {"size", "6,5"}, 2, 1},
    {"rotate", {"degrees", "30"}, 2, 1},
    {"translate", {"fraction", "0.3"}, 2, 1},
    {"scale", {"min", "0.7", "max", "1.3", "aspect", "0.25"}, 6, 1},
    {"shear", {"degrees", "20"}, 2, 1},
    {"brightness", {"factor", "0.4"}, 2, 1},
    {"contrast", {"factor", "0.4"}, 2, 1},
    {"saturation", {"factor", "0.4"}, 2, 1},
    {"hue", {"delta", "0.2"}, 2, 1},
    {"grayscale", {"channels", "1"}, 2, 0},
    {"grayscale", {"p", "0.5"}, 2, 1},
    {"resize", {"size", "7"}, 2, 0},
    {"center_crop", {"size", "6,4"}, 2, 0},
    {"normalize", {"mean", "0.5,0.4,0.3", "std", "0.2,0.25,0.3"}, 4, 0},
    {"random_erasing", {"p", "0.9"}, 2, 1},
    {"gaussian_noise", {"std", "0.1"}, 2, 1},
    {"gaussian_blur", {"kernel_size", "3"}, 2, 1},
    {"trivial_augment", {0}, 0, 1},
    {"rand_augment", {"num_ops", "2", "magnitude", "9"}, 4, 1},
    {"posterize", {"bits", "3"}, 2, 1},
    {"solarize", {"threshold", "0.4"}, 2, 1},
    {"sharpness", {"factor", "3"}, 2, 1},
    {"autocontrast", {0}, 0, 1},
    {"equalize", {0}, 0, 0}, /* fewer than 256 pixels a channel here: equalize keeps them (PIL) */
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

START_TEST(test_catalogue)
{
    int n = 0;
    for (int i = 0; i < cf_registry_count(reg); i++) {
        const cf_plugin_desc *d = cf_registry_desc(reg, i);
        if (d->kind != CF_PLUGIN_AUGMENTATION) continue;
        n++;
        ck_assert_msg(d->doc && *d->doc, "%s has no doc", d->name);
        for (const cf_param_def *p = d->params; p && p->name; p++)
            ck_assert_msg(p->doc && *p->doc, "%s.%s has no doc", d->name, p->name);
    }
    ck_assert_int_ge(n, 14);
    for (int k = 0; k < N_CASES; k++) {
        const cf_plugin_desc *d;
        cf_error err = {0};
        ck_assert_msg(cf_registry_find(reg, CF_PLUGIN_AUGMENTATION, cases[k].name, &d, &err) ==
                          CF_OK,
                      "%s", err.msg);
    }
}
END_TEST

/* Same (seed, sample) -> same output; the input is left alone; the output
 * has out_shape's size; random plugins vary across samples. */
START_TEST(test_deterministic)
{
    for (int k = 0; k < N_CASES; k++) {
        aug a;
        aug_make(&a, cases[k].name, cases[k].kv, cases[k].n_kv);
        cf_image in = img_test(3, 9, 12), copy = img_test(3, 9, 12);
        cf_image o1 = aug_apply(&a, &in, 42, 5), o2 = aug_apply(&a, &in, 42, 5);
        ck_assert_msg(img_eq(&o1, &o2, 0), "%s: same seed, different output", cases[k].name);
        ck_assert_msg(img_eq(&in, &copy, 0), "%s changed its input", cases[k].name);
        int differs = 0;
        for (uint64_t s = 0; s < 8; s++) {
            cf_image o = aug_apply(&a, &in, 42, 100 + s);
            differs |= !img_eq(&o, &o1, 0);
            free(o.data);
        }
        ck_assert_msg(differs == cases[k].random, "%s: output %s across samples", cases[k].name,
                      differs ? "varies" : "never varies");
        free(o1.data);
        free(o2.data);
        free(in.data);
        free(copy.data);
        aug_free(&a);
    }
}
END_TEST

/* ---- what each one does ------------------------------------------------------- */

START_TEST(test_flips)
{
    static const char *const names[] = {"hflip", "vflip"};
    for (int f = 0; f < 2; f++) {
        aug a, never;
        aug_make(&a, names[f], KV("p", "1"));
        aug_make(&never, names[f], KV("p", "0"));
        cf_image in = img_test(3, 5, 8);
        cf_image once = aug_apply(&a, &in, 1, 1), twice = aug_apply(&a, &once, 1, 2);
        ck_assert_msg(img_eq(&twice, &in, 0), "%s twice is not the identity", names[f]);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < in.h; i++)
                for (int j = 0; j < in.w; j++) {
                    float want = f == 0 ? *px(&in, c, i, in.w - 1 - j) : *px(&in, c, in.h - 1 - i, j);
                    ck_assert_float_eq(*px(&once, c, i, j), want);
                }
        cf_image same = aug_apply(&never, &in, 1, 1);
        ck_assert(img_eq(&same, &in, 0));
        free(in.data);
        free(once.data);
        free(twice.data);
        free(same.data);
        aug_free(&a);
        aug_free(&never);
    }
}
END_TEST

/* A padded crop keeps the size and is the input shifted by (dy, dx) with
 * |dy|, |dx| <= padding, fill elsewhere; a smaller size cuts a window. */
START_TEST(test_random_crop)
{
    aug a;
    aug_make(&a, "random_crop", KV("padding", "2", "fill", "-1"));
    cf_image in = img_test(2, 6, 7);
    int shifted = 0;
    for (uint64_t s = 0; s < 20; s++) {
        cf_image o = aug_apply(&a, &in, 3, s);
        ck_assert(o.c == 2 && o.h == 6 && o.w == 7);
        int found = 0;
        for (int dy = -2; dy <= 2 && !found; dy++)
            for (int dx = -2; dx <= 2 && !found; dx++) {
                int ok = 1;
                for (int c = 0; c < 2 && ok; c++)
                    for (int i = 0; i < 6 && ok; i++)
                        for (int j = 0; j < 7 && ok; j++) {
                            int y = i + dy, x = j + dx;
                            float want = (y >= 0 && y < 6 && x >= 0 && x < 7) ? *px(&in, c, y, x) : -1;
                            ok = *px(&o, c, i, j) == want;
                        }
                if (ok) found = 1 + (dy || dx);
            }
        ck_assert_msg(found, "sample %d is not a shifted copy", (int)s);
        shifted |= found == 2;
        free(o.data);
    }
    ck_assert(shifted);
    aug_free(&a);

    aug w;
    aug_make(&w, "random_crop", KV("size", "4,5"));
    cf_image o = aug_apply(&w, &in, 3, 0);
    ck_assert(o.c == 2 && o.h == 4 && o.w == 5);
    free(o.data);
    aug_free(&w);
    free(in.data);
}
END_TEST

/* scale = ratio = 1 keeps the whole image: with size = input size that is the
 * identity (the bilinear resize hits pixel centres exactly). */
START_TEST(test_random_resized_crop)
{
    aug a;
    aug_make(&a, "random_resized_crop", KV("scale", "1,1", "ratio", "1,1"));
    cf_image in = img_test(3, 8, 8);
    cf_image o = aug_apply(&a, &in, 9, 9);
    ck_assert(img_eq(&o, &in, 1e-6f));
    free(o.data);
    aug_free(&a);
    aug b;
    aug_make(&b, "random_resized_crop", KV("size", "5,6"));
    for (uint64_t s = 0; s < 10; s++) {
        cf_image r = aug_apply(&b, &in, 9, s);
        ck_assert(r.c == 3 && r.h == 5 && r.w == 6);
        for (size_t k = 0; k < 90; k++) ck_assert(r.data[k] >= 0.05f - 1e-6f && r.data[k] <= 0.95f + 1e-6f);
        free(r.data);
    }
    aug_free(&b);
    free(in.data);
}
END_TEST

/* Geometric warps with a zero range are the identity; a constant image stays
 * constant when the fill equals it; rotation keeps the centre pixel. */
START_TEST(test_geometry)
{
    cf_image in = img_test(3, 7, 9), flat = img_new(1, 7, 9);
    for (int k = 0; k < 63; k++) flat.data[k] = 0.25f;
    struct {
        const char *name;
        const char *kv0[6];
        int n0;
        const char *kv1[6];
        int n1;
    } g[] = {
        {"rotate", {"degrees", "0"}, 2, {"degrees", "40", "fill", "0.25"}, 4},
        {"translate", {"fraction", "0"}, 2, {"fraction", "0.4", "fill", "0.25"}, 4},
        {"scale", {"min", "1", "max", "1"}, 4, {"min", "0.5", "max", "2", "fill", "0.25"}, 6},
        {"shear", {"degrees", "0"}, 2, {"degrees", "30", "fill", "0.25"}, 4},
    };
    for (size_t k = 0; k < sizeof g / sizeof g[0]; k++) {
        aug id, wide;
        aug_make(&id, g[k].name, g[k].kv0, g[k].n0);
        aug_make(&wide, g[k].name, g[k].kv1, g[k].n1);
        cf_image o = aug_apply(&id, &in, 5, 5);
        ck_assert_msg(img_eq(&o, &in, 0), "%s with a zero range changed the image", g[k].name);
        free(o.data);
        for (uint64_t s = 0; s < 5; s++) {
            cf_image f = aug_apply(&wide, &flat, 5, s);
            ck_assert_msg(img_eq(&f, &flat, 1e-6f), "%s: constant image not constant", g[k].name);
            free(f.data);
        }
        aug_free(&id);
        aug_free(&wide);
    }
    aug r;
    aug_make(&r, "rotate", KV("degrees", "90"));
    for (uint64_t s = 0; s < 5; s++) {
        cf_image o = aug_apply(&r, &in, 5, s);
        for (int c = 0; c < 3; c++) ck_assert_float_eq(*px(&o, c, 3, 4), *px(&in, c, 3, 4));
        free(o.data);
    }
    aug_free(&r);
    /* translate moves content by whole pixels: every value of the output is
     * either fill or a value of the input at a fixed offset. */
    aug t;
    aug_make(&t, "translate", KV("fraction", "0.3", "fill", "-1"));
    cf_image o = aug_apply(&t, &in, 11, 3);
    int dy = 99, dx = 99;
    for (int i = 0; i < 7 && dy == 99; i++)
        for (int j = 0; j < 9 && dy == 99; j++)
            if (*px(&o, 0, i, j) != -1)
                for (int y = 0; y < 7; y++)
                    for (int x = 0; x < 9; x++)
                        if (*px(&in, 0, y, x) == *px(&o, 0, i, j)) dy = i - y, dx = j - x;
    ck_assert(dy != 99);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 9; j++) {
                int y = i - dy, x = j - dx;
                float want = (y >= 0 && y < 7 && x >= 0 && x < 9) ? *px(&in, c, y, x) : -1;
                ck_assert_float_eq(*px(&o, c, i, j), want);
            }
    free(o.data);
    aug_free(&t);
    free(in.data);
    free(flat.data);
}
END_TEST

static double luma_at(const cf_image *im, int k)
{
    size_t p = (size_t)im->h * im->w;
    return 0.299 * im->data[k] + 0.587 * im->data[p + k] + 0.114 * im->data[2 * p + k];
}

START_TEST(test_colour)
{
    cf_image rgb = img_test(3, 6, 5), grey1 = img_test(1, 6, 5);
    const int plane = 30;
    /* brightness: one factor for every value (inputs <= 0.95, factor <= 1.05: no clipping) */
    aug b;
    aug_make(&b, "brightness", KV("factor", "0.05"));
    cf_image o = aug_apply(&b, &rgb, 2, 2);
    double f = o.data[0] / rgb.data[0];
    ck_assert(fabs(f - 1) > 1e-9 && fabs(f - 1) <= 0.05 + 1e-6);
    for (int k = 0; k < 90; k++) ck_assert(fabs(o.data[k] - f * rgb.data[k]) < 1e-6);
    free(o.data);
    aug_free(&b);
    /* contrast keeps the mean grey level (1 channel: the plain mean) */
    aug c;
    aug_make(&c, "contrast", KV("factor", "0.05"));
    o = aug_apply(&c, &grey1, 2, 2);
    double m0 = 0, m1 = 0;
    for (int k = 0; k < plane; k++) m0 += grey1.data[k], m1 += o.data[k];
    ck_assert(fabs(m0 - m1) / plane < 1e-6);
    ck_assert(!img_eq(&o, &grey1, 1e-7f));
    free(o.data);
    aug_free(&c);
    /* saturation keeps each pixel's luma; grey pixels do not change */
    aug s;
    aug_make(&s, "saturation", KV("factor", "0.05"));
    o = aug_apply(&s, &rgb, 2, 2);
    for (int k = 0; k < plane; k++) ck_assert(fabs(luma_at(&o, k) - luma_at(&rgb, k)) < 1e-6);
    ck_assert(!img_eq(&o, &rgb, 1e-7f));
    free(o.data);
    /* hue rotation keeps each pixel's max and min channel (HSV value and saturation) */
    aug h;
    aug_make(&h, "hue", KV("delta", "0.3"));
    o = aug_apply(&h, &rgb, 2, 2);
    for (int k = 0; k < plane; k++) {
        float a[3] = {rgb.data[k], rgb.data[plane + k], rgb.data[2 * plane + k]};
        float z[3] = {o.data[k], o.data[plane + k], o.data[2 * plane + k]};
        ck_assert(fabsf(fmaxf(a[0], fmaxf(a[1], a[2])) - fmaxf(z[0], fmaxf(z[1], z[2]))) < 1e-6f);
        ck_assert(fabsf(fminf(a[0], fminf(a[1], a[2])) - fminf(z[0], fminf(z[1], z[2]))) < 1e-5f);
    }
    ck_assert(!img_eq(&o, &rgb, 1e-4f));
    free(o.data);
    /* ...and with delta 0 it is the identity */
    aug h0;
    aug_make(&h0, "hue", KV("delta", "0"));
    o = aug_apply(&h0, &rgb, 2, 2);
    ck_assert(img_eq(&o, &rgb, 1e-6f));
    free(o.data);
    aug_free(&h0);
    /* colour-only plugins refuse a 1-channel image with a clear message */
    const aug *colour[2] = {&s, &h};
    for (int k = 0; k < 2; k++) {
        cf_error err = {0};
        cf_image bad;
        ck_assert_int_eq(aug_run(colour[k], &grey1, &bad, 1, 1, &err), CF_ERR_INVALID);
        ck_assert_msg(strstr(err.msg, "3-channel") && strstr(err.msg, colour[k]->d->name),
                      "message: %s", err.msg);
    }
    aug_free(&s);
    aug_free(&h);
    /* grayscale: 1 plane of luma, or 3 equal planes; p < 1 needs channels = 3 */
    aug g1, g3, bad;
    aug_make(&g1, "grayscale", KV("channels", "1"));
    aug_make(&g3, "grayscale", NULL, 0);
    o = aug_apply(&g1, &rgb, 1, 1);
    ck_assert_int_eq(o.c, 1);
    for (int k = 0; k < plane; k++) ck_assert(fabs(o.data[k] - luma_at(&rgb, k)) < 1e-6);
    free(o.data);
    o = aug_apply(&g3, &rgb, 1, 1);
    ck_assert_int_eq(o.c, 3);
    for (int k = 0; k < plane; k++)
        ck_assert(o.data[k] == o.data[plane + k] && o.data[k] == o.data[2 * plane + k]);
    free(o.data);
    cf_error err = {0};
    ck_assert_int_eq(aug_try(&bad, "grayscale", KV("p", "0.5", "channels", "1"), &err),
                     CF_ERR_INVALID);
    aug_free(&g1);
    aug_free(&g3);
    free(rgb.data);
    free(grey1.data);
}
END_TEST

START_TEST(test_resize_and_center_crop)
{
    cf_image in = img_test(3, 6, 9);
    aug r2, r1, same;
    aug_make(&r2, "resize", KV("size", "4,5"));
    aug_make(&r1, "resize", KV("size", "4"));
    aug_make(&same, "resize", KV("size", "6,9"));
    cf_image o = aug_apply(&r2, &in, 1, 1);
    ck_assert(o.c == 3 && o.h == 4 && o.w == 5);
    free(o.data);
    o = aug_apply(&r1, &in, 1, 1); /* shorter side (h = 6) -> 4, w = 9 * 4 / 6 = 6 */
    ck_assert(o.c == 3 && o.h == 4 && o.w == 6);
    free(o.data);
    o = aug_apply(&same, &in, 1, 1);
    ck_assert(img_eq(&o, &in, 1e-6f));
    free(o.data);
    /* a 2x downscale with half-pixel centres averages 2x2 blocks */
    aug half;
    aug_make(&half, "resize", KV("size", "3,4"));
    cf_image sq = img_test(1, 6, 8);
    o = aug_apply(&half, &sq, 1, 1);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) {
            float want = 0.25f * (*px(&sq, 0, 2 * i, 2 * j) + *px(&sq, 0, 2 * i + 1, 2 * j) +
                                  *px(&sq, 0, 2 * i, 2 * j + 1) + *px(&sq, 0, 2 * i + 1, 2 * j + 1));
            ck_assert(fabsf(*px(&o, 0, i, j) - want) < 1e-6f);
        }
    free(o.data);
    aug_free(&half);
    free(sq.data);
    aug cc;
    aug_make(&cc, "center_crop", KV("size", "4,5"));
    o = aug_apply(&cc, &in, 1, 1);
    ck_assert(o.h == 4 && o.w == 5);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 5; j++) ck_assert(*px(&o, c, i, j) == *px(&in, c, i + 1, j + 2));
    free(o.data);
    aug big;
    aug_make(&big, "center_crop", KV("size", "7"));
    cf_error err = {0};
    ck_assert_int_eq(aug_run(&big, &in, &o, 1, 1, &err), CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "smaller"), "message: %s", err.msg);
    aug_free(&big);
    aug_free(&cc);
    aug_free(&r2);
    aug_free(&r1);
    aug_free(&same);
    free(in.data);
}
END_TEST

START_TEST(test_normalize)
{
    cf_image in = img_test(3, 5, 7);
    const int plane = 35;
    double mean[3], sd[3];
    for (int c = 0; c < 3; c++) {
        double s = 0, q = 0;
        for (int k = 0; k < plane; k++) s += in.data[c * plane + k];
        mean[c] = s / plane;
        for (int k = 0; k < plane; k++) q += pow(in.data[c * plane + k] - mean[c], 2);
        sd[c] = sqrt(q / plane);
    }
    char ms[128], ss[128];
    snprintf(ms, sizeof ms, "%.17g,%.17g,%.17g", mean[0], mean[1], mean[2]);
    snprintf(ss, sizeof ss, "%.17g,%.17g,%.17g", sd[0], sd[1], sd[2]);
    aug a;
    aug_make(&a, "normalize", KV("mean", ms, "std", ss));
    cf_image o = aug_apply(&a, &in, 1, 1);
    for (int c = 0; c < 3; c++) {
        double s = 0, q = 0;
        for (int k = 0; k < plane; k++) s += o.data[c * plane + k];
        for (int k = 0; k < plane; k++) q += pow(o.data[c * plane + k] - s / plane, 2);
        ck_assert(fabs(s / plane) < 1e-5);
        ck_assert(fabs(sqrt(q / plane) - 1) < 1e-5);
    }
    free(o.data);
    aug_free(&a);
    /* one number applies to every channel; a wrong count is refused */
    aug one, two;
    aug_make(&one, "normalize", KV("mean", "0.5", "std", "0.5"));
    o = aug_apply(&one, &in, 1, 1);
    for (int k = 0; k < 3 * plane; k++) ck_assert(fabsf(o.data[k] - (in.data[k] - 0.5f) * 2) < 1e-6f);
    free(o.data);
    aug_make(&two, "normalize", KV("mean", "0.5,0.5", "std", "1"));
    cf_error err = {0};
    ck_assert_int_eq(aug_run(&two, &in, &o, 1, 1, &err), CF_ERR_INVALID);
    aug bad;
    ck_assert_int_eq(aug_try(&bad, "normalize", KV("mean", "0", "std", "0"), &err), CF_ERR_INVALID);
    aug_free(&one);
    aug_free(&two);
    free(in.data);
}
END_TEST

/* Erasing writes `value` over one rectangle whose area lies in `scale`,
 * leaves everything else alone, and never erases with p = 0. */
START_TEST(test_random_erasing)
{
    cf_image in = img_test(3, 10, 12);
    aug a, never;
    aug_make(&a, "random_erasing", KV("p", "1", "scale", "0.1,0.3", "value", "-2"));
    aug_make(&never, "random_erasing", KV("p", "0"));
    int erased_any = 0;
    for (uint64_t s = 0; s < 10; s++) {
        cf_image o = aug_apply(&a, &in, 4, s);
        int n = 0, i0 = 99, i1 = -1, j0 = 99, j1 = -1;
        for (int i = 0; i < 10; i++)
            for (int j = 0; j < 12; j++) {
                int e = *px(&o, 0, i, j) == -2;
                for (int c = 0; c < 3; c++)
                    ck_assert(e ? *px(&o, c, i, j) == -2 : *px(&o, c, i, j) == *px(&in, c, i, j));
                if (e) {
                    n++;
                    i0 = i < i0 ? i : i0, i1 = i > i1 ? i : i1;
                    j0 = j < j0 ? j : j0, j1 = j > j1 ? j : j1;
                }
            }
        if (n) {
            erased_any = 1;
            ck_assert_int_eq(n, (i1 - i0 + 1) * (j1 - j0 + 1)); /* a rectangle */
            ck_assert(n >= 0.1 * 120 * 0.5 && n <= 0.3 * 120 * 1.5);
        }
        free(o.data);
        o = aug_apply(&never, &in, 4, s);
        ck_assert(img_eq(&o, &in, 0));
        free(o.data);
    }
    ck_assert(erased_any);
    aug_free(&a);
    aug_free(&never);
    free(in.data);
}
END_TEST


/* ---- batch-level: mixup, cutmix, mixup_cutmix -------------------------------- */

/* n samples of c x h x w, image i = i + 1 + 0.001 * (pixel index), target
 * one-hot at class i (k = n): after a mix, row i's entries name the partner
 * and lambda. Returns the batch; free x and t. */
static cf_image_batch batch_new(int n, int c, int h, int w, int constant)
{
    cf_image_batch b = {malloc(sizeof(float) * (size_t)n * c * h * w), calloc((size_t)n * n, sizeof(float)), n, c,
                        h, w, n};
    ck_assert_ptr_nonnull(b.x);
    const size_t px = (size_t)c * h * w;
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < px; j++) b.x[i * px + j] = (float)(i + 1) + (constant ? 0.0f : 0.001f * (float)j);
        b.t[i * n + i] = 1;
    }
    return b;
}

static cf_status batch_run(const aug *a, cf_image_batch *b, uint64_t seed, uint64_t batch, cf_error *err)
{
    cf_rng r = cf_rng_make(seed, CF_RNG_BATCH_AUGMENT, 1, batch);
    return a->vt->apply_batch(a->state, b, &r, err);
}

/* Row i's partner and lambda: the other non-zero entry, or (i, 1). */
static void row_mix(const cf_image_batch *b, int i, int *j, double *lam)
{
    *j = i;
    *lam = b->t[i * b->k + i];
    double sum = 0;
    for (int q = 0; q < b->k; q++) {
        sum += b->t[i * b->k + q];
        if (q != i && b->t[i * b->k + q] > 0) *j = q;
    }
    ck_assert_msg(fabs(sum - 1) < 1e-6, "row %d sums to %g", i, sum);
}

START_TEST(test_mixup)
{
    aug a;
    aug_make(&a, "mixup", KV("alpha", "0.4"));
    ck_assert_ptr_null(a.vt->apply); /* batch-level only */
    cf_error err = {0};
    double sum = 0, sum2 = 0;
    int nl = 0;
    for (uint64_t step = 0; step < 400; step++) {
        cf_image_batch b = batch_new(6, 2, 3, 5, 0), b0 = batch_new(6, 2, 3, 5, 0);
        ck_assert_msg(batch_run(&a, &b, 7, step, &err) == CF_OK, "%s", err.msg);
        const size_t px = 2 * 3 * 5;
        double lam0 = -1;
        for (int i = 0; i < 6; i++) {
            int j;
            double lam;
            row_mix(&b, i, &j, &lam);
            if (j != i) { /* one lambda per batch */
                if (lam0 < 0) lam0 = lam;
                ck_assert_double_eq_tol(lam, lam0, 1e-6);
            }
            for (size_t q = 0; q < px; q++) /* x_i = lam x_i + (1 - lam) x_j, by hand */
                ck_assert_double_eq_tol(b.x[i * px + q], lam * b0.x[i * px + q] + (1 - lam) * b0.x[j * px + q], 1e-5);
        }
        if (lam0 >= 0) sum += lam0, sum2 += lam0 * lam0, nl++;
        free(b.x), free(b.t), free(b0.x), free(b0.t);
    }
    /* Beta(0.4, 0.4): mean 1/2, variance 1 / (4 (2 alpha + 1)) = 0.139 */
    const double m = sum / nl, v = sum2 / nl - m * m;
    ck_assert_msg(nl > 300 && fabs(m - 0.5) < 0.05 && fabs(v - 1 / 7.2) < 0.025, "lam mean %g var %g over %d", m, v,
                  nl);
    aug_free(&a);
    /* p = 0 never mixes; smoothed targets stay distributions */
    aug_make(&a, "mixup", KV("p", "0"));
    cf_image_batch b = batch_new(4, 1, 2, 2, 0), b0 = batch_new(4, 1, 2, 2, 0);
    ck_assert(batch_run(&a, &b, 1, 0, &err) == CF_OK);
    ck_assert(!memcmp(b.x, b0.x, sizeof(float) * 16) && !memcmp(b.t, b0.t, sizeof(float) * 16));
    aug_free(&a);
    aug_make(&a, "mixup", KV("alpha", "1"));
    for (int q = 0; q < 16; q++) b.t[q] = q % 5 == 0 ? 0.9f + 0.1f / 4 : 0.1f / 4; /* label smoothing 0.1 */
    ck_assert(batch_run(&a, &b, 1, 3, &err) == CF_OK);
    for (int i = 0; i < 4; i++) {
        double s = 0;
        for (int q = 0; q < 4; q++) s += b.t[i * 4 + q];
        ck_assert_double_eq_tol(s, 1, 1e-6);
    }
    free(b.x), free(b.t), free(b0.x), free(b0.t);
    aug_free(&a);
}
END_TEST

/* Pixels of image i that came from the partner: a box, the same in every
 * image and channel; the target's own share equals the area kept. */
static void check_cutmix(const cf_image_batch *b, const cf_image_batch *b0, int *boxed)
{
    const int H = b->h, W = b->w;
    const size_t plane = (size_t)H * W, px = (size_t)b->c * plane;
    for (int i = 0; i < b->n; i++) {
        int j;
        double lam;
        row_mix(b, i, &j, &lam);
        long from_j = 0;
        int i0 = H, i1 = -1, j0 = W, j1 = -1;
        for (int c = 0; c < b->c; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    const size_t q = i * px + c * plane + (size_t)y * W + x;
                    const float v = b->x[q];
                    if (j != i && v == b0->x[j * px + c * plane + (size_t)y * W + x]) {
                        from_j++;
                        if (c == 0) i0 = y < i0 ? y : i0, i1 = y > i1 ? y : i1, j0 = x < j0 ? x : j0, j1 = x > j1 ? x : j1;
                    } else
                        ck_assert_msg(v == b0->x[q], "image %d pixel (%d, %d) is from neither", i, y, x);
                }
        if (j == i) {
            ck_assert_double_eq(lam, 1);
            continue;
        }
        *boxed += from_j > 0;
        if (from_j) ck_assert_int_eq(from_j, (long)b->c * (i1 - i0 + 1) * (j1 - j0 + 1)); /* a box */
        ck_assert_double_eq_tol(lam, 1.0 - (double)from_j / (double)px, 1e-6);          /* lam = area kept */
    }
}

START_TEST(test_cutmix)
{
    aug a;
    aug_make(&a, "cutmix", KV("alpha", "1"));
    cf_error err = {0};
    int boxed = 0;
    for (uint64_t step = 0; step < 100; step++) {
        cf_image_batch b = batch_new(5, 3, 6, 9, 1), b0 = batch_new(5, 3, 6, 9, 1);
        ck_assert_msg(batch_run(&a, &b, 3, step, &err) == CF_OK, "%s", err.msg);
        check_cutmix(&b, &b0, &boxed);
        free(b.x), free(b.t), free(b0.x), free(b0.t);
    }
    ck_assert_int_gt(boxed, 100);
    aug_free(&a);
    /* the switch: always cutmix, or always mixup */
    aug_make(&a, "mixup_cutmix", KV("switch_prob", "1"));
    boxed = 0;
    for (uint64_t step = 0; step < 20; step++) {
        cf_image_batch b = batch_new(4, 1, 8, 8, 1), b0 = batch_new(4, 1, 8, 8, 1);
        ck_assert(batch_run(&a, &b, 5, step, &err) == CF_OK);
        check_cutmix(&b, &b0, &boxed);
        free(b.x), free(b.t), free(b0.x), free(b0.t);
    }
    ck_assert_int_gt(boxed, 10);
    aug_free(&a);
    aug_make(&a, "mixup_cutmix", KV("switch_prob", "0"));
    cf_image_batch b = batch_new(4, 1, 8, 8, 1), b0 = batch_new(4, 1, 8, 8, 1);
    ck_assert(batch_run(&a, &b, 5, 1, &err) == CF_OK);
    for (int i = 0; i < 4; i++) {
        int j;
        double lam;
        row_mix(&b, i, &j, &lam);
        ck_assert_double_eq_tol(b.x[i * 64 + 10], lam * (i + 1) + (1 - lam) * (j + 1), 1e-5);
    }
    free(b.x), free(b.t), free(b0.x), free(b0.t);
    aug_free(&a);
}
END_TEST

/* ---- noise and blur ------------------------------------------------------------- */

START_TEST(test_gaussian_noise)
{
    aug a;
    aug_make(&a, "gaussian_noise", KV("std", "0.2", "mean", "0.05", "clip", "false"));
    cf_image in = img_test(2, 7, 9);
    cf_image o = aug_apply(&a, &in, 11, 4);
    /* by hand: the p draw, then mean + std N(0, 1) per value in order */
    cf_rng r = cf_rng_make(11, CF_RNG_AUGMENT, 1, 4);
    (void)cf_rng_uniform(&r);
    double s1 = 0, s2 = 0;
    for (size_t k = 0; k < 126; k++) {
        const double want = in.data[k] + 0.05 + 0.2 * cf_rng_normal(&r);
        ck_assert_double_eq_tol(o.data[k], want, 1e-6);
        s1 += o.data[k] - in.data[k], s2 += (o.data[k] - in.data[k]) * (o.data[k] - in.data[k]);
    }
    ck_assert(fabs(s1 / 126 - 0.05) < 0.06 && fabs(sqrt(s2 / 126 - (s1 / 126) * (s1 / 126)) - 0.2) < 0.06);
    free(o.data);
    aug_free(&a);
    aug_make(&a, "gaussian_noise", KV("std", "1"));
    o = aug_apply(&a, &in, 11, 4);
    for (size_t k = 0; k < 126; k++) ck_assert(o.data[k] >= 0 && o.data[k] <= 1);
    free(o.data);
    aug_free(&a);
    aug_make(&a, "gaussian_noise", KV("p", "0"));
    o = aug_apply(&a, &in, 11, 4);
    ck_assert(img_eq(&o, &in, 0));
    free(o.data);
    aug_free(&a);
    free(in.data);
}
END_TEST

static int refl(int i, int n)
{
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

START_TEST(test_gaussian_blur)
{
    static const struct { const char *ks; int kh, kw; int h, w; } cs[] = {
        {"5", 5, 5, 7, 9}, {"3,5", 3, 5, 6, 8}, {"7", 7, 7, 3, 4}};
    for (int t = 0; t < 3; t++) {
        aug a;
        aug_make(&a, "gaussian_blur", KV("kernel_size", cs[t].ks, "sigma", "1.3"));
        cf_image in = img_test(2, cs[t].h, cs[t].w), o = aug_apply(&a, &in, 5, 1);
        /* a direct 2-D convolution with the normalised Gaussian, reflected edges */
        const int rh = cs[t].kh / 2, rw = cs[t].kw / 2;
        double wsum = 0;
        for (int dy = -rh; dy <= rh; dy++)
            for (int dx = -rw; dx <= rw; dx++) wsum += exp(-(dy * dy + dx * dx) / (2 * 1.3 * 1.3));
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < in.h; i++)
                for (int j = 0; j < in.w; j++) {
                    double v = 0;
                    for (int dy = -rh; dy <= rh; dy++)
                        for (int dx = -rw; dx <= rw; dx++)
                            v += exp(-(dy * dy + dx * dx) / (2 * 1.3 * 1.3)) / wsum *
                                 *px(&in, c, refl(i + dy, in.h), refl(j + dx, in.w));
                    ck_assert_msg(fabs(*px(&o, c, i, j) - v) < 1e-5, "kernel %s at (%d, %d, %d): %g, want %g",
                                  cs[t].ks, c, i, j, *px(&o, c, i, j), v);
                }
        free(o.data);
        free(in.data);
        aug_free(&a);
    }
    aug a;
    cf_error err = {0};
    ck_assert(aug_try(&a, "gaussian_blur", KV("kernel_size", "4"), &err) != CF_OK);
    ck_assert_msg(strstr(err.msg, "odd"), "%s", err.msg);
}
END_TEST

/* ---- policies: TrivialAugment, RandAugment and their ops ------------------------ */

START_TEST(test_policy_magnitudes)
{
    int sg;
    /* torchvision TrivialAugmentWide's bins (31) */
    ck_assert_double_eq_tol(aug_policy_magnitude(AUG_ROTATE, 30, 31, 1, 12, 9, &sg), 135, 1e-12);
    ck_assert(sg);
    ck_assert_double_eq_tol(aug_policy_magnitude(AUG_ROTATE, 10, 31, 1, 12, 9, &sg), 45, 1e-12);
    ck_assert_double_eq_tol(aug_policy_magnitude(AUG_SHEAR_X, 30, 31, 1, 12, 9, &sg), 0.99, 1e-12);
    ck_assert_double_eq_tol(aug_policy_magnitude(AUG_TRANSLATE_Y, 15, 31, 1, 12, 9, &sg), 16, 1e-12);
    ck_assert_double_eq_tol(aug_policy_magnitude(AUG_SHARPNESS, 3, 31, 1, 12, 9, &sg), 0.099, 1e-12);
    ck_assert_double_eq(aug_policy_magnitude(AUG_POSTERIZE, 0, 31, 1, 12, 9, &sg), 8);
    ck_assert(!sg);
    ck_assert_double_eq(aug_policy_magnitude(AUG_POSTERIZE, 30, 31, 1, 12, 9, &sg), 2);
    ck_assert_double_eq(aug_policy_magnitude(AUG_POSTERIZE, 13, 31, 1, 12, 9, &sg), 5); /* 8 - round(2.6) */
    ck_assert_double_eq_tol(aug_policy_magnitude(AUG_SOLARIZE, 10, 31, 1, 12, 9, &sg), 2.0 / 3, 1e-12);
    ck_assert_double_eq(aug_policy_magnitude(AUG_EQUALIZE, 10, 31, 1, 12, 9, &sg), 0);
    /* RandAugment's (M = 9 of 31 bins) */
    ck_assert_double_eq_tol(aug_policy_magnitude(AUG_SHEAR_Y, 9, 31, 0, 12, 9, &sg), 0.09, 1e-12);
    ck_assert_double_eq_tol(aug_policy_magnitude(AUG_ROTATE, 9, 31, 0, 12, 9, &sg), 9, 1e-12);
    ck_assert_double_eq_tol(aug_policy_magnitude(AUG_TRANSLATE_X, 9, 31, 0, 12, 9, &sg), 150.0 / 331 * 12 * 0.3, 1e-12);
    ck_assert_double_eq_tol(aug_policy_magnitude(AUG_TRANSLATE_Y, 9, 31, 0, 12, 9, &sg), 150.0 / 331 * 9 * 0.3, 1e-12);
    ck_assert_double_eq_tol(aug_policy_magnitude(AUG_BRIGHTNESS, 9, 31, 0, 12, 9, &sg), 0.27, 1e-12);
    ck_assert_double_eq(aug_policy_magnitude(AUG_POSTERIZE, 9, 31, 0, 12, 9, &sg), 7);  /* 8 - round(1.2) */
    ck_assert_double_eq(aug_policy_magnitude(AUG_POSTERIZE, 30, 31, 0, 12, 9, &sg), 4);
    ck_assert_double_eq_tol(aug_policy_magnitude(AUG_SOLARIZE, 9, 31, 0, 12, 9, &sg), 0.7, 1e-12);
    /* the paper's 0..10 scale: 11 bins */
    ck_assert_double_eq_tol(aug_policy_magnitude(AUG_ROTATE, 10, 11, 0, 12, 9, &sg), 30, 1e-12);
}
END_TEST

START_TEST(test_policy_draws)
{
    /* the definition on a fixed stream: op uniform of 14, bin uniform, a sign draw for signed ops */
    long ops[AUG_N_POLICY_OPS] = {0}, bins[31] = {0}, neg = 0, nsigned = 0;
    cf_rng r = cf_rng_make(3, CF_RNG_AUGMENT, 1, 0), q = r;
    for (int t = 0; t < 28000; t++) {
        aug_policy_pick p = aug_policy_draw(&r, -1, 31, 1, 12, 9);
        const int op = (int)cf_rng_below(&q, AUG_N_POLICY_OPS), bin = (int)cf_rng_below(&q, 31);
        int sg;
        double m = aug_policy_magnitude((aug_policy_op)op, bin, 31, 1, 12, 9, &sg);
        if (sg && cf_rng_below(&q, 2)) m = -m;
        ck_assert_int_eq(p.op, op);
        ck_assert_double_eq(p.magnitude, m);
        ops[op]++, bins[bin]++;
        if (sg) nsigned++, neg += signbit(m) != 0;
    }
    for (int k = 0; k < AUG_N_POLICY_OPS; k++)
        ck_assert_msg(labs(ops[k] - 2000) < 200, "%s drawn %ld of 28000", aug_policy_op_names[k], ops[k]);
    for (int k = 0; k < 31; k++) ck_assert_msg(labs(bins[k] - 903) < 150, "bin %d drawn %ld", k, bins[k]);
    ck_assert(fabs((double)neg / nsigned - 0.5) < 0.05);
    /* RandAugment: the fixed bin, no bin draw */
    r = cf_rng_make(3, CF_RNG_AUGMENT, 1, 1), q = r;
    for (int t = 0; t < 100; t++) {
        aug_policy_pick p = aug_policy_draw(&r, 9, 31, 0, 12, 9);
        const int op = (int)cf_rng_below(&q, AUG_N_POLICY_OPS);
        int sg;
        double m = aug_policy_magnitude((aug_policy_op)op, 9, 31, 0, 12, 9, &sg);
        if (sg && cf_rng_below(&q, 2)) m = -m;
        ck_assert(p.op == (aug_policy_op)op && p.magnitude == m);
    }
}
END_TEST

START_TEST(test_policy_plugins)
{
    aug ta, ra;
    aug_make(&ta, "trivial_augment", NULL, 0);
    aug_make(&ra, "rand_augment", KV("num_ops", "2", "magnitude", "12"));
    for (int c = 1; c <= 3; c += 2) { /* greyscale works too */
        cf_image in = img_test(c, 9, 12);
        int differs = 0;
        for (uint64_t s = 0; s < 40; s++) {
            cf_image o = aug_apply(&ta, &in, 8, s);
            /* the plugin is one draw applied */
            cf_rng r = cf_rng_make(8, CF_RNG_AUGMENT, 1, s);
            cf_image want = img_new(c, 9, 12), mid = img_new(c, 9, 12);
            aug_policy_apply(aug_policy_draw(&r, -1, 31, 1, 12, 9), &in, &want, 0);
            ck_assert(img_eq(&o, &want, 0));
            differs += !img_eq(&o, &in, 1e-6f);
            free(o.data);
            o = aug_apply(&ra, &in, 8, s); /* two draws in turn */
            r = cf_rng_make(8, CF_RNG_AUGMENT, 1, s);
            aug_policy_apply(aug_policy_draw(&r, 12, 31, 0, 12, 9), &in, &mid, 0);
            aug_policy_apply(aug_policy_draw(&r, 12, 31, 0, 12, 9), &mid, &want, 0);
            ck_assert(img_eq(&o, &want, 0));
            free(o.data), free(want.data), free(mid.data);
        }
        /* identity, a zero bin, Color on greyscale and sub-pixel shifts leave it */
        ck_assert_msg(differs >= 24, "%d of 40 outputs differ from the input", differs);
        for (int op = 0; op < AUG_N_POLICY_OPS; op++) { /* every op on this channel count */
            cf_image o = img_new(c, 9, 12);
            aug_policy_apply((aug_policy_pick){(aug_policy_op)op, op == AUG_POSTERIZE ? 4 : 0.5}, &in, &o, 0);
            for (size_t k = 0; k < aug_numel(&o); k++) ck_assert(isfinite(o.data[k]));
            free(o.data);
        }
        free(in.data);
    }
    aug_free(&ta);
    aug_free(&ra);
    cf_error err = {0};
    ck_assert(aug_try(&ra, "rand_augment", KV("magnitude", "31"), &err) != CF_OK);
    ck_assert_msg(strstr(err.msg, "below num_magnitude_bins"), "%s", err.msg);
}
END_TEST

START_TEST(test_photometric_ops)
{
    cf_image in = img_new(1, 16, 32), o = img_new(1, 16, 32);
    for (int k = 0; k < 512; k++) in.data[k] = k < 256 ? 0.25f : k < 384 ? 0.5f : 0.75f;
    /* posterize 4 bits: 8-bit 64 -> 64, 128 -> 128, 191 -> 176 */
    aug_op_posterize(&in, &o, 4);
    ck_assert_float_eq(o.data[0], 64 / 255.0f);
    ck_assert_float_eq(o.data[500], 176 / 255.0f);
    /* solarize at 0.5: 0.5 and 0.75 invert */
    aug_op_solarize(&in, &o, 0.5f);
    ck_assert_float_eq(o.data[0], 0.25f);
    ck_assert_float_eq(o.data[300], 0.5f);
    ck_assert_float_eq(o.data[500], 0.25f);
    /* autocontrast: [0.25, 0.75] -> [0, 1] */
    aug_op_autocontrast(&in, &o);
    ck_assert_float_eq_tol(o.data[0], 0, 1e-6);
    ck_assert_float_eq_tol(o.data[300], 0.5, 1e-6);
    ck_assert_float_eq_tol(o.data[500], 1, 1e-6);
    /* equalize (PIL's table): step = (512 - 128) / 255 = 1; lut[64] = 0, lut[128] = 256 -> 255 */
    aug_op_equalize(&in, &o);
    ck_assert_float_eq(o.data[0], 0);
    ck_assert_float_eq(o.data[300], 1);
    ck_assert_float_eq(o.data[500], 1);
    /* sharpness 0: the interior smoothed by [[1,1,1],[1,5,1],[1,1,1]] / 13, the border kept */
    cf_image t = img_test(1, 4, 5), so = img_new(1, 4, 5);
    aug_op_sharpness(&t, &so, 0);
    double sm = 4 * *px(&t, 0, 1, 1);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) sm += *px(&t, 0, a, b);
    ck_assert_double_eq_tol(*px(&so, 0, 1, 1), sm / 13, 1e-6);
    ck_assert_float_eq(*px(&so, 0, 0, 2), *px(&t, 0, 0, 2));
    aug_op_sharpness(&t, &so, 1);
    ck_assert(img_eq(&so, &t, 0));
    free(in.data), free(o.data), free(t.data), free(so.data);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("augment");
    TCase *tc = tcase_create("augment");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_catalogue);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_flips);
    tcase_add_test(tc, test_random_crop);
    tcase_add_test(tc, test_random_resized_crop);
    tcase_add_test(tc, test_geometry);
    tcase_add_test(tc, test_colour);
    tcase_add_test(tc, test_resize_and_center_crop);
    tcase_add_test(tc, test_normalize);
    tcase_add_test(tc, test_random_erasing);
    tcase_add_test(tc, test_mixup);
    tcase_add_test(tc, test_cutmix);
    tcase_add_test(tc, test_gaussian_noise);
    tcase_add_test(tc, test_gaussian_blur);
    tcase_add_test(tc, test_policy_magnitudes);
    tcase_add_test(tc, test_policy_draws);
    tcase_add_test(tc, test_policy_plugins);
    tcase_add_test(tc, test_photometric_ops);
    suite_add_tcase(s, tc);
    return s;
}
