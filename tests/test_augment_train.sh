#!/bin/sh
# Augmentations in training runs: batch-level mixing (mixup, cutmix) is
# reproducible and resumable byte for byte; the policies, noise and blur
# train; a chain may change the shape on the way (resize -> random_crop, the
# torchvision recipe) when it ends at data.image_shape, evaluation then
# fitting images by resize + centre crop; a chain that ends elsewhere is an
# error naming each step's shape.
set -u
CLF=./clforge
SRC=${srcdir:-.}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
cat > "$T/m.cfg" <<'CFG'
name = "mix";
seed = 5;
backend = { name = "reference"; };
data = { limit_train = 500; limit_test = 100; validation_split = 0.2; };
model = { layers = ( { type = "conv"; filters = 4; kernel = 3; padding = 1; activation = "relu"; },
                     { type = "maxpool"; size = 2; },
                     { type = "dense"; units = 10; } ); };
train = { epochs = 2; mini_batch_size = 32; label_smoothing = 0.1; };
optimizer = { plugin = "adam"; learning_rate = 0.002; };
augmentations = ( { plugin = "random_crop"; padding = 2; }, { plugin = "mixup_cutmix"; } );
CFG
$CLF train "$T/m.cfg" --run-dir "$T/a" --quiet || { echo "FAIL: mixup run"; exit 1; }
$CLF train "$T/m.cfg" --run-dir "$T/a2" --quiet || { echo "FAIL: mixup run again"; exit 1; }
cmp -s "$T/a/model.clf" "$T/a2/model.clf" && ok "mixup/cutmix run reproducible" || bad "mixup/cutmix runs differ"
CLFORGE_TEST_KILL_AFTER_EPOCH=1 $CLF train "$T/m.cfg" --run-dir "$T/b" --quiet
[ $? -eq 137 ] || bad "expected the run to die by SIGKILL"
$CLF train --resume "$T/b" --quiet || bad "resume"
for f in checkpoints/last.ckpt model.clf metrics.jsonl; do
    cmp -s "$T/a/$f" "$T/b/$f" && ok "mixup resumed: $f identical" || bad "mixup resumed: $f differs"
done
# without the batch plugin the weights differ: mixing did something
sed 's/, { plugin = "mixup_cutmix"; }//' "$T/m.cfg" > "$T/n.cfg"
$CLF train "$T/n.cfg" --run-dir "$T/n" --quiet --no-test || bad "run without mixing"
cmp -s "$T/a/model.clf" "$T/n/model.clf" && bad "mixup_cutmix changed nothing" || ok "mixing changes training"

# policies, noise, blur in one run (IDX 28x28 through a shape-keeping chain that resizes on the way)
sed 's|augmentations = .*|augmentations = ( { plugin = "resize"; size = 32; }, { plugin = "random_crop"; size = 28; }, { plugin = "trivial_augment"; }, { plugin = "rand_augment"; num_ops = 1; }, { plugin = "gaussian_blur"; kernel_size = 3; p = 0.5; }, { plugin = "gaussian_noise"; std = 0.05; }, { plugin = "cutmix"; p = 0.5; } );|' \
    "$T/m.cfg" > "$T/p.cfg"
$CLF train "$T/p.cfg" --run-dir "$T/p" --quiet > "$T/p.out" 2>&1 && ok "policies, noise, blur, cutmix train" \
    || bad "policy run: $(tail -3 "$T/p.out")"

# shape-changing chain on an image folder: decoded at resize 28, cropped to 24 for training;
# validation (a split of train) and test by resize 28 + centre crop 24
IMG="$SRC/tests/fixtures/images/png_gray"
cat > "$T/s.cfg" <<CFG
name = "shape";
seed = 3;
backend = { name = "reference"; };
data = { train = "$IMG"; test = "$IMG"; image_shape = "1,24,24"; resize = 28; validation_split = 0.25; };
model = { layers = ( { type = "conv"; filters = 4; kernel = 3; padding = 1; activation = "relu"; },
                     { type = "dense"; units = 10; } ); };
train = { epochs = 1; mini_batch_size = 8; };
augmentations = ( { plugin = "resize"; size = 32; }, { plugin = "random_crop"; size = 24; }, { plugin = "hflip"; } );
CFG
if $CLF train "$T/s.cfg" --run-dir "$T/s" --quiet > "$T/s.out" 2>&1 && [ -f "$T/s/model.clf" ]; then
    ok "resize 32 -> random_crop 24 trains a 24x24 model from 28x28 images"
else bad "shape-changing chain: $(tail -3 "$T/s.out")"; fi
$CLF eval "$T/s/model.clf" --data "$IMG" > "$T/se.out" 2>&1 && ok "the 24x24 model evaluates the folder (resize + centre crop)" \
    || bad "eval of the cropped model: $(tail -3 "$T/se.out")"
# torchvision's Resize(256) + RandomCrop(224) recipe in small: random_resized_crop too
sed 's|augmentations = .*|augmentations = ( { plugin = "random_resized_crop"; size = 24; } );|' "$T/s.cfg" > "$T/r.cfg"
$CLF train "$T/r.cfg" --run-dir "$T/r" --quiet > "$T/r.out" 2>&1 && ok "random_resized_crop to image_shape trains" \
    || bad "random_resized_crop: $(tail -3 "$T/r.out")"
# a chain ending at another size is refused, naming the shapes
sed 's|size = 24; }, { plugin = "hflip"; }|size = 20; }|' "$T/s.cfg" > "$T/e.cfg"
if $CLF train "$T/e.cfg" --run-dir "$T/e" --quiet 2> "$T/e.err"; then bad "a chain ending at 20x20 was accepted"
elif grep -q "become \[1, 28, 28\] -> resize \[1, 32, 32\] -> random_crop \[1, 20, 20\], but the model's input is \[1, 24, 24\]" "$T/e.err"; then
    ok "a chain ending at the wrong size is refused"
else bad "message was: $(cat "$T/e.err")"; fi
# IDX keeps its own shape: a crop to 24 cannot feed a 28x28 model
sed 's|augmentations = .*|augmentations = ( { plugin = "random_crop"; size = 24; } );|' "$T/m.cfg" > "$T/i.cfg"
if $CLF train "$T/i.cfg" --run-dir "$T/i" --quiet 2> "$T/i.err"; then bad "IDX crop to 24 accepted"
elif grep -q "IDX data keeps its own shape" "$T/i.err"; then ok "IDX crop to another size refused"
else bad "message was: $(cat "$T/i.err")"; fi
[ $fails -eq 0 ] || exit 1
