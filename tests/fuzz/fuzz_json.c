/* Fuzz target: the JSON reader (core/json_parse.c: summary.json, metrics
 * lines) and, on the same bytes as a file, SageMaker's hyperparameters.json
 * mapped onto --set overrides (train/sagemaker.c). */
#include <stdlib.h>

#include "core/json_parse.h"
#include "fuzz.h"
#include "train/sagemaker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_jval *v = NULL;
    cf_error err = {0};
    cf_status st = cf_jval_parse((const char *)data, size, "fuzz.json", &v, &err);
    cf_fuzz_note("json", st, &err);
    if (st == CF_OK) {
        cf_jval_path(v, "test.macro.f1");
        cf_jval_str(cf_jval_at(v, 0), "");
        cf_jval_free(v);
    }
    const char *p = cf_fuzz_file("hyperparameters.json", data, size);
    char **sets = NULL;
    int n = 0;
    st = p ? cf_sagemaker_overrides(p, &sets, &n, &err) : CF_ERR_IO;
    cf_fuzz_note("sagemaker", st, &err);
    if (st == CF_OK) {
        for (int i = 0; i < n; i++) free(sets[i]);
        free(sets);
    }
    return 0;
}
