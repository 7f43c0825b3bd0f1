#!/bin/sh
# Installs every Debian package clforge's build, tests and examples need
# (Debian 12, as root; chromium renders report.html in a test; clang and its
# libFuzzer runtime build `make fuzz`), and a Python
# virtualenv .venv with TensorBoard, whose EventAccumulator reads the event
# files in a test, and onnx + ONNX Runtime, which check and run the models
# `clforge export` writes (made once; kept while they import). --bench adds the peers
# the benchmarks compare against. Safe to run again.
set -eu
PKGS="build-essential autoconf automake libtool pkg-config
  libconfig-dev zlib1g-dev check libopenblas-dev liblapacke-dev libdnnl-dev
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd libclblast-dev clinfo
  libjpeg-dev libjpeg-turbo-progs libpng-dev protobuf-c-compiler libprotobuf-c-dev libopenmpi-dev openmpi-bin dataset-fashion-mnist python3
  python3-venv chromium fonts-dejavu-core clang libclang-rt-14-dev"
if [ "${1:-}" = "--bench" ]; then PKGS="$PKGS python3-torch python3-optuna time"; fi
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS
VENV="$(cd "$(dirname "$0")/.." && pwd)/.venv"
if ! "$VENV/bin/python" -c 'import tensorboard' >/dev/null 2>&1; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    # Without PyPI the build still works; the test then skips (and .ci/run lists it).
    "$VENV/bin/pip" install -q --disable-pip-version-check tensorboard || {
        echo "tools/setup.sh: warning: pip install tensorboard failed; tests/test_tensorboard.sh will skip" >&2
        rm -rf "$VENV"
    }
fi
if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'import onnx, onnxruntime' >/dev/null 2>&1; then
    "$VENV/bin/pip" install -q --disable-pip-version-check onnx onnxruntime ||
        echo "tools/setup.sh: warning: pip install onnx onnxruntime failed; tests/test_onnx_export.sh will skip" >&2
fi
