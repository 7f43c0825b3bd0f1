#!/bin/sh
# SageMaker hyperparameters JSON: names map onto config keys, presets expand,
# SageMaker-style log lines print, unsupported names are refused by name.
set -u
CLF=./clforge
SRC=${CF_TEST_SRCDIR:-..}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
cat > "$T/hp.json" <<'JSON'
{"num_classes": "10", "epochs": "2", "mini_batch_size": "32", "learning_rate": "0.02",
 "optimizer": "nag", "momentum": "0.8", "lr_scheduler_step": "1", "lr_scheduler_factor": "0.5",
 "augmentation_type": "crop", "top_k": "3", "early_stopping": "false", "precision_dtype": "float32"}
JSON
$CLF train "$SRC/examples/fashion_mlp.cfg" --hyperparameters "$T/hp.json" --run-dir "$T/run" --sagemaker-log \
    --set backend.name=reference --set data.limit_train=1000 --set data.limit_test=100 > "$T/out" 2>&1 \
    || { echo "FAIL: training: $(tail -3 "$T/out")"; exit 1; }
grep -q "^Epoch\[1\] Validation-accuracy=0\." "$T/out" && echo "ok: log lines" || { echo "FAIL: log lines"; fails=$((fails + 1)); }
c="$T/run/config.cfg"
grep -q 'plugin = "nag"' "$c" && grep -q "momentum = 0.8" "$c" && echo "ok: optimizer" || { echo "FAIL: optimizer"; fails=$((fails + 1)); }
grep -q 'steps = "1"' "$c" && grep -q 'type = "step"' "$c" && echo "ok: step schedule" || { echo "FAIL: schedule"; fails=$((fails + 1)); }
grep -q '"lr":0.01[,}]' "$T/run/metrics.jsonl" && echo "ok: rate halved after epoch 1" || { echo "FAIL: lr: $(cat "$T/run/metrics.jsonl")"; fails=$((fails + 1)); }
grep -q 'plugin = "random_crop"' "$c" && grep -q 'plugin = "hflip"' "$c" && echo "ok: crop preset" || { echo "FAIL: preset"; fails=$((fails + 1)); }
$CLF eval "$T/run/model.clf" >/dev/null 2>"$T/err" && echo "ok: eval of the augmentation_type run" || { echo "FAIL: eval: $(cat "$T/err")"; fails=$((fails + 1)); }
grep -q '"top3":' "$T/run/summary.json" && echo "ok: top_k" || { echo "FAIL: top_k"; fails=$((fails + 1)); }
# SageMaker's defaults fill the names the JSON leaves out, under the config
# file: a key the config sets wins over the default.
grep -q "weight_decay = 0.0001" "$c" && echo "ok: default weight_decay for nag" || { echo "FAIL: weight_decay default"; fails=$((fails + 1)); }
grep -v '^optimizer\|mini_batch_size' "$SRC/examples/fashion_mlp.cfg" > "$T/noopt.cfg"
printf '{"num_classes": "10", "epochs": "1"}' > "$T/hp1.json"
$CLF train "$T/noopt.cfg" --hyperparameters "$T/hp1.json" --run-dir "$T/d1" --quiet \
    --set backend.name=reference --set data.limit_train=300 --set data.limit_test=50 2>"$T/err" \
    || { echo "FAIL: defaults run: $(cat "$T/err")"; fails=$((fails + 1)); }
c1="$T/d1/config.cfg"
grep -q 'plugin = "sgd"' "$c1" && grep -q "learning_rate = 0.1;" "$c1" && grep -q "momentum = 0.9;" "$c1" \
    && grep -q "weight_decay = 0.0001;" "$c1" && grep -q "mini_batch_size = 32;" "$c1" && grep -q "epochs = 1;" "$c1" \
    && echo "ok: sgd defaults (lr 0.1, momentum 0.9, weight_decay 1e-4, batch 32)" || { echo "FAIL: defaults: $(cat "$c1")"; fails=$((fails + 1)); }
printf '{"optimizer": "rmsprop", "learning_rate": "0.01", "epochs": "1"}' > "$T/hp2.json"
$CLF train "$SRC/examples/fashion_mlp.cfg" --hyperparameters "$T/hp2.json" --run-dir "$T/d2" --quiet \
    --set backend.name=reference --set data.limit_train=300 --set data.limit_test=50 2>"$T/err" \
    || { echo "FAIL: rmsprop run: $(cat "$T/err")"; fails=$((fails + 1)); }
c2="$T/d2/config.cfg"
grep -q 'plugin = "rmsprop"' "$c2" && grep -q "gamma = 0.9;" "$c2" && ! grep -q "momentum" "$c2" \
    && grep -q "mini_batch_size = 64;" "$c2" \
    && echo "ok: rmsprop gamma default; the config's batch size wins" || { echo "FAIL: rmsprop: $(cat "$c2")"; fails=$((fails + 1)); }
