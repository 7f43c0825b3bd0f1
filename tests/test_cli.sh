#!/bin/sh
# The CLI as a user meets it: help, listings, and bad input that must give a
# one-line error naming the place, a non-zero exit, and no run directory.
set -u
CLF=./clforge
SRC=${CF_TEST_SRCDIR:-..}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
# expect_err NAME PATTERN CMD...: non-zero exit, stderr matches PATTERN, no run dir
expect_err() {
    name=$1; pat=$2; shift 2
    if "$@" >"$T/out" 2>"$T/err"; then bad "$name: exit 0"; return; fi
    if grep -q -- "$pat" "$T/err"; then ok "$name"; else bad "$name: stderr was: $(cat "$T/err")"; fi
    if [ -e "$T/run" ]; then bad "$name: left a run directory"; rm -rf "$T/run"; fi
}
$CLF --help | grep -q "train CONFIG" && ok help || bad help
$CLF train --help | grep -q -- "--set KEY=VALUE" && ok "train --help" || bad "train --help"
$CLF backends | grep -q "^reference" && ok backends || bad backends
$CLF plugins | grep -q "^optimizer *sgd" && ok plugins || bad plugins
$CLF plugins sgd | grep -q "momentum" && ok "plugins sgd" || bad "plugins sgd"
$CLF config-reference > "$T/config.md" && cmp -s "$T/config.md" "$SRC/docs/config.md" \
    && ok "docs/config.md is current" || bad "docs/config.md differs from 'clforge config-reference'"
$CLF model "$SRC/examples/fashion_cnn.cfg" | grep -q "total trainable parameters: 421642" \
    && ok model || bad "model: $($CLF model "$SRC/examples/fashion_cnn.cfg" 2>&1 | tail -1)"

# Unknown keys are errors everywhere, named by place, with a suggestion, and
# nothing is written; --allow-unknown / strict_keys = false make them warnings.
Q="--set backend.name=reference --set data.limit_train=300 --set data.limit_test=100 --set train.epochs=1 --quiet"
cp "$SRC/examples/fashion_mlp.cfg" "$T/typo.cfg"
sed -i 's/epochs = 5;/epochz = 5;/' "$T/typo.cfg"
expect_err "typo in a file" "typo.cfg:[0-9]*: unknown key 'epochz' in train; did you mean 'epochs'?" \
    $CLF train "$T/typo.cfg" --run-dir "$T/run"
sed 's/plugin = "sgd"; learning_rate = 0.01; momentum = 0.9;/plugin = "adam"; lr = 0.1;/' \
    "$SRC/examples/fashion_mlp.cfg" > "$T/adam.cfg"
expect_err "optimizer lr" "adam.cfg:[0-9]*: unknown key 'lr' in optimizer (plugin adam); did you mean 'learning_rate'?" \
    $CLF train "$T/adam.cfg" --run-dir "$T/run"
sed 's/plugin = "sgd"; learning_rate = 0.01;/plugin = "adam"; learning_rate = 0.01;/' \
    "$SRC/examples/fashion_mlp.cfg" > "$T/adam2.cfg"
expect_err "sgd key for adam" "adam2.cfg:[0-9]*: unknown key 'momentum' in optimizer (plugin adam)" \
    $CLF train "$T/adam2.cfg" --run-dir "$T/run"
expect_err "--set epochz" "--set train.epochz=3: unknown key 'epochz' in train; did you mean 'epochs'?" \
    $CLF train "$SRC/examples/fashion_mlp.cfg" --run-dir "$T/run" --set train.epochz=3
expect_err "--set mini_batch_sise" \
    "--set train.mini_batch_sise=32: unknown key 'mini_batch_sise' in train; did you mean 'mini_batch_size'?" \
    $CLF train "$SRC/examples/fashion_mlp.cfg" --run-dir "$T/run" --set train.mini_batch_sise=32
expect_err "--set optimizer.lr" "--set optimizer.lr=0.5: unknown key 'lr' in optimizer (plugin sgd); did you mean 'learning_rate'?" \
    $CLF train "$SRC/examples/fashion_mlp.cfg" --run-dir "$T/run" --set optimizer.lr=0.5
expect_err "--set layer key" "--set model.layers.0.unitz=3: unknown key 'unitz' in model.layers; did you mean 'units'?" \
    $CLF train "$SRC/examples/fashion_mlp.cfg" --run-dir "$T/run" --set model.layers.0.unitz=3
# shellcheck disable=SC2086
$CLF train "$T/typo.cfg" --run-dir "$T/run" --allow-unknown $Q 2>"$T/err" >/dev/null \
    && grep -q "warning: .*typo.cfg:[0-9]*: unknown key 'epochz' in train; did you mean 'epochs'?; ignored" "$T/err" \
    && [ -e "$T/run/model.clf" ] && ok "--allow-unknown warns and trains" || bad "--allow-unknown: $(cat "$T/err")"
