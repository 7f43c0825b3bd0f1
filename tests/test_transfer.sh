#!/bin/sh
# Fine-tuning (docs/transfer.md): model.init_from matches layers by name and
# shape and lists what it re-initialises or cannot match; model.init_exclude;
# train.freeze keeps parameters and batch-norm statistics bit-identical;
# train.lr_mult scales one SGD step exactly; bad input fails before anything
# is written; a resumed run's checkpoint wins over init_from; the ResNet
# presets have torchvision's parameter counts. Reference backend, seconds.
set -u
CLF=./clforge
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PY=python3
command -v $PY >/dev/null || { echo "SKIP: python3 (reads the model files) is not installed"; exit 77; }
TOOL="$PY ${CF_TEST_SRCDIR:-.}/tests/clf_tensors.py"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
cat > "$T/t.cfg" <<'CFG'
name = "transfer";
seed = 3;
backend = { name = "reference"; };
data = { limit_train = 256; limit_test = 64; validation_split = 0.25; };
model = { layers = (
  { type = "conv"; name = "conv1"; filters = 4; kernel = 3; padding = 1; bias = false; },
  { type = "batchnorm"; name = "bn1"; activation = "relu"; },
  { type = "maxpool"; name = "pool1"; size = 2; },
  { type = "dense"; name = "fc1"; units = 16; activation = "relu"; },
  { type = "dense"; name = "out"; units = 10; } ); };
train = { epochs = 1; mini_batch_size = 32; };
optimizer = { plugin = "adam"; learning_rate = 0.01; };
CFG
$CLF train "$T/t.cfg" --quiet --run-dir "$T/base" || { echo "FAIL: base run"; exit 1; }
BASE="$T/base/model.clf"

# 1. Fine-tune on classes 5-9: a 5-way head (shape differs), conv1 + bn1 frozen.
ft="--set data.classes=[5,6,7,8,9] --set model.layers.out.units=5 --set model.init_from=$BASE"
$CLF train "$T/t.cfg" $ft --set 'train.freeze=["conv1","bn*"]' --set train.epochs=2 --run-dir "$T/ft" \
    >"$T/ft.out" 2>&1 || fail "fine-tune run: $(tail -2 "$T/ft.out")"
grep -q "init_from $BASE: 3 of 4 layers loaded" "$T/ft.out" || fail "loaded count: $(head -3 "$T/ft.out")"
grep -q "re-initialised, shape differs (1): out (weight \[5, 16\] here, \[10, 16\] in the file)" "$T/ft.out" ||
    fail "the head's shape mismatch is not listed: $(head -4 "$T/ft.out")"
grep -q "freeze: 2 layers with parameters frozen" "$T/ft.out" || fail "freeze line: $(grep freeze "$T/ft.out")"
$TOOL same "$BASE" "$T/ft/model.clf" conv1 bn1 || fail "frozen layers changed"
$TOOL differ "$BASE" "$T/ft/model.clf" fc1 || fail "fc1 (not frozen) did not train"
grep -q '"Sandal"' "$T/ft/summary.json" || fail "data.classes: class names of the subset"
# eval of a model trained on data.classes tests the same classes of the test data
$CLF eval "$T/ft/model.clf" >"$T/ev.out" 2>&1
grep -q "^test accuracy" "$T/ev.out" || fail "eval of a data.classes model: $(head -2 "$T/ev.out")"

# 2. init_exclude and unmatched names on both sides: fc1 renamed hidden, a new fc2.
cat > "$T/u.cfg" <<'CFG'
name = "transfer";
seed = 4;
backend = { name = "reference"; };
data = { limit_train = 128; limit_test = 32; };
model = { layers = (
  { type = "conv"; name = "conv1"; filters = 4; kernel = 3; padding = 1; bias = false; },
  { type = "batchnorm"; name = "bn1"; activation = "relu"; },
  { type = "maxpool"; name = "pool1"; size = 2; },
  { type = "dense"; name = "hidden"; units = 16; activation = "relu"; },
  { type = "dense"; name = "out"; units = 10; } ); };
train = { epochs = 1; mini_batch_size = 32; };
CFG
$CLF train "$T/u.cfg" --set model.init_from="$BASE" --set 'model.init_exclude=["o*"]' --run-dir "$T/u" \
    >"$T/u.out" 2>&1 || fail "unmatched run: $(tail -2 "$T/u.out")"
grep -q "re-initialised, model.init_exclude (1): out" "$T/u.out" || fail "init_exclude not listed: $(head -5 "$T/u.out")"
grep -q "not in the file, seeded init (1): hidden" "$T/u.out" || fail "missing layer not listed: $(head -5 "$T/u.out")"
grep -q "in the file, not in this model (ignored) (1): fc1" "$T/u.out" || fail "extra layer not listed: $(head -5 "$T/u.out")"
# a checkpoint works as well as a model file
$CLF train "$T/t.cfg" --quiet --set model.init_from="$T/base/checkpoints/last.ckpt" --run-dir "$T/ck" ||
    fail "init_from a checkpoint"

