#!/bin/sh
# clforge im2rec against MXNet's own im2rec.py output (committed in
# tests/fixtures/recordio by make_fixtures.py): the .lst byte for byte (class
# numbering by sorted folder name, im2rec.py's seeded shuffle), the ratio
# split, --no-shuffle, the same .rec whatever --num-thread, and bad input.
set -u
CLF=./clforge
F="${CF_TEST_SRCDIR:-.}/tests/fixtures/recordio"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }

$CLF im2rec --list --recursive "$T/a" "$F/tree" > "$T/out" || bad "--list exit status"
grep -q '^ant 0$' "$T/out" && grep -q '^cat 2$' "$T/out" && ok "classes printed in sorted order" || bad "class lines: $(cat "$T/out")"
cmp -s "$T/a.lst" "$F/mx_im2rec.lst" && ok ".lst equals MXNet im2rec.py's byte for byte" || bad ".lst differs from MXNet's"

$CLF im2rec --list --recursive --train-ratio 0.5 --test-ratio 0.2 "$T/r" "$F/tree" > /dev/null
[ "$(wc -l < "$T/r_train.lst")" -eq 3 ] && [ "$(wc -l < "$T/r_val.lst")" -eq 2 ] && [ "$(wc -l < "$T/r_test.lst")" -eq 1 ] &&
    ok "ratios: 3 train, 2 val, 1 test (im2rec.py's int(6*0.5), rest, int(6*0.2))" || bad "ratio split"
[ ! -e "$T/r.lst" ] && ok "no PREFIX.lst with ratios" || bad "PREFIX.lst written with ratios"

$CLF im2rec --list --recursive --no-shuffle "$T/n" "$F/tree" > /dev/null
[ "$(cut -f1,2 "$T/n.lst" | tr '\t\n' ' ;')" = "0 0.000000;1 0.000000;2 1.000000;3 1.000000;4 2.000000;5 2.000000;" ] &&
    ok "--no-shuffle keeps walk order" || bad "--no-shuffle: $(cat "$T/n.lst")"

$CLF im2rec --list "$T/flat" "$F/tree" > /dev/null 2>&1 && bad "no images at the top level should fail" || ok "non-recursive with no top-level images is an error"

$CLF im2rec "$T/a" "$F/tree" > /dev/null || bad "making the .rec"
[ "$(wc -l < "$T/a.idx")" -eq 6 ] && ok ".idx has 6 lines" || bad ".idx lines"
cut -f1 "$T/a.idx" | tr '\n' ' ' | grep -q '^2 5 0 4 3 1 $' && ok ".idx keys are the .lst indices, in .lst order" || bad ".idx keys: $(cat "$T/a.idx")"
if cmp -s "$T/a.rec" "$F/mx_im2rec.rec"; then ok ".rec equals MXNet im2rec.py's byte for byte (same libjpeg-turbo)"
else echo "note: .rec differs from MXNet's bytes (another JPEG library); test_recordio checks its contents"; fi
mkdir "$T/t4" && cp "$T/a.lst" "$T/t4/a.lst"
$CLF im2rec --num-thread 4 "$T/t4/a" "$F/tree" > /dev/null
cmp -s "$T/a.rec" "$T/t4/a.rec" && cmp -s "$T/a.idx" "$T/t4/a.idx" && ok "--num-thread 4 writes the same bytes" || bad "--num-thread 4 output differs"
mkdir "$T/pt" && cp "$T/a.lst" "$T/pt/a.lst"
$CLF im2rec --pass-through "$T/pt/a" "$F/tree" > /dev/null
[ "$(wc -c < "$T/pt/a.rec")" -gt 3000 ] && ok "--pass-through" || bad "--pass-through"
mkdir "$T/png" && cp "$T/a.lst" "$T/png/a.lst"
$CLF im2rec --encoding .png --quality 9 --resize 4 --center-crop "$T/png/a" "$F/tree" > /dev/null
od -An -c -j 32 -N 4 "$T/png/a.rec" | grep -q 'P   N   G' && ok "--encoding .png stores PNG" || bad "PNG payload"

# bad input: a .lst line that does not parse and a missing image are skipped and named
mkdir "$T/b"
printf '0\t0\tant/img0.jpg\nnot a line\n1\t0\tant/missing.jpg\n2\t1\tbee/img0.jpg\n' > "$T/b/b.lst"
$CLF im2rec "$T/b/b" "$F/tree" > "$T/bout" 2>&1 || bad "bad lines should be skipped, not fatal"
grep -q 'b.lst:2: skipped' "$T/bout" && grep -q 'b.lst:3: skipped: .*missing.jpg' "$T/bout" && grep -q '2 records, 1 skipped' "$T/bout" &&
    ok "unparsable line and missing image named" || bad "skip messages: $(cat "$T/bout")"
if $CLF im2rec "$T/none" "$F/tree" 2> "$T/err"; then bad "no .lst should fail"
elif grep -q "no .lst file with prefix" "$T/err"; then ok "no .lst: error"; else bad "no .lst message"; fi
$CLF im2rec --color 2 "$T/a" "$F/tree" 2>/dev/null; [ $? -eq 2 ] && ok "--color 2 refused" || bad "--color 2"
$CLF im2rec --frobnicate "$T/a" "$F/tree" 2>/dev/null; [ $? -eq 2 ] && ok "unknown option refused" || bad "unknown option"

echo "$fails failed"
[ "$fails" -eq 0 ]
