/* MXNet RecordIO: the writer splits exactly as dmlc does (bytes checked by
 * hand), writer → reader round trips (with and without .idx) on payloads
 * holding the magic, IRHeader packing with multi-label, every malformation
 * an error naming the file and offset, and the reader on .rec/.idx files made
 * by MXNet's own tools (tests/fixtures/recordio, made by make_fixtures.py). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "data/im2rec.h"
#include "data/image.h"
#include "data/recordio.h"

static const unsigned char M[4] = {0x0A, 0x23, 0xD7, 0xCE};

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cf_recordio_XXXXXX");
    ck_assert(mkdtemp(tmpdir) != NULL);
}

static void teardown(void) { cf_rm_rf(tmpdir); }

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", tmpdir, name); }

static const char *fixture(const char *name)
{
    static char p[4][1024];
    static int k;
    const char *src = getenv("CF_TEST_SRCDIR");
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/tests/fixtures/recordio/%s", src ? src : ".", name);
    return p[k];
}

static void write_bytes(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert(f);
    ck_assert_uint_eq(fwrite(d, 1, n, f), n);
    fclose(f);
}

/* ---- the writer's bytes ----------------------------------------------------- */
START_TEST(test_writer_bytes_split)
{
    /* payload: "ab" "cd" MAGIC "efgh" MAGIC "xyz": splits at 4 and 12 */
    unsigned char p[19];
    memcpy(p, "abcd", 4);
    memcpy(p + 4, M, 4);
    memcpy(p + 8, "efgh", 4);
    memcpy(p + 12, M, 4);
    memcpy(p + 16, "xyz", 3);
    char rec[512];
    path_in(rec, sizeof rec, "a.rec");
    cf_recordio_writer w;
    cf_error err = {0};
    ck_assert_msg(cf_recordio_writer_open(rec, NULL, &w, &err) == CF_OK, "%s", err.msg);
    ck_assert(cf_recordio_write(&w, 0, p, sizeof p, &err) == CF_OK);
    ck_assert_int_eq(w.splits, 2);
    ck_assert(cf_recordio_writer_close(&w, &err) == CF_OK);
    char *got;
    size_t n;
    ck_assert(cf_read_file(rec, &got, &n, &err) == CF_OK);
    /* magic | 1<<29|4 | abcd | magic | 2<<29|4 | efgh | magic | 3<<29|3 | xyz 0 */
    unsigned char want[] = {0x0A, 0x23, 0xD7, 0xCE, 4, 0, 0, 0x20, 'a', 'b', 'c', 'd',
                            0x0A, 0x23, 0xD7, 0xCE, 4, 0, 0, 0x40, 'e', 'f', 'g', 'h',
                            0x0A, 0x23, 0xD7, 0xCE, 3, 0, 0, 0x60, 'x', 'y', 'z', 0};
    ck_assert_uint_eq(n, sizeof want);
    ck_assert(memcmp(got, want, n) == 0);
    free(got);
}
END_TEST

START_TEST(test_writer_unaligned_magic_not_split)
{
    unsigned char p[9] = {'q', 0x0A, 0x23, 0xD7, 0xCE, 'r', 's', 't', 'u'};
    char rec[512];
    path_in(rec, sizeof rec, "b.rec");
    cf_recordio_writer w;
    cf_error err = {0};
    ck_assert(cf_recordio_writer_open(rec, NULL, &w, &err) == CF_OK);
    ck_assert(cf_recordio_write(&w, 0, p, sizeof p, &err) == CF_OK);
    ck_assert_int_eq(w.splits, 0);
    ck_assert_uint_eq(w.pos, 8 + 12);
    ck_assert(cf_recordio_writer_close(&w, &err) == CF_OK);
}
END_TEST

