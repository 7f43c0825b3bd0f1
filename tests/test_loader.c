/* The loader says exactly why a file was refused. */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/params.h"
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
    ck_assert_msg(strstr(e.msg, "plugin ABI version 3.0 does not match this clforge (ABI 2.1)"), "got: %s", e.msg);
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

/* ---- ABI 2: versions, sizes, required members, bindings ----------------- */

/* The 2.0-struct copy (tests/abi_v20.c) loads, binds float, double, bool and
 * int64 fields from its table, and runs. */
START_TEST(abi20_plugin_loads_and_works)
{
    const cf_plugin_desc *d;
    void *h;
    cf_error e = {0};
    ck_assert_msg(cf_plugin_open("tests/.libs/abi_v20.so", &d, &h, &e) == CF_OK, "%s", e.msg);
    ck_assert_uint_eq(d->abi_major, 2);
    ck_assert_uint_eq(d->abi_minor, 0);
    const cf_augmentation_vtable *vt = d->vtable;
    ck_assert_uint_eq(vt->struct_size, sizeof(cf_augmentation_vtable));
    cf_params *hp;
    const char *kv[] = {"a", "2", "b", "0.25", "negate", "true", "repeat", "2"};
    ck_assert_msg(cf_params_from_kv(d->params, kv, 8, &hp, &e) == CF_OK, "%s", e.msg);
    void *state;
    ck_assert_msg(cf_plugin_state_create(d, hp, &state, &e) == CF_OK, "%s", e.msg);
    float in[4] = {0, 1, -1, 0.5f}, out[4];
    cf_image a = {in, 1, 2, 2}, b = {out, 1, 2, 2};
    ck_assert_int_eq(vt->apply(state, &a, &b, NULL, &e), CF_OK);
    for (int i = 0; i < 4; i++) ck_assert_float_eq(out[i], -(2 * in[i] + 0.5f));
    cf_plugin_state_destroy(d, state);
    cf_params_free(hp);
    cf_plugin_close(h);
}
END_TEST

/* A later minor's longer structs load; the unknown members are dropped. */
START_TEST(newer_minor_loads)
{
    const cf_plugin_desc *d;
    void *h;
    cf_error e = {0};
    ck_assert_msg(cf_plugin_open("tests/.libs/abi_future.so", &d, &h, &e) == CF_OK, "%s", e.msg);
    ck_assert_uint_eq(d->abi_minor, CF_ABI_MINOR + 7);
    ck_assert_uint_eq(d->struct_size, sizeof(cf_plugin_desc));
    const cf_augmentation_vtable *vt = d->vtable;
    ck_assert_uint_eq(vt->struct_size, sizeof(cf_augmentation_vtable));
    void *state = (void *)1;
    ck_assert_int_eq(cf_plugin_state_create(d, NULL, &state, &e), CF_OK);
    ck_assert_ptr_null(state);
    float in[2] = {3, 4}, out[2] = {0, 0};
    cf_image a = {in, 1, 1, 2}, b = {out, 1, 1, 2};
    ck_assert_int_eq(vt->apply(state, &a, &b, NULL, &e), CF_OK);
    ck_assert_float_eq(out[1], 4);
    cf_plugin_close(h);
}
END_TEST

typedef struct fx_state {
    double x;
    int flag;
    const char *mode;
    float f;
} fx_state;

static cf_status fx_apply(void *s, const cf_image *in, cf_image *out, cf_rng *r, cf_error *e)
{
    return CF_OK;
}
static cf_status fx_batch(void *s, cf_image_batch *b, cf_rng *r, cf_error *e) { return CF_OK; }
static cf_status fx_init(void *s, const cf_params *hp, cf_error *e) { return CF_OK; }
static cf_status fx_create(const cf_params *hp, void **s, cf_error *e) { return CF_OK; }

