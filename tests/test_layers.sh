#!/bin/sh
# `clforge model` prints a model with concat and a 3-input add (shapes,
# inputs, parameter counts), and it trains a short run on the cpu backend.
set -u
CLF=./clforge
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
$CLF model examples/fashion_inception.cfg >"$T/m.txt" 2>&1 || bad "clforge model failed: $(tail -2 "$T/m.txt")"
grep -q '^sum  *add+relu  *b1,b2,stem  *\[16, 14, 14\]  *0$' "$T/m.txt" && ok "3-input add printed" || bad "add line: $(cat "$T/m.txt")"
grep -q '^cat  *concat  *sum,b3,b1  *\[48, 14, 14\]  *0$' "$T/m.txt" && ok "concat printed" || bad "concat line: $(cat "$T/m.txt")"
grep -q '^total trainable parameters: 153994 ' "$T/m.txt" && ok "parameter total" || bad "total: $(tail -1 "$T/m.txt")"
if $CLF train examples/fashion_inception.cfg --quiet --run-dir "$T/run" --set backend.name=cpu \
    --set data.limit_train=1000 --set data.limit_test=200 --set train.epochs=1 >"$T/t.out" 2>&1 \
    && [ -s "$T/run/model.clf" ]; then ok "trains"; else bad "train: $(tail -3 "$T/t.out")"; fi
[ "$fails" -eq 0 ]
