#!/bin/sh
# Training, evaluating and inspecting image datasets end to end: a PNG folder
# tree, a .lst, CIFAR-layout binaries, IDX through data.train; corrupt files
# skipped and reported; the same numbers whatever the decode thread count and
# whether pixels are cached or streamed; errors that name the file.
set -u
CLF=./clforge
S=${CF_TEST_SRCDIR:-.}
F=$S/tests/fixtures/images
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
D=/usr/share/datasets/fashion-mnist
[ -r "$D/t10k-images-idx3-ubyte.gz" ] || { echo "no Fashion-MNIST: skip"; exit 77; }
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
num() { sed -n "s/.*\"$2\":{\"loss\":\([^,]*\),\"accuracy\":\([^,]*\).*/\1 \2/p" "$1/summary.json"; }
cat > "$T/m.cfg" <<'CFG'
seed = 5;
backend = { name = "reference"; };
model = { preset = "mlp"; hidden = [64]; };
train = { epochs = 2; mini_batch_size = 32; };
optimizer = { plugin = "sgd"; learning_rate = 0.05; momentum = 0.9; };
CFG
python3 "$S/tests/fixtures/make_images.py" tree "$T/train" --kind png_gray --count 600 || { echo "FAIL: fixtures"; exit 1; }

# A folder tree trains and tests on another tree (JPEG).
$CLF train "$T/m.cfg" --run-dir "$T/r1" --quiet --set data.train=\"$T/train\" --set data.test=\"$F/jpg_gray\" \
    && grep -q '"test":' "$T/r1/summary.json" && ok "folder tree trains" || bad "folder tree"
acc=$(sed -n 's/.*"test":{"loss":[^,]*,"accuracy":\([0-9.]*\).*/\1/p' "$T/r1/summary.json")
awk "BEGIN{exit !($acc > 0.5)}" && ok "test accuracy $acc" || bad "test accuracy $acc"

# The same run streamed (no cache) with 1 and 3 decode workers: the same numbers.
for w in 1 3; do
    $CLF train "$T/m.cfg" --run-dir "$T/w$w" --quiet --set data.train=\"$T/train\" --set data.test=\"$F/jpg_gray\" \
        --set data.cache_mb=0 --set data.workers=$w || bad "streamed run, $w workers"
done
[ "$(num "$T/r1" train)" = "$(num "$T/w1" train)" ] && [ "$(num "$T/w1" train)" = "$(num "$T/w3" train)" ] \
    && [ "$(num "$T/w1" validation)" = "$(num "$T/w3" validation)" ] \
    && ok "cached = streamed, 1 worker = 3 workers ($(num "$T/w3" train))" || bad "runs differ: $(num "$T/r1" train) / $(num "$T/w1" train) / $(num "$T/w3" train)"

# data.scan = "none": the open decodes nothing, the batches are the same.
$CLF train "$T/m.cfg" --run-dir "$T/ns" --quiet --set data.train=\"$T/train\" --set data.test=\"$F/jpg_gray\" \
    --set data.scan=\"none\" --set data.workers=3 || bad "data.scan none run"
[ "$(num "$T/ns" train)" = "$(num "$T/w1" train)" ] && [ "$(num "$T/ns" test)" = "$(num "$T/w1" test)" ] \
    && ok "data.scan none = scanned ($(num "$T/ns" train))" || bad "data.scan none differs: $(num "$T/ns" train)"
# ... and a bad file is an error naming it when a batch reaches it (not a crash).
$CLF train "$T/m.cfg" --run-dir "$T/nsc" --quiet --set data.train=\"$F/corrupt\" --set data.scan=\"none\" \
    --set data.mean=[0.3] --set data.std=[0.3] > "$T/out" 2>&1
[ $? -eq 1 ] && grep -q 'data.scan = "none".*corrupt/' "$T/out" && ok "data.scan none: a bad file is an error naming it" \
    || bad "data.scan none with corrupt files: $(tail -2 "$T/out")"
