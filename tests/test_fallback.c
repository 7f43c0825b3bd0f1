/* Per-op fallback and dtype checks. The cpu backend's deny_ops knob makes
 * its supports_op refuse ops; the engine must then run them on the
 * reference backend (copying tensors both ways) and give the reference's
 * results bit for bit, saying so once per op kind. Also: backend knobs come
 * from the config group (and the schema knows them), and an op on a dtype a
 * backend lacks is an error. */
#include <check.h>
#include <libconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/plugin_params.h"
#include "train/schema.h"
#include "testutil.h"

/* Open backend name with the config text's backend group. */
static cf_status open_cfg(const char *name, const char *cfg_text, FILE *warn, cf_backend **b,
                          cf_error *err)
{
    config_t cfg;
    config_init(&cfg);
    ck_assert_msg(config_read_string(&cfg, cfg_text) == CONFIG_TRUE, "bad test config: %s",
                  config_error_text(&cfg));
    cf_backend_config bc = {0};
    cf_status st = cf_backend_open_group(tu_registry(err), name, &bc,
                                         config_lookup(&cfg, "backend"), NULL, warn, b, err);
    config_destroy(&cfg);
    return st;
}

/* Like tu_run, but through cf_backend_exec: the path that falls back. */
static cf_status run_engine(cf_backend *b, const tu_case *c, float *outs[TU_SLOTS], cf_error *err)
{
    cf_tensor tin[TU_SLOTS] = {0}, tout[TU_SLOTS] = {0};
    cf_op op = c->op;
    cf_status st = CF_OK;
    for (int i = 0; i < TU_SLOTS; i++) outs[i] = NULL, op.in[i] = op.out[i] = NULL;
    for (int i = 0; i < TU_SLOTS && !st; i++) {
        const tu_tensor *pairs[2] = {&c->in[i], &c->out[i]};
        cf_tensor *dst[2] = {&tin[i], &tout[i]};
        for (int k = 0; k < 2 && !st; k++) {
            if (!pairs[k]->ndim) continue;
            st = cf_tensor_alloc(b, dst[k], pairs[k]->ndim, pairs[k]->shape, k ? "out" : "in", err);
            if (!st) st = cf_tensor_upload(b, dst[k], pairs[k]->data, err);
            if (k)
                op.out[i] = dst[k];
            else
                op.in[i] = dst[k];
        }
    }
    if (!st) st = cf_backend_exec(b, &op, err);
    if (!st) st = cf_backend_sync(b, err);
    for (int i = 0; i < TU_SLOTS && !st; i++) {
        if (!c->out[i].ndim) continue;
        outs[i] = malloc(tu_numel(&c->out[i]) * sizeof(float));
        st = cf_tensor_download(b, &tout[i], outs[i], err);
    }
    for (int i = 0; i < TU_SLOTS; i++) cf_tensor_free(b, &tin[i]), cf_tensor_free(b, &tout[i]);
    return st;
}

/* Every op kind with a test case, denied by cpu, equals the reference. */
START_TEST(denied_ops_run_on_reference)
{
    cf_error err = {0};
    cf_backend *ref, *cpu;
    ck_assert_msg(tu_open("reference", &ref, &err) == CF_OK, "%s", err.msg);
    /* every op name, so every kind goes through the fallback */
    char text[4096] = "backend = { deny_ops = \"";
    for (int k = 1; k < CF_OP_COUNT; k++)
        if (tu_def_for((cf_op_kind)k, &(int){0}))
            snprintf(text + strlen(text), sizeof text - strlen(text), "%s|",
                     cf_op_name((cf_op_kind)k));
    strcat(text, "\"; };");
    cf_status st = open_cfg("cpu", text, stderr, &cpu, &err);
    if (st == CF_ERR_PLUGIN) { /* cpu backend not built */
        cf_backend_close(ref);
        return;
    }
    ck_assert_msg(st == CF_OK, "%s", err.msg);
    int cases = 0;
    for (int k = 1; k < CF_OP_COUNT; k++) {
        int bi;
        if (!tu_def_for((cf_op_kind)k, &bi)) continue;
        ck_assert(!cf_backend_supports(cpu, &(cf_op){.kind = (cf_op_kind)k}));
        for (int v = 0; v < tu_n_variants((cf_op_kind)k) && v < 2; v++) {
            cf_rng r = tu_rng((uint64_t)k, (uint64_t)v);
            tu_case c;
            ck_assert_msg(tu_make_case(ref, (cf_op_kind)k, v, 0, &r, &c, &err) == CF_OK, "%s",
                          err.msg);
            float *want[TU_SLOTS], *got[TU_SLOTS];
            ck_assert_msg(tu_run(ref, &c, want, &err) == CF_OK, "%s", err.msg);
            ck_assert_msg(run_engine(cpu, &c, got, &err) == CF_OK, "%s v%d: %s",
                          cf_op_name((cf_op_kind)k), v, err.msg);
            for (int i = 0; i < TU_SLOTS; i++) {
                if (!c.out[i].ndim) continue;
                char msg[256];
                ck_assert_msg(
                    tu_compare(got[i], want[i], tu_numel(&c.out[i]), 0, 0, msg, sizeof msg),
                    "%s v%d out[%d] differs from the reference: %s", cf_op_name((cf_op_kind)k), v,
                    i, msg);
            }
            tu_outs_free(want);
            tu_outs_free(got);
            tu_case_free(&c);
            cases++;
        }
    }
    ck_assert_int_gt(cases, 20);
    cf_backend_close(cpu);
    cf_backend_close(ref);
}
END_TEST

