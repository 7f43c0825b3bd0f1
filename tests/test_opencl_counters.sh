#!/bin/sh
# The OpenCL backend's launch/sync counters (issue 18): with backend.verbose the
# backend prints at close how many kernels and CLBlast GEMMs it launched, how
# often the host waited (clFinish, blocking reads/writes) and the bytes moved.
# Two runs that differ by two training steps give one step's cost by difference;
# a step may block only on its loss/metrics download (the per-sample losses and
# predictions: 2 blocking reads), never on clFinish or a blocking upload.
# SKIPs (77) without the OpenCL backend or an OpenCL device (PoCL). ~10-30 s.
set -eu
# Under ASan + UBSan (the CI sanitizer stage) PoCL's LLVM compiles and runs
# beneath ASan's allocator: one run takes minutes (this test took 7 min 46 s
# there), and the backend's own code is sanitized by tests/test_opencl and
# tests/test_parity already.
if ldd .libs/clforge 2>/dev/null | grep -q libasan; then echo "sanitizer build: skip (PoCL under ASan is minutes a run)"; exit 77; fi
skip() { echo "SKIP: $*"; exit 77; }
[ -f backends/opencl/.libs/cf_backend_opencl.so ] || skip "built without the OpenCL backend"
[ -f "${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}/train-images-idx3-ubyte.gz" ] ||
    skip "no Fashion-MNIST data"
./clforge devices 2>/dev/null | grep -qi "opencl" || skip "no OpenCL device"
tmp=$(mktemp -d /tmp/clforge-test-ocl-counters.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
run() { # samples -> the counters line
    ./clforge train examples/fashion_mlp.cfg --quiet --run-dir "$tmp/r$1" --set backend.name=opencl \
        --set backend.verbose=true --set data.limit_train="$1" --no-test \
        --set data.validation_split=0 --set train.epochs=1 --set train.mini_batch_size=16 \
        >"$tmp/o$1" 2>&1 || { tail -5 "$tmp/o$1"; echo "FAIL: training $1 samples"; exit 1; }
    grep '^clforge opencl: counters ' "$tmp/o$1" || { tail -5 "$tmp/o$1"; echo "FAIL: no counters line"; exit 1; }
}
a=$(run 32)
b=$(run 64)
field() { echo "$1" | tr ' ()' '\n\n\n' | sed -n "s/^$2=//p"; }
fails=0
for f in kernels gemms finishes blocking_reads blocking_writes async_writes h2d_bytes; do
    d=$(( $(field "$b" $f) - $(field "$a" $f) ))
    eval "d_$f=\$((d / 2))"
    echo "per step: $f=$((d / 2))"
done
[ "$d_finishes" -eq 0 ] || { echo "FAIL: a step calls clFinish"; fails=1; }
[ "$d_blocking_writes" -eq 0 ] || { echo "FAIL: a step blocks on an upload"; fails=1; }
[ "$d_blocking_reads" -eq 2 ] || { echo "FAIL: a step makes $d_blocking_reads blocking reads (loss + predictions = 2)"; fails=1; }
[ "$d_kernels" -gt 0 ] && [ "$d_gemms" -gt 0 ] || { echo "FAIL: no launches counted"; fails=1; }
# x (16 x 784 floats) + targets + weights
[ "$d_h2d_bytes" -ge $((16 * 784 * 4)) ] || { echo "FAIL: h2d bytes per step $d_h2d_bytes"; fails=1; }
[ $fails -eq 0 ] && echo "ok: per-step launches and syncs"
exit $fails
