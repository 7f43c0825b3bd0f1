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

cp "$SRC/examples/fashion_mlp.cfg" "$T/typo.cfg"
sed -i 's/epochs = 5;/epochz = 5;/' "$T/typo.cfg"
$CLF train "$T/typo.cfg" --run-dir "$T/run" --set backend.name=reference --set data.limit_train=300 \
    --set data.limit_test=100 --set train.epochs=1 --quiet 2>"$T/err" >/dev/null
grep -q "typo.cfg:[0-9]*: unknown key 'epochz' in train" "$T/err" && ok "typo warns with file:line" \
    || bad "typo: $(cat "$T/err")"
rm -rf "$T/run"
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
