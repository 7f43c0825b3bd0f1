#!/bin/sh
# Data-parallel training (docs/distributed.md): mpirun -np 2 with
# mini_batch_size 32 trains like one process with 64 on the reference
# backend. What differs is only the order of the gradient sums (each rank
# sums its 32 samples, then the allreduce adds the two halves), so the
# per-epoch losses agree to float rounding, well within 1e-3 relative. One
# run directory; an MPI run killed after epoch 1 and resumed under MPI ends
# byte-identical to an uninterrupted MPI run (same seed, same N).
set -u
CLF=./clforge
. "${srcdir:-.}/tests/mpi_losses.sh"
command -v mpirun >/dev/null 2>&1 || { echo "SKIP: mpirun not found (install openmpi-bin)"; exit 77; }
$CLF version >/dev/null || exit 1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
timeout 60 mpirun -np 2 --oversubscribe true > /dev/null 2>&1 || { echo "SKIP: mpirun cannot start 2 processes here"; exit 77; }
MPIRUN="timeout 300 mpirun -np 2 --oversubscribe"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat > "$T/m.cfg" <<'CFG'
name = "dp";
seed = 7;
backend = { name = "reference"; };
data = { limit_train = 1000; limit_test = 200; validation_split = 0.2; };
model = { layers = ( { type = "conv"; filters = 4; kernel = 3; padding = 1; activation = "relu"; },
                     { type = "maxpool"; size = 2; },
                     { type = "dense"; units = 32; activation = "relu"; },
                     { type = "dense"; units = 10; } ); };
train = { epochs = 3; mini_batch_size = 32; kv_store = "dist_sync"; };
optimizer = { plugin = "adam"; learning_rate = 0.002; };
CFG
$MPIRUN $CLF train "$T/m.cfg" --quiet --run-dir "$T/one" 2> "$T/mpi.err" | cat > /dev/null
if grep -q "built without MPI" "$T/mpi.err"; then echo "SKIP: clforge built without MPI"; exit 77; fi
fails=0
[ -f "$T/one/model.clf" ] || { echo "FAIL: MPI run: $(tail -3 "$T/mpi.err")"; exit 1; }
$CLF train "$T/m.cfg" --quiet --set train.mini_batch_size=64 --set train.kv_store=\"local\" --run-dir "$T/single" \
    || { echo "FAIL: single-process run"; exit 1; }
# per-epoch training losses within 1e-3 relative
if same_losses "$T/one" "$T/single" 3
then echo "ok: 2 ranks x 32 = 1 process x 64"; else echo "FAIL: losses differ"; fails=$((fails + 1)); fi
# gradient clipping clips the averaged gradient (its norm, not each rank's): 2 x 32 still = 1 x 64
$MPIRUN $CLF train "$T/m.cfg" --quiet --set train.clip_grad_norm=0.05 --set train.epochs=2 --run-dir "$T/clip2" > /dev/null 2>&1
$CLF train "$T/m.cfg" --quiet --set train.clip_grad_norm=0.05 --set train.epochs=2 --set train.mini_batch_size=64 \
    --set train.kv_store=\"local\" --run-dir "$T/clip1" || { echo "FAIL: single-process clipped run"; fails=$((fails + 1)); }
if [ -f "$T/clip2/metrics.jsonl" ] && same_losses "$T/clip2" "$T/clip1" 2
then echo "ok: clip_grad_norm under MPI = one process (the averaged gradient's norm)"
else echo "FAIL: clipped losses differ between 2 ranks and 1 process"; fails=$((fails + 1)); fi
grep -q '"world_size":2' "$T/one/summary.json" && grep -q '"hosts":"[^"]*:0,[^"]*:1"' "$T/one/summary.json" \
    && echo "ok: summary.json records world size and hosts" || { echo "FAIL: summary.json distributed"; fails=$((fails + 1)); }
