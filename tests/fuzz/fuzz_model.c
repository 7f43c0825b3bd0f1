/* Fuzz target: a model file (model.clf: model/modelfile.c's checksummed
 * blob, then the embedded config, input shape, normalisation, class names
 * and weights as eval/predict rebuild them, train/model_io.c). The CRC
 * trailer is recomputed (fuzz.h) so mutations get past the checksum. */
#include <stdlib.h>

#include "fuzz.h"
#include "train/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *fixed = cf_fuzz_fix_blob_crc(data, size);
    const char *p = cf_fuzz_file("model.clf", fixed ? fixed : data, size);
    free(fixed);
    if (!p) return 0;
    cf_session s;
    cf_fuzz_session(&s);
    cf_error err = {0};
    cf_fuzz_note("model", cf_session_open_model(&s, p, "reference", 1, 2, &err), &err);
    cf_session_free(&s);
    return 0;
}