# clforge data bench: the pipeline alone.
$CLF data bench "$T/m.cfg" --set data.train=\"$T/train\" --batches 3 --json > "$T/out" 2>&1 \
    && grep -q '"images":96,"batches":3,"batch":32' "$T/out" && ok "data bench" || bad "data bench: $(cat "$T/out")"

# Killed after epoch 1 and resumed: the same model as the uninterrupted streamed run.
CLFORGE_TEST_KILL_AFTER_EPOCH=1 $CLF train "$T/m.cfg" --run-dir "$T/k" --quiet --set data.train=\"$T/train\" \
    --set data.test=\"$F/jpg_gray\" --set data.cache_mb=0 --set data.workers=1 2>/dev/null
$CLF train --resume "$T/k" --quiet && cmp -s "$T/k/model.clf" "$T/w1/model.clf" \
    && ok "a resumed streamed run = the uninterrupted one (model.clf)" || bad "resume of a folder run"

# A .lst with its images under data.root; a separate validation set.
$CLF train "$T/m.cfg" --run-dir "$T/r2" --quiet --set data.train=\"$F/png_gray.lst\" --set data.root=\"$F/png_gray\" \
    --set data.validation=\"$F/pgm\" --set data.test=\"$F/png_gray\" \
    && grep -q '"validation":{"loss":[0-9.]*,"accuracy":[0-9.]*,"samples":40[,}]' "$T/r2/summary.json" \
    && ok ".lst trains, data.validation used" || bad ".lst training"

# CIFAR-layout binaries (RGB): a directory supplies the test half too.
$CLF train "$T/m.cfg" --run-dir "$T/r3" --quiet --set data.train=\"$F/cifar10\" \
    && grep -q '"test":{"loss":[0-9.]*,"accuracy":[0-9.]*,"samples":10' "$T/r3/summary.json" \
    && grep -q 'input = \[ 3, 32, 32 \]' "$T/r3/summary.json" \
    && ok "CIFAR-10 layout trains (3x32x32)" || bad "CIFAR training"
grep -q 'mean = \[ [0-9.e-]*, [0-9.e-]*, [0-9.e-]* \]' "$T/r3/config.cfg" 2>/dev/null || \
    tr -d '\\' < "$T/r3/summary.json" | grep -q 'mean = \[ [0-9.e-]*, [0-9.e-]*, [0-9.e-]* \]' \
    && ok "per-channel mean saved with the model" || bad "colour mean/std not saved"
$CLF eval "$T/r3/model.clf" | grep -q "test accuracy .*(10 images" && ok "eval of a CIFAR model reads its test half" || bad "eval cifar"

# IDX through data.train (labels found by name) = the old keys.
$CLF train "$T/m.cfg" --run-dir "$T/i1" --quiet --set data.limit_train=2000 --set data.limit_test=100 || bad "idx keys"
$CLF train "$T/m.cfg" --run-dir "$T/i2" --quiet --set data.limit_train=2000 --set data.limit_test=100 \
    --set data.train=\"$D/train-images-idx3-ubyte.gz\" --set data.test=\"$D/t10k-images-idx3-ubyte.gz\" || bad "idx data.train"
[ "$(num "$T/i1" train)" = "$(num "$T/i2" train)" ] && ok "IDX via data.train = IDX keys" || bad "IDX paths differ"

# Corrupt files: skipped, counted, named on the console and in summary.json.
$CLF train "$T/m.cfg" --run-dir "$T/r4" --set data.train=\"$F/corrupt\" --set data.test=\"$F/corrupt\" > "$T/out" 2>&1 \
    || bad "training with corrupt files: $(tail -3 "$T/out")"
grep -q 'skipped .*truncated.jpg: corrupt JPEG' "$T/out" && grep -q "skipped 12 unreadable data files" "$T/out" \
    && ok "console names skipped files" || bad "console: $(cat "$T/out")"
grep -q '"skipped":{"count":12,"files":\[.*empty.png.*huge.png' "$T/r4/summary.json" && ok "summary.json skipped" \
    || bad "summary.json skipped"