# without --run-dir: one directory under output.dir (rank 0's), not one per rank
$MPIRUN $CLF train "$T/m.cfg" --quiet --set train.epochs=1 --set output.dir=\"$T/out\" > /dev/null 2>&1
[ "$(ls "$T/out" | wc -l)" -eq 1 ] && [ -f "$T/out/$(ls "$T/out")/model.clf" ] && echo "ok: one run directory" \
    || { echo "FAIL: run directories: $(ls "$T/out")"; fails=$((fails + 1)); }
# kill after epoch 1 under MPI, resume under MPI
CLFORGE_TEST_KILL_AFTER_EPOCH=1 $MPIRUN -x CLFORGE_TEST_KILL_AFTER_EPOCH $CLF train "$T/m.cfg" --quiet --run-dir "$T/k" > /dev/null 2>&1
[ "$(wc -l < "$T/k/metrics.jsonl")" -eq 1 ] || { echo "FAIL: the killed run should have 1 epoch"; fails=$((fails + 1)); }
$MPIRUN $CLF train --resume "$T/k" --quiet > /dev/null 2> "$T/resume.err" || { echo "FAIL: resume under MPI: $(tail -2 "$T/resume.err")"; fails=$((fails + 1)); }
for f in checkpoints/last.ckpt model.clf metrics.jsonl; do
    if cmp -s "$T/one/$f" "$T/k/$f"; then echo "ok: resumed $f identical"; else echo "FAIL: resumed $f differs"; fails=$((fails + 1)); fi
done
# batch norm: train.batchnorm_stats = "average" changes what validation sees, never training
cat > "$T/bn.cfg" <<'CFG'
name = "bn"; seed = 9; backend = { name = "reference"; };
data = { limit_train = 640; limit_test = 100; validation_split = 0.2; };
model = { layers = ( { type = "conv"; filters = 4; kernel = 3; padding = 1; activation = "relu"; },
                     { type = "maxpool"; size = 2; }, { type = "dense"; units = 10; } ); };
train = { epochs = 2; mini_batch_size = 32; };
optimizer = { plugin = "sgd"; learning_rate = 0.05; momentum = 0.9; };
regularizers = ( { plugin = "batchnorm"; } );
CFG
$MPIRUN $CLF train "$T/bn.cfg" --quiet --run-dir "$T/bnp" > /dev/null 2>&1
$MPIRUN $CLF train "$T/bn.cfg" --quiet --run-dir "$T/bna" --set train.batchnorm_stats=\"average\" > /dev/null 2>&1
tl() { grep -o '"train_loss":[^,]*' "$1/metrics.jsonl"; }
vl() { grep -o '"validation_loss":[^,]*' "$1/metrics.jsonl"; }
if [ -n "$(tl "$T/bnp")" ] && [ "$(tl "$T/bnp")" = "$(tl "$T/bna")" ] && [ "$(vl "$T/bnp")" != "$(vl "$T/bna")" ]; then
    echo "ok: averaged batch-norm statistics: same training, other validation"
else echo "FAIL: batchnorm_stats: $(tl "$T/bnp") / $(tl "$T/bna") / $(vl "$T/bnp") / $(vl "$T/bna")"; fails=$((fails + 1)); fi
# kv_store names
$CLF train "$T/m.cfg" --quiet --set train.kv_store=\"dist_async\" --run-dir "$T/x" > "$T/async.out" 2>&1
grep -q "dist_async.*not supported" "$T/async.out" && [ ! -d "$T/x" ] && echo "ok: dist_async refused by name" \
    || { echo "FAIL: dist_async: $(cat "$T/async.out")"; fails=$((fails + 1)); }
$MPIRUN $CLF train "$T/m.cfg" --quiet --set train.kv_store=\"local\" --run-dir "$T/y" > "$T/local.out" 2>&1
[ "$(grep -c 'kv_store = "local" but mpirun started 2 ranks' "$T/local.out")" -eq 1 ] && [ ! -d "$T/y" ] \
    && echo "ok: kv_store local under mpirun refused, once" || { echo "FAIL: local under mpirun: $(cat "$T/local.out")"; fails=$((fails + 1)); }
exit $fails
