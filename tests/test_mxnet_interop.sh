#!/bin/sh
# clforge im2rec / RecordIO against the real MXNet 1.9.1, both ways
# (bench/mxnet_interop.py). Skips without its venv: $MXVENV, or bench/.mxvenv
# as bench/mxnet_interop.sh makes it (CI does not need MXNet; the committed
# fixtures in tests/fixtures/recordio test the reader on MXNet's bytes).
set -u
SRC=${CF_TEST_SRCDIR:-.}
MXVENV=${MXVENV:-$SRC/bench/.mxvenv}
if ! "$MXVENV/bin/python" -c 'import mxnet, cv2' >/dev/null 2>&1; then
    echo "no MXNet venv at $MXVENV (sh bench/mxnet_interop.sh makes one): skip"
    exit 77
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$MXVENV/bin/python" "$SRC/bench/mxnet_interop.py" "$PWD/clforge" "$PWD/tests/recordio_dump" "$W/work" > "$W/out" 2>&1
rc=$?
grep -v 'ImageRecordIOParser2' "$W/out"
exit $rc
