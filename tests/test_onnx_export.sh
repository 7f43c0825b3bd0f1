#!/bin/sh
# clforge export: the mlp, the cnn, ResNet-20, a small ResNet-18 (3x32x32),
# a model with every layer type and activation, an mse and a bce model, each
# trained a few steps, exported, checked by onnx.checker and run by ONNX
# Runtime on 32 images: probabilities within 1e-4 of `clforge predict` and
# the same top-1 (tests/onnx_export_check.py). Then the errors: missing
# model, a checkpoint, an unwritable output (nothing written, no temp file).
# Skips (77) without the .venv tools/setup.sh makes (pip onnx onnxruntime).
set -u
CLF=./clforge
SRC=${CF_TEST_SRCDIR:-.}
PY="$SRC/.venv/bin/python"
CHK="$SRC/tests/onnx_export_check.py"
if ! [ -x "$PY" ] || ! "$PY" -c 'import onnx, onnxruntime' 2>/dev/null; then
    echo "SKIP: no $SRC/.venv with onnx and onnxruntime (tools/setup.sh creates it)"
    exit 77
fi
D=/usr/share/datasets/fashion-mnist
[ -r "$D/t10k-images-idx3-ubyte.gz" ] || { echo "SKIP: no Fashion-MNIST (dataset-fashion-mnist)"; exit 77; }
T=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# 32 test images per input shape; 3x32x32 class folders to train the ResNets on.
mkdir -p "$T/gray" "$T/rgb" "$T/folder/a" "$T/folder/b" "$T/folder/c" "$T/folder/d"
"$PY" "$CHK" images "$T/gray" 1 28 28 32 1 && "$PY" "$CHK" images "$T/rgb" 3 32 32 32 2 || { echo "FAIL: images"; exit 1; }
s=10
for c in a b c d; do "$PY" "$CHK" images "$T/folder/$c" 3 32 32 12 $s; s=$((s + 1)); done

# NAME CFG-BODY IMAGES-DIR: train, export, compare. The ResNets train at a
# tiny rate for 12 steps: batch-norm statistics move, probabilities stay far
# from 0/1 (saturated ones would compare nothing).
run() {
    name=$1 imgs=$3
    printf '%s\n' "$2" > "$T/$name.cfg"
    if ! $CLF train "$T/$name.cfg" --run-dir "$T/$name" --quiet > "$T/$name.log" 2>&1; then
        fail "$name: training: $(tail -3 "$T/$name.log")"; return
    fi
    if ! $CLF export "$T/$name/model.clf" -o "$T/$name.onnx" > "$T/$name.exp" 2>&1; then
        fail "$name: export: $(cat "$T/$name.exp")"; return
    fi
    k=$("$PY" -c "import onnx, json; m = onnx.load('$T/$name.onnx'); print(len(json.loads({p.key: p.value for p in m.metadata_props}['class_names'])))")
    if ! $CLF predict "$T/$name/model.clf" "$imgs"/img* --json --top-k "$k" > "$T/$name.jsonl" 2> "$T/$name.err"; then
        fail "$name: predict: $(cat "$T/$name.err")"; return
    fi
    if "$PY" "$CHK" check "$T/$name.onnx" "$T/$name.jsonl" "$imgs"/img*; then echo "ok: $name"; else fail "$name"; fi
}