/* ---- round trips ----------------------------------------------------------- */
#define NREC 9
static size_t make_payload(int i, unsigned char *p)
{
    static const size_t lens[NREC] = {0, 1, 4, 5, 8, 12, 1003, 4096, 31};
    size_t n = lens[i];
    for (size_t k = 0; k < n; k++) p[k] = (unsigned char)(k * 7 + i);
    if (i == 2 || i == 4) memcpy(p, M, 4);                        /* whole / leading magic */
    if (i == 4) memcpy(p + 4, M, 4);                              /* two in a row, nothing else */
    if (i == 5) memcpy(p + 8, M, 4);                              /* trailing magic */
    if (i == 6) for (size_t k = 0; k + 4 <= n; k += 100 * 4) memcpy(p + k, M, 4);
    if (i == 7) for (size_t k = 0; k + 4 <= n; k += 4) memcpy(p + k, M, 4); /* all magic */
    if (i == 8) memcpy(p + 27, M, 4);                             /* unaligned, at the end */
    return n;
}

static void round_trip(const char *idx_mode)
{
    char rec[512], idx[512];
    path_in(rec, sizeof rec, "rt.rec");
    path_in(idx, sizeof idx, "rt.idx");
    cf_recordio_writer w;
    cf_error err = {0};
    unsigned char p[4096];
    ck_assert(cf_recordio_writer_open(rec, idx, &w, &err) == CF_OK);
    for (int i = 0; i < NREC; i++) {
        size_t n = make_payload(i, p);
        ck_assert_msg(cf_recordio_write(&w, 100 + i, p, n, &err) == CF_OK, "%s", err.msg);
    }
    ck_assert(w.splits > 1000);
    ck_assert(cf_recordio_writer_close(&w, &err) == CF_OK);
    cf_recordio r;
    ck_assert_msg(cf_recordio_open(rec, idx_mode, &r, &err) == CF_OK, "%s", err.msg);
    ck_assert_int_eq(r.n, NREC);
    ck_assert_int_eq(r.indexed, idx_mode == NULL);
    unsigned char *buf = NULL;
    size_t cap = 0, len;
    for (int i = 0; i < NREC; i++) {
        size_t n = make_payload(i, p);
        ck_assert_msg(cf_recordio_read(&r, i, &buf, &cap, &len, &err) == CF_OK, "%s", err.msg);
        ck_assert_uint_eq(len, n);
        ck_assert_msg(n == 0 || memcmp(buf, p, n) == 0, "record %d differs", i);
        ck_assert_int_eq(r.key[i], idx_mode == NULL ? 100 + i : i);
    }
    free(buf);
    cf_recordio_close(&r);
}

START_TEST(test_round_trip_idx) { round_trip(NULL); }
END_TEST
START_TEST(test_round_trip_scan) { round_trip(""); }
END_TEST

START_TEST(test_irecord_pack_parse)
{
    cf_error err = {0};
    unsigned char *rec;
    size_t n;
    float labels[3] = {1.0f, 0.0f, 7.5f};
    ck_assert(cf_irecord_pack(9.0f, labels, 3, 42, 0, "JPEGDATA", 8, &rec, &n, &err) == CF_OK);
    ck_assert_uint_eq(n, 24 + 12 + 8);
    cf_irecord ir;
    ck_assert(cf_irecord_parse(rec, n, "x", &ir, &err) == CF_OK);
    ck_assert_uint_eq(ir.flag, 3);
    ck_assert(ir.label == 0.0f); /* pack() zeroes label when an array is given */
    ck_assert_int_eq(ir.n_labels, 3);
    ck_assert(cf_irecord_label(&ir, 2) == 7.5f);
    ck_assert_uint_eq(ir.id, 42);
    ck_assert_uint_eq(ir.image_len, 8);
    ck_assert(memcmp(ir.image, "JPEGDATA", 8) == 0);
    free(rec);
    ck_assert(cf_irecord_pack(4.0f, NULL, 0, 7, 0, "I", 1, &rec, &n, &err) == CF_OK);
    ck_assert(cf_irecord_parse(rec, n, "x", &ir, &err) == CF_OK);
    ck_assert(ir.flag == 0 && ir.n_labels == 1 && cf_irecord_label(&ir, 0) == 4.0f);
    rec[0] = 200; /* flag says 200 labels follow */
    ck_assert(cf_irecord_parse(rec, n, "t.rec: record at offset 8", &ir, &err) == CF_ERR_IO);
    ck_assert_msg(strstr(err.msg, "t.rec: record at offset 8") && strstr(err.msg, "200"), "%s", err.msg);
    ck_assert(cf_irecord_parse(rec, 10, "y", &ir, &err) == CF_ERR_IO);
    free(rec);
}
END_TEST

