#!/bin/sh
# Allreduce overlap on/off (docs/distributed.md): ResNet-20 step time, cpu backend,
# mpirun -np 2 x 1 thread, batch 32 per rank; 0.25 MiB buckets (overlap on, off)
# and the default 25 MiB (one bucket: nothing to overlap). Needs Fashion-MNIST.
#   bench/mpi_overlap.sh [BUILD_DIR]
here=$(cd "$(dirname "$0")" && pwd)
cd "${1:-.}"  # BUILD_DIR (default: here)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
b=32; nb=12
run() { # label overlap bucket_mb
    mpirun -np 2 --oversubscribe ./clforge train "$here/configs/resnet20.cfg" --set backend.threads=1 --set train.mini_batch_size=$b \
      --set data.limit_train=$((b*nb*2)) --set data.validation_split=0 --set train.epochs=2 --no-test --json \
      --set train.allreduce_overlap=$2 --set train.bucket_mb=$3 --run-dir $T/$1 > $T/$1.json 2>$T/$1.err
    ips=$(grep '"event":"epoch"' $T/$1.json | tail -1 | sed 's/.*"images_per_sec":\([0-9.e+]*\).*/\1/')
    ar=$(sed 's/.*"allreduce_seconds_per_step":\([0-9.e+-]*\).*/\1/' $T/$1/summary.json)
    echo "$1 overlap=$2 bucket_mb=$3 img/s=$ips step_ms=$(awk -v i=$ips -v b=$b 'BEGIN{printf "%.1f", 2000*b/i}') wait_after_backward_ms=$(awk -v a=$ar 'BEGIN{printf "%.2f", 1000*a}') load=$(cut -d' ' -f1 /proc/loadavg)"
}
for r in 1 2; do
  run on_$r true 0.25; run off_$r false 0.25; run one_$r true 25
done
