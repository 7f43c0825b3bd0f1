#!/bin/sh
# An OpenCL call failing in the middle of a step (issue 17): the OpenCL
# backend's fault injection (CLFORGE_OPENCL_FAIL_AT=N: the N-th kernel enqueue
# returns CL_OUT_OF_RESOURCES, backends/opencl/launch.c) over a small
# two-epoch run on PoCL, for N from the first enqueue to past the last. Each
# run stops with an error naming the call, the error, the kernel (and the
# layer and op, or the optimizer and parameter, where there is one) or
# completes; its files are whole; where a checkpoint was written, resuming
# unfaulted finishes the run with the model of an unfaulted run.
set -u
S=${CF_TEST_SRCDIR:-.}
CLF=./clforge
# Under ASan + UBSan (the CI sanitizer stage) PoCL's LLVM compiles and runs
# beneath ASan's allocator: one run takes minutes (this test took 7 min 46 s
# there), and the backend's own code is sanitized by tests/test_opencl and
# tests/test_parity already.
if ldd .libs/clforge 2>/dev/null | grep -q libasan; then echo "sanitizer build: skip (PoCL under ASan is minutes a run)"; exit 77; fi
command -v python3 >/dev/null || { echo "no python3: skip"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$S/tests/fault/common.sh"
fault_setup
run() { "$CLF" train "$T/train.cfg" --set backend.name=opencl --run-dir "$@" --quiet; }
run "$T/base" >/dev/null 2>"$T/err" || { echo "no OpenCL device: skip ($(head -c 200 "$T/err"))"; exit 77; }
fails=0 errs=0 done=0 resumed=0
bad() { echo "FAIL: enqueue $n failing: $1"; sed 's/^/    /' "$T/err" | tail -n 3; fails=$((fails + 1)); }
n=1
while [ "$n" -le 160 ]; do
    rm -rf "$T/w"
    CLFORGE_OPENCL_FAIL_AT=$n run "$T/w" >/dev/null 2>"$T/err"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        done=$((done + 1))
        cmp -s "$T/w/model.clf" "$T/base/model.clf" || bad "completed with another model"
    elif [ "$rc" -ge 124 ]; then
        bad "exit $rc (signal, abort or hang)"
    elif ! grep -q "^clforge: error: .*clEnqueueNDRangeKernel failed: CL_OUT_OF_RESOURCES (-5) (kernel k_" "$T/err"; then
        bad "exit $rc without an error naming the call and the kernel"
    else
        errs=$((errs + 1))
        if ! fault_check_outputs "$T/w" >"$T/check"; then
            bad "half-written output: $(cat "$T/check")"
        elif [ -f "$T/w/checkpoints/last.ckpt" ]; then
            if ! "$CLF" train --resume "$T/w" --quiet >/dev/null 2>"$T/err"; then bad "does not resume"
            elif ! cmp -s "$T/w/model.clf" "$T/base/model.clf"; then bad "resumed, its model differs from an unfaulted run's"
            else resumed=$((resumed + 1)); fi
        fi
    fi
    n=$((n + 11))
done
echo "enqueues 1..160 step 11 failed in turn: $errs clean errors ($resumed resumed to the unfaulted model), $done completed"
[ "$errs" -gt 0 ] && [ "$done" -gt 0 ] || { echo "FAIL: the sweep did not cross the run (errors $errs, completed $done)"; fails=$((fails + 1)); }
[ "$fails" -eq 0 ]