/* ---- malformed files ----------------------------------------------------------- */
static void expect_error(const unsigned char *d, size_t n, const char *idx_text, const char *want1,
                         const char *want2)
{
    char rec[512], idx[512];
    path_in(rec, sizeof rec, "bad.rec");
    path_in(idx, sizeof idx, "bad.idx");
    write_bytes(rec, d, n);
    if (idx_text) write_bytes(idx, idx_text, strlen(idx_text));
    cf_recordio r;
    cf_error err = {0};
    ck_assert(cf_recordio_open(rec, idx_text ? idx : "", &r, &err) == CF_ERR_IO);
    ck_assert_msg((strstr(err.msg, "bad.rec") || strstr(err.msg, "bad.idx:")) && strstr(err.msg, want1) && (!want2 || strstr(err.msg, want2)),
                  "message: %s", err.msg);
}

START_TEST(test_malformed)
{
    unsigned char ok[] = {0x0A, 0x23, 0xD7, 0xCE, 3, 0, 0, 0, 'a', 'b', 'c', 0};
    unsigned char d[64];
    expect_error((const unsigned char *)"\x89PNG\r\n\x1a\n", 8, NULL, "not RecordIO: it starts with 0x474E5089", NULL);
    /* second record's magic damaged */
    memcpy(d, ok, 12);
    memcpy(d + 12, ok, 12);
    d[12] = 0;
    expect_error(d, 24, NULL, "not RecordIO at offset 12", NULL);
    /* truncated payload, truncated header */
    expect_error(ok, 10, NULL, "truncated record at offset 0", NULL);
    memcpy(d, ok, 12);
    memcpy(d + 12, ok, 6);
    expect_error(d, 18, NULL, "truncated record at offset 12", NULL);
    /* a record starting with cflag 2 */
    memcpy(d, ok, 12);
    d[7] = 0x40;
    expect_error(d, 12, NULL, "bad cflag sequence at offset 0", "cflag 2");
    /* cflag 1 then a whole record (cflag 0) */
    memcpy(d, ok, 12);
    d[7] = 0x20;
    memcpy(d + 12, ok, 12);
    expect_error(d, 24, NULL, "bad cflag sequence at offset 12", "starts at 0");
    /* cflag 1 and the file ends */
    expect_error(d, 12, NULL, "truncated split record at offset 0", NULL);
    /* cflag 7 */
    memcpy(d, ok, 12);
    d[7] = 0xE0;
    expect_error(d, 12, NULL, "offset 0", "cflag 7");
    /* .idx problems */
    expect_error(ok, 12, "0\t0\n1\t99\n", "offset 99 is past the end", "bad.idx:2");
    expect_error(ok, 12, "0\t0\nzero\t0\n", "bad.idx:2", "key<TAB>offset");
    memcpy(d, ok, 12);
    memcpy(d + 12, ok, 12);
    expect_error(d, 24, "0\t0\n1\t4\n", "bad.idx:2", "not RecordIO at offset 4");
    /* empty */
    expect_error(d, 0, NULL, "empty", NULL);
}
END_TEST

