#!/bin/sh
# A run SIGKILL'ed after epoch 1 of 3 and resumed ends byte-identical to an
# uninterrupted run (reference backend): weights, optimizer state, metrics.
set -u
CLF=./clforge
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat > "$T/r.cfg" <<'CFG'
name = "resume";
seed = 11;
backend = { name = "reference"; };
data = { limit_train = 1200; limit_test = 200; validation_split = 0.2; };
model = { layers = ( { type = "conv"; filters = 4; kernel = 3; padding = 1; activation = "relu"; },
                     { type = "maxpool"; size = 2; },
                     { type = "dense"; units = 32; activation = "relu"; name = "fc1"; },
                     { type = "dense"; units = 10; } ); };
train = { epochs = 3; mini_batch_size = 32;
          lr_schedule = { type = "cosine"; warmup_epochs = 1; }; };
optimizer = { plugin = "adam"; learning_rate = 0.002; };
regularizers = ( { plugin = "dropout"; rate = 0.2; after = ["fc1"]; } );
augmentations = ( { plugin = "random_crop"; padding = 2; } );
CFG
$CLF train "$T/r.cfg" --run-dir "$T/a" --quiet || { echo "FAIL: uninterrupted run"; exit 1; }
CLFORGE_TEST_KILL_AFTER_EPOCH=1 $CLF train "$T/r.cfg" --run-dir "$T/b" --quiet
rc=$?
[ "$rc" -eq 137 ] || { echo "FAIL: expected the run to die by SIGKILL (137), got $rc"; exit 1; }
[ "$(wc -l < "$T/b/metrics.jsonl")" -eq 1 ] || { echo "FAIL: killed run should have 1 epoch"; exit 1; }
$CLF train --resume "$T/b" --quiet || { echo "FAIL: resume"; exit 1; }
fails=0
for f in checkpoints/last.ckpt model.clf metrics.jsonl; do
    if cmp -s "$T/a/$f" "$T/b/$f"; then echo "ok: $f identical"; else echo "FAIL: $f differs"; fails=$((fails + 1)); fi
done
# The diagnosis of the resumed run reads all its epochs, as the uninterrupted one does.
da=$(grep -o '"diagnosis":{[^}]*}' "$T/a/summary.json"); db=$(grep -o '"diagnosis":{[^}]*}' "$T/b/summary.json")
if [ -n "$da" ] && [ "$da" = "$db" ]; then echo "ok: diagnosis identical"; else echo "FAIL: diagnosis differs: $da / $db"; fails=$((fails + 1)); fi
# Stopped before the first epoch completed (no checkpoint yet): resume starts at epoch 1.
mkdir -p "$T/c" && cp "$T/a/config.cfg" "$T/c/"
$CLF train --resume "$T/c" > "$T/c.out" 2>&1 || { echo "FAIL: resume without checkpoint: $(tail -2 "$T/c.out")"; fails=$((fails + 1)); }
grep -q "no completed epoch to resume from" "$T/c.out" && cmp -s "$T/a/model.clf" "$T/c/model.clf" \
    && echo "ok: resume before the first checkpoint = a fresh run" || { echo "FAIL: resume before the first checkpoint"; fails=$((fails + 1)); }
# A corrupt checkpoint is refused with a clear message.
printf 'x' | dd of="$T/b/checkpoints/last.ckpt" bs=1 seek=100 conv=notrunc 2>/dev/null
if $CLF train --resume "$T/b" --quiet 2>"$T/err"; then echo "FAIL: corrupt checkpoint accepted"; fails=$((fails + 1));
elif grep -q "last.ckpt: file is truncated or corrupt" "$T/err"; then echo "ok: corrupt checkpoint refused";
else echo "FAIL: message was: $(cat "$T/err")"; fails=$((fails + 1)); fi
# --epochs extends a finished run; with an epoch-indexed schedule the result equals a
# run trained that long from the start.
sed -e 's/type = "cosine"; warmup_epochs = 1;/type = "step"; steps = "2"; factor = 0.5;/' \
    -e 's/epochs = 3;/epochs = 1;/' "$T/r.cfg" > "$T/s.cfg"
$CLF train "$T/s.cfg" --run-dir "$T/s1" --quiet --no-test || { echo "FAIL: 1-epoch run"; exit 1; }
$CLF train "$T/s.cfg" --epochs 3 --run-dir "$T/s3" --quiet --no-test || { echo "FAIL: 3-epoch run"; exit 1; }
if $CLF train --resume "$T/s1" --epochs 3 --quiet --no-test && cmp -s "$T/s1/model.clf" "$T/s3/model.clf" &&
    cmp -s "$T/s1/metrics.jsonl" "$T/s3/metrics.jsonl" && grep -q "epochs = 3;" "$T/s1/config.cfg"; then
    echo "ok: --resume --epochs 3 after 1 epoch = 3 epochs from the start"
