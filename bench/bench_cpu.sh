#!/bin/sh
# clforge cpu backend vs PyTorch (issue 7): see bench/bench_cpu.py.
#   bench/bench_cpu.sh BUILD_DIR [--repeats N] [--models mlp,cnn,resnet20]
# BUILD_DIR holds the built clforge (out-of-tree build or the source tree).
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bench_cpu.sh BUILD_DIR [options]}
shift
exec /usr/bin/python3 "$here/bench_cpu.py" --clforge "$build/clforge" "$@"
