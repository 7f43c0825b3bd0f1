#!/bin/sh
# The allocation-failure sweep: a small train run, an eval of its model and a
# three-trial tune study, each run again with the N-th allocation failing
# (failalloc.so, LD_PRELOAD) for N = 1, 1 + STRIDE, ... up to the number of
# allocations the command makes. Every run must end in a clean error (exit 1
# with "error" in its message) or, where the failure was recoverable, exit 0;
# never a signal, a hang or a sanitizer report; and whatever files it leaves
# are whole (common.sh: CRCs, JSON); a train run that completes despite the
# failure (report.html is optional) has the unfaulted run's model.clf. Prints
# each command's count and results.
# usage: alloc_sweep.sh CLFORGE FAILALLOC_SO SCRATCH STRIDE
#   STRIDE 0: about 20 points per command (make check); 1: every allocation.
set -u
CLF=$1 SO=$2 T=$3 STRIDE=$4
. "$(dirname "$0")/common.sh"
fault_setup
fails=0
base_model=$T/base/model.clf
"$CLF" train "$T/train.cfg" --run-dir "$T/base" --quiet || { echo "FAIL: the unfaulted train run failed"; exit 1; }

# run NAME N OUTDIR CMD...: one faulted run and its checks
run() {
    name=$1 n=$2 out=$3
    shift 3
    rm -rf "$out"
    CF_FAILALLOC_AT=$n LD_PRELOAD=$SO timeout 60 "$@" >"$T/stdout" 2>"$T/stderr"
    rc=$?
    why=""
    if [ "$rc" -ge 124 ]; then why="exit $rc (signal, abort or hang)"
    elif [ "$rc" -ne 0 ] && ! grep -q "^clforge" "$T/stderr"; then why="exit $rc without an error message"
    elif grep -q "Sanitizer" "$T/stderr"; then why="sanitizer report"
    elif [ -d "$out" ] && ! fault_check_outputs "$out" >"$T/check"; then why="half-written output: $(cat "$T/check")"
    elif [ "$rc" -eq 0 ] && [ -f "$out/model.clf" ] && ! cmp -s "$out/model.clf" "$base_model"; then
        why="completed, but its model.clf differs from the unfaulted run's"
    fi
    if [ -n "$why" ]; then
        echo "FAIL: $name with allocation $n failing: $why"
        tail -n 5 "$T/stderr" | sed 's/^/    /'
        fails=$((fails + 1))
        return 1
    fi
    [ "$rc" -eq 0 ] && ok=$((ok + 1)) || err=$((err + 1))
    return 0
}

# alloc_case N CMD...: the faulted run of the command being swept, into $out
alloc_case() {
    n=$1
    shift
    run "$name" "$n" "$out" "$@"
}

out=$T/run
rm -rf "$out"
fault_sweep train allocations 20 CF_FAILALLOC_COUNT alloc_case "$CLF" train "$T/train.cfg" --run-dir "$out" --quiet
out=$T/none
fault_sweep eval allocations 20 CF_FAILALLOC_COUNT alloc_case \
    "$CLF" eval "$base_model" --images "$T/te-images-idx3-ubyte" --labels "$T/te-labels-idx1-ubyte"
out=$T/study
rm -rf "$out"
fault_sweep tune allocations 20 CF_FAILALLOC_COUNT alloc_case "$CLF" tune "$T/tune.cfg" --dir "$out" --quiet
[ "$fails" -eq 0 ]
