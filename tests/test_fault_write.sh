#!/bin/sh
# The write-failure sweep, bounded (tests/fault/write_sweep.sh with about 12
# failure points per command, ENOSPC and EIO alternating): a resumed run, a
# fresh run and a tune study each end in an error naming the file or
# complete; the last good checkpoint and model.clf stay whole and a later
# resume equals an uninterrupted run. The full sweep is `make fault-sweep`.
set -u
S=${CF_TEST_SRCDIR:-.}
SO=$PWD/tests/fault/.libs/failwrite.so
[ -r "$SO" ] || { echo "FAIL: $SO not built"; exit 1; }
command -v python3 >/dev/null || { echo "no python3: skip"; exit 77; }
# LD_PRELOAD'ed interposers cannot come before AddressSanitizer's runtime.
if ldd .libs/clforge 2>/dev/null | grep -q 'libasan'; then echo "sanitizer build: skip"; exit 77; fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
sh "$S/tests/fault/write_sweep.sh" ./clforge "$SO" "$T" 0 both
