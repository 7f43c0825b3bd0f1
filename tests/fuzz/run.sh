#!/bin/sh
# make fuzz: run each libFuzzer target SECONDS seconds from its seed corpus
# (new inputs go to DIR/corpus/<target>, the committed corpus is not
# touched); stop at the first crash, leak, timeout (10 s) or OOM (2.5 GB),
# whose input is saved as DIR/crash-<target>-*. Prints each target's
# executions and coverage at the end. FUZZ_KEEP_GOING=1: go on to the next
# target after a finding (for long runs), failing at the end.
# usage: run.sh DIR SECONDS CORPUS_ROOT TARGET...
set -u
dir=$1 secs=$2 seeds=$3
shift 3
supp=$(cd "$seeds/../.." && pwd)/tests/lsan.supp
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$supp}
summary=""
found=0
for t in "$@"; do
    mkdir -p "$dir/corpus/$t"
    log=$dir/fuzz_$t.log
    echo "fuzz_$t: $secs s"
    if ! "$dir/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2560 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$dir/crash-$t-" "$dir/corpus/$t" "$seeds/corpus/$t" >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "FAIL: fuzz_$t found a problem (input: $dir/crash-$t-*, log: $log)"
        [ "${FUZZ_KEEP_GOING:-0}" = 1 ] || exit 1
        found=$((found + 1))
        summary="$summary
fuzz_$t: FOUND A PROBLEM (see $log)"
        continue
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1)
    summary="$summary
fuzz_$t: $execs execs, $cov, $ft, corpus $(ls "$dir/corpus/$t" | wc -l) new files"
done
echo "fuzzing done ($secs s per target):$summary"
[ "$found" -eq 0 ]
