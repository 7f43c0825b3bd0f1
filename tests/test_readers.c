/* Dataset readers against the same Fashion-MNIST images read from IDX: PNG
 * and PGM trees are pixel-equal, JPEG close, tinted RGB exact in its red
 * channel; .lst and CIFAR layouts give the same pixels and labels; format
 * detection; bad files skipped and named; shape errors name the file; the
 * streamed and cached paths give the same floats. Fixtures:
 * tests/fixtures/images (tests/fixtures/make_images.py). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/reader.h"

#define FM "/usr/share/datasets/fashion-mnist/"
static char fix[1024];
static cf_dataset idx_test, idx_train;

static const char *fx(const char *rel)
{
    static char p[8][1200];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", fix, rel);
    return p[k];
}

static void setup(void)
{
    const char *s = getenv("CF_TEST_SRCDIR");
    snprintf(fix, sizeof fix, "%s/tests/fixtures/images", s ? s : ".");
    cf_error e = {0};
    ck_assert_msg(!cf_idx_load(FM "t10k-images-idx3-ubyte.gz", FM "t10k-labels-idx1-ubyte.gz", 100, &idx_test, &e),
                  "%s", e.msg);
    ck_assert_msg(!cf_idx_load(FM "train-images-idx3-ubyte.gz", FM "train-labels-idx1-ubyte.gz", 100, &idx_train, &e),
                  "%s", e.msg);
}

static void teardown(void)
{
    cf_dataset_free(&idx_test);
    cf_dataset_free(&idx_train);
}

/* The IDX index a tree's file was written from: its base name. */
static int index_of(const char *name)
{
    const char *b = strrchr(name, '/');
    return atoi(b ? b + 1 : name);
}

/* Every item of a tree, decoded and fitted to c x 28 x 28, against IDX:
 * returns the largest difference (per channel ch_scale: tint factors). */
static double tree_vs_idx(const char *path, const char *format, int c, const double *tint, int *n_out)
{
    cf_reader *r;
    cf_error e = {0};
    ck_assert_msg(!cf_reader_open(path, format, NULL, &r, &e), "%s", e.msg);
    cf_item it = {0};
    float px[3 * 784];
    double worst = 0;
    for (long i = 0; i < r->info.n; i++) {
        ck_assert_msg(!cf_reader_read(r, i, &it, &e), "%s", e.msg);
        int j = index_of(it.name);
        ck_assert_int_eq((int)cf_reader_labels(r, i)[0], idx_test.y[j]);
        cf_image_u8 im;
        ck_assert_msg(!cf_image_decode(it.name, it.data, it.len, 0, 0, &im, &e), "%s", e.msg);
        ck_assert_msg(!cf_image_fit(it.name, &im, c, 28, 28, 0, px, &e), "%s", e.msg);
        cf_image_u8_free(&im);
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < 784; p++) {
                double want = tint ? floor(idx_test.x[(size_t)j * 784 + p] * 255.0 * tint[ch] + 1e-9) / 255.0
                                   : idx_test.x[(size_t)j * 784 + p];
                double d = fabs(px[ch * 784 + p] - want);
                if (d > worst) worst = d;
            }
    }
    *n_out = (int)r->info.n;
    cf_item_free(&it);
    cf_reader_close(r);
    return worst;
}

START_TEST(png_and_pgm_trees_equal_idx)
{
    int n;
    ck_assert(tree_vs_idx(fx("png_gray"), NULL, 1, NULL, &n) == 0.0);
    ck_assert_int_eq(n, 40);
    ck_assert(tree_vs_idx(fx("pgm"), "folder", 1, NULL, &n) == 0.0);
    /* gray -> RGB replicates: every channel equals the gray value */
    static const double one[3] = {1, 1, 1};
    ck_assert(tree_vs_idx(fx("png_gray"), NULL, 3, one, &n) < 1e-7);
}
END_TEST

START_TEST(tinted_rgb_png_is_exact)
{
    int n;
    static const double tint[3] = {1.0, 0.75, 0.5};
    ck_assert_msg(tree_vs_idx(fx("png_rgb"), NULL, 3, tint, &n) < 1e-6, "tinted channels");
}
END_TEST

START_TEST(jpeg_trees_are_close)
{
    int n;
    double g = tree_vs_idx(fx("jpg_gray"), NULL, 1, NULL, &n);
    ck_assert_msg(g < 0.25, "gray jpeg max diff %g", g);
    static const double tint[3] = {1.0, 0.75, 0.5};
    double c = tree_vs_idx(fx("jpg_rgb"), NULL, 3, tint, &n);
    ck_assert_msg(c < 0.35, "rgb jpeg max diff %g", c);
}
END_TEST

