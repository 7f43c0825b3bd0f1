#!/bin/sh
# Errors under mpirun (docs/distributed.md): a rank that cannot open its
# data, ranks reading data of different sizes, a different config or a
# different clforge version: one message, from rank 0, naming the rank, and
# no hang (each run has a timeout) and no run directory.
set -u
CLF=./clforge
SRC=${srcdir:-.}
command -v mpirun >/dev/null 2>&1 || { echo "SKIP: mpirun not found (install openmpi-bin)"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
timeout 60 mpirun -np 2 --oversubscribe true > /dev/null 2>&1 || { echo "SKIP: mpirun cannot start 2 processes here"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat > "$T/m.cfg" <<'CFG'
name = "dperr";
seed = 3;
backend = { name = "reference"; };
data = { limit_train = 400; limit_test = 100; validation_split = 0.2; };
model = { layers = ( { type = "dense"; units = 16; activation = "relu"; }, { type = "dense"; units = 10; } ); };
train = { epochs = 1; mini_batch_size = 32; };
optimizer = { plugin = "sgd"; learning_rate = 0.05; };
CFG
timeout 120 mpirun -np 2 --oversubscribe $CLF train "$T/m.cfg" --quiet --run-dir "$T/ok" > "$T/ok.out" 2>&1
if grep -q "built without MPI" "$T/ok.out"; then echo "SKIP: clforge built without MPI"; exit 77; fi
[ -f "$T/ok/model.clf" ] || { echo "FAIL: a good MPI run: $(tail -3 "$T/ok.out")"; exit 1; }
fails=0
# expect NAME PATTERN -- mpirun arguments (rank 1 differs: MPMD with ':')
expect() {
    name=$1 pat=$2
    shift 3
    rm -rf "$T/bad"
    timeout 120 mpirun --oversubscribe "$@" > "$T/out" 2>&1
    rc=$?
    n=$(grep -c "clforge.*error\|clforge tune: rank\|clforge tune: " "$T/out")
    if [ "$rc" -eq 124 ]; then echo "FAIL: $name: hung"; fails=$((fails + 1))
    elif [ "$rc" -eq 0 ]; then echo "FAIL: $name: accepted"; fails=$((fails + 1))
    elif ! grep -q "$pat" "$T/out"; then echo "FAIL: $name: $(grep -v '^$' "$T/out" | head -5)"; fails=$((fails + 1))
    elif [ "$n" -ne 1 ]; then echo "FAIL: $name: $n messages: $(cat "$T/out")"; fails=$((fails + 1))
    elif [ -e "$T/bad" ]; then echo "FAIL: $name: left a run directory"; fails=$((fails + 1))
    else echo "ok: $name: $(grep "$pat" "$T/out" | cut -c1-150)"; fi
}
A="$CLF train $T/m.cfg --quiet --run-dir $T/bad"
expect "rank 1 cannot open its data" "rank 1 (.*): .*/nonexistent" -- \
    -np 1 $A : -np 1 $A --set data.train_images=\"$T/nonexistent\"
expect "ranks disagree on the data size" "rank 1 (.*) read other data than rank 0.*400 training.*against 320" -- \
    -np 1 $A : -np 1 $A --set data.limit_train=400 --set data.validation_split=0
expect "a rank with another config" "rank 1 (.*) read a different config" -- \
    -np 1 $A : -np 1 $A --set optimizer.learning_rate=0.1
expect "a rank on another clforge version" "rank 1 (.*) runs clforge 9.9.9, rank 0 (.*) runs" -- \
    -np 1 $A : -np 1 env CLFORGE_TEST_VERSION=9.9.9 $A
B="$CLF tune $SRC/examples/tune_branin.cfg --quiet --dir $T/bad"
expect "tune: a rank with another config" "rank 2 (.*) read a different tuning config" -- \
    -np 2 $B : -np 1 $B --set tune.seed=8
exit $fails
