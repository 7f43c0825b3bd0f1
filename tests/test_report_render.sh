#!/bin/sh
# Render the fixture run's report.html in headless Chromium and check that the
# screenshot is not blank and the SVGs are there. Skips (77) without Chromium.
# Keeps the screenshot in tests/report-render/report.png for a human to look at.
set -u
CHROME=
for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then CHROME=$c; break; fi
done
if [ -z "$CHROME" ]; then
    echo "SKIP: no chromium (apt-get install chromium)"
    exit 77
fi
out=tests/report-render
rm -rf "$out" && mkdir -p "$out/profile" || exit 99
if ! CF_REPORT_OUT="$out/run1" CK_RUN_CASE=report CK_VERBOSITY=silent ./tests/test_report; then
    echo "FAIL: tests/test_report did not write the fixture report"
    exit 1
fi
html="$out/run1/report.html"
nsvg=$(grep -o '<svg' "$html" | wc -l)
if [ "$nsvg" -lt 4 ]; then
    echo "FAIL: $html has $nsvg SVGs, want 4 (loss, accuracy, learning rate, confusion)"
    exit 1
fi
# An empty page with the report's background is the blank reference.
printf '<!DOCTYPE html><html><body style="margin:0;background:#f4f5f7"></body></html>\n' >"$out/blank.html"
shoot() {
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$PWD/$out/profile" --window-size=1280,3200 \
        --screenshot="$PWD/$2" "file://$PWD/$1" >"$out/chromium.log" 2>&1
}
shoot "$html" "$out/report.png" || { echo "FAIL: chromium failed, see $out/chromium.log"; exit 1; }
shoot "$out/blank.html" "$out/blank.png" || { echo "FAIL: chromium failed on a blank page"; exit 1; }
for f in report blank; do
    if [ ! -s "$out/$f.png" ]; then echo "FAIL: no $out/$f.png"; cat "$out/chromium.log"; exit 1; fi
done
size=$(wc -c <"$out/report.png")
blank=$(wc -c <"$out/blank.png")
echo "screenshot $out/report.png: $size bytes (blank page: $blank bytes)"
# A blank 1280x3200 page compresses to a few KB; the report has text, curves
# and the heat map, which cost far more.
if [ "$size" -lt $((blank * 10)) ] || [ "$size" -lt 60000 ]; then
    echo "FAIL: the screenshot looks blank"
    exit 1
fi
# Pixel check when a Python is at hand (stdlib only): share of pixels that
# differ from the background, and the heat map's darkest blue present.
PY=
for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1; then PY=$p; break; fi
done
if [ -n "$PY" ]; then
    "$PY" - "$out/report.png" <<'PYEOF' || exit 1
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, w = 8, b'', 0
while pos < len(data):
    n, t = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if t == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        assert depth == 8 and ctype in (2, 6), 'unexpected PNG format'
        bpp = 3 if ctype == 2 else 4
    elif t == b'IDAT':
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
bg = (0xf4, 0xf5, 0xf7)
differ = dark = blue = orange = 0
near = lambda p, q: max(abs(p[0] - q[0]), abs(p[1] - q[1]), abs(p[2] - q[2])) < 40
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + ((a + b) >> 1)) & 255
        elif f == 4:
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp * 2):  # every other pixel is enough
        px = (line[x], line[x + 1], line[x + 2])
        if px != bg: differ += 1
        if px[2] < 140 and px[0] < 40: dark += 1
        if near(px, (0x1c, 0x7e, 0xd6)): blue += 1      # training curves
        if near(px, (0xe8, 0x59, 0x0c)): orange += 1    # validation curves
    prev = line
total = h * ((w + 1) // 2)
print('pixels differing from background: %.1f%%, heat-map dark blue: %d, training-curve blue: %d, '
      'validation-curve orange: %d' % (100.0 * differ / total, dark, blue, orange))
if differ < total * 0.2: sys.exit('FAIL: screenshot nearly blank')
if dark < 500: sys.exit('FAIL: no heat-map cells visible')
if blue < 200 or orange < 200: sys.exit('FAIL: learning curves not visible')
PYEOF
fi
echo "ok"