START_TEST(classes_in_sorted_name_order)
{
    cf_reader *r;
    cf_error e = {0};
    ck_assert(!cf_reader_open(fx("png_gray"), NULL, NULL, &r, &e));
    ck_assert_str_eq(r->v->name, "folder");
    ck_assert_int_eq(r->info.k, 10);
    for (int c = 1; c < 10; c++) ck_assert(strcmp(r->info.class_names[c - 1], r->info.class_names[c]) < 0);
    ck_assert_str_eq(r->info.class_names[9], "9-Ankle_boot");
    cf_reader_close(r);
}
END_TEST

START_TEST(lst_matches_folder)
{
    cf_reader *l, *f;
    cf_error e = {0};
    cf_reader_opts o = {.root = fx("png_gray")};
    ck_assert_msg(!cf_reader_open(fx("png_gray.lst"), NULL, &o, &l, &e), "%s", e.msg);
    ck_assert_str_eq(l->v->name, "lst");
    ck_assert(!cf_reader_open(fx("png_gray"), NULL, NULL, &f, &e));
    ck_assert_int_eq(l->info.n, f->info.n);
    ck_assert_int_eq(l->info.k, 10);
    ck_assert_ptr_nonnull(l->info.class_names);
    ck_assert_str_eq(l->info.class_names[9], "9-Ankle_boot"); /* from the paths' first folder */
    cf_item a = {0}, b = {0};
    for (long i = 0; i < l->info.n; i++) {
        ck_assert(cf_reader_labels(l, i)[0] == cf_reader_labels(f, i)[0]);
        ck_assert(!cf_reader_read(l, i, &a, &e) && !cf_reader_read(f, i, &b, &e));
        ck_assert(a.len == b.len && !memcmp(a.data, b.data, a.len));
    }
    cf_item_free(&a);
    cf_item_free(&b);
    cf_reader_close(l);
    cf_reader_close(f);
}
END_TEST

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(lst_errors_name_file_and_line)
{
    char p[64] = "/tmp/cf_lstXXXXXX";
    int fd = mkstemp(p);
    ck_assert(fd >= 0);
    close(fd);
    char lp[80];
    snprintf(lp, sizeof lp, "%s.lst", p);
    cf_reader *r;
    cf_error e = {0};
    write_file(lp, "0\t1\ta.png\n1\tx\tb.png\n");
    ck_assert(cf_reader_open(lp, NULL, NULL, &r, &e) == CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, ".lst:2: label \"x\""), "%s", e.msg);
    write_file(lp, "0\t1\ta.png\n1\tb.png\n");
    ck_assert(cf_reader_open(lp, NULL, NULL, &r, &e) == CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, ".lst:2: expected"), "%s", e.msg);
    write_file(lp, "0\t1\t2\ta.png\n1\t0\t1\tb.png\n"); /* multi-label */
    ck_assert_msg(!cf_reader_open(lp, NULL, NULL, &r, &e), "%s", e.msg);
    ck_assert_int_eq(r->info.label_width, 2);
    ck_assert(cf_reader_labels(r, 1)[1] == 1.0f);
    cf_reader_close(r);
    unlink(lp);
    unlink(p);
}
END_TEST

START_TEST(cifar_layouts)
{
    cf_reader *r;
    cf_error e = {0};
    cf_reader_opts o = {0};
    ck_assert_msg(!cf_reader_open(fx("cifar10"), NULL, &o, &r, &e), "%s", e.msg);
    ck_assert_str_eq(r->v->name, "cifar");
    ck_assert_int_eq(r->info.n, 50);
    ck_assert_int_eq(r->info.k, 10);
    ck_assert_str_eq(r->info.class_names[0], "airplane");
    cf_item it = {0};
    for (long i = 0; i < 50; i++) { /* image i of train, padded to 32x32, tinted */
        ck_assert(!cf_reader_read(r, i, &it, &e));
        ck_assert_int_eq((int)cf_reader_labels(r, i)[0], idx_train.y[i]);
        ck_assert(it.kind == CF_ITEM_PIXELS && it.c == 3 && it.h == 32);
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                int v = (int)lroundf(idx_train.x[(size_t)i * 784 + y * 28 + x] * 255);
                const unsigned char *p = it.data + ((size_t)(y + 2) * 32 + x + 2) * 3;
                ck_assert(p[0] == v && p[1] == v * 3 / 4 && p[2] == v / 2);
            }
    }
    cf_reader_close(r);
    o.part = "test";
    ck_assert(!cf_reader_open(fx("cifar10"), NULL, &o, &r, &e));
    ck_assert_int_eq(r->info.n, 10);
    ck_assert_int_eq((int)cf_reader_labels(r, 3)[0], idx_test.y[3]);
    cf_reader_close(r);
    o.part = "train";
    ck_assert(!cf_reader_open(fx("cifar100"), NULL, &o, &r, &e));
    ck_assert_int_eq(r->info.k, 100);
    ck_assert_int_eq((int)cf_reader_labels(r, 0)[0], idx_train.y[0]); /* fine */
    cf_reader_close(r);
    o.cifar_label = "coarse";
    ck_assert(!cf_reader_open(fx("cifar100/train.bin"), NULL, &o, &r, &e));
    ck_assert_int_eq(r->info.k, 20);
    ck_assert_int_eq((int)cf_reader_labels(r, 0)[0], idx_train.y[0] / 5);
    cf_reader_close(r);
    cf_item_free(&it);
}
END_TEST

