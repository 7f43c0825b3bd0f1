#!/bin/sh
# The transfer experiment of issue 15 (docs/transfer.md): the fashion cnn
# (examples/fashion_cnn.cfg) trained on classes 0-4, then fine-tuned on 500
# images of classes 5-9 with its convolutions frozen and the head
# re-initialised, against the same model trained from scratch on the same
# 500 images; both tested on the 5,000 test images of classes 5-9. The
# fine-tune trains its two unfrozen layers (fc1, from the base model, and the
# new head) at 3x the rate (train.lr_mult); "plain" is the same without the
# multipliers. Scratch keeps Adam 1e-3 (at 3e-3 it does worse: see
# docs/transfer.md).
#   bench/transfer_fashion.sh [SEEDS] [BACKEND]     (default "1 2 3 4 5", cpu)
# Prints one line per seed and the mean gain; runs live in $OUT (default a
# temporary directory). ~1 minute per seed on 2 cores.
set -eu
CLF=${CLF:-./clforge}
SEEDS=${1:-1 2 3 4 5}
BACKEND=${2:-cpu}
OUT=${OUT:-$(mktemp -d)}
BASE_EPOCHS=${BASE_EPOCHS:-3}
FT_EPOCHS=${FT_EPOCHS:-5}
N=${N:-500}
common="--quiet --set backend.name=$BACKEND --set model.layers.out.units=5"
acc() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"test\"][\"accuracy\"])" "$1/summary.json"; }
sum=0; sump=0; n=0
for seed in $SEEDS; do
    $CLF train examples/fashion_cnn.cfg $common --run-dir "$OUT/base$seed" --set seed="$seed" \
        --set 'data.classes=[0,1,2,3,4]' --set train.epochs="$BASE_EPOCHS" >/dev/null
    few="--set data.classes=[5,6,7,8,9] --set data.limit_train=$N --set train.epochs=$FT_EPOCHS --set seed=$seed"
    $CLF train examples/fashion_cnn.cfg $common $few --run-dir "$OUT/finetune$seed" \
        --set model.init_from="$OUT/base$seed/model.clf" --set 'model.init_exclude=["out"]' \
        --set 'train.freeze=["conv1","conv2"]' --set 'train.lr_mult=["fc1:3","out:3"]' >/dev/null
    $CLF train examples/fashion_cnn.cfg $common $few --run-dir "$OUT/plain$seed" \
        --set model.init_from="$OUT/base$seed/model.clf" --set 'model.init_exclude=["out"]' \
        --set 'train.freeze=["conv1","conv2"]' >/dev/null
    $CLF train examples/fashion_cnn.cfg $common $few --run-dir "$OUT/scratch$seed" >/dev/null
    ft=$(acc "$OUT/finetune$seed"); pl=$(acc "$OUT/plain$seed"); sc=$(acc "$OUT/scratch$seed")
    gain=$(awk -v a="$ft" -v b="$sc" 'BEGIN { printf "%+.2f", 100 * (a - b) }')
    gp=$(awk -v a="$pl" -v b="$sc" 'BEGIN { printf "%+.2f", 100 * (a - b) }')
    echo "seed $seed: fine-tuned $ft  scratch $sc  gain $gain points  (plain fine-tune $pl, $gp)"
    sum=$(awk -v s="$sum" -v g="$gain" 'BEGIN { print s + g }'); n=$((n + 1))
    sump=$(awk -v s="$sump" -v g="$gp" 'BEGIN { print s + g }')
done
awk -v s="$sum" -v p="$sump" -v n="$n" 'BEGIN { printf "mean gain over %d seeds: %+.2f points (plain fine-tune %+.2f)\n", n, s / n, p / n }'
