#!/bin/sh
# The fashion CNN, 1 epoch, from IDX and from Fashion-MNIST written as a JPEG
# folder tree (cached in memory, and streamed: data.cache_mb = 0): images/s,
# test accuracy on the JPEG test tree, peak RSS. Not a timed test: numbers go
# to bench/RESULTS.md with the command.
#   sh bench/data_folder.sh [BUILD_DIR] [WORK_DIR]
set -eu
B=${1:-.}
W=${2:-/tmp/clforge-bench-data}
S=$(dirname "$0")/..
mkdir -p "$W"
if [ ! -d "$W/jpg/train" ]; then
    python3 "$S/tests/fixtures/make_images.py" tree "$W/jpg/test" --kind jpg_gray --count 10000 --test &
    python3 "$S/tests/fixtures/make_images.py" tree "$W/jpg/train" --kind jpg_gray --count 60000
    wait
fi
run() { # name, extra --set arguments...
    name=$1; shift
    rm -rf "$W/run_$name"
    if [ -x /usr/bin/time ]; then /usr/bin/time -f "peak RSS %M KiB" -o "$W/rss_$name" \
        "$B/clforge" train "$S/examples/fashion_cnn.cfg" --set train.epochs=1 --run-dir "$W/run_$name" "$@" > "$W/out_$name"
    else "$B/clforge" train "$S/examples/fashion_cnn.cfg" --set train.epochs=1 --run-dir "$W/run_$name" "$@" > "$W/out_$name"; fi
    ips=$(sed -n 's/.* \([0-9]*\) img\/s$/\1/p' "$W/out_$name" | tail -1)
    acc=$(sed -n 's/.*"test":{"loss":[^,]*,"accuracy":\([0-9.]*\).*/\1/p' "$W/run_$name/summary.json")
    echo "$name: $ips images/s (epoch 1), test accuracy $acc, $(cat "$W/rss_$name" 2>/dev/null || echo 'RSS n/a')"
}
run idx
run jpeg_cached --set data.train=\""$W/jpg/train"\" --set data.test=\""$W/jpg/test"\"
run jpeg_streamed --set data.train=\""$W/jpg/train"\" --set data.test=\""$W/jpg/test"\" --set data.cache_mb=0
