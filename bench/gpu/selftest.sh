#!/bin/bash
# bench/gpu/selftest.sh — the kit end to end HERE, on PoCL, from the packed tree alone.
#
#   bench/gpu/selftest.sh            # packs (unless GPU_KIT_NO_PACK=1), then runs
#
# 1. bench/gpu/pack.sh (skipped with GPU_KIT_NO_PACK=1 when bench/gpu/kit exists);
# 2. copies what the device tool would copy — tracked files, untracked files git
#    does not ignore, and the carried bench/gpu/kit — into a fresh temp directory,
#    and checks it is under 64 MiB;
# 3. runs bench/gpu/run.sh there with GPU_KIT_QUICK=1 under `env -i` (no
#    CLFORGE_*/LD_* variables from here) in a private mount namespace in which
#      - this source/build tree is hidden under an empty tmpfs, and
#      - the system's copy of every library the kit ships (except libz, which
#        this machine's python needs) is replaced by an empty file,
#    so a binary, module or library found outside the kit fails loudly;
#    (without root/unshare it runs without the namespace, and says so);
# 4. checks the summary: ldd, devices, parity, training and eval steps ok,
#    the torch step skipped with a reason (no torch/CUDA here), numbers present.
# Takes 1.5-5 minutes on 2 CPUs (PoCL compiles every kernel cold). Not part of
# `make check` for that reason; tests/test_gpu_kit.sh is its ~20 s smoke part there.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
say() { printf 'selftest: %s\n' "$*"; }
die() { printf 'selftest: FAIL: %s\n' "$*" >&2; exit 1; }

if [ "${GPU_KIT_NO_PACK:-0}" = 1 ] && [ -f "$here/kit/clforge-kit.tar.gz" ]; then
    say "using the existing kit (GPU_KIT_NO_PACK=1)"
else
    "$here/pack.sh"
fi

tmp=$(mktemp -d /tmp/clforge-gpu-selftest.XXXXXX)
keep=${GPU_KIT_KEEP:-0}
trap '[ "$keep" = 1 ] || rm -rf "$tmp"' EXIT
repo=$tmp/repo
mkdir -p "$repo" "$tmp/home" "$tmp/out"
# What the device tool copies: tracked + untracked-not-ignored + the carry.
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' _ |
    tar --null -T - -cf -) | tar -C "$repo" -xf -
cp -r "$here/kit" "$repo/bench/gpu/kit"
size=$(du -sb "$repo" | cut -f1)
say "copied tree + kit: $(awk -v b="$size" 'BEGIN {printf "%.1f MiB", b / 1048576}') in $repo"
[ "$size" -le $((64 * 1048576)) ] || die "the copy is over the tool's 64 MiB"
[ ! -e "$repo/Makefile" ] && [ ! -e "$repo/clforge" ] && [ ! -d "$repo/.libs" ] || die "build products leaked into the copy"

# Libraries to hide: the system copies of the kit's lib/ (not lib-compat/).
hide=""
for so in $(tar -tzf "$here/kit/clforge-kit.tar.gz" | sed -n 's|^\./lib/\([^/]*\.so[^/]*\)$|\1|p'); do
    case $so in libz.so.*|libclforge.so.*) continue ;; esac
    for d in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu; do
        [ -e "$d/$so" ] && hide="$hide $(readlink -f "$d/$so")"
    done
done
hide=$(echo "$hide" | tr ' ' '\n' | sort -u | tr '\n' ' ')
: >"$tmp/empty"

inner=$tmp/inner.sh
cat >"$inner" <<EOF
set -eu
if [ "\${1:-}" = ns ]; then
    mount -t tmpfs -o ro none "$top"
    for f in $hide; do mount --bind "$tmp/empty" "\$f"; done
    echo "selftest: namespace: $top hidden; system copies hidden: $hide"
fi
cd "$repo"
exec env -i PATH=/usr/bin:/bin HOME="$tmp/home" LANG=C.UTF-8 GPU_KIT_QUICK=1 \
    \${GPU_KIT_STEPS:+GPU_KIT_STEPS=\$GPU_KIT_STEPS} bash bench/gpu/run.sh "$tmp/out"
EOF
rc=0
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
    GPU_KIT_STEPS=${GPU_KIT_STEPS:-} unshare -m bash "$inner" ns || rc=$?
else
    say "no root/unshare: running WITHOUT hiding the build tree and the system libraries"
    GPU_KIT_STEPS=${GPU_KIT_STEPS:-} bash "$inner" || rc=$?
fi
say "run.sh exit status $rc"

# ---- the checks --------------------------------------------------------------------
s=$tmp/out/summary.md
[ -f "$s" ] && [ -f "$tmp/out/summary.json" ] && [ -f "$tmp/out/run.log" ] && [ -f "$tmp/out/logs.tar.gz" ] ||
    die "run.sh did not write summary.md, summary.json, run.log, logs.tar.gz"
n=$(find "$tmp/out" -type f | wc -l)
[ "$n" -le 8 ] || die "run.sh wrote $n files into OUT; the device tool brings back 8"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$tmp/out/summary.json" || die "summary.json is not JSON"
fails=0
check() { if grep -qE "$2" "$s"; then say "ok   $1"; else say "FAIL $1 (no /$2/ in summary.md)"; fails=$((fails + 1)); fi; }
steps=${GPU_KIT_STEPS:-env,ldd,devices,parity,cnn,resnet20,torch,opencl-tests}
want() { case ",$steps," in *",$1,"*) return 0 ;; esac; return 1; }
want ldd && check "every non-glibc library resolves into the kit" '^\| ldd \| ok \|'
want devices && check "clforge devices lists PoCL" '^- OpenCL device .*PoCL'
want parity && check "parity opencl vs reference passes" '^- parity .*[0-9]+ cases, 0 differ.*\[rc 0\]'
want opencl-tests && check "test_opencl passes" '^- test_opencl: 100%.*\[rc 0\]'
for m in cnn resnet20; do
    want $m || continue
    check "train-$m ok" "^\\| train-$m \\| ok \\|"
    check "eval-$m ok" "^\\| eval-$m \\| ok \\|"
    check "$m row has clforge train and infer img/s" "^\\| $m \\| [0-9]+ \\| [0-9]+ \\| [^|]* \\| [^|]* \\| [0-9]+ \\|"
done
want torch && check "torch step skipped with a reason" '^- PyTorch: torch: SKIP \(.+\)'
echo
cat "$s"
echo
[ "$rc" = 0 ] || { say "FAIL: run.sh exited $rc"; fails=$((fails + 1)); }
[ "$fails" = 0 ] || die "$fails check(s) failed; logs: $tmp/out/run.log (GPU_KIT_KEEP=1 keeps $tmp)"
say "PASS (the kit packs and runs end to end from the copied tree, on PoCL)"