/* ---- MXNet's own files ------------------------------------------------------------ */
/* Every .rec/.idx of tests/fixtures/recordio; make_fixtures.py says how MXNet made it. */
static long expect_labels(const char *rec, const char *idx, const float *want, const int64_t *keys,
                          int n, int width)
{
    cf_recordio r;
    cf_error err = {0};
    ck_assert_msg(cf_recordio_open(fixture(rec), idx ? fixture(idx) : "", &r, &err) == CF_OK, "%s", err.msg);
    ck_assert_int_eq(r.n, n);
    unsigned char *buf = NULL;
    size_t cap = 0, len;
    long images = 0;
    for (int i = 0; i < n; i++) {
        ck_assert_msg(cf_recordio_read(&r, i, &buf, &cap, &len, &err) == CF_OK, "%s", err.msg);
        cf_irecord ir;
        ck_assert_msg(cf_irecord_parse(buf, len, rec, &ir, &err) == CF_OK, "%s", err.msg);
        ck_assert_int_eq(ir.n_labels, width);
        for (int j = 0; j < width; j++)
            ck_assert_msg(cf_irecord_label(&ir, j) == want[i * width + j], "%s record %d label %d: %g", rec,
                          i, j, cf_irecord_label(&ir, j));
        if (keys) {
            ck_assert_int_eq(r.key[i], idx ? keys[i] : i); /* no .idx: keys are positions */
            ck_assert_uint_eq(ir.id, (uint64_t)keys[i]);
        }
        if (ir.image_len > 2 && ir.image[0] == 0xFF && ir.image[1] == 0xD8) images++;
    }
    free(buf);
    cf_recordio_close(&r);
    return images;
}

START_TEST(test_mxnet_im2rec_fixture)
{
    /* made by MXNet's im2rec.py --list --recursive then im2rec.py (JPEG q95) */
    /* mx_im2rec.lst: shuffled by im2rec.py (seed 100); classes ant 0, bee 1, cat 2 */
    static const float labels[] = {1, 2, 0, 2, 1, 0};
    static const int64_t keys[] = {2, 5, 0, 4, 3, 1};
    ck_assert_int_eq(expect_labels("mx_im2rec.rec", "mx_im2rec.idx", labels, keys, 6, 1), 6);
    ck_assert_int_eq(expect_labels("mx_im2rec.rec", NULL, labels, keys, 6, 1), 6);
    /* the images decode, at the size im2rec.py stored (--resize 0: the originals, 10 x 8) */
    cf_recordio r;
    cf_error err = {0};
    ck_assert(cf_recordio_open(fixture("mx_im2rec.rec"), NULL, &r, &err) == CF_OK);
    unsigned char *buf = NULL;
    size_t cap = 0, len;
    ck_assert(cf_recordio_read(&r, 0, &buf, &cap, &len, &err) == CF_OK);
    cf_irecord ir;
    ck_assert(cf_irecord_parse(buf, len, "x", &ir, &err) == CF_OK);
    char jpg[512];
    path_in(jpg, sizeof jpg, "r0.jpg");
    write_bytes(jpg, ir.image, ir.image_len);
    cf_image_u8 im;
    ck_assert_msg(cf_image_read(jpg, &im, &err) == CF_OK, "%s", err.msg);
    ck_assert_int_eq(im.w, 10);
    ck_assert_int_eq(im.h, 8);
    ck_assert_int_eq(im.c, 3);
    cf_image_u8_free(&im);
    free(buf);
    cf_recordio_close(&r);
}
END_TEST