/* The notice comes once per op kind, naming backend and op. */
START_TEST(fallback_said_once)
{
    cf_error err = {0};
    cf_backend *ref, *cpu;
    ck_assert_msg(tu_open("reference", &ref, &err) == CF_OK, "%s", err.msg);
    if (open_cfg("cpu", "backend = { deny_ops = \"axpby\"; };", stderr, &cpu, &err) != CF_OK) {
        cf_backend_close(ref);
        return;
    }
    char path[] = "/tmp/cf-fallback-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    for (int rep = 0; rep < 3; rep++) {
        cf_rng r = tu_rng(1, (uint64_t)rep);
        tu_case c;
        ck_assert(tu_make_case(ref, CF_OP_AXPBY, 0, 0, &r, &c, &err) == CF_OK);
        float *got[TU_SLOTS];
        ck_assert_msg(run_engine(cpu, &c, got, &err) == CF_OK, "%s", err.msg);
        tu_outs_free(got);
        tu_case_free(&c);
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[4096] = {0};
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    unlink(path);
    ck_assert_int_gt(n, 0);
    const char *want = "backend cpu lacks op axpby: running it on the reference backend";
    const char *first = strstr(buf, want);
    ck_assert_msg(first, "stderr was: %s", buf);
    ck_assert_msg(!strstr(first + 1, want), "said more than once: %s", buf);
    cf_backend_close(cpu);
    cf_backend_close(ref);
}
END_TEST

/* Knobs: validated by the backend's table (choices, unknown keys warned). */
START_TEST(backend_knobs_from_config)
{
    cf_error err = {0};
    cf_backend *b;
    if (open_cfg("cpu", "backend = { };", NULL, &b, &err) != CF_OK) return;
    cf_backend_close(b);
    ck_assert_int_eq(open_cfg("cpu", "backend = { conv = \"fft\"; };", NULL, &b, &err),
                     CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "conv") && strstr(err.msg, "fft"), "got: %s", err.msg);
    ck_assert_int_eq(open_cfg("cpu", "backend = { deny_ops = \"warp_drive\"; };", NULL, &b, &err),
                     CF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "deny_ops: unknown op 'warp_drive'"), "got: %s", err.msg);
    /* The schema accepts the chosen backend's knobs in backend.*, and only those. */
    config_t base;
    config_init(&base);
    ck_assert(config_read_string(&base, "backend = { name = \"cpu\"; };") == CONFIG_TRUE);
    ck_assert_msg(cf_schema_check_key(&base, tu_registry(&err), "backend.deny_ops", NULL, &err) ==
                      CF_OK,
                  "%s", err.msg);
    ck_assert_int_eq(cf_schema_check_key(&base, tu_registry(&err), "backend.cache_dir", NULL, &err),
                     CF_ERR_INVALID); /* an opencl knob, not cpu's */
    ck_assert_int_eq(cf_schema_check_key(&base, tu_registry(&err), "backend.bogus", NULL, &err),
                     CF_ERR_INVALID);
    config_destroy(&base);
    ck_assert_int_eq(open_cfg("cpu", "backend = { name = \"cpu\"; threads = 1; };", NULL, &b, &err),
                     CF_OK);
    cf_backend_close(b);
}
END_TEST

/* An op on a dtype the backend does not run is refused, never misread. */
START_TEST(unsupported_dtype_refused)
{
    static const char *const names[] = {"reference", "cpu"};
    for (int n = 0; n < 2; n++) {
        cf_error err = {0};
        cf_backend *b;
        if (tu_open(names[n], &b, &err) != CF_OK) continue;
        cf_tensor x, y;
        int shape[1] = {4};
        ck_assert(cf_tensor_alloc(b, &x, 1, shape, "x", &err) == CF_OK);
        ck_assert(cf_tensor_alloc(b, &y, 1, shape, "y", &err) == CF_OK);
        ck_assert_int_eq(x.dtype, CF_DTYPE_F32);
        x.dtype = CF_DTYPE_F16;
        cf_op op = {.kind = CF_OP_AXPBY, .in = {&x}, .out = {&y}};
        op.p.vec.a = 1;
        ck_assert_int_eq(cf_backend_exec(b, &op, &err), CF_ERR_UNSUPPORTED);
        ck_assert_msg(strstr(err.msg, "tensor x has dtype f16"), "%s: %s", names[n], err.msg);
        float host[4] = {0};
        ck_assert_int_eq(cf_tensor_upload(b, &x, host, &err), CF_ERR_UNSUPPORTED);
        x.dtype = CF_DTYPE_F32;
        cf_tensor_free(b, &x);
        cf_tensor_free(b, &y);
        cf_backend_close(b);
    }
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("fallback");
    TCase *t = tcase_create("fallback");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, denied_ops_run_on_reference);
    tcase_add_test(t, fallback_said_once);
    tcase_add_test(t, backend_knobs_from_config);
    tcase_add_test(t, unsupported_dtype_refused);
    suite_add_tcase(s, t);
    return s;
}
