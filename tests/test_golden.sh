#!/bin/sh
# The seeded examples, trained on the reference backend (a small slice, a
# short run), produce byte-identical model files to those recorded before the
# architecture-2 refactor: moving code between files must not change a bit.
# A deliberate change of the arithmetic or of the saved config updates the
# hashes here, in the same commit, with the reason in its message.
set -u
CLF=./clforge
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() { # example epochs expected-sha256
    if ! $CLF train "examples/$1.cfg" --quiet --run-dir "$T/$1" --set backend.name=reference \
        --set data.limit_train=300 --set data.limit_test=50 --set train.epochs="$2" \
        >"$T/$1.out" 2>&1; then
        echo "FAIL: $1 did not train: $(tail -2 "$T/$1.out")"; fails=$((fails + 1)); return
    fi
    got=$(sha256sum "$T/$1/model.clf" | cut -d' ' -f1)
    if [ "$got" = "$3" ]; then echo "ok: $1 model.clf $got"
    else echo "FAIL: $1 model.clf $got, recorded $3"; fails=$((fails + 1)); fi
}
check fashion_mlp 1 e0bfa43fd79e0633598eac193bce00ef8391043a8bf2a6a1288f378117f79485
check fashion_cnn 1 32a48c28b921a0df4d3b90b7bdc20f17734b416db9d1e3eec7772d3136f9f7ea
check fashion_cnn_aug 1 c357aa6565ecb0bbef99be3c104f231e500a0bf092d660275d1301b4e3c793a6
check fashion_cnn_cosine 2 ac331aff315688823d4c269dcfe0f06a3c6de5a4ee256267136392e33ca6dd6b
[ "$fails" -eq 0 ]
