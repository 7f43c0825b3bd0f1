#!/bin/sh
# clforge im2rec / RecordIO against real MXNet, both ways (bench/mxnet_interop.py).
# Makes a venv with mxnet==1.9.1, numpy<1.24 and opencv-python-headless (PyPI)
# once, at $MXVENV (default bench/.mxvenv). Run from the build tree:
#   sh bench/mxnet_interop.sh [WORKDIR]
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
MXVENV=${MXVENV:-$SRC/bench/.mxvenv}
if ! "$MXVENV/bin/python" -c 'import mxnet, cv2' >/dev/null 2>&1; then
    python3 -m venv "$MXVENV"
    "$MXVENV/bin/pip" install -q --disable-pip-version-check "mxnet==1.9.1" "numpy<1.24" "opencv-python-headless<4.9"
fi
make -s clforge tests/recordio_dump
exec "$MXVENV/bin/python" "$SRC/bench/mxnet_interop.py" "$PWD/clforge" "$PWD/tests/recordio_dump" "${1:-/tmp/clforge_mxnet_interop}"