static cf_param_def fx_params[] = {
    {"x", CF_PT_FLOAT, "1.5", CF_PARAM_NO_RANGE, NULL, "x", CF_PARAM_AT(fx_state, x)},
    {"flag", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL, "flag", CF_PARAM_AT(fx_state, flag)},
    {"mode", CF_PT_STRING, "fast", CF_PARAM_NO_RANGE, "fast|slow", "mode",
     CF_PARAM_AT(fx_state, mode)},
    {"f", CF_PT_FLOAT, "0.1", CF_PARAM_NO_RANGE, NULL, "f", CF_PARAM_AT(fx_state, f)},
    CF_PARAM_TABLE_END};
static cf_augmentation_vtable fx_vt;
static cf_plugin_desc fx;

/* A valid augmentation descriptor; each refusal test breaks one thing. */
static void fx_reset(void)
{
    fx_vt = (cf_augmentation_vtable){sizeof fx_vt, NULL, NULL, NULL, NULL, fx_apply};
    fx = (cf_plugin_desc)CF_PLUGIN_DESC_INIT_STATE(CF_PLUGIN_AUGMENTATION, "fx", "1.0", "fixture",
                                                  fx_params, &fx_vt, sizeof(fx_state));
}

/* Adopting fx must fail with a message containing want. */
static void refused(const char *want)
{
    const cf_plugin_desc *d;
    void *h;
    cf_error e = {0};
    ck_assert_int_eq(cf_plugin_adopt(&fx, "fx.so", &d, &h, &e), CF_ERR_PLUGIN);
    ck_assert_msg(strstr(e.msg, want), "want '%s', got: %s", want, e.msg);
    ck_assert_msg(!strncmp(e.msg, "fx.so: ", 7), "message does not name the file: %s", e.msg);
}

START_TEST(bad_descriptors_refused_clearly)
{
    const cf_plugin_desc *d;
    void *h;
    cf_error e = {0};
    fx_reset();
    ck_assert_msg(cf_plugin_adopt(&fx, "fx.so", &d, &h, &e) == CF_OK, "%s", e.msg);
    cf_plugin_close(h);

    fx_reset(), fx.kind = (cf_plugin_kind)99;
    refused("descriptor has an unknown kind (99)");
    fx_reset(), fx.name = NULL;
    refused("augmentation descriptor has no name");
    fx_reset(), fx.abi_major = 1, fx.abi_minor = 0;
    refused("plugin ABI version 1.0 does not match this clforge (ABI 2.1)");
    fx_reset(), fx.struct_size = 16;
    refused("descriptor size 16 is smaller than ABI 2.0's");
    fx_reset(), fx.vtable = NULL;
    refused("augmentation 'fx': descriptor has no vtable");
    fx_reset(), fx_vt.struct_size = offsetof(cf_augmentation_vtable, apply);
    refused("augmentation 'fx': vtable size");
    fx_reset(), fx_vt.apply = NULL;
    refused("augmentation 'fx': required vtable member 'apply or apply_batch' is NULL");
    /* ABI 2.1: a batch-level augmentation (mixup) needs no per-image apply. */
    fx_reset(), fx_vt.apply = NULL, fx_vt.apply_batch = fx_batch;
    ck_assert_msg(cf_plugin_adopt(&fx, "fx.so", &d, &h, &e) == CF_OK, "%s", e.msg);
    cf_plugin_close(h);
    fx_reset(), fx_vt.create = fx_create;
    refused("create must be NULL when state_size is set");
    fx_reset(), fx.state_size = 0, fx.params = NULL, fx_vt.init = fx_init;
    refused("init needs a state");
    fx_reset(), fx.state_size = sizeof(double);
    refused("parameter 'flag' is bound at offset");
    fx_reset(), fx_params[0].size = 3;
    refused("parameter 'x' (float) is bound to a field of 3 bytes");
    fx_params[0].size = sizeof(double);
    fx_reset(), fx_params[1].type = (cf_param_type)42;
    refused("parameter 'flag' has type 42, unknown to this clforge");
    fx_params[1].type = CF_PT_BOOL;

    /* Other kinds' required members. */
    static const cf_optimizer_vtable opt = {sizeof opt};
    fx_reset(), fx.kind = CF_PLUGIN_OPTIMIZER, fx.vtable = &opt, fx.params = NULL;
    refused("optimizer 'fx': required vtable member 'step' is NULL");
    static const cf_regularizer_vtable reg = {sizeof reg};
    fx.kind = CF_PLUGIN_REGULARIZER, fx.vtable = &reg;
    refused("required vtable member 'rewrite_model or apply_grads' is NULL");
    static cf_backend_vtable be;
    be.struct_size = sizeof be;
    fx.kind = CF_PLUGIN_BACKEND, fx.vtable = &be, fx.state_size = 0;
    refused("backend 'fx': required vtable member 'create' is NULL");
}
END_TEST

