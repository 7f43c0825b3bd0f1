/* clforge — ONNX export: a built network as an ONNX ModelProto (opset 13),
 * encoded with protobuf-c from the vendored onnx.proto. onnx/ includes core
 * and model only; what a saved model records (normalisation, class names)
 * comes in through cf_onnx_export_info. */
#ifndef CLFORGE_ONNX_ONNX_EXPORT_H
#define CLFORGE_ONNX_ONNX_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include "model/net.h"

#define CF_ONNX_OPSET 13
#define CF_ONNX_IR_VERSION 7 /* the IR of opset 13 (ONNX 1.8): read by every runtime since */

typedef struct cf_onnx_export_info {
    int c, h, w, k;                 /* input shape, classes */
    const double *mean, *std;       /* per channel: the model's normalisation */
    const char *const *class_names; /* k */
    const char *loss;               /* recorded in the metadata ("xent", "mse", "hinge", "bce") */
    int sigmoid;                    /* probs are per-class sigmoids (bce, multi-label), not a softmax */
    const char *version;            /* clforge version */
} cf_onnx_export_info;

/* The model: "input" [N, C, H, W] pixels in [0, 1] (N dynamic) -> Sub mean,
 * Div std -> the layers -> "probs" [N, K], the softmax of the last layer's
 * output (what `clforge predict` reports for xent, mse and hinge) or, with
 * sigmoid, each output's sigmoid (bce). *data is malloc'd. */
cf_status cf_onnx_export_bytes(cf_net *net, const cf_onnx_export_info *info, uint8_t **data, size_t *len,
                               cf_error *err);
/* The same written to path atomically (temp file + rename: nothing half-written). */
cf_status cf_onnx_export(cf_net *net, const cf_onnx_export_info *info, const char *path, cf_error *err);

#endif
