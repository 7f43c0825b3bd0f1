#!/bin/sh
# Damaged input files are refused with a message naming the file, never a
# crash or a silent success (issue 17's IDX and image items): gzip'ed IDX
# with a flipped bit, a cut CRC trailer, a header that promises more than the
# file holds or sizes that overflow; PGM headers with no pixel data, ASCII
# values above maxval; truncated JPEGs; NaN weights, absurd checkpoint numbers and
# edited model shapes/normalisation behind a valid checksum; run names outside output.dir.
set -u
CLF=./clforge
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
D=/usr/share/datasets/fashion-mnist
[ -r "$D/t10k-images-idx3-ubyte.gz" ] || { echo "no Fashion-MNIST: skip"; exit 77; }
command -v python3 >/dev/null || { echo "no python3: skip"; exit 77; }
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
cp "$D/t10k-images-idx3-ubyte.gz" "$T/img.gz"
python3 - "$T" <<'PY'
import gzip, struct, sys
t = sys.argv[1]
good = open(t + '/img.gz', 'rb').read()
raw = gzip.decompress(good)
b = bytearray(good); b[len(b) // 2] ^= 0x10; open(t + '/flip.gz', 'wb').write(b)
open(t + '/cut.gz', 'wb').write(good[:-4])                       # CRC trailer cut
c = bytearray(gzip.compress(raw)); c[-5] ^= 1; open(t + '/crc.gz', 'wb').write(c)
hdr = lambda n, h, w: bytes([0, 0, 8, 3]) + struct.pack('>III', n, h, w)
open(t + '/huge', 'wb').write(hdr(256, 1 << 28, 1 << 28) + bytes(100))   # n*h*w wraps
open(t + '/promise', 'wb').write(hdr(1 << 28, 28, 28) + bytes(1000))     # 2^28 images promised
open(t + '/extra', 'wb').write(raw + bytes(784))                          # one image too many
PY
for f in flip.gz cut.gz crc.gz huge promise extra; do
    cat > "$T/$f.cfg" <<CFG
backend = { name = "reference"; };
data = { train_images = "$T/$f"; train_labels = "$D/t10k-labels-idx1-ubyte.gz";
         test_images = "$D/t10k-images-idx3-ubyte.gz"; test_labels = "$D/t10k-labels-idx1-ubyte.gz";
         limit_train = 200; limit_test = 50; };
model = { layers = ( { type = "dense"; units = 10; } ); };
train = { epochs = 1; };
CFG
    $CLF train "$T/$f.cfg" --quiet --run-dir "$T/run_$f" >"$T/out" 2>&1; rc=$?
    if [ "$rc" -eq 1 ] && grep -q "error: $T/$f: " "$T/out" && [ ! -e "$T/run_$f/model.clf" ]; then
        ok "$f refused: $(head -1 "$T/out" | sed "s|$T/||")"
    else bad "$f: exit $rc, $(head -2 "$T/out")"; fi
done
# name = "../../x" must not write outside output.dir (issue 17 item 11).
mkdir -p "$T/out_dir/a/b"
for nm in '../../escaped' 'a/b' '..'; do
    printf 'name = "%s";\noutput = { dir = "%s/out_dir/a/b"; };\nbackend = { name = "reference"; };\ndata = { limit_train = 100; limit_test = 20; };\nmodel = { layers = ( { type = "dense"; units = 10; } ); };\ntrain = { epochs = 1; };\n' "$nm" "$T" > "$T/name.cfg"
    $CLF train "$T/name.cfg" --quiet >"$T/out" 2>&1; rc=$?
    if [ "$rc" -eq 1 ] && grep -q "name.cfg:1: name '$nm' must be a plain name" "$T/out" && [ ! -e "$T/out_dir/escaped" ] \
        && [ -z "$(ls -A "$T/out_dir/a/b")" ]; then ok "name '$nm' refused"
    else bad "name '$nm': exit $rc, $(head -1 "$T/out")"; fi
done
# A model to predict with.
cat > "$T/m.cfg" <<'CFG'
backend = { name = "reference"; };
data = { limit_train = 300; limit_test = 50; };
model = { layers = ( { type = "dense"; units = 10; } ); };
train = { epochs = 1; };
CFG
$CLF train "$T/m.cfg" --quiet --run-dir "$T/m" >/dev/null || { echo "FAIL: training"; exit 1; }
# An integer --set beyond int's range is refused as such (it read as "'epochs' = 0").
$CLF train "$T/m.cfg" --set train.epochs=99999999999999999999999 >"$T/out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q -- "--set train.epochs: 99999999999999999999999 is out of range for an integer" "$T/out" \
    && ok "huge --set integer refused" || bad "huge --set: exit $rc, $(head -1 "$T/out")"
pred() { # file expected-message-part
    $CLF predict "$T/m/model.clf" "$T/$1" >"$T/out" 2>&1; rc=$?
    if [ "$rc" -eq 1 ] && grep -q "$T/$1: .*$2" "$T/out"; then ok "$1 refused: $(sed "s|$T/||" "$T/out")"
    else bad "$1: exit $rc, $(head -2 "$T/out")"; fi
}
printf 'P5 16384 16384 255' > "$T/nodata.pgm";   pred nodata.pgm "no pixel data"
printf 'P5 1000 1000 255' > "$T/nodata2.pgm";    pred nodata2.pgm "no pixel data"
printf 'P5 4 4 255\nabc' > "$T/short.pgm";       pred short.pgm "truncated image data"
printf 'P2 2 1 15\n3 200\n' > "$T/maxval.pgm";   pred maxval.pgm "above the maxval 15"
printf 'P2 2 1 12345678901\n3 2\n' > "$T/big.pgm"; pred big.pgm "bad or unsupported PGM/PPM header"
{ printf 'P5\n28 28\n255\n'; zcat "$D/t10k-images-idx3-ubyte.gz" | tail -c +17 | head -c 784; } > "$T/good.pgm"
$CLF predict "$T/m/model.clf" "$T/good.pgm" >/dev/null 2>&1 && ok "a good PGM predicts" || bad "good PGM"
if command -v cjpeg >/dev/null; then
    cjpeg -quality 95 "$T/good.pgm" > "$T/good.jpg"
    size=$(wc -c < "$T/good.jpg")
    head -c $((size - 40)) "$T/good.jpg" > "$T/cut.jpg"   # scan data cut: libjpeg only warns
    pred cut.jpg "corrupt JPEG"
    $CLF predict "$T/m/model.clf" "$T/good.jpg" >/dev/null 2>&1 && ok "the uncut JPEG predicts" || bad "good JPEG"
fi
# Weights that are NaN/Inf behind a valid checksum: eval, predict and resume refuse them.
cat > "$T/nan.py" <<'PY'
import struct, sys, zlib
b = bytearray(open(sys.argv[1], 'rb').read())
tl, = struct.unpack_from('<I', b, 8)
p = 12 + tl + 4                                   # first tensor
nl, = struct.unpack_from('<I', b, p); p += 4 + nl
nd, = struct.unpack_from('<I', b, p); p += 4 + 4 * nd
struct.pack_into('<f', b, p + 8, float('nan'))    # its third element
struct.pack_into('<I', b, len(b) - 4, zlib.crc32(bytes(b[8:-4])))
open(sys.argv[2], 'wb').write(b)
PY
python3 "$T/nan.py" "$T/m/model.clf" "$T/nan.clf"
$CLF eval "$T/nan.clf" >"$T/out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q "nan.clf: tensor '.*' holds NaN at element 2" "$T/out" && ok "NaN weights refused by eval" \
    || bad "NaN weights: exit $rc, $(head -2 "$T/out")"
$CLF predict "$T/nan.clf" "$T/good.pgm" >"$T/out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q "holds NaN" "$T/out" && ok "NaN weights refused by predict" || bad "NaN predict: exit $rc"
cp -r "$T/m" "$T/m2" && python3 "$T/nan.py" "$T/m/checkpoints/last.ckpt" "$T/m2/checkpoints/last.ckpt"
$CLF train --resume "$T/m2" --epochs 2 --quiet >"$T/out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q "last.ckpt: tensor '.*' holds NaN" "$T/out" && ok "NaN checkpoint refused by resume" \
    || bad "NaN checkpoint: exit $rc, $(head -2 "$T/out")"
# Checkpoint metadata with a valid CRC but absurd numbers (issue 17 item 4).
cat > "$T/meta.py" <<'PY'
import re, struct, sys, zlib
b = open(sys.argv[1], 'rb').read()
tl, = struct.unpack_from('<I', b, 8)
text = b[12:12 + tl].decode()
text = re.sub(r'^' + sys.argv[3] + r'=.*$', sys.argv[3] + '=' + sys.argv[4], text, count=1, flags=re.M)
body = b[:8] + struct.pack('<I', len(text.encode())) + text.encode() + b[12 + tl:-4]
open(sys.argv[2], 'wb').write(body + struct.pack('<I', zlib.crc32(body[8:])))
PY
for kv in epoch=-5 epoch=abc epoch=0 step=9223372036854775807 step=-1; do
    rm -rf "$T/m3"; cp -r "$T/m" "$T/m3"
    python3 "$T/meta.py" "$T/m/checkpoints/last.ckpt" "$T/m3/checkpoints/last.ckpt" "${kv%%=*}" "${kv#*=}"
    $CLF train --resume "$T/m3" --epochs 2 --quiet >"$T/out" 2>&1; rc=$?
    if [ "$rc" -eq 1 ] && grep -q "last.ckpt: checkpoint metadata: ${kv%%=*} '${kv#*=}' is not" "$T/out"; then ok "checkpoint $kv refused"
    else bad "checkpoint $kv: exit $rc, $(head -1 "$T/out")"; fi
done
# A model.clf whose input shape or normalisation was edited (issue 17 items 5, 8).
cat > "$T/text.py" <<'PY'
import re, struct, sys, zlib
b = open(sys.argv[1], 'rb').read()
tl, = struct.unpack_from('<I', b, 8)
text = re.sub(sys.argv[3], sys.argv[4], b[12:12 + tl].decode(), count=1, flags=re.M)
body = b[:8] + struct.pack('<I', len(text.encode())) + text.encode() + b[12 + tl:-4]
open(sys.argv[2], 'wb').write(body + struct.pack('<I', zlib.crc32(body[8:])))
PY
i=0
for sub in 'input = \[.*\];|input = [ 784, 1, 1 ];|need 1 to 4 channels' 'std = \[.*\];|std = [ 0.0 ];|std must be a positive number' \
           'std = \[.*\];|std = [ -0.5 ];|std must be a positive number' 'mean = \[.*\];|mean = [ 0.1, 0.2 ];|one mean and std per channel'; do
    i=$((i + 1))
    IFS='|' read -r from to msg <<EOT
$sub
EOT
    python3 "$T/text.py" "$T/m/model.clf" "$T/edit$i.clf" "$from" "$to"
    for cmd in eval predict; do
        if [ "$cmd" = eval ]; then $CLF eval "$T/edit$i.clf" >"$T/out" 2>&1; else $CLF predict "$T/edit$i.clf" "$T/good.pgm" >"$T/out" 2>&1; fi
        rc=$?
        if [ "$rc" -eq 1 ] && grep -q "edit$i.clf: .*$msg" "$T/out"; then ok "$cmd refuses a model with '$to'"
        else bad "$cmd with '$to': exit $rc, $(head -1 "$T/out")"; fi
    done
done
echo "$fails failed"
[ "$fails" -eq 0 ]
