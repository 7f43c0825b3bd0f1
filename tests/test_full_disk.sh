#!/bin/sh
# A disk that fills up while the run writes: a write that fails is an error
# naming the file, or (report.html, a convenience) a warning — and the final
# line names only files that exist. Needs root and tmpfs (skips otherwise).
set -u
CLF=$(pwd)/clforge
T=$(mktemp -d)
M="$T/disk"
mkdir -p "$M"
cleanup() { umount "$M" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
mount -t tmpfs -o size=4m tmpfs "$M" 2>/dev/null || { echo "cannot mount a tmpfs: skip"; exit 77; }
cat > "$T/s.cfg" <<'CFG'
backend = { name = "cpu"; };
data = { limit_train = 500; limit_test = 100; };
model = { layers = ( { type = "dense"; units = 64; activation = "relu"; }, { type = "dense"; units = 10; } ); };
train = { epochs = 2; };
output = { tensorboard = false; };
CFG
$CLF train "$T/s.cfg" --run-dir "$M/r" >/dev/null 2>&1 || { echo "FAIL: the run on a roomy tmpfs"; exit 1; }
used=$(du -sk "$M/r" | cut -f1); rep=$(du -k "$M/r/report.html" | cut -f1)
umount "$M"
fails=0; saw_error=0; saw_warning=0
# From too small for the checkpoints up to room for everything, in 8 KiB steps.
sz=$((used - rep - 24))
while [ "$sz" -le $((used + 16)) ]; do
    mount -t tmpfs -o size=${sz}k tmpfs "$M" || exit 1
    $CLF train "$T/s.cfg" --run-dir "$M/r" >"$T/out" 2>&1; rc=$?
    last=$(grep '^wrote ' "$T/out")
    if [ "$rc" -ne 0 ]; then
        grep -q "error: $M/r/.*No space left on device" "$T/out" && saw_error=1 \
            || { echo "FAIL: ${sz}k: exit $rc without naming the file: $(tail -1 "$T/out")"; fails=$((fails + 1)); }
        [ -z "$last" ] || { echo "FAIL: ${sz}k: failed run printed '$last'"; fails=$((fails + 1)); }
    else
        grep -q "warning: report.html not written" "$T/out" && saw_warning=1
        for f in summary.json metrics.jsonl model.clf report.html; do
            if echo "$last" | grep -q "$f" && [ ! -s "$M/r/$f" ]; then
                echo "FAIL: ${sz}k: '$last' names $f, which is not there"; fails=$((fails + 1))
            fi
        done
    fi
    umount "$M"
    sz=$((sz + 8))
done
[ "$saw_error" = 1 ] && echo "ok: a checkpoint that does not fit fails the run naming the file" \
    || { echo "FAIL: no size made a checkpoint write fail"; fails=$((fails + 1)); }
[ "$saw_warning" = 1 ] && echo "ok: a report that does not fit is a warning, and the last line leaves it out" \
    || { echo "FAIL: no size made only the report fail"; fails=$((fails + 1)); }
echo "$fails failed"
[ "$fails" -eq 0 ]
