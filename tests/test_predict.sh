#!/bin/sh
# clforge predict on real images (PGM and JPEG made from Fashion-MNIST test
# samples), and bad images refused with a message naming the file.
set -u
CLF=./clforge
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
D=/usr/share/datasets/fashion-mnist
[ -r "$D/t10k-images-idx3-ubyte.gz" ] || { echo "no Fashion-MNIST: skip"; exit 77; }
cat > "$T/m.cfg" <<'CFG'
seed = 3;
backend = { name = "reference"; };
data = { limit_train = 12000; limit_test = 200; };
model = { preset = "mlp"; hidden = [128]; };
train = { epochs = 3; mini_batch_size = 32; };
optimizer = { plugin = "sgd"; learning_rate = 0.02; momentum = 0.9; };
CFG
$CLF train "$T/m.cfg" --run-dir "$T/run" --quiet || { echo "FAIL: training"; exit 1; }
fails=0
# Test image 0 is an ankle boot (label 9), image 1 a pullover (label 2).
for i in 0 1; do
    { printf 'P5\n28 28\n255\n'; zcat "$D/t10k-images-idx3-ubyte.gz" | tail -c +$((17 + i * 784)) | head -c 784; } > "$T/img$i.pgm"
done
out=$($CLF predict "$T/run/model.clf" "$T/img0.pgm" "$T/img1.pgm" --top-k 2 --json)
echo "$out"
echo "$out" | head -1 | grep -q '"top":\[{"class":"Ankle boot"' && echo "ok: ankle boot" || { echo "FAIL: image 0"; fails=$((fails + 1)); }
echo "$out" | tail -1 | grep -q '"top":\[{"class":"Pullover"' && echo "ok: pullover" || { echo "FAIL: image 1"; fails=$((fails + 1)); }
if command -v cjpeg >/dev/null; then
    cjpeg -quality 95 "$T/img0.pgm" > "$T/img0.jpg"
    $CLF predict "$T/run/model.clf" "$T/img0.jpg" | grep -q "1. Ankle boot" && echo "ok: jpeg" || { echo "FAIL: jpeg"; fails=$((fails + 1)); }
    head -c 300 "$T/img0.jpg" > "$T/broken.jpg"
    if $CLF predict "$T/run/model.clf" "$T/broken.jpg" 2>"$T/err"; then echo "FAIL: truncated jpeg accepted"; fails=$((fails + 1));
    elif grep -q "broken.jpg: corrupt JPEG" "$T/err"; then echo "ok: truncated jpeg refused"; else echo "FAIL: $(cat "$T/err")"; fails=$((fails + 1)); fi
fi
printf '\211PNG\r\n\032\n0000' > "$T/x.png"
$CLF predict "$T/run/model.clf" "$T/x.png" 2>"$T/err" && fails=$((fails + 1))
grep -q "x.png: corrupt PNG" "$T/err" && echo "ok: broken png refused" || { echo "FAIL: $(cat "$T/err")"; fails=$((fails + 1)); }
printf 'hello' > "$T/x.txt"
$CLF predict "$T/run/model.clf" "$T/x.txt" 2>"$T/err" && fails=$((fails + 1))
grep -q "x.txt: not a JPEG, PNG, PGM or PPM image" "$T/err" && echo "ok: text refused" || { echo "FAIL: $(cat "$T/err")"; fails=$((fails + 1)); }
# lr-find runs, plots and suggests.
$CLF lr-find "$T/m.cfg" --steps 60 --out "$T/lr.html" --json > "$T/lr.json" || { echo "FAIL: lr-find"; fails=$((fails + 1)); }
grep -q '"suggested_lr":' "$T/lr.json" && grep -q "<svg" "$T/lr.html" && echo "ok: lr-find" || { echo "FAIL: lr-find output"; fails=$((fails + 1)); }
echo "$fails failed"
[ "$fails" -eq 0 ]