START_TEST(test_mxnet_split_and_multilabel)
{
    /* mx_split.rec: mx.recordio.MXIndexedRecordIO records whose payloads hold
     * the magic (record 1: 3 times, record 2: only magics); keys 10, 11, 12 */
    cf_recordio r;
    cf_error err = {0};
    for (int pass = 0; pass < 2; pass++) {
        ck_assert_msg(cf_recordio_open(fixture("mx_split.rec"), pass ? "" : fixture("mx_split.idx"), &r, &err) == CF_OK,
                      "%s", err.msg);
        ck_assert_int_eq(r.n, 3);
        unsigned char *buf = NULL;
        size_t cap = 0, len;
        ck_assert(cf_recordio_read(&r, 1, &buf, &cap, &len, &err) == CF_OK);
        /* b'head' + M + b'mid!' + M + M + b'tail!' */
        ck_assert_uint_eq(len, 4 + 4 + 4 + 8 + 5);
        ck_assert(memcmp(buf, "head", 4) == 0 && memcmp(buf + 4, M, 4) == 0 && memcmp(buf + 8, "mid!", 4) == 0);
        ck_assert(memcmp(buf + 12, M, 4) == 0 && memcmp(buf + 16, M, 4) == 0 && memcmp(buf + 20, "tail!", 5) == 0);
        ck_assert(cf_recordio_read(&r, 2, &buf, &cap, &len, &err) == CF_OK);
        ck_assert_uint_eq(len, 16);
        for (int k = 0; k < 16; k += 4) ck_assert(memcmp(buf + k, M, 4) == 0);
        ck_assert(cf_recordio_read(&r, 0, &buf, &cap, &len, &err) == CF_OK);
        ck_assert_uint_eq(len, 5);
        ck_assert(memcmp(buf, "plain", 5) == 0);
        if (!pass) ck_assert_int_eq(r.key[2], 12);
        free(buf);
        cf_recordio_close(&r);
    }
    /* mx_multilabel.rec: mx.recordio.pack with label arrays (flag = 3) */
    static const float ml[] = {1, 0, 1, 0, 0, 1, 0.5f, 2, 3};
    expect_labels("mx_multilabel.rec", "mx_multilabel.idx", ml, NULL, 3, 3);
}
END_TEST

START_TEST(test_mxnet_corrupt_fixtures)
{
    cf_recordio r;
    cf_error err = {0};
    ck_assert(cf_recordio_open(fixture("truncated.rec"), "", &r, &err) == CF_ERR_IO);
    ck_assert_msg(strstr(err.msg, "truncated.rec") && strstr(err.msg, "truncated record at offset"), "%s", err.msg);
    ck_assert(cf_recordio_open(fixture("not_recordio.rec"), "", &r, &err) == CF_ERR_IO);
    ck_assert_msg(strstr(err.msg, "not_recordio.rec: not RecordIO"), "%s", err.msg);
    ck_assert(cf_recordio_open(fixture("badcflag.rec"), "", &r, &err) == CF_ERR_IO);
    ck_assert_msg(strstr(err.msg, "badcflag.rec: bad cflag sequence at offset"), "%s", err.msg);
}
END_TEST

/* ---- im2rec pieces ------------------------------------------------------------------ */
START_TEST(test_py_shuffle)
{
    /* python3: random.seed(100); x = list(range(10)); random.shuffle(x) */
    long v[10], want[10] = {4, 0, 5, 9, 3, 1, 6, 8, 7, 2};
    for (int i = 0; i < 10; i++) v[i] = i;
    cf_py_shuffle(v, 10, 100);
    for (int i = 0; i < 10; i++) ck_assert_int_eq(v[i], want[i]);
    long *w = malloc(sizeof(long) * 1000);
    long sum = 0;
    for (int i = 0; i < 1000; i++) w[i] = i;
    cf_py_shuffle(w, 1000, 100);
    for (int i = 0; i < 1000; i++) sum += i * w[i];
    ck_assert_int_eq(w[0], 342);
    ck_assert_int_eq(w[7], 450);
    ck_assert_int_eq(sum, 248457308);
    free(w);
}
END_TEST

