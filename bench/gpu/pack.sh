#!/bin/bash
# bench/gpu/pack.sh — build the self-contained device kit (issue 18), HERE.
#
#   bench/gpu/pack.sh            # -> bench/gpu/kit/ (git-ignored; carry it to the device)
#
# bench/gpu/kit/ holds:
#   clforge-kit.tar.gz   bin/clforge, lib/libclforge.so.0, lib/clforge/ (backend and
#                        plugin modules), tests/test_parity + test_opencl, src/ (the
#                        two source files test_opencl reads), lib/ (every non-glibc
#                        shared library those need, taken from the Debian packages
#                        with apt-get download + dpkg -x), lib-compat/ (libstdc++,
#                        libgcc_s: used on the device only when it lacks them)
#   data/                Fashion-MNIST slices (IDX, gzip): 12,800 training images,
#                        the 10,000 test images, and a 512-image test slice (quick mode)
#   MANIFEST.txt         every file of the tarball's lib/ with its package, version,
#                        sha256; the build's commit; the newest glibc symbol needed
#
# The libraries are compressed (openblas alone is 36 MB) so the kit plus the
# working tree stay well under the device tool's 64 MiB carry limit.
#
# Environment:
#   GPU_KIT_WITH_CPU=1      also pack the cpu backend (+ libdnnl2 40 MB, libgomp1)
#   GPU_KIT_TRAIN_IMAGES=N  training images in the slice (default 12800)
#   GPU_KIT_DEB_CACHE=DIR   where downloaded .debs are kept (default ~/.cache/clforge-gpu-kit)
#   FASHION_MNIST_DIR=DIR   source data (default /usr/share/datasets/fashion-mnist)
#   GPU_KIT_OUT=DIR         write the kit here instead of bench/gpu/kit
#   GPU_KIT_GZIP_LEVEL=N    gzip level of the tarball (default 9; tests/test_gpu_kit.sh uses 1)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
kit=${GPU_KIT_OUT:-$here/kit}
with_cpu=${GPU_KIT_WITH_CPU:-0}
train_n=${GPU_KIT_TRAIN_IMAGES:-12800}
debcache=${GPU_KIT_DEB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clforge-gpu-kit}
data_src=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
limit_mib=60   # the device tool refuses more than 64 MiB; keep a margin

say() { printf 'pack: %s\n' "$*"; }
die() { printf 'pack: ERROR: %s\n' "$*" >&2; exit 1; }

for tool in apt-get dpkg dpkg-query readelf ldd tar gzip sha256sum python3; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (this script runs on the Debian build machine)"
done

stage=$(mktemp -d /tmp/clforge-gpu-pack.XXXXXX)
trap 'rm -rf "$stage"' EXIT
root=$stage/kit          # becomes clforge-kit.tar.gz
mkdir -p "$root/bin" "$root/lib/clforge" "$root/lib-compat" "$root/tests" \
         "$root/src/engine/include/clforge" "$stage/debs" "$stage/x"

# ---- 1. the build of this tree ---------------------------------------------------
cd "$top"
if [ ! -f Makefile ]; then
    say "no Makefile in $top: running ./autogen.sh && ./configure"
    ./autogen.sh >"$stage/autogen.log" 2>&1 || { tail -20 "$stage/autogen.log"; die "autogen.sh failed"; }
    ./configure >"$stage/configure.log" 2>&1 || { tail -20 "$stage/configure.log"; die "configure failed"; }
fi
say "building ($(git -C "$top" describe --always --dirty 2>/dev/null || echo 'not a git tree'))"
make -j"$(nproc)" >"$stage/make.log" 2>&1 || { tail -30 "$stage/make.log"; die "make failed"; }
make -j"$(nproc)" tests/test_parity tests/test_opencl >>"$stage/make.log" 2>&1 ||
    { tail -30 "$stage/make.log"; die "building tests/test_parity tests/test_opencl failed"; }
make install DESTDIR="$stage/inst" >"$stage/install.log" 2>&1 ||
    { tail -30 "$stage/install.log"; die "make install DESTDIR=... failed"; }

# Installed files: find them rather than assume the configured prefix.
bin=$(find "$stage/inst" -type f -path '*/bin/clforge' | head -1)
lib=$(find "$stage/inst" -name 'libclforge.so.0.*' -type f | head -1)
moddir=$(find "$stage/inst" -type f -name 'cf_backend_reference.so' -printf '%h\n' | head -1)
[ -n "$bin" ] && [ -n "$lib" ] && [ -n "$moddir" ] || die "make install did not produce bin/clforge, libclforge.so.0, the modules"
[ -f "$moddir/cf_backend_opencl.so" ] ||
    die "this build has no OpenCL backend (configure found no OpenCL/clblast): install ocl-icd-opencl-dev libclblast-dev and reconfigure"
