#!/bin/sh
# clforge tune under bad settings and a killed tuner (issue 17 item 12):
# negative durations are refused naming file:line, and trial processes die
# with a SIGKILLed tuner instead of running on until their next write.
set -u
CLF=$(pwd)/clforge
T=$(mktemp -d)
trap 'pkill -9 -f "$T/" 2>/dev/null; rm -rf "$T"' EXIT
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
for kv in 'trial_timeout = -1' 'max_wall_seconds = -5'; do
    sed "s/max_trials = \([0-9]*\);/max_trials = \1; $kv;/" examples/tune_branin.cfg > "$T/b.cfg"
    $CLF tune "$T/b.cfg" --dir "$T/b" >"$T/out" 2>&1; rc=$?
    if [ "$rc" -ne 0 ] && grep -q "b.cfg:[0-9]*: .*'${kv%% *}' = -[0-9]* must be 0 (no limit) or a positive" "$T/out" && [ ! -e "$T/b" ]; then
        ok "$kv refused"
    else bad "$kv: exit $rc, $(head -1 "$T/out")"; fi
done
[ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || { echo "$fails failed"; exit "$fails"; }
# A trial program that stays silent for 30 s (no write that would SIGPIPE it).
printf '#!/bin/bash\nexec -a "cf-silent-trial-%s" sleep 30\n' "$$" > "$T/silent"
chmod +x "$T/silent"
cat > "$T/t.cfg" <<'CFG'
backend = { name = "reference"; };
data = { limit_train = 300; limit_test = 50; };
model = { layers = ( { type = "dense"; units = 10; } ); };
train = { epochs = 2; };
tune = { strategy = "random"; max_trials = 4; max_parallel = 2; seed = 1;
         objective = { metric = "validation:accuracy"; goal = "maximize"; };
         parameters = ( { key = "optimizer.learning_rate"; type = "continuous"; min = 0.001; max = 0.1; scale = "log"; } ); };
CFG
pat="cf-silent-trial-$$"
$CLF tune "$T/t.cfg" --dir "$T/s" --quiet --trial-program "$T/silent" >"$T/tune.out" 2>&1 &
tuner=$!
i=0
while [ $i -lt 100 ] && [ "$(pgrep -f "$pat" | wc -l)" -lt 2 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(pgrep -f "$pat" | wc -l)" -ge 1 ] || { bad "no trial started: $(cat "$T/tune.out")"; echo "$fails failed"; exit 1; }
kill -9 "$tuner"
wait "$tuner" 2>/dev/null
i=0
while [ $i -lt 30 ] && [ "$(pgrep -f "$pat" | wc -l)" -gt 0 ]; do sleep 0.1; i=$((i + 1)); done
left=$(pgrep -f "$pat" | wc -l)
pkill -9 -f "$pat" 2>/dev/null
[ "$left" -eq 0 ] && ok "trial processes ended with the killed tuner" || bad "$left trial processes outlived the tuner"
echo "$fails failed"
[ "$fails" -eq 0 ]