FASHION='data = { limit_train = 256; limit_test = 32; };'
FOLDER="data = { train = \"$T/folder\"; test = \"$T/folder\"; validation_split = 0; };"
run mlp "seed = 1; backend = { name = \"reference\"; }; $FASHION
model = { preset = \"mlp\"; hidden = [64, 32]; };
train = { epochs = 1; mini_batch_size = 32; };
optimizer = { plugin = \"sgd\"; learning_rate = 0.05; momentum = 0.9; };" "$T/gray"
run cnn "seed = 2; backend = { name = \"cpu\"; threads = 2; }; $FASHION
model = { preset = \"cnn\"; };
train = { epochs = 1; mini_batch_size = 32; };
optimizer = { plugin = \"adam\"; learning_rate = 0.002; };" "$T/gray"
run resnet20 "seed = 3; backend = { name = \"cpu\"; threads = 2; }; $FOLDER
model = { preset = \"resnet\"; num_layers = 20; };
train = { epochs = 4; mini_batch_size = 16; };
optimizer = { plugin = \"sgd\"; learning_rate = 0.0001; };" "$T/rgb"
run resnet18 "seed = 4; backend = { name = \"cpu\"; threads = 2; }; $FOLDER
model = { preset = \"resnet\"; num_layers = 18; };
train = { epochs = 4; mini_batch_size = 16; };
optimizer = { plugin = \"sgd\"; learning_rate = 0.0001; };" "$T/rgb"
# Every layer type and activation: batch norm after a conv and after a dense
# layer, a 3-input add (Sum), concat, pools with padding, dropout, gelu.
run zoo "seed = 5; backend = { name = \"reference\"; }; $FASHION
model = { layers = (
  { type = \"conv\"; name = \"c1\"; filters = 6; kernel = 3; padding = 1; activation = \"elu\"; },
  { type = \"batchnorm\"; name = \"bn1\"; },
  { type = \"maxpool\"; name = \"p1\"; size = 2; },
  { type = \"conv\"; name = \"b1\"; filters = 6; kernel = 1; activation = \"leaky_relu\"; alpha = 0.2; inputs = [\"p1\"]; },
  { type = \"conv\"; name = \"b2\"; filters = 6; kernel = 3; padding = 1; bias = false; activation = \"gelu\"; inputs = [\"p1\"]; },
  { type = \"concat\"; name = \"cat\"; inputs = [\"b1\", \"b2\"]; },
  { type = \"conv\"; name = \"b3\"; filters = 6; kernel = 3; stride = 1; padding = 1; activation = \"tanh\"; },
  { type = \"add\"; name = \"sum3\"; inputs = [\"p1\", \"b3\", \"b1\"]; },
  { type = \"relu\"; name = \"r\"; },
  { type = \"avgpool\"; name = \"ap\"; size = 3; stride = 2; padding = 1; },
  { type = \"maxpool\"; name = \"mp\"; size = 3; stride = 2; padding = 1; },
  { type = \"dropout\"; name = \"drop\"; rate = 0.3; },
  { type = \"gap\"; name = \"g\"; },
  { type = \"flatten\"; name = \"flat\"; },
  { type = \"dense\"; name = \"fc\"; units = 16; activation = \"sigmoid\"; },
  { type = \"batchnorm\"; name = \"bn2\"; },
  { type = \"dense\"; name = \"out\"; units = 10; }
); };
train = { epochs = 1; mini_batch_size = 32; };
optimizer = { plugin = \"sgd\"; learning_rate = 0.1; momentum = 0.9; };" "$T/gray"
# mse with a softmax layer: probs is the softmax of its scores, as predict shows.
run mse "seed = 6; backend = { name = \"reference\"; }; $FASHION
model = { layers = ( { type = \"dense\"; units = 24; activation = \"relu\"; }, { type = \"dense\"; units = 10; name = \"out\"; },
  { type = \"softmax\"; name = \"sm\"; } ); };
train = { epochs = 1; mini_batch_size = 32; loss = \"mse\"; };
optimizer = { plugin = \"sgd\"; learning_rate = 0.1; };" "$T/gray"

# bce (multi-label): probs is each output's sigmoid, as predict shows.
run bce "seed = 8; backend = { name = \"reference\"; }; $FASHION
model = { layers = ( { type = \"dense\"; units = 24; activation = \"relu\"; }, { type = \"dense\"; units = 10; name = \"out\"; } ); };
train = { epochs = 1; mini_batch_size = 32; loss = \"bce\"; };
optimizer = { plugin = \"sgd\"; learning_rate = 0.1; };" "$T/gray"

# Errors: clear, exit 1, nothing written.
if $CLF export "$T/none.clf" -o "$T/x.onnx" 2> "$T/err"; then fail "missing model accepted"
elif grep -q "none.clf" "$T/err" && ! [ -e "$T/x.onnx" ]; then echo "ok: missing model"; else fail "missing model: $(cat "$T/err")"; fi
# A conv over a dense layer's vector has no ONNX form here: refused, named.
printf '%s\n' "seed = 7; backend = { name = \"reference\"; }; $FASHION
model = { layers = ( { type = \"dense\"; units = 8; }, { type = \"conv\"; name = \"c\"; filters = 10; kernel = 1; } ); };
train = { epochs = 1; mini_batch_size = 64; };
optimizer = { plugin = \"sgd\"; learning_rate = 0.01; };" > "$T/flatconv.cfg"
if ! $CLF train "$T/flatconv.cfg" --run-dir "$T/flatconv" --quiet > /dev/null 2>&1; then fail "flatconv: training"
elif $CLF export "$T/flatconv/model.clf" -o "$T/x.onnx" 2> "$T/err"; then fail "conv over a vector exported"
elif grep -q "layer 'c' (conv): its input is a flat vector" "$T/err" && ! [ -e "$T/x.onnx" ]; then echo "ok: unsupported layer refused"
else fail "unsupported: $(cat "$T/err")"; fi
ck=$(ls "$T"/mlp/checkpoints/* 2>/dev/null | head -1)
if [ -n "$ck" ]; then
    if $CLF export "$ck" -o "$T/x.onnx" 2> "$T/err"; then fail "checkpoint accepted"
    elif grep -q "is a training checkpoint" "$T/err" && ! [ -e "$T/x.onnx" ]; then echo "ok: checkpoint refused"; else fail "checkpoint: $(cat "$T/err")"; fi
fi
mkdir "$T/ro"
chmod 555 "$T/ro"
if [ "$(id -u)" != 0 ]; then
    if $CLF export "$T/mlp/model.clf" -o "$T/ro/x.onnx" 2> "$T/err"; then fail "unwritable output accepted"
    elif grep -q "ro/x.onnx" "$T/err" && [ -z "$(ls -A "$T/ro")" ]; then echo "ok: unwritable output"; else fail "unwritable: $(cat "$T/err")"; fi
fi
# A directory as the output (root writes anywhere else): the rename fails,
# the temp file is removed.
mkdir "$T/isdir"
if $CLF export "$T/mlp/model.clf" -o "$T/isdir" 2> "$T/err"; then fail "a directory as output accepted"
elif grep -q "isdir" "$T/err" && [ -z "$(ls -A "$T/isdir")" ] && ! ls "$T"/isdir.tmp.* > /dev/null 2>&1; then echo "ok: output is a directory, no temp file left"
else fail "directory output: $(cat "$T/err")"; fi
if $CLF export "$T/mlp/model.clf" -o "$T/nodir/x.onnx" 2> "$T/err"; then fail "output in a missing folder accepted"
elif grep -q "nodir/x.onnx" "$T/err"; then echo "ok: missing output folder"; else fail "missing folder: $(cat "$T/err")"; fi
$CLF export "$T/mlp/model.clf" 2> /dev/null; [ $? -eq 2 ] && echo "ok: -o required" || fail "no -o: not a usage error"
echo "$fails failed"
[ "$fails" -eq 0 ]
