#!/bin/sh
# clforge's input pipeline vs torchvision ImageFolder + DataLoader (issue 14's
# Performance part), on a 224x224 RGB synthetic JPEG tree and on Fashion-MNIST
# as 28x28 JPEGs. Not a timed test: numbers go to bench/RESULTS.md.
#   sh bench/data_loader.sh [BUILD_DIR] [WORK_DIR] [BATCHES_28]   (N224=15: batches at 224)
# PY: a Python with torch + torchvision (default /work/venv-torch/bin/python).
set -eu
B=${1:-.}
W=${2:-/work/big-data}
N=${3:-50}
S=$(dirname "$0")
PY=${PY:-/work/venv-torch/bin/python}
mkdir -p "$W"
[ -d "$W/syn224_10k" ] || "$PY" "$S/make_synthetic_tree.py" "$W/syn224_10k" --count 10000
[ -d "$W/fmnist_jpg10k" ] || python3 "$S/../tests/fixtures/make_images.py" tree "$W/fmnist_jpg10k" --kind jpg_gray --count 10000
uptime
# data.scan = "none": the open (not timed in img/s) would decode the 10,000 files twice
"$PY" "$S/data_loader.py" "$B/clforge" "$S/configs/data_224.cfg" "$W/syn224_10k" --kind 224 --batches "${N224:-15}" --set 'data.scan="none"'
"$PY" "$S/data_loader.py" "$B/clforge" "$S/configs/data_28.cfg" "$W/fmnist_jpg10k" --kind 28 --batches "$N"
uptime