rm -rf "$T/run"
{ echo "strict_keys = false;"; cat "$T/typo.cfg"; } > "$T/lenient.cfg"
# shellcheck disable=SC2086
$CLF train "$T/lenient.cfg" --run-dir "$T/run" $Q --set train.epochz=2 2>"$T/err" >/dev/null \
    && grep -q "warning: --set train.epochz=2: unknown key 'epochz'" "$T/err" \
    && ok "strict_keys = false warns" || bad "strict_keys = false: $(cat "$T/err")"
rm -rf "$T/run"
$CLF train --help | grep -q -- "--allow-unknown" && ok "train --help: --allow-unknown" || bad "train --help lacks --allow-unknown"

# augmentation_type is expanded once: the saved config reloads for eval,
# predict, resume and retraining.
sed 's/^seed = 42;/seed = 42;\naugmentation_type = "crop";/' "$SRC/examples/fashion_mlp.cfg" > "$T/aug.cfg"
# shellcheck disable=SC2086
if $CLF train "$T/aug.cfg" --run-dir "$T/aug" $Q >/dev/null 2>"$T/err"; then
    ! grep -q augmentation_type "$T/aug/config.cfg" && grep -q 'plugin = "random_crop"' "$T/aug/config.cfg" \
        && ok "augmentation_type expanded in config.cfg" || bad "config.cfg: $(cat "$T/aug/config.cfg")"
    $CLF eval "$T/aug/model.clf" >/dev/null 2>"$T/err" && ok "crop run: eval" || bad "crop eval: $(cat "$T/err")"
    D=/usr/share/datasets/fashion-mnist
    { printf 'P5\n28 28\n255\n'; zcat "$D/t10k-images-idx3-ubyte.gz" | tail -c +17 | head -c 784; } > "$T/img0.pgm"
    $CLF predict "$T/aug/model.clf" "$T/img0.pgm" 2>"$T/err" | grep -q "1\. " && ok "crop run: predict" \
        || bad "crop predict: $(cat "$T/err")"
    $CLF train --resume "$T/aug" --epochs 2 --quiet >/dev/null 2>"$T/err" && grep -q '"epoch":2' "$T/aug/metrics.jsonl" \
        && ok "crop run: resume" || bad "crop resume: $(cat "$T/err")"
    # shellcheck disable=SC2086
    $CLF train "$T/aug/config.cfg" --run-dir "$T/aug2" $Q >/dev/null 2>"$T/err" && ok "crop run: retrain from config.cfg" \
        || bad "crop retrain: $(cat "$T/err")"
else
    bad "augmentation_type crop: $(cat "$T/err")"
fi

# tune --set: tune.* and training keys, checked by the same schema.
expect_err "tune --set typo" "--set tune.max_trialz=12: unknown key 'max_trialz' in tune; did you mean 'max_trials'?" \
    $CLF tune "$SRC/examples/tune_branin.cfg" --dir "$T/run" --set tune.max_trialz=12
expect_err "tune --set training typo" "--set train.mini_batch_sise=3: unknown key 'mini_batch_sise' in train; did you mean 'mini_batch_size'?" \
    $CLF tune "$SRC/examples/tune_fashion_mlp_hyperband.cfg" --dir "$T/run" --set train.mini_batch_sise=3
$CLF tune "$SRC/examples/tune_branin.cfg" --dir "$T/br" --in-process --quiet --set tune.max_trials=12 >"$T/out" 2>&1 \
    && grep -q "12 trials" "$T/out" && ok "tune --set tune.max_trials=12" || bad "tune --set: $(cat "$T/out")"
$CLF tune "$SRC/examples/tune_branin.cfg" --dir "$T/asha" --in-process --quiet --set tune.strategy=asha \
    --set tune.max_epochs=3 --set tune.max_trials=6 >"$T/out" 2>&1 \
    && grep -q "stopped:" "$T/out" && ok "tune --set tune.strategy=asha" || bad "tune asha: $(cat "$T/out")"
sed 's/"train.mini_batch_size"/"train.mini_batch_sise"/' "$SRC/examples/tune_fashion_mlp_hyperband.cfg" > "$T/tspace.cfg"
expect_err "tune space typo" "tspace.cfg:[0-9]*: tune.parameters key 'train.mini_batch_sise': unknown key 'mini_batch_sise' in train; did you mean 'mini_batch_size'?" \
    $CLF tune "$T/tspace.cfg" --dir "$T/run"
