#!/bin/sh
# Time to 0.92 / 0.93 test accuracy, clforge vs PyTorch, ResNet-20 on
# Fashion-MNIST (issue 19): see bench/time_to_accuracy.py.
#   bench/time_to_accuracy.sh BUILD_DIR [--epochs E] [--quick] [--json FILE]
# BUILD_DIR holds the built clforge (out-of-tree build or the source tree);
# PYTHON names the interpreter with PyTorch 2.x (default /work/venv-torch/bin/python).
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: time_to_accuracy.sh BUILD_DIR [options]}
shift
exec /usr/bin/python3 "$here/time_to_accuracy.py" --clforge "$build/clforge" \
    --python "${PYTHON:-/work/venv-torch/bin/python}" "$@"
