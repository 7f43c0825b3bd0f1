#!/bin/sh
# The fuzz targets' seed corpora (tests/fuzz/corpus/<target>/) as a regression
# test: every file, including each input a fuzzer once crashed on, is fed to
# its target once (tests/fuzz/driver.c) and must return without a crash, a
# sanitizer report or a hang. Fast: a few hundred small files.
set -u
S=${CF_TEST_SRCDIR:-.}
fails=0
for t in config json model checkpoint idx image recordio lst cifar journal manifest onnx; do
    exe=tests/fuzz/fuzz_$t
    [ -x "$exe" ] || { echo "FAIL: $exe not built"; fails=$((fails + 1)); continue; }
    if out=$(timeout 120 "$exe" "$S/tests/fuzz/corpus/$t" 2>&1); then
        echo "ok: $(echo "$out" | tail -n 1)"
    else
        echo "$out" | tail -n 40
        echo "FAIL: fuzz_$t over its corpus"
        fails=$((fails + 1))
    fi
done
[ "$fails" -eq 0 ]