cat > "$T/small_tune.cfg" <<'CFG'
seed = 1;
backend = { name = "reference"; };
data = { limit_train = 300; limit_test = 50; };
model = { preset = "mlp"; hidden = [16]; };
train = { epochs = 1; mini_batch_size = 64; };
optimizer = { plugin = "sgd"; learning_rate = 0.05; };
tune = {
  strategy = "random";
  objective = { metric = "validation:accuracy"; goal = "maximize"; };
  max_trials = 2; seed = 1;
  parameters = ( { key = "optimizer.learning_rate"; type = "continuous"; min = 1e-3; max = 0.3; scale = "log"; } );
};
CFG
$CLF tune "$T/small_tune.cfg" --dir "$T/st" --quiet --set train.mini_batch_size=32 >"$T/out" 2>&1 \
    && grep -q "mini_batch_size = 32;" "$T/st/base.cfg" && grep -q "mini_batch_size = 32;" "$T/st/best.cfg" \
    && ok "tune --set train.mini_batch_size reaches the trials" || bad "tune --set training key: $(cat "$T/out")"
$CLF tune --help | grep -q -- "--set KEY=VALUE" && ok "tune --help: --set" || bad "tune --help lacks --set"
# macro F1 and one class's recall on the validation split as objectives (imbalanced data)
for m in f1 recall:3; do
    sed -e "s/metric = \"validation:accuracy\"/metric = \"validation:$m\"/" \
        -e 's/limit_test = 50; };/limit_test = 50; class_fraction = [1.0, 1.0, 1.0, 0.2]; };/' "$T/small_tune.cfg" > "$T/f1_tune.cfg"
    key=$(echo "validation_$m" | tr : _)
    if $CLF tune "$T/f1_tune.cfg" --dir "$T/f1_$key" --quiet >"$T/out" 2>&1 &&
        [ "$(awk -F, 'NR > 1 && $2 == "done" && $3 != ""' "$T/f1_$key/trials.csv" | wc -l)" -eq 2 ] &&
        grep -rq "\"$key\":" "$T/f1_$key"; then
        ok "tune objective validation:$m"
    else bad "tune objective validation:$m: $(cat "$T/out") $(cat "$T/f1_$key/trials.csv" 2>/dev/null)"; fi
done
cp "$SRC/examples/fashion_mlp.cfg" "$T/str.cfg"
sed -i 's/mini_batch_size = 64;/mini_batch_size = "sixty";/' "$T/str.cfg"
expect_err "string for a number" "str.cfg:[0-9]*: 'mini_batch_size' expects int in \[1, 65536\], got a string" \
    $CLF train "$T/str.cfg" --run-dir "$T/run"
printf 'model = { layers = ( { type = "dense"; units = ; } ); };\n' > "$T/syntax.cfg"
expect_err "syntax error" "syntax.cfg:1: syntax error" $CLF train "$T/syntax.cfg" --run-dir "$T/run"
expect_err "missing data file" "/nope/t.gz: data file not found" \
    $CLF train "$SRC/examples/fashion_mlp.cfg" --run-dir "$T/run" --set data.train_images=/nope/t.gz
expect_err "missing config" "no.cfg: config file not found" $CLF train "$T/no.cfg" --run-dir "$T/run"
expect_err "unknown optimizer" "unknown optimizer 'adamx' (known: " \
    $CLF train "$SRC/examples/fashion_mlp.cfg" --run-dir "$T/run" --set optimizer.plugin=adamx
expect_err "unknown backend" "unknown backend 'cuda' (known: " \
    $CLF train "$SRC/examples/fashion_mlp.cfg" --run-dir "$T/run" --set backend.name=cuda
expect_err "bad layer shape" "output shape \[.*\] is empty" \
    $CLF train "$SRC/examples/fashion_cnn.cfg" --run-dir "$T/run" --set model.layers.0.kernel=40
printf 'garbage' > "$T/corrupt.clf"
expect_err "corrupt model" "corrupt.clf: not a clforge model" $CLF eval "$T/corrupt.clf"
# A truncated real model file is refused by its checksum.
$CLF train "$SRC/examples/fashion_mlp.cfg" --run-dir "$T/good" --set backend.name=reference \
    --set data.limit_train=300 --set data.limit_test=100 --set train.epochs=1 --quiet 2>/dev/null
head -c 5000 "$T/good/model.clf" > "$T/trunc.clf"
expect_err "truncated model" "trunc.clf: file is truncated or corrupt" $CLF eval "$T/trunc.clf"
expect_err "bad --threads" "--threads 0: expected a whole number from 1 to 1024" \
    $CLF eval "$T/good/model.clf" --threads 0
printf 'not idx' | gzip > "$T/bad-images.gz"
expect_err "corrupt data" "bad-images.gz: not an IDX file" \
    $CLF train "$SRC/examples/fashion_mlp.cfg" --run-dir "$T/run" --set data.train_images="$T/bad-images.gz"
expect_err "unknown command" "unknown command 'trian'" $CLF trian
echo "$fails failed"
[ "$fails" -eq 0 ]
