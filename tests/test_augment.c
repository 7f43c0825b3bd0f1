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
    suite_add_tcase(s, tc);
    return s;
}