$CLF eval "$T/r4/model.clf" --data "$F/corrupt" 2>/dev/null | grep -q "skipped 6 unreadable files" && ok "eval --data reports skips" \
    || bad "eval --data skips"
$CLF eval "$T/r1/model.clf" --data "$F/png_gray" --json | grep -q '"samples":40' && ok "eval --data (json)" || bad "eval --data"

# SageMaker channels: train (images) + train_lst (a .lst) + validation (a folder).
mkdir -p "$T/sm_lst" && cp "$F/png_gray.lst" "$T/sm_lst/"
echo '{"epochs":"1","image_shape":"1,28,28","resize":"28"}' > "$T/hp.json"
SM_CHANNEL_TRAIN="$F/png_gray" SM_CHANNEL_TRAIN_LST="$T/sm_lst" SM_CHANNEL_VALIDATION="$F/jpg_gray" \
    $CLF train "$T/m.cfg" --hyperparameters "$T/hp.json" --run-dir "$T/sm" --quiet \
    && grep -q 'train = ".*sm_lst/png_gray.lst"' "$T/sm/config.cfg" && grep -q 'validation = ".*jpg_gray"' "$T/sm/config.cfg" \
    && grep -q '"validation":{"loss":[0-9.]*,"accuracy":[0-9.]*,"samples":40[,}]' "$T/sm/summary.json" \
    && ok "SageMaker channels train, train_lst, validation" || bad "SageMaker channels"

$CLF train "$T/m.cfg" --run-dir "$T/r5" --quiet --set data.train=\"$F/png_gray\" --set train.epochs=1 || bad "no test set"
grep -q '"test":' "$T/r5/summary.json" && bad "a test set appeared" || ok "data.train without data.test: no test set"
$CLF eval "$T/r5/model.clf" 2>"$T/err" && bad "eval without a test set ran"
grep -q "without data.test: say what to evaluate with --data" "$T/err" && ok "eval asks for --data" || bad "$(cat "$T/err")"

# data info
$CLF data info "$F/corrupt" > "$T/info" && grep -q "folder, 36 items (30 readable), 10 classes" "$T/info" \
    && grep -q "huge.png: corrupt PNG: 100000 x 100000" "$T/info" && ok "data info" || bad "data info: $(cat "$T/info")"
$CLF data info "$F/cifar10" --test --json | grep -q '"format":"cifar","items":10' && ok "data info --json" || bad "data info json"

# Errors that say what and where.
mkdir -p "$T/empty/a" "$T/empty/b" && cp "$F/png_gray/1-Trouser/"*.png "$T/empty/a/"
$CLF train "$T/m.cfg" --run-dir "$T/e1" --quiet --set data.train=\"$T/empty\" 2>"$T/err" && bad "empty class accepted"
grep -q 'class folder "b" holds no images' "$T/err" && ok "empty class folder refused" || bad "$(cat "$T/err")"
$CLF train "$T/m.cfg" --run-dir "$T/e2" --quiet --set data.train=\"$F/png_gray\" --set data.image_shape=\"1,32,32\" 2>"$T/err" \
    && bad "small images accepted"
grep -q '\.png: the image is 28x28, smaller than data.image_shape 32x32' "$T/err" && ok "image smaller than image_shape" || bad "$(cat "$T/err")"
$CLF train "$T/m.cfg" --run-dir "$T/e3" --quiet --set data.train=\"$F/png_gray\" --set data.image_shape=\"1,32,32\" \
    --set data.resize=32 && ok "resize scales up to image_shape" || bad "resize"
printf '0\t0\ta.png\nbad line\n' > "$T/x.lst"
$CLF train "$T/m.cfg" --run-dir "$T/e4" --quiet --set data.train=\"$T/x.lst\" 2>"$T/err" && bad "bad .lst accepted"
grep -q 'x.lst:2: expected' "$T/err" && ok ".lst error names file:line" || bad "$(cat "$T/err")"
echo "$fails failed"
[ "$fails" -eq 0 ]
