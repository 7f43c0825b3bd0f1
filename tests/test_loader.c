/* The loader says exactly why a file was refused. */
#include <check.h>
#include <string.h>

#include "core/util.h"

START_TEST(missing_file)
{
    const cf_plugin_desc *d;
    void *h;
    cf_error e = {0};
    ck_assert_int_eq(cf_plugin_open("/nonexistent/cf_backend_x.so", &d, &h, &e), CF_ERR_PLUGIN);
    ck_assert_msg(strstr(e.msg, "plugin file not found"), "got: %s", e.msg);
}
END_TEST

START_TEST(not_a_plugin)
{
    const cf_plugin_desc *d;
    void *h;
    cf_error e = {0};
    ck_assert_int_eq(cf_plugin_open(".libs/libclforge.so", &d, &h, &e), CF_ERR_PLUGIN);
    ck_assert_msg(strstr(e.msg, "not a clforge plugin (no 'clforge_plugin' descriptor symbol)"), "got: %s", e.msg);
    ck_assert_int_eq(cf_plugin_open("Makefile", &d, &h, &e), CF_ERR_PLUGIN);
    ck_assert_msg(strstr(e.msg, "cannot load shared object"), "got: %s", e.msg);
}
END_TEST

START_TEST(wrong_abi)
{
    const cf_plugin_desc *d;
    void *h;
    cf_error e = {0};
    ck_assert_int_eq(cf_plugin_open("tests/.libs/badabi.so", &d, &h, &e), CF_ERR_PLUGIN);
    ck_assert_msg(strstr(e.msg, "plugin ABI version 3.0 does not match this clforge (ABI 2.0)"), "got: %s", e.msg);
}
END_TEST

START_TEST(registry_finds_and_lists)
{
    cf_registry *r;
    cf_error e = {0};
    ck_assert_int_eq(cf_registry_create(&r, NULL, 0, &e), CF_OK);
    const cf_plugin_desc *d;
    ck_assert_int_eq(cf_registry_find(r, CF_PLUGIN_BACKEND, "reference", &d, &e), CF_OK);
    ck_assert_str_eq(d->name, "reference");
    ck_assert_int_eq(cf_registry_find(r, CF_PLUGIN_OPTIMIZER, "sgd", &d, &e), CF_OK);
    ck_assert_int_eq(cf_registry_find(r, CF_PLUGIN_BACKEND, "cuda9", &d, &e), CF_ERR_PLUGIN);
    ck_assert_msg(strstr(e.msg, "unknown backend 'cuda9' (known: ") && strstr(e.msg, "reference"), "got: %s", e.msg);
    cf_backend *b;
    cf_backend_config bc = {0};
    ck_assert_int_eq(cf_backend_open(r, "reference", &bc, &b, &e), CF_OK);
    ck_assert_str_eq(b->name, "reference");
    cf_backend_close(b);
    cf_registry_destroy(r);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *t = tcase_create("loader");
    tcase_add_test(t, missing_file);
    tcase_add_test(t, not_a_plugin);
    tcase_add_test(t, wrong_abi);
    tcase_add_test(t, registry_finds_and_lists);
    suite_add_tcase(s, t);
    return s;
}
