#!/bin/sh
# clforge import: fixtures exported by torch.onnx become model files that
# predict (PNG -> the same probabilities PyTorch gave, within 1e-3) and eval
# use; bad files fail with a message naming node/op and write nothing; the
# imported model fine-tunes when the build has model.init_from.
set -u
CLF=./clforge
F=${CF_TEST_SRCDIR:-.}/tests/fixtures/onnx
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
MEAN=0.485,0.456,0.406
STD=0.229,0.224,0.225

# predict on image 0 of each fixture: its k probabilities against PyTorch's
while read -r name n c h w k; do
    $CLF import "$F/$name.onnx" -o "$T/$name.clf" --mean $MEAN --std $STD >"$T/out" 2>&1 || { bad "import $name: $(cat "$T/out")"; continue; }
    $CLF predict "$T/$name.clf" "$F/$name.0.png" --top-k "$k" --json >"$T/pred" 2>&1 || { bad "predict $name: $(cat "$T/pred")"; continue; }
    od -An -v -tf4 -w4 -N$((4 * k)) "$F/$name.probs.bin" >"$T/want"
    tr '{' '\n' <"$T/pred" | sed -n 's/.*"index":\([0-9]*\),"probability":\([0-9.e+-]*\).*/\1 \2/p' >"$T/got"
    if awk -v k="$k" 'NR == FNR { want[NR - 1] = $1; next } { d = $2 - want[$1]; if (d < 0) d = -d; if (d > m) m = d; n++ }
        END { printf "max |diff| %.3g over %d classes\n", m, n; exit !(n == k && m < 1e-3) }' "$T/want" "$T/got" >"$T/cmp"; then
        ok "$name predicts as PyTorch: $(cat "$T/cmp")"
    else
        bad "$name: $(cat "$T/cmp") ($(cat "$T/pred"))"
    fi
done <"$F/manifest.txt"

# class names and the summary line
seq 0 9 | sed 's/^/class_/' >"$T/classes.txt"
$CLF import "$F/tiny_resnet.onnx" -o "$T/named.clf" --classes "$T/classes.txt" >"$T/out" 2>&1 &&
    grep -q "32 layers, 78962 parameters, input \[3, 64, 64\], 10 classes" "$T/out" &&
    $CLF predict "$T/named.clf" "$F/tiny_resnet.0.png" | grep -q "1. class_" && ok "class names and summary" ||
    bad "class names: $(cat "$T/out")"

# eval on a class-folder dataset of the fixture images
mkdir -p "$T/data/class_1" "$T/data/class_3"
cp "$F/tiny_resnet.0.png" "$T/data/class_1/a.png"
cp "$F/squeezenet1_1.0.png" "$T/data/class_3/b.png"
$CLF eval "$T/named.clf" --data "$T/data" >"$T/out" 2>&1 && grep -qi "accuracy" "$T/out" && ok "eval runs" ||
    bad "eval: $(cat "$T/out")"

# errors: a message naming what is wrong, and no model file written
expect_error() { # FILE MESSAGE [extra args]
    f=$1 msg=$2
    shift 2
    rm -f "$T/x.clf"
    if $CLF import "$f" -o "$T/x.clf" "$@" 2>"$T/err"; then bad "$(basename "$f") $*: accepted"
    elif ! grep -qF -- "$msg" "$T/err"; then bad "$(basename "$f"): '$(cat "$T/err")' lacks '$msg'"
    elif [ -e "$T/x.clf" ]; then bad "$(basename "$f"): wrote a model file"
    else ok "$(basename "$f") $*: $(cat "$T/err")"; fi
}
expect_error "$F/bad_erf.onnx" "node 'gelu_erf' (Erf): operator 'Erf' is not supported"
expect_error "$F/bad_group.onnx" "node 'dwconv' (Conv): attribute 'group' = 3"
expect_error "$F/bad_ceil.onnx" "node 'pool_ceil' (MaxPool): attribute 'ceil_mode' = 1"
expect_error "$F/bad_dynamic.onnx" "dimension 2 is symbolic ('H')"
expect_error "$F/bad_noinit.onnx" "node 'conv1' (Conv): input 'w_missing' is neither an initializer"
expect_error "$F/bad_truncated.onnx" "not an ONNX model"
expect_error "$F/bad_text.onnx" "not an ONNX model"
expect_error "$T/missing.onnx" "missing.onnx"
expect_error "$F/tiny_resnet.onnx" "--mean and --std need 3 values" --mean 0.5,0.5
seq 1 3 >"$T/three.txt"
expect_error "$F/tiny_resnet.onnx" "3 class names, the model has 10 outputs" --classes "$T/three.txt"
# an existing model file is left as it was
cp "$T/named.clf" "$T/keep.clf"
$CLF import "$F/bad_erf.onnx" -o "$T/keep.clf" 2>/dev/null
cmp -s "$T/named.clf" "$T/keep.clf" && ok "failed import leaves the old file" || bad "failed import changed the old file"

