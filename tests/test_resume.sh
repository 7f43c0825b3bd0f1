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
echo "$fails failed"
[ "$fails" -eq 0 ]
