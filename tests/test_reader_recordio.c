/* The recordio dataset reader (data/reader_recordio.c) through data/reader.h:
 * detection, labels and classes from MXNet-made files, items handed on as
 * encoded JPEG, multi-label width, data.limit, and the errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "data/reader.h"
#include "data/recordio.h"

static const char *fixture(const char *name)
{
    static char p[4][1024];
    static int k;
    const char *src = getenv("CF_TEST_SRCDIR");
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/tests/fixtures/recordio/%s", src ? src : ".", name);
    return p[k];
}

START_TEST(test_detect_and_read)
{
    cf_reader *r;
    cf_error err = {0};
    const cf_reader_vtable *v;
    ck_assert_msg(cf_reader_detect(fixture("mx_im2rec.rec"), "auto", &v, &err) == CF_OK, "%s", err.msg);
    ck_assert_str_eq(v->name, "recordio");
    ck_assert_msg(cf_reader_open(fixture("mx_im2rec.rec"), NULL, NULL, &r, &err) == CF_OK, "%s", err.msg);
    ck_assert_int_eq(r->info.n, 6);
    ck_assert_int_eq(r->info.k, 3);
    ck_assert_int_eq(r->info.label_width, 1);
    static const float want[] = {1, 2, 0, 2, 1, 0}; /* mx_im2rec.lst order */
    cf_item it = {0};
    for (long i = 0; i < 6; i++) {
        ck_assert(cf_reader_labels(r, i)[0] == want[i]);
        ck_assert_msg(cf_reader_read(r, i, &it, &err) == CF_OK, "%s", err.msg);
        ck_assert_int_eq(it.kind, CF_ITEM_ENCODED);
        ck_assert(it.len > 100 && it.data[0] == 0xFF && it.data[1] == 0xD8);
        ck_assert_msg(strstr(it.name, "mx_im2rec.rec#"), "%s", it.name);
    }
    cf_item_free(&it);
    cf_reader_close(r);
    cf_reader_opts o = {.limit = 4};
    ck_assert(cf_reader_open(fixture("mx_im2rec.rec"), "recordio", &o, &r, &err) == CF_OK);
    ck_assert_int_eq(r->info.n, 4);
    cf_reader_close(r);
}
END_TEST

START_TEST(test_multilabel_and_split)
{
    cf_reader *r;
    cf_error err = {0};
    ck_assert_msg(cf_reader_open(fixture("mx_multilabel.rec"), NULL, NULL, &r, &err) == CF_OK, "%s", err.msg);
    ck_assert_int_eq(r->info.label_width, 3);
    ck_assert(cf_reader_labels(r, 2)[0] == 0.5f && cf_reader_labels(r, 2)[2] == 3.0f);
    cf_reader_close(r);
}
END_TEST

START_TEST(test_errors)
{
    cf_reader *r;
    cf_error err = {0};
    ck_assert(cf_reader_open(fixture("not_recordio.rec"), NULL, NULL, &r, &err) != CF_OK);
    ck_assert_msg(strstr(err.msg, "not RecordIO"), "%s", err.msg);
    ck_assert(cf_reader_open(fixture("truncated.rec"), NULL, NULL, &r, &err) != CF_OK);
    ck_assert_msg(strstr(err.msg, "truncated record at offset 3728"), "%s", err.msg);
    /* mixed label counts; a label that is not a class index */
    char dir[] = "/tmp/cf_rrec_XXXXXX", rec[256];
    ck_assert(mkdtemp(dir));
    snprintf(rec, sizeof rec, "%s/mixed.rec", dir);
    for (int pass = 0; pass < 2; pass++) {
        cf_recordio_writer w;
        ck_assert(cf_recordio_writer_open(rec, NULL, &w, &err) == CF_OK);
        float l2[2] = {1, 0};
        unsigned char *p;
        size_t n;
        ck_assert(cf_irecord_pack(pass ? -1.0f : 0.0f, pass ? NULL : l2, pass ? 0 : 2, 0, 0, "x", 1, &p, &n, &err) == CF_OK);
        ck_assert(cf_recordio_write(&w, 0, p, n, &err) == CF_OK);
        free(p);
        ck_assert(cf_irecord_pack(1.0f, NULL, 0, 1, 0, "y", 1, &p, &n, &err) == CF_OK);
        ck_assert(cf_recordio_write(&w, 1, p, n, &err) == CF_OK);
        free(p);
        ck_assert(cf_recordio_writer_close(&w, &err) == CF_OK);
        ck_assert(cf_reader_open(rec, NULL, NULL, &r, &err) != CF_OK);
        if (!pass)
            ck_assert_msg(strstr(err.msg, "mixed.rec: record 1 (offset 44): 1 label(s), but record 0 has 2"), "%s", err.msg);
        else
            ck_assert_msg(strstr(err.msg, "record 0 (offset 0): label -1 is not a class index"), "%s", err.msg);
    }
    cf_rm_rf(dir);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("reader_recordio");
    TCase *t = tcase_create("reader_recordio");
    tcase_add_test(t, test_detect_and_read);
    tcase_add_test(t, test_multilabel_and_split);
    tcase_add_test(t, test_errors);
    suite_add_tcase(s, t);
    return s;
}
