#!/bin/sh
# ResNet-50 (the resnet preset, 25.6 M parameters with 1000 classes; here 2)
# at 3x224x224, batch 32: a handful of training batches on each backend,
# img/s from the epoch line and peak RSS from /usr/bin/time -v.
#   bench/resnet50_train.sh [BACKENDS] [IMAGES]   (default "cpu opencl", 96: 3 batches)
# The images are synthetic PPMs (two class folders of noise): speed and
# memory do not depend on what the pixels show.
set -eu
CLF=${CLF:-./clforge}
BACKENDS=${1:-cpu opencl}
N=${2:-96}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 - "$T/img" "$N" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1)
for i in range(n):
    d = os.path.join(root, "c%d" % (i % 2))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "%04d.ppm" % i), "wb") as f:
        f.write(b"P6 224 224 255\n" + bytes(rnd.getrandbits(8) for _ in range(224 * 224 * 3)))
PY
cat > "$T/r50.cfg" <<CFG
name = "resnet50_bench";
data = { train = "$T/img"; image_shape = "3,224,224"; validation_split = 0; };
model = { preset = "resnet"; num_layers = 50; };
train = { epochs = ${EPOCHS:-2}; mini_batch_size = 32; eval_batch_size = 32; }; # the net is built for the larger of the two
optimizer = { plugin = "sgd"; learning_rate = 0.01; momentum = 0.9; };
output = { report = false; tensorboard = false; };
CFG
for b in $BACKENDS; do
    /usr/bin/time -v $CLF train "$T/r50.cfg" --run-dir "$T/run_$b" --set backend.name="$b" --no-test \
        >"$T/$b.out" 2>"$T/$b.time" &
    tp=$!
    : > "$T/$b.rss"
    while kill -0 "$tp" 2>/dev/null; do # the trainer's RSS every 5 s: flat once memory is planned
        cp=$(pgrep -P "$tp" | head -1)
        [ -n "$cp" ] && sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$cp/status" 2>/dev/null >> "$T/$b.rss"
        sleep 5
    done
    wait "$tp" || { echo "$b: failed: $(tail -n 3 "$T/$b.out" "$T/$b.time")"; continue; }
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/$b.time")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$T/$b.time")
    grep "^epoch" "$T/$b.out" | sed "s/^/$b: /"
    awk -v b="$b" '{ v[NR] = $1 } END { if (NR) printf "%s: RSS samples (MiB, every 5 s): %s\n", b, \
        sprintf("%d ... %d %d %d", v[1] / 1024, v[int(NR / 3) + 1] / 1024, v[int(2 * NR / 3) + 1] / 1024, v[NR] / 1024) }' "$T/$b.rss"
    echo "$b: peak RSS $((rss / 1024)) MiB, wall $wall"
done