/* The engine-allocated state gets every bound value: double, bool as int,
 * string, float (defaults and explicit values). */
START_TEST(state_bound_from_table)
{
    const cf_plugin_desc *d;
    void *h;
    cf_error e = {0};
    fx_reset();
    ck_assert_int_eq(cf_plugin_adopt(&fx, "fx", &d, &h, &e), CF_OK);
    cf_params *hp;
    const char *kv[] = {"mode", "slow", "f", "0.3"};
    ck_assert_msg(cf_params_from_kv(d->params, kv, 4, &hp, &e) == CF_OK, "%s", e.msg);
    void *state;
    ck_assert_int_eq(cf_plugin_state_create(d, hp, &state, &e), CF_OK);
    const fx_state *s = state;
    ck_assert(s->x == 1.5);
    ck_assert_int_eq(s->flag, 1);
    ck_assert_str_eq(s->mode, "slow");
    ck_assert(s->f == 0.3f);
    cf_plugin_state_destroy(d, state);
    cf_params_free(hp);
    cf_plugin_close(h);
}
END_TEST

/* A create/init that fails without a message, or "succeeds" without a state,
 * is an error naming the plugin (issue 17 item 9: it passed as success). */
static cf_status mute_fail(const cf_params *hp, void **s, cf_error *e) { return CF_ERR_INVALID; }
static cf_status no_state(const cf_params *hp, void **s, cf_error *e) { *s = NULL; return CF_OK; }
static cf_status mute_init(void *s, const cf_params *hp, cf_error *e) { return CF_ERR_INVALID; }

START_TEST(silent_plugin_failures_named)
{
    static const struct { cf_plugin_create_fn create; cf_plugin_init_fn init; const char *want; } cases[] = {
        {mute_fail, NULL, "augmentation 'fx': create failed (status"},
        {no_state, NULL, "augmentation 'fx': create returned success but no state"},
        {NULL, mute_init, "augmentation 'fx': init failed (status"}};
    for (int i = 0; i < 3; i++) {
        const cf_plugin_desc *d;
        void *h, *state = (void *)1;
        cf_error e = {0};
        fx_reset();
        if (cases[i].create) fx.state_size = 0, fx.params = NULL, fx_vt.create = cases[i].create;
        else fx_vt.init = cases[i].init;
        ck_assert_msg(cf_plugin_adopt(&fx, "fx", &d, &h, &e) == CF_OK, "%s", e.msg);
        cf_params *hp;
        ck_assert_int_eq(cf_params_from_kv(d->params, NULL, 0, &hp, &e), CF_OK);
        ck_assert_int_ne(cf_plugin_state_create(d, hp, &state, &e), CF_OK);
        ck_assert_msg(strstr(e.msg, cases[i].want), "case %d: %s", i, e.msg);
        ck_assert_ptr_null(state);
        cf_params_free(hp);
        cf_plugin_close(h);
    }
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
    tcase_add_test(t, abi20_plugin_loads_and_works);
    tcase_add_test(t, newer_minor_loads);
    tcase_add_test(t, bad_descriptors_refused_clearly);
    tcase_add_test(t, state_bound_from_table);
    tcase_add_test(t, silent_plugin_failures_named);
    suite_add_tcase(s, t);
    return s;
}
