/* The one test runner: every tests/test_<area>.c provides cf_test_suite().
 * CK_RUN_SUITE / CK_RUN_CASE / CK_FORK / CK_VERBOSITY work as Check documents. */
#include <check.h>
#include <stdlib.h>

Suite *cf_test_suite(void);

/* Under --enable-sanitizers: the leak suppressions (third-party runtimes
 * only) and the allocator setting the out-of-memory tests need are built in,
 * so they hold in every process, mpirun's ranks and trial children too. */
#ifdef __SANITIZE_ADDRESS__
const char *__lsan_default_options(void);
const char *__asan_default_options(void);
const char *__lsan_default_options(void) { return "suppressions=" CF_LSAN_SUPP; }
const char *__asan_default_options(void) { return "allocator_may_return_null=1:detect_leaks=1"; }
#endif

int main(void)
{
    SRunner *sr = srunner_create(cf_test_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