# use_pretrained_model=1: model.init_from from the "pretrained" channel, the last layer fresh;
# with none, an error that says no model hub is reachable.
mkdir -p "$T/pre" "$T/empty"
cp "$T/run/model.clf" "$T/pre/model.clf"
printf '{"use_pretrained_model": "1", "epochs": "1"}' > "$T/pre.json"
if SM_CHANNEL_PRETRAINED="$T/pre" $CLF train "$SRC/examples/fashion_mlp.cfg" --hyperparameters "$T/pre.json" \
    --run-dir "$T/prerun" --set backend.name=reference --set data.limit_train=300 --set data.limit_test=50 \
    >"$T/pre.out" 2>&1 && grep -q "init_from $T/pre/model.clf: 2 of 3 layers loaded" "$T/pre.out" \
    && grep -q "model.init_exclude (1): out" "$T/pre.out"; then echo "ok: use_pretrained_model from the pretrained channel"
else echo "FAIL: use_pretrained_model: $(head -3 "$T/pre.out")"; fails=$((fails + 1)); fi
if SM_CHANNEL_PRETRAINED="$T/empty" $CLF train "$SRC/examples/fashion_mlp.cfg" --hyperparameters "$T/pre.json" \
    --run-dir "$T/prebad" 2>"$T/err"; then echo "FAIL: use_pretrained_model without a model accepted"; fails=$((fails + 1))
elif grep -q "no model hub is reachable" "$T/err" && [ ! -e "$T/prebad" ]; then echo "ok: use_pretrained_model without a model: $(cat "$T/err")"
else echo "FAIL: use_pretrained_model without a model: $(cat "$T/err")"; fails=$((fails + 1)); fi
for bad in '{"kv_store": "dist_async"}|kv_store = .dist_async. is not supported' \
           '{"optimizer": "lamb"}|optimizer .lamb. (allowed: sgd, adam, rmsprop, nag)' \
           '{"num_classes": "7"}|num_classes is 7 but' \
           '{"epochz": "3"}|bad.json: unknown SageMaker hyperparameter .epochz.; did you mean .epochs.?' \
           '{"mini_batch_sise": "3"}|bad.json: unknown SageMaker hyperparameter .mini_batch_sise.; did you mean .mini_batch_size.?' \
           '{"beta_1": "0.8"}|bad.json: SageMaker hyperparameter as optimizer.beta_1=0.8: unknown key .beta_1. in optimizer (plugin sgd)'; do
    printf '%s' "${bad%%|*}" > "$T/bad.json"
    if $CLF train "$SRC/examples/fashion_mlp.cfg" --hyperparameters "$T/bad.json" --run-dir "$T/bad" \
        --set data.limit_train=100 2>"$T/err"; then echo "FAIL: accepted ${bad%%|*}"; fails=$((fails + 1));
    elif grep -q "${bad#*|}" "$T/err"; then echo "ok: refused ${bad%%|*}";
    else echo "FAIL: ${bad%%|*}: $(cat "$T/err")"; fails=$((fails + 1)); fi
    [ -e "$T/bad" ] && { echo "FAIL: left a run dir"; fails=$((fails + 1)); rm -rf "$T/bad"; }
done
# use_weighted_loss -> train.weighted_loss: weights N / (K x count) over the training split,
# the same losses as those weights given by hand in train.class_weights.
D=/usr/share/datasets/fashion-mnist
W=$(python3 -c "
import gzip, collections
y = gzip.open('$D/train-labels-idx1-ubyte.gz').read()[8:8 + 700]
c = collections.Counter(y); n = len(y); k = 10
print('[' + ', '.join(repr(n / (k * c[i])) for i in range(k)) + ']')")
printf '{"use_weighted_loss": "1"}' > "$T/w.json"
$CLF train "$SRC/examples/fashion_mlp.cfg" --hyperparameters "$T/w.json" --run-dir "$T/w1" --quiet --no-test \
    --set data.limit_train=700 --set data.validation_split=0.0 --set train.epochs=1 --set backend.name=\"reference\" \
    && grep -q 'weighted_loss = true' "$T/w1/config.cfg" && echo "ok: use_weighted_loss maps to train.weighted_loss" \
    || { echo "FAIL: use_weighted_loss"; fails=$((fails + 1)); }
printf '{}' > "$T/none.json" # the same SageMaker defaults on both sides
$CLF train "$SRC/examples/fashion_mlp.cfg" --hyperparameters "$T/none.json" --run-dir "$T/w2" --quiet --no-test \
    --set "train.class_weights=$W" \
    --set data.limit_train=700 --set data.validation_split=0.0 --set train.epochs=1 --set backend.name=\"reference\" \
    && cmp -s "$T/w1/metrics.jsonl" "$T/w2/metrics.jsonl" && echo "ok: weighted_loss = inverse class frequencies" \
    || { echo "FAIL: weighted_loss losses differ from class_weights $W"; fails=$((fails + 1)); }
echo "$fails failed"
[ "$fails" -eq 0 ]