cp "$bin" "$root/bin/clforge"
cp "$lib" "$root/lib/libclforge.so.0"
for m in "$moddir"/*.so; do
    case $(basename "$m") in
    cf_backend_cpu.so) [ "$with_cpu" = 1 ] || { say "leaving out cf_backend_cpu.so (needs libdnnl2, 40 MB; GPU_KIT_WITH_CPU=1 packs it)"; continue; } ;;
    esac
    cp "$m" "$root/lib/clforge/"
done
# The test programs: libtool keeps the real executables in tests/.libs/.
for t in test_parity test_opencl; do
    exe=tests/.libs/$t
    [ -f "$exe" ] || exe=tests/.libs/lt-$t
    [ -f "$exe" ] && readelf -h "$exe" >/dev/null 2>&1 || die "tests/.libs/$t is not an ELF executable"
    cp "$exe" "$root/tests/$t"
done
cp kernels.cl "$root/src/kernels.cl"
cp engine/include/clforge/philox.h "$root/src/engine/include/clforge/philox.h"

# ---- 2. the shared libraries they need, from Debian packages --------------------
is_glibc() {
    case $1 in
    libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|libutil.so.*|\
    ld-linux*|linux-vdso*|libmvec.so.*|libanl.so.*|libnsl.so.*|libBrokenLocale.so.*) return 0 ;;
    esac
    return 1
}
# libstdc++/libgcc_s: the device's copy is used when it has one that is new
# enough (run.sh checks with ldd); Debian 12's (GCC 12) is only a fallback.
is_compat() { case $1 in libstdc++.so.*|libgcc_s.so.*) return 0 ;; esac; return 1; }

owner() {   # the package owning a file; merged /usr: try /lib and /usr/lib forms
    local p=$1 alt
    case $p in /usr/lib/*) alt=${p#/usr} ;; /lib/*) alt=/usr$p ;; *) alt=$p ;; esac
    { dpkg -S "$p" 2>/dev/null || dpkg -S "$alt" 2>/dev/null; } | head -1 | cut -d: -f1
}

: >"$stage/needs"   # soname realpath
objs=$(find "$root/bin" "$root/lib" "$root/tests" -type f)
for o in $objs; do
    LD_LIBRARY_PATH=$root/lib ldd "$o" >"$stage/ldd.out" 2>&1 || true
    if grep -q 'not found' "$stage/ldd.out"; then
        cat "$stage/ldd.out"; die "$o: a library is not found on this machine"
    fi
    awk '/=>/ && $3 ~ /^\// {print $1, $3}' "$stage/ldd.out" >>"$stage/needs"
done
sort -u "$stage/needs" -o "$stage/needs"

: >"$stage/plan"    # soname realpath package version
while read -r so path; do
    is_glibc "$so" && continue
    case $path in "$root"/*) continue ;; esac      # libclforge.so.0 itself
    real=$(readlink -f "$path")
    pkg=$(owner "$real")
    [ -n "$pkg" ] || die "$so ($real) belongs to no Debian package; cannot fetch it reproducibly"
    ver=$(dpkg-query -W -f '${Version}' "$pkg")
    echo "$so $real $pkg $ver" >>"$stage/plan"
done <"$stage/needs"

mkdir -p "$debcache"
for pv in $(awk '{print $3 "=" $4}' "$stage/plan" | sort -u); do
    pkg=${pv%%=*} ver=${pv#*=}
    deb=$(ls "$debcache/${pkg}_"*"_amd64.deb" 2>/dev/null | grep -F "_$(echo "$ver" | sed 's/:/%3a/')_" | head -1 || true)
    if [ -z "$deb" ]; then
        say "apt-get download $pv"
        (cd "$debcache" && timeout 120 apt-get download "$pv" >"$stage/apt.log" 2>&1) ||
            { cat "$stage/apt.log"; die "apt-get download $pv failed (no network or no such version in the archive)"; }
        deb=$(ls -t "$debcache/${pkg}_"*.deb | head -1)
    fi
    dpkg -x "$deb" "$stage/x/$pkg"
done

: >"$root/lib/MANIFEST"
while read -r so real pkg ver; do
    case $real in /usr/lib/*) alt=${real#/usr} ;; /lib/*) alt=/usr$real ;; *) alt=$real ;; esac
    src=$stage/x/$pkg$real
    [ -e "$src" ] || src=$stage/x/$pkg$alt
    [ -e "$src" ] || die "$pkg does not contain $real"
    src=$(readlink -f "$src")
    dest=lib
    is_compat "$so" && dest=lib-compat
    cp "$src" "$root/$dest/$so"
    sum=$(sha256sum "$root/$dest/$so" | cut -c1-64)
    same=$( [ "$sum" = "$(sha256sum "$real" | cut -c1-64)" ] && echo same-as-installed || echo DIFFERS-from-installed)
    printf '%-22s %-11s %s=%s %s %s\n' "$so" "$dest" "$pkg" "$ver" "$sum" "$same" >>"$root/lib/MANIFEST"
done <"$stage/plan"
if grep -q DIFFERS "$root/lib/MANIFEST"; then
    grep DIFFERS "$root/lib/MANIFEST"
    say "WARNING: the package copy differs from the installed file (local modification?)"
fi

# Every library the kit's libraries need in turn must be in the kit (or glibc).
for o in "$root"/lib/*.so* "$root"/lib-compat/*.so*; do
    for so in $(readelf -d "$o" | awk '/NEEDED/ {gsub(/[][]/, "", $5); print $5}'); do
        is_glibc "$so" && continue
        [ -e "$root/lib/$so" ] || [ -e "$root/lib-compat/$so" ] || die "$(basename "$o") needs $so, which the kit lacks"
    done
done

glibc_max=$(find "$root" -type f \( -name '*.so*' -o -perm -u+x \) -exec objdump -T {} + 2>/dev/null |
    grep -o 'GLIBC_[0-9.]*' | sort -u -V | tail -1)
glibcxx_max=$(find "$root" -type f \( -name '*.so*' -o -perm -u+x \) ! -path '*/lib-compat/*' -exec objdump -T {} + 2>/dev/null |
    grep -o 'GLIBCXX_[0-9.]*' | sort -u -V | tail -1)

# ---- 3. data slices -----------------------------------------------------------------
rm -rf "$kit"
mkdir -p "$kit/data"
[ -f "$data_src/train-images-idx3-ubyte.gz" ] || die "no Fashion-MNIST in $data_src (set FASHION_MNIST_DIR)"
python3 - "$data_src" "$kit/data" "$train_n" <<'EOF'
import gzip, os, sys
src, dst, n_train = sys.argv[1], sys.argv[2], int(sys.argv[3])
def slice_idx(name, n, out):
    with gzip.open(os.path.join(src, name), "rb") as f:
        buf = bytearray(f.read())
    ndim = buf[3]
    hdr = 4 + 4 * ndim
    total = int.from_bytes(buf[4:8], "big")
    n = min(n, total)
    rec = 1
    for d in range(1, ndim):
        rec *= int.from_bytes(buf[4 + 4 * d:8 + 4 * d], "big")
    buf[4:8] = n.to_bytes(4, "big")
    with gzip.GzipFile(os.path.join(dst, out), "wb", mtime=0) as f:
        f.write(bytes(buf[:hdr + n * rec]))
for kind, n, pre in (("train", n_train, "train"), ("t10k", 10000, "t10k"),
                     ("t10k", 512, "quick-t10k")):
    for part in ("images-idx3", "labels-idx1"):
        slice_idx("%s-%s-ubyte.gz" % (kind, part), n, "%s-%s-ubyte.gz" % (pre, part))
EOF

# ---- 4. the tarball and the manifest -------------------------------------------------
tar -C "$root" --owner=0 --group=0 --numeric-owner -cf - . | gzip "-${GPU_KIT_GZIP_LEVEL:-9}" -n >"$kit/clforge-kit.tar.gz"
{
    echo "clforge GPU kit (bench/gpu/pack.sh) — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git -C "$top" rev-parse HEAD 2>/dev/null || echo unknown) $(git -C "$top" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo '(with local changes)')"
    echo "built on: $(. /etc/os-release && echo "$PRETTY_NAME"), $(ldd --version | head -1)"
    echo "needs on the device: glibc >= ${glibc_max#GLIBC_}; libstdc++ with ${glibcxx_max:-no GLIBCXX symbol} (else lib-compat/ is used)"
    echo "modules: $(cd "$root/lib/clforge" && ls | tr '\n' ' ')"
    echo
    echo "soname                 dir         package=version sha256 check"
    cat "$root/lib/MANIFEST"
    echo
    echo "data (Fashion-MNIST slices from $data_src):"
    (cd "$kit/data" && ls -l | awk 'NR>1 {print "  " $5, $9}')
    echo
    echo "tarball contents:"
    (cd "$root" && find . -type f -printf '  %10s %P\n' | sort -k2)
} >"$kit/MANIFEST.txt"

# ---- 5. sizes ---------------------------------------------------------------------------
raw=$(du -sb "$root" | cut -f1)
kitb=$(du -sb "$kit" | cut -f1)
tracked=$(cd "$top" && git ls-files -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
untracked=$(cd "$top" && git ls-files -z --others --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
total=$((kitb + tracked + ${untracked:-0}))
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
say "kit: $kit"
sed -n '2,5p' "$kit/MANIFEST.txt" | sed 's/^/pack:   /'
say "libraries: $(awk '{printf "%s ", $1}' "$root/lib/MANIFEST")"
say "tarball $(mib "$(stat -c %s "$kit/clforge-kit.tar.gz")") ($(mib "$raw") unpacked), data $(mib "$(du -sb "$kit/data" | cut -f1)"), kit $(mib "$kitb")"
say "device carry: kit $(mib "$kitb") + tracked tree $(mib "$tracked") + untracked-not-ignored $(mib "${untracked:-0}") = $(mib "$total") (tool limit 64 MiB)"
[ "$total" -le $((limit_mib * 1048576)) ] || die "the carry would be $(mib "$total"), over ${limit_mib} MiB"
say "done: carry [\"bench/gpu/kit\"] and run 'bash bench/gpu/run.sh' (see bench/gpu/README.md)"