# 3. lr_mult: one SGD step (32 images, one batch) with out at 4x equals 4x the plain step there.
one="--set data.limit_train=32 --set data.validation_split=0 --set optimizer.plugin=sgd --set train.epochs=1"
$CLF train "$T/t.cfg" --quiet $one --set optimizer.learning_rate=0 --run-dir "$T/w0" &&
$CLF train "$T/t.cfg" --quiet $one --set optimizer.learning_rate=0.05 --run-dir "$T/w1" &&
$CLF train "$T/t.cfg" --quiet $one --set optimizer.learning_rate=0.05 --set 'train.lr_mult=["out:4", "o*:9"]' \
    --run-dir "$T/w2" || fail "lr_mult runs"
$TOOL lr "$T/w0/model.clf" "$T/w1/model.clf" "$T/w2/model.clf" 4 out || fail "lr_mult step"

# 4. Bad input: a clear error, no run directory.
bad() { # name expected-message args...
    name=$1; msg=$2; shift 2
    if $CLF train "$T/t.cfg" --quiet --run-dir "$T/bad_$name" "$@" >"$T/bad.out" 2>&1; then
        fail "$name: accepted"
    elif ! grep -q -- "$msg" "$T/bad.out"; then fail "$name: message $(cat "$T/bad.out")"
    elif [ -e "$T/bad_$name" ]; then fail "$name: wrote $T/bad_$name"
    else echo "ok: $name: $(head -1 "$T/bad.out")"; fi
}
head -c 300 "$BASE" > "$T/trunc.clf"
echo "not a model" > "$T/text.clf"
printf '\010\007\022\004' > "$T/m.onnx"
bad missing "model.init_from" --set model.init_from="$T/nope.clf"
bad truncated "model.init_from" --set model.init_from="$T/trunc.clf"
bad not_a_model "model.init_from" --set model.init_from="$T/text.clf"
bad onnx "model.init_from" --set model.init_from="$T/m.onnx"
bad nothing_fits "no layer of the file fits" --set model.init_from="$BASE" --set 'model.init_exclude=["*"]'
bad freeze "train.freeze: pattern 'conv9\*' matches no layer" --set 'train.freeze=["conv9*"]'
bad exclude "model.init_exclude: pattern 'head' matches no layer" --set model.init_from="$BASE" --set 'model.init_exclude=["head"]'
bad lr_form "must be \"PATTERN:MULT\"" --set 'train.lr_mult=["out"]'
bad lr_none "train.lr_mult: pattern 'pool1' matches no layer with parameters" --set 'train.lr_mult=["pool1:2"]'
bad classes "data.classes: 'Dog' is not a class" --set 'data.classes=["Dog"]'

# 5. Resume wins: a run killed after epoch 1 resumes from its checkpoint
#    even when the init_from file is gone, and equals an uninterrupted run.
cp "$BASE" "$T/init.clf"
rs="--set model.init_from=$T/init.clf --set train.freeze=[\"conv1\"] --set train.epochs=2"
$CLF train "$T/t.cfg" --quiet $rs --run-dir "$T/ra" || fail "uninterrupted init_from run"
CLFORGE_TEST_KILL_AFTER_EPOCH=1 $CLF train "$T/t.cfg" --quiet $rs --run-dir "$T/rb"
rm -f "$T/init.clf"
if $CLF train --resume "$T/rb" >"$T/rb.out" 2>&1; then
    grep -q "not read, the run resumes from its checkpoint" "$T/rb.out" || fail "resume note: $(head -2 "$T/rb.out")"
    cmp -s "$T/ra/model.clf" "$T/rb/model.clf" || fail "resumed run differs from the uninterrupted one"
else fail "resume with init_from gone: $(tail -2 "$T/rb.out")"; fi

# 6. Model zoo: parameter counts at 3x224x224 with 1,000 classes (torchvision's
#    resnet18/34/50/101/152; 200 has no torchvision twin), CIFAR-style at 10 classes.
printf 'model = { preset = "resnet"; };\n' > "$T/r.cfg"
count() { $CLF model "$T/r.cfg" --set model.num_layers="$1" --set "data.image_shape=\"3,224,224\"" \
    --set data.expect_classes="$2" 2>&1 | sed -n 's/total trainable parameters: \([0-9]*\).*/\1/p'; }
for want in 18:1000:11689512 34:1000:21797672 50:1000:25557032 101:1000:44549160 152:1000:60192808 \
            200:1000:64673832 20:10:272474 32:10:466906 44:10:661338 56:10:855770 110:10:1730714; do
    d=${want%%:*}; rest=${want#*:}; k=${rest%%:*}; n=${rest#*:}
    got=$(count "$d" "$k")
    [ "$got" = "$n" ] && echo "ok: resnet-$d $k classes: $got parameters" || fail "resnet-$d: $got parameters, want $n"
done
$CLF model "$T/r.cfg" --set model.num_layers=50 --set "data.image_shape=\"3,224,224\"" \
    | grep -q "stage4_b3_conv3" || fail "ResNet-50 stage layer names"
# 7. The CIFAR-10 ResNet-50 transfer example parses and validates (its data and weights are the user's).
SRC=${CF_TEST_SRCDIR:-.}
$CLF model "$SRC/examples/cifar10_resnet50_transfer.cfg" >"$T/ex.out" 2>&1 && grep -q "^out .*\[10, 1, 1\]" "$T/ex.out" &&
    grep -q "total trainable parameters: 23528522" "$T/ex.out" && echo "ok: examples/cifar10_resnet50_transfer.cfg validates" ||
    fail "examples/cifar10_resnet50_transfer.cfg: $(tail -2 "$T/ex.out")"
[ "$fails" -eq 0 ]
