#!/bin/sh
# Data-parallel scaling on one machine (docs/distributed.md): training img/s
# of a model with 1 process x 1 thread, 1 process x 2 threads and mpirun -np
# 2 x 1 thread (weak scaling: mini_batch_size per rank is the same, so each
# rank does the 1x1 run's work per step), the allreduce time per step that
# summary.json records, and the raw allreduce time of each model's gradient
# (bench/mpi_allreduce.c).
#   bench/mpi_scaling.sh BUILD_DIR [MODEL [BATCH [BATCHES]]]   (MODEL: bench/configs/*.cfg)
# Needs the cpu backend and the Fashion-MNIST files; about 2 minutes for resnet20.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: mpi_scaling.sh BUILD_DIR [MODEL [BATCH [BATCHES]]]}" && pwd)
model=${2:-resnet20}
b=${3:-64}
nb=${4:-20}
command -v mpirun >/dev/null 2>&1 || { echo "mpirun not found: install Open MPI (openmpi-bin, libopenmpi-dev)"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cfg="$here/configs/$model.cfg"
# train LABEL RANKS THREADS: prints "LABEL img/s allreduce-ms/step"
train() {
    label=$1 np=$2 th=$3
    set -- train "$cfg" --set backend.name=\"cpu\" --set backend.threads=$th --set train.mini_batch_size=$b \
        --set data.limit_train=$((b * nb * np)) --set data.validation_split=0 --set train.epochs=2 \
        --no-test --json --run-dir "$T/$label"
    if [ "$np" -gt 1 ]; then mpirun -np "$np" --bind-to core "$build/clforge" "$@" > "$T/$label.json"
    else "$build/clforge" "$@" > "$T/$label.json"; fi
    ips=$(grep '"event":"epoch"' "$T/$label.json" | tail -1 | sed 's/.*"images_per_sec":\([0-9.e+]*\).*/\1/')
    ar=$(sed 's/.*"allreduce_seconds_per_step":\([0-9.e+-]*\).*/\1/' "$T/$label/summary.json")
    echo "$label $ips $ar"
}
reps=${REPEATS:-3}
echo "model $model, batch $b per rank, $nb steps per epoch per rank, epoch 2 of 2 (epoch 1 warms up);"
echo "$reps repeats, the three settings interleaved, best of each kept (the machine is shared)"
for i in $(seq 1 "$reps"); do
    train 1proc_1thread 1 1
    train 1proc_2threads 1 2
    train 2ranks_1thread 2 1
done | tee "$T/all.txt" | sed 's/^/  run: /'
awk -v b="$b" '
    $2 + 0 > best[$1] + 0 { best[$1] = $2; ar[$1] = $3 }
    END {
        split("1proc_1thread 1proc_2threads 2ranks_1thread", lab, " ")
        for (i = 1; i <= 3; i++)
            printf "%-16s %8.1f img/s   step %7.1f ms   allreduce %6.2f ms/step\n", lab[i], best[lab[i]],
                   1000 * b * (i == 3 ? 2 : 1) / best[lab[i]], 1000 * ar[lab[i]]
        printf "2 ranks / (2 x 1 proc 1 thread) = %.1f %%   2 ranks / (1 proc 2 threads) = %.2fx\n",
               100 * best["2ranks_1thread"] / (2 * best["1proc_1thread"]),
               best["2ranks_1thread"] / best["1proc_2threads"] }' "$T/all.txt"
mpicc -O2 -o "$T/mpi_allreduce" "$here/mpi_allreduce.c"
echo "raw allreduce, 2 ranks (shared memory), mlp / cnn / resnet20 / resnet50 gradients:"
mpirun -np 2 --bind-to core "$T/mpi_allreduce" 235146 421642 272186 25557032
