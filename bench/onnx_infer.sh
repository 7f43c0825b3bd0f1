#!/bin/sh
# clforge eval vs ONNX Runtime on clforge's own ONNX export (issue 15): see
# bench/onnx_infer.py. Uses the .venv tools/setup.sh makes (onnxruntime).
#   bench/onnx_infer.sh BUILD_DIR [--repeats N] [--models mlp,cnn,resnet20]
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: onnx_infer.sh BUILD_DIR [options]}
shift
exec "$here/../.venv/bin/python" "$here/onnx_infer.py" --clforge "$build/clforge" "$@"
