/* Every backend against the reference backend, op by op.
 *
 * For each backend the registry finds other than reference (cpu, opencl, any
 * later one), every op of the test table runs in every variant (odd sizes,
 * stride/pad variants, every activation; backward ops with accumulate off and
 * on) on both backends from the same inputs, and every output must agree
 * within the op's relative-error bound. Ops a backend's supports_op()
 * rejects are reported and skipped. With no other backend, reference runs
 * against itself on a quick subset and must be bit-identical (deterministic,
 * no reads of the NaN-filled outputs).
 *
 * CF_TEST_BACKENDS=cpu,opencl restricts the backends; CF_TEST_DEVICE picks
 * the device. Each backend is opened once per test: PoCL compiles kernels. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define MAX_BACKENDS 16
static char g_names[MAX_BACKENDS][64];
static int g_n_names;

static int wanted(const char *name)
{
    const char *list = getenv("CF_TEST_BACKENDS");
    if (!list || !*list) return 1;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

typedef struct tally {
    int cases, failed, skipped_ops;
    char first_failure[1024];
    char skipped[512];
} tally;

static void fail_case(tally *t, const char *backend, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_case(tally *t, const char *backend, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "parity %s: FAIL %s\n", backend, line);
    if (!t->failed++) snprintf(t->first_failure, sizeof t->first_failure, "%s", line);
}

/* Runs every case of op k; returns 0 when the backend does not support it. */
static int check_op(cf_backend *ref, cf_backend *b, cf_op_kind k, int quick, int exact, tally *t)
{
    int nv = tu_n_variants(k), n_acc = tu_is_backward(k) ? 2 : 1;
    if (quick && nv > 2) nv = 2;
    double rtol, atol;
    tu_tolerance(k, &rtol, &atol);
    if (exact) rtol = atol = 0;
    for (int v = 0; v < nv; v++)
        for (int acc = 0; acc < n_acc; acc++) {
            cf_rng r = tu_rng((uint64_t)k, (uint64_t)(v * 2 + acc));
            cf_error err = {0};
            tu_case c;
            float *want[TU_SLOTS], *got[TU_SLOTS];
            if (tu_make_case(ref, k, v, acc, &r, &c, &err) != CF_OK) {
                fail_case(t, b->desc->name, "%s v%d: cannot build case: %s", cf_op_name(k), v,
                          err.msg);
                continue;
            }
            t->cases++;
            cf_status st = tu_run(ref, &c, want, &err);
            if (st != CF_OK) {
                fail_case(t, b->desc->name, "reference failed on %s: %s", c.desc, err.msg);
                tu_case_free(&c);
                continue;
            }
            st = tu_run(b, &c, got, &err);
            if (st == CF_ERR_UNSUPPORTED) {
                fprintf(stderr, "parity %s: skipped %s (%s)\n", b->desc->name, c.desc, err.msg);
                tu_outs_free(want);
                tu_case_free(&c);
                t->cases--;
                if (v == 0 && acc == 0) return 0; /* the op as a whole */
                continue;
            }
            if (st != CF_OK) fail_case(t, b->desc->name, "%s: %s", c.desc, err.msg);
            for (int s = 0; st == CF_OK && s < TU_SLOTS; s++) {
                if (!c.out[s].ndim) continue;
                char msg[512];
                if (!tu_compare(got[s], want[s], tu_numel(&c.out[s]), rtol, atol, msg, sizeof msg))
                    fail_case(t, b->desc->name, "%s: out[%d]: %s", c.desc, s, msg);
            }
            tu_outs_free(want);
            tu_outs_free(got);
            tu_case_free(&c);
        }
    return 1;
}

START_TEST(test_backend_parity)
{
    const char *name = g_names[_i];
    int self = !strcmp(name, "reference");
    cf_backend *ref = NULL, *b = NULL;
    cf_error err = {0};
    ck_assert_msg(tu_open("reference", &ref, &err) == CF_OK, "open reference: %s", err.msg);
    if (self) {
        fprintf(stderr, "parity: no backend other than reference found; checking reference "
                        "against itself (quick subset, bit-exact)\n");
        b = ref;
    } else if (tu_open(name, &b, &err) != CF_OK) {
        /* A backend that scores itself unusable here (no device) is skipped. */
        const cf_plugin_desc *d = NULL;
        cf_error e2 = {0};
        cf_registry_find(tu_registry(&e2), CF_PLUGIN_BACKEND, name, &d, &e2);
        const cf_backend_vtable *vt = d ? d->vtable : NULL;
        if (vt && vt->auto_score && vt->auto_score() <= 0) {
            fprintf(stderr, "parity %s: skipped, backend unusable here: %s\n", name, err.msg);
            cf_backend_close(ref);
            return;
        }
        ck_abort_msg("cannot open backend %s: %s", name, err.msg);
    }
    fprintf(stderr, "parity %s: device %s\n", name, b->info.name);
    tally t = {0};
    for (int k = CF_OP_NONE + 1; k < CF_OP_COUNT; k++) {
        if (!check_op(ref, b, (cf_op_kind)k, self, self, &t)) {
            t.skipped_ops++;
            size_t len = strlen(t.skipped);
            snprintf(t.skipped + len, sizeof t.skipped - len, "%s%s", len ? ", " : "",
                     cf_op_name((cf_op_kind)k));
        }
    }
    fprintf(stderr, "parity %s: %d cases, %d differ; %d ops unsupported%s%s\n", name, t.cases,
            t.failed, t.skipped_ops, t.skipped_ops ? ": " : "", t.skipped);
    if (b != ref) cf_backend_close(b);
    cf_backend_close(ref);
    ck_assert_msg(t.failed == 0, "%s: %d of %d cases differ from reference (seed %llu); first: %s",
                  name, t.failed, t.cases, (unsigned long long)tu_seed(), t.first_failure);
    ck_assert_msg(t.cases > 0, "%s: no case ran", name);
}
END_TEST

Suite *cf_test_suite(void)
{
    tu_seed();
    /* Only names here: the backends are opened inside the (forked) test, so
     * no device context is created before the fork. */
    cf_error err = {0};
    cf_registry *r = tu_registry(&err);
    for (int i = 0; r && i < cf_registry_count(r) && g_n_names < MAX_BACKENDS; i++) {
        const cf_plugin_desc *d = cf_registry_desc(r, i);
        if (d->kind != CF_PLUGIN_BACKEND || !strcmp(d->name, "reference") || !wanted(d->name))
            continue;
        snprintf(g_names[g_n_names++], sizeof g_names[0], "%s", d->name);
    }
    if (g_n_names == 0) snprintf(g_names[g_n_names++], sizeof g_names[0], "reference");
    Suite *s = suite_create("parity");
    TCase *tc = tcase_create("backends");
    tcase_set_timeout(tc, 300); /* a cold PoCL cache compiles every kernel: ~45 s here */
    tcase_add_loop_test(tc, test_backend_parity, 0, g_n_names);
    suite_add_tcase(s, tc);
    return s;
}
