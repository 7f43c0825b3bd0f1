/* The one test runner: every tests/test_<area>.c provides cf_test_suite().
 * CK_RUN_SUITE / CK_RUN_CASE / CK_FORK / CK_VERBOSITY work as Check documents. */
#include <check.h>
#include <stdlib.h>
#include "core/sanitizer_options.h" /* defines the sanitizer defaults: main files only */

Suite *cf_test_suite(void);

int main(void)
{
    SRunner *sr = srunner_create(cf_test_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