START_TEST(test_resize_sizes)
{
    cf_error err = {0};
    cf_image_u8 im = {calloc(30 * 20 * 3, 1), 30, 20, 3};
    ck_assert(cf_im2rec_resize(&im, 10, &err) == CF_OK); /* w > h: (30*10//20, 10) */
    ck_assert(im.w == 15 && im.h == 10);
    ck_assert(cf_im2rec_center_crop(&im, &err) == CF_OK);
    ck_assert(im.w == 10 && im.h == 10);
    cf_image_u8_free(&im);
    cf_image_u8 t = {malloc(7 * 9), 7, 9, 1};
    memset(t.data, 200, 63);
    ck_assert(cf_im2rec_resize(&t, 5, &err) == CF_OK); /* h > w: (5, 9*5//7) */
    ck_assert(t.w == 5 && t.h == 6 && t.data[17] == 200);
    ck_assert(cf_im2rec_color(&t, 1, &err) == CF_OK && t.c == 3);
    cf_image_u8_free(&t);
}
END_TEST

/* im2rec → .rec, read back: the fixture tree, classes by sorted folder name */
START_TEST(test_im2rec_to_reader)
{
    cf_im2rec_opts o;
    cf_im2rec_defaults(&o);
    o.recursive = 1;
    o.shuffle = 0;
    o.resize = 6;
    o.num_thread = 2;
    char prefix[512], tree[1024], rec[512];
    path_in(prefix, sizeof prefix, "t");
    path_in(rec, sizeof rec, "t.rec");
    snprintf(tree, sizeof tree, "%s", fixture("tree"));
    cf_error err = {0};
    ck_assert_msg(cf_im2rec_list(prefix, tree, &o, &err) == CF_OK, "%s", err.msg);
    ck_assert_msg(cf_im2rec_pack(prefix, tree, &o, &err) == CF_OK, "%s", err.msg);
    cf_recordio r;
    ck_assert_msg(cf_recordio_open(rec, NULL, &r, &err) == CF_OK, "%s", err.msg);
    ck_assert_int_eq(r.n, 6);
    ck_assert(r.indexed);
    unsigned char *buf = NULL;
    size_t cap = 0, len;
    char jpg[512];
    path_in(jpg, sizeof jpg, "x.jpg");
    for (int i = 0; i < 6; i++) {
        cf_irecord ir;
        ck_assert(cf_recordio_read(&r, i, &buf, &cap, &len, &err) == CF_OK);
        ck_assert(cf_irecord_parse(buf, len, "t.rec", &ir, &err) == CF_OK);
        ck_assert_int_eq(r.key[i], i); /* --no-shuffle: walk order ant, ant, bee, bee, cat, cat */
        ck_assert(cf_irecord_label(&ir, 0) == (float)(i / 2));
        write_bytes(jpg, ir.image, ir.image_len);
        cf_image_u8 im;
        ck_assert_msg(cf_image_read(jpg, &im, &err) == CF_OK, "%s", err.msg);
        ck_assert(im.w == 7 && im.h == 6 && im.c == 3); /* 10 x 8 → shorter side 6: 10*6//8 = 7 */
        cf_image_u8_free(&im);
    }
    free(buf);
    cf_recordio_close(&r);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("recordio");
    TCase *t = tcase_create("recordio");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_writer_bytes_split);
    tcase_add_test(t, test_writer_unaligned_magic_not_split);
    tcase_add_test(t, test_round_trip_idx);
    tcase_add_test(t, test_round_trip_scan);
    tcase_add_test(t, test_irecord_pack_parse);
    tcase_add_test(t, test_malformed);
    tcase_add_test(t, test_mxnet_im2rec_fixture);
    tcase_add_test(t, test_mxnet_split_and_multilabel);
    tcase_add_test(t, test_mxnet_corrupt_fixtures);
    tcase_add_test(t, test_py_shuffle);
    tcase_add_test(t, test_resize_sizes);
    tcase_add_test(t, test_im2rec_to_reader);
    suite_add_tcase(s, t);
    return s;
}
