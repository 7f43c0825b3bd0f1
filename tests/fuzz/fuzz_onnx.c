/* Fuzz target: ONNX import (engine/onnx/onnx_import*.c): protobuf-c's
 * decoding of a ModelProto, then the graph walk, the operator mapping and
 * the initializers' reading, as `clforge import` and model.init_from run it. */
#include "fuzz.h"
#include "onnx/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = cf_fuzz_file("model.onnx", data, size);
    if (!p) return 0;
    cf_onnx_model m = {0};
    cf_error err = {0};
    cf_fuzz_note("onnx", cf_onnx_import(p, NULL, &m, &err), &err);
    cf_onnx_model_free(&m);
    return 0;
}
