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

# sweep NAME OUTDIR CMD...: count the command's allocations, then fail each in turn
sweep() {
    name=$1 out=$2
    shift 2
    rm -rf "$out" "$T/count"
    CF_FAILALLOC_COUNT=$T/count LD_PRELOAD=$SO "$@" >/dev/null 2>&1 || { echo "FAIL: $name does not run"; fails=$((fails + 1)); return; }
    m=$(sort -k2 -n "$T/count" | tail -n 1 | cut -d' ' -f2)
    s=$STRIDE
    [ "$s" -gt 0 ] || s=$(( (m + 19) / 20 ))
    ok=0 err=0 n=1 runs=0
    while [ "$n" -le "$m" ]; do
        run "$name" "$n" "$out" "$@"
        runs=$((runs + 1))
        n=$((n + s))
    done
    echo "$name: $m allocations, $runs failed in turn (stride $s): $err clean errors, $ok completed"
}

sweep train "$T/run" "$CLF" train "$T/train.cfg" --run-dir "$T/run" --quiet
sweep eval "$T/none" "$CLF" eval "$base_model" --images "$T/te-images-idx3-ubyte" --labels "$T/te-labels-idx1-ubyte"
sweep tune "$T/study" "$CLF" tune "$T/tune.cfg" --dir "$T/study" --quiet
[ "$fails" -eq 0 ]