START_TEST(detection_and_format_override)
{
    const cf_reader_vtable *v;
    cf_error e = {0};
    ck_assert(!cf_reader_detect(FM "t10k-images-idx3-ubyte.gz", NULL, &v, &e));
    ck_assert_str_eq(v->name, "idx");
    ck_assert(!cf_reader_detect(fx("cifar10/test_batch.bin"), "auto", &v, &e));
    ck_assert_str_eq(v->name, "cifar");
    ck_assert(!cf_reader_detect(fx("png_gray"), "lst", &v, &e));
    ck_assert_str_eq(v->name, "lst");
    ck_assert(cf_reader_detect(fx("png_gray"), "bmp", &v, &e) == CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "data.format \"bmp\""), "%s", e.msg);
    ck_assert(cf_reader_detect(fx("png_gray.lst.missing"), NULL, &v, &e) == CF_ERR_IO);
    /* an IDX reader gives the IDX bytes back */
    cf_reader *r;
    ck_assert(!cf_reader_open(FM "t10k-images-idx3-ubyte.gz", NULL, &(cf_reader_opts){.limit = 5}, &r, &e));
    cf_item it = {0};
    ck_assert(!cf_reader_read(r, 4, &it, &e));
    for (int p = 0; p < 784; p++) ck_assert(it.data[p] * (1.0f / 255.0f) == idx_test.x[4 * 784 + p]);
    cf_item_free(&it);
    cf_reader_close(r);
}
END_TEST

START_TEST(corrupt_files_skipped_and_named)
{
    cf_dataset d;
    cf_error e = {0};
    cf_source_opts o = {.format = "auto", .cache_mb = 64};
    ck_assert_msg(!cf_dataset_open(fx("corrupt"), &o, &d, &e), "%s", e.msg);
    ck_assert_int_eq(d.n, 30);
    ck_assert_int_eq(d.n_skipped, 6);
    ck_assert_int_eq(d.n_named, 6);
    int seen = 0;
    for (int i = 0; i < d.n_named; i++) seen += strstr(d.skipped[i], "truncated.jpg") != NULL;
    ck_assert_int_eq(seen, 1);
    ck_assert(d.c == 1 && d.h == 28 && d.w == 28);
    cf_dataset_free(&d);
}
END_TEST

START_TEST(shapes_and_resize)
{
    cf_dataset d;
    cf_error e = {0};
    cf_source_opts o = {.format = "auto", .c = 1, .h = 32, .w = 32, .cache_mb = 64};
    ck_assert(cf_dataset_open(fx("png_gray"), &o, &d, &e) == CF_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, ".png: the image is 28x28, smaller than data.image_shape 32x32"), "%s", e.msg);
    o.resize = 36;
    ck_assert_msg(!cf_dataset_open(fx("png_gray"), &o, &d, &e), "%s", e.msg);
    ck_assert(d.h == 32 && d.x);
    cf_dataset_free(&d);
    /* a crop without resize: the centre 24x24 */
    o = (cf_source_opts){.format = "auto", .c = 1, .h = 24, .w = 24, .cache_mb = 64};
    ck_assert(!cf_dataset_open(fx("png_gray"), &o, &d, &e));
    cf_item it = {0};
    ck_assert(!cf_reader_read(d.src, d.map[0], &it, &e));
    int j = index_of(it.name);
    for (int y = 0; y < 24; y++)
        for (int x = 0; x < 24; x++) ck_assert(d.x[y * 24 + x] == idx_test.x[(size_t)j * 784 + (y + 2) * 28 + x + 2]);
    cf_item_free(&it);
    cf_dataset_free(&d);
}
END_TEST

