#!/bin/sh
# TensorBoard's own reader (EventAccumulator) loads a tiny run's event file:
# CRCs, >= 3 per-epoch scalar tags at steps 1..E with metrics.jsonl's values,
# the test metrics, a tune trial's hyperparameters; a resumed run adds a file
# and keeps one value per step; output.tensorboard = false writes none.
# Skips (77) without the virtualenv tools/setup.sh makes (.venv, pip tensorboard).
set -u
CLF=./clforge
SRC=${CF_TEST_SRCDIR:-.}
PY="$SRC/.venv/bin/python"
if ! [ -x "$PY" ] || ! "$PY" -c 'import tensorboard' 2>/dev/null; then
    echo "SKIP: no $SRC/.venv with tensorboard (tools/setup.sh creates it)"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
cat > "$T/r.cfg" <<'CFG'
name = "tb";
seed = 5;
backend = { name = "reference"; };
data = { limit_train = 300; limit_test = 100; validation_split = 0.2; };
model = { layers = ( { type = "dense"; units = 16; activation = "relu"; }, { type = "dense"; units = 10; } ); };
train = { epochs = 2; mini_batch_size = 32; };
optimizer = { plugin = "adam"; learning_rate = 0.002; };
CFG
# As the tuner runs a trial: --set overrides are its hyperparameters.
if $CLF train "$T/r.cfg" --run-dir "$T/a" --quiet --set optimizer.learning_rate=0.003 \
    --set train.mini_batch_size=20 > "$T/a.out" 2>&1 &&
    "$PY" "$SRC/tests/tensorboard_check.py" "$T/a" 2 optimizer.learning_rate=0.003 train.mini_batch_size=20; then
    echo "ok: trial run read by EventAccumulator"
else echo "FAIL: trial run: $(tail -5 "$T/a.out")"; fails=$((fails + 1)); fi
CLFORGE_TEST_KILL_AFTER_EPOCH=1 $CLF train "$T/r.cfg" --run-dir "$T/b" --quiet > /dev/null 2>&1
if $CLF train --resume "$T/b" --quiet && [ "$(ls "$T/b/tb" | wc -l)" -eq 2 ] &&
    "$PY" "$SRC/tests/tensorboard_check.py" "$T/b" 2; then
    echo "ok: killed and resumed run: two event files, one value per step"
else echo "FAIL: resumed run"; fails=$((fails + 1)); fi
# Killed after logging epoch 2 but before its checkpoint (simulated with the
# epoch-1 checkpoint): the resumed file's SessionLog START makes TensorBoard
# drop the first file's step 2, as metrics.jsonl drops its line.
$CLF train "$T/r.cfg" --run-dir "$T/d" --quiet --set train.checkpoint_frequency=1 > /dev/null 2>&1 &&
    cp "$T/d/checkpoints/epoch-1.ckpt" "$T/d/checkpoints/last.ckpt"
if $CLF train --resume "$T/d" --quiet && "$PY" "$SRC/tests/tensorboard_check.py" "$T/d" 2 > "$T/d.out"; then
    echo "ok: epochs logged after the checkpoint are replaced, not doubled"
else echo "FAIL: purge on resume: $(tail -3 "$T/d.out")"; fails=$((fails + 1)); fi
if $CLF train "$T/r.cfg" --run-dir "$T/c" --quiet --set output.tensorboard=false --set train.epochs=1 &&
    [ ! -e "$T/c/tb" ]; then
    echo "ok: output.tensorboard = false writes no tb/"
else echo "FAIL: output.tensorboard = false"; fails=$((fails + 1)); fi
echo "$fails failed"
[ "$fails" -eq 0 ]