# clforge export and back: the same model (normalisation and class names in the graph)
if $CLF export --help >/dev/null 2>&1; then
    $CLF import -q "$F/tiny_resnet.onnx" -o "$T/rt1.clf" --mean $MEAN --std $STD --classes "$T/classes.txt" &&
        $CLF export "$T/rt1.clf" -o "$T/rt.onnx" >/dev/null && $CLF import -q "$T/rt.onnx" -o "$T/rt2.clf" &&
        $CLF predict "$T/rt1.clf" "$F/tiny_resnet.0.png" --top-k 10 >"$T/p1" && $CLF predict "$T/rt2.clf" "$F/tiny_resnet.0.png" --top-k 10 >"$T/p2" &&
        cmp -s "$T/p1" "$T/p2" && grep -q class_ "$T/p2" && ok "import -> export -> import predicts the same" ||
        bad "export round trip: $(cat "$T/p1" "$T/p2" 2>&1 | head -8)"
    # an mlp: its export flattens the raw input, which imports as no layer
    D=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
    if [ -f "$D/t10k-images-idx3-ubyte.gz" ]; then
        $CLF train examples/fashion_mlp.cfg --quiet --no-test --run-dir "$T/mlp" --set train.epochs=1 \
            --set data.limit_train=512 --set data.validation_split=0 >/dev/null 2>&1 &&
            $CLF export "$T/mlp/model.clf" -o "$T/mlp.onnx" >/dev/null && $CLF import -q "$T/mlp.onnx" -o "$T/mlp2.clf" &&
            $CLF eval "$T/mlp/model.clf" --images "$D/t10k-images-idx3-ubyte.gz" --labels "$D/t10k-labels-idx1-ubyte.gz" | grep '^test accuracy' >"$T/e1" &&
            $CLF eval "$T/mlp2.clf" --images "$D/t10k-images-idx3-ubyte.gz" --labels "$D/t10k-labels-idx1-ubyte.gz" | grep '^test accuracy' >"$T/e2" &&
            cmp -s "$T/e1" "$T/e2" && ok "mlp: export -> import evaluates the same" ||
            bad "mlp export round trip: $(cat "$T/e1" "$T/e2" 2>&1 | head -4)"
    fi
else
    echo "skip: this build has no clforge export"
fi

# fine-tuning the imported model: its model section (--config) @included in a
# training config, its weights through model.init_from (the transfer work)
mkdir -p "$T/ft_data"
for k in 0 1 2 3 4 5 6 7 8 9; do
    mkdir -p "$T/ft_data/class_$k"
    for f in tiny_resnet tiny_resnet_folded tiny_resnet_dynamo squeezenet1_1; do cp "$F/$f.0.png" "$T/ft_data/class_$k/$f.png"; done
done
$CLF import -q "$F/tiny_resnet.onnx" -o "$T/ft.clf" --classes "$T/classes.txt" --config "$T/ft_model.cfg" &&
    grep -q 'name = "stage1_b1_conv1"' "$T/ft_model.cfg" && ok "--config writes the model section" || bad "--config: $(head -3 "$T/ft_model.cfg")"
if $CLF config-reference 2>/dev/null | grep -q "init_from"; then
    cat >"$T/ft.cfg" <<CFG
@include "ft_model.cfg"
seed = 1;
backend = { name = "reference"; };
data = { train = "$T/ft_data"; validation_split = 0.0; };
train = { epochs = 1; mini_batch_size = 8; };
optimizer = { plugin = "sgd"; learning_rate = 0.01; };
CFG
    if $CLF train "$T/ft.cfg" --set model.init_from="$T/ft.clf" --run-dir "$T/ft" --quiet >"$T/out" 2>&1 && [ -s "$T/ft/model.clf" ]; then
        ok "fine-tunes from the imported model (model.init_from)"
    else
        bad "fine-tune: $(tail -5 "$T/out")"
    fi
else
    echo "skip: this build has no model.init_from: fine-tuning is checked where it is merged"
fi

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all passed"