START_TEST(streamed_equals_cached)
{
    cf_dataset a, b;
    cf_error e = {0};
    cf_source_opts o = {.format = "auto", .c = 3, .cache_mb = 64, .workers = 3};
    ck_assert(!cf_dataset_open(fx("jpg_rgb"), &o, &a, &e));
    o.cache_mb = 0;
    o.workers = 1;
    ck_assert(!cf_dataset_open(fx("jpg_rgb"), &o, &b, &e));
    ck_assert(a.x && !b.x && a.n == b.n);
    float tmp[3 * 784];
    cf_item it = {0};
    for (int i = 0; i < a.n; i++) {
        const float *pa, *pb;
        ck_assert(!cf_dataset_sample(&a, i, tmp, &it, &pa, &e));
        ck_assert(!cf_dataset_sample(&b, i, tmp, &it, &pb, &e));
        ck_assert(!memcmp(pa, pb, sizeof tmp));
        ck_assert_int_eq(a.y[i], b.y[i]);
    }
    double m1[4], s1[4], m2[4], s2[4];
    int idx[40];
    for (int i = 0; i < 40; i++) idx[i] = i;
    ck_assert(!cf_dataset_stats_sample(&a, idx, 40, 5000, m1, s1, &e));
    ck_assert(!cf_dataset_stats_sample(&b, idx, 40, 5000, m2, s2, &e));
    ck_assert(m1[2] == m2[2] && s1[0] == s2[0] && m1[0] > m1[1] && m1[1] > m1[2]);
    cf_item_free(&it);
    cf_dataset_free(&a);
    cf_dataset_free(&b);
}
END_TEST

START_TEST(jpeg_dct_scaling_and_resize)
{
    char *data;
    size_t len;
    cf_error e = {0};
    ck_assert(!cf_read_file(fx("big/00000_x8.jpg"), &data, &len, &e));
    cf_image_u8 full, small;
    ck_assert(!cf_image_decode("big", (unsigned char *)data, len, 0, 0, &full, &e));
    ck_assert(full.w == 224 && full.h == 224);
    /* wanted at 28: decoded at 1/4 (56, still twice the target) in the DCT domain */
    ck_assert(!cf_image_decode("big", (unsigned char *)data, len, 28, 28, &small, &e));
    ck_assert_int_eq(small.w, 56);
    float px[784];
    ck_assert(!cf_image_fit("big", &small, 1, 28, 28, 28, px, &e));
    double sum = 0;
    for (int p = 0; p < 784; p++) sum += fabs(px[p] - idx_test.x[p]);
    ck_assert_msg(sum / 784 < 0.03, "mean difference %g from the IDX image", sum / 784);
    cf_image_u8_free(&full);
    cf_image_u8_free(&small);
    free(data);
}
END_TEST

START_TEST(limit_takes_evenly_spaced_items)
{
    cf_dataset d;
    cf_error e = {0};
    cf_source_opts o = {.format = "auto", .limit = 10, .cache_mb = 64};
    ck_assert(!cf_dataset_open(fx("png_gray"), &o, &d, &e));
    ck_assert_int_eq(d.n, 10);
    int seen[10] = {0}, classes = 0;
    for (int i = 0; i < d.n; i++) seen[d.y[i]] = 1;
    for (int c = 0; c < 10; c++) classes += seen[c];
    ck_assert_msg(classes >= 8, "a limit listed class by class kept %d classes", classes);
    cf_dataset_free(&d);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("readers");
    TCase *t = tcase_create("readers");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, png_and_pgm_trees_equal_idx);
    tcase_add_test(t, tinted_rgb_png_is_exact);
    tcase_add_test(t, jpeg_trees_are_close);
    tcase_add_test(t, classes_in_sorted_name_order);
    tcase_add_test(t, lst_matches_folder);
    tcase_add_test(t, lst_errors_name_file_and_line);
    tcase_add_test(t, cifar_layouts);
    tcase_add_test(t, detection_and_format_override);
    tcase_add_test(t, corrupt_files_skipped_and_named);
    tcase_add_test(t, shapes_and_resize);
    tcase_add_test(t, streamed_equals_cached);
    tcase_add_test(t, limit_takes_evenly_spaced_items);
    tcase_add_test(t, jpeg_dct_scaling_and_resize);
    suite_add_tcase(s, t);
    return s;
}