else echo "FAIL: extending a run"; fails=$((fails + 1)); fi
if $CLF train --resume "$T/s1" --epochs 2 --quiet 2>"$T/err"; then echo "FAIL: shortening accepted"; fails=$((fails + 1));
elif grep -q "has trained 3 epochs already" "$T/err"; then echo "ok: shortening refused";
else echo "FAIL: message was: $(cat "$T/err")"; fails=$((fails + 1)); fi
# a cosine schedule over train.epochs cannot be extended (the rates already used would change)
if $CLF train --resume "$T/a" --epochs 5 --quiet 2>"$T/err"; then echo "FAIL: cosine extension accepted"; fails=$((fails + 1));
elif grep -q "cosine lr_schedule spans train.epochs" "$T/err"; then echo "ok: cosine extension refused";
else echo "FAIL: message was: $(cat "$T/err")"; fails=$((fails + 1)); fi

# Hyperband promotions continue the parent's run: same objective values as retraining
# from scratch, fewer epochs. R = 3, eta = 3: 3 x 1 epoch, the best continued to 3.
for mode in continue restart; do
    { sed -e 's/type = "cosine"; warmup_epochs = 1;/type = "constant";/' "$T/r.cfg"
      cat <<CFG
tune = { strategy = "hyperband"; brackets = 1; max_trials = 100; seed = 5; promotion = "$mode";
  objective = { metric = "validation:accuracy"; goal = "maximize"; };
  parameters = ( { key = "optimizer.learning_rate"; type = "continuous"; min = 1e-4; max = 1e-2; scale = "log"; } ); };
CFG
    } > "$T/t_$mode.cfg"
    $CLF tune "$T/t_$mode.cfg" --dir "$T/tune_$mode" > "$T/tune_$mode.out" 2>&1 ||
        { echo "FAIL: tune ($mode): $(tail -3 "$T/tune_$mode.out")"; fails=$((fails + 1)); }
done
# trials.csv: trial,state,objective,epochs,epochs_run,bracket,rung,parent,...
if [ "$(cut -d, -f1-4 "$T/tune_continue/trials.csv")" = "$(cut -d, -f1-4 "$T/tune_restart/trials.csv")" ] &&
    [ "$(awk -F, 'NR > 1 { e += $5 } END { print e }' "$T/tune_continue/trials.csv")" = 5 ] &&
    [ "$(awk -F, 'NR > 1 { e += $5 } END { print e }' "$T/tune_restart/trials.csv")" = 6 ] &&
    grep -q '"parent":[0-9]*,"config":[0-9]*,"start":1,' "$T/tune_continue/journal.jsonl"; then
    echo "ok: hyperband promotion continues the parent's run (5 epochs instead of 6, same values)"
else echo "FAIL: hyperband continued promotion:"; cat "$T/tune_continue/trials.csv" "$T/tune_restart/trials.csv"; fails=$((fails + 1)); fi
# The training recipes: each enabled alone, a killed-and-resumed run equals the
# uninterrupted one (so both are also reproducible from the seed).
for recipe in "ema:train.ema.decay=0.9 train.ema.warmup=true" \
              "clip:train.clip_grad_norm=0.05" \
              "onecycle:train.lr_schedule.type=onecycle train.lr_schedule.warmup_epochs=0" \
              "poly:train.lr_schedule.type=poly train.lr_schedule.power=2 train.lr_schedule.warmup_epochs=0 train.lr_schedule.warmup_steps=20" \
              "linear:train.lr_schedule.type=linear train.lr_schedule.end_factor=0.1" \
              "lars:optimizer.plugin=lars optimizer.learning_rate=0.5 optimizer.weight_decay=1e-4" \
              "lamb:optimizer.plugin=lamb optimizer.learning_rate=0.005"; do
    name=${recipe%%:*}
    sets=""
    for kv in ${recipe#*:}; do sets="$sets --set $kv"; done
    # shellcheck disable=SC2086
    $CLF train "$T/r.cfg" $sets --run-dir "$T/$name.a" --quiet || { echo "FAIL: $name: run"; fails=$((fails + 1)); continue; }
    # shellcheck disable=SC2086
    CLFORGE_TEST_KILL_AFTER_EPOCH=1 $CLF train "$T/r.cfg" $sets --run-dir "$T/$name.b" --quiet
    $CLF train --resume "$T/$name.b" --quiet || { echo "FAIL: $name: resume"; fails=$((fails + 1)); continue; }
    if cmp -s "$T/$name.a/model.clf" "$T/$name.b/model.clf" && cmp -s "$T/$name.a/metrics.jsonl" "$T/$name.b/metrics.jsonl" &&
        cmp -s "$T/$name.a/checkpoints/last.ckpt" "$T/$name.b/checkpoints/last.ckpt"; then
        echo "ok: $name resumed = uninterrupted"
    else echo "FAIL: $name: the resumed run differs"; fails=$((fails + 1)); fi
done
echo "$fails failed"
[ "$fails" -eq 0 ]
