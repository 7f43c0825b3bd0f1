#!/bin/sh
# The allocation-failure sweep, bounded (tests/fault/alloc_sweep.sh with about
# 20 failure points per command: train, eval, tune): each faulted run ends in
# a clean error or completes correctly, leaving no half-written file. The full
# sweep (every allocation) is `make fault-sweep`.
set -u
S=${CF_TEST_SRCDIR:-.}
SO=$PWD/tests/fault/.libs/failalloc.so
[ -r "$SO" ] || { echo "FAIL: $SO not built"; exit 1; }
command -v python3 >/dev/null || { echo "no python3: skip"; exit 77; }
# An LD_PRELOAD'ed malloc cannot sit beside AddressSanitizer's.
if ldd .libs/clforge 2>/dev/null | grep -q 'libasan'; then echo "sanitizer build: skip"; exit 77; fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
sh "$S/tests/fault/alloc_sweep.sh" ./clforge "$SO" "$T" 0
