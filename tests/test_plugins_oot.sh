#!/bin/sh
# The out-of-tree plugin story end to end: install clforge into a scratch
# prefix, build examples/plugins/lion.c with nothing but that install's
# pkg-config and headers (exactly as the README tells a user), then check
# that clforge finds the new optimizer through CLFORGE_PLUGIN_PATH and
# through a config's plugin_path, shows its parameter table, and trains a
# few steps with it.
set -eu

srcdir=${CF_TEST_SRCDIR:-${srcdir:-.}}
builddir=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cf-oot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "test_plugins_oot: FAIL: $*" >&2; exit 1; }

# 1. Install into a DESTDIR; PKG_CONFIG_SYSROOT_DIR makes pkg-config point
#    into it (the .pc file names the configured prefix).
make -s -C "$builddir" install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1 ||
    { tail -20 "$tmp/install.log" >&2; fail "make install DESTDIR=$tmp/root"; }
pc=$(find "$tmp/root" -name clforge.pc | head -n 1)
[ -n "$pc" ] || fail "clforge.pc was not installed"
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR="$tmp/root"
PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH # only this install, never the system's
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
cflags=$(pkg-config --cflags clforge) || fail "pkg-config --cflags clforge"
libs=$(pkg-config --libs clforge) || fail "pkg-config --libs clforge"
case "$cflags" in *"$tmp/root"*) ;; *) fail "pkg-config gave '$cflags', not the scratch install" ;; esac

# 2. Build the example exactly as documented, against the installed headers
#    only (a copy of the file, so the source tree's headers are out of reach).
mkdir -p "$tmp/src" "$tmp/plugins"
cp "$srcdir/examples/plugins/lion.c" "$tmp/src/"
#    -Wl,--no-undefined: every symbol it uses comes from libclforge, none
#    from the program that loads it.
${CC:-cc} $cflags -std=c11 -Wall -Wextra -Werror -shared -fPIC -Wl,--no-undefined \
    -o "$tmp/plugins/cf_optimizer_lion.so" "$tmp/src/lion.c" $libs || fail "building lion.c"
# ...and with the example's own Makefile, PKG_CONFIG_PATH given both ways the
# README documents: on make's command line (GNU make < 4.4 keeps it out of
# $(shell ...) unless the Makefile passes it on) and in the environment.
mk() { # mk DIR [make args...]: run the example Makefile in a fresh copy
    d=$1; shift
    mkdir -p "$d" && cp "$srcdir/examples/plugins/lion.c" "$d/"
    make -s -C "$d" -f "$srcdir/examples/plugins/Makefile" LDFLAGS=-Wl,--no-undefined "$@" \
        >"$d/make.log" 2>&1 || { cat "$d/make.log" >&2; return 1; }
    [ -f "$d/cf_optimizer_lion.so" ] || { echo "the example Makefile built nothing in $d" >&2; return 1; }
}
pcp=$PKG_CONFIG_PATH
mkdir -p "$tmp/empty" # PKG_CONFIG_LIBDIR: only PKG_CONFIG_PATH can find clforge.pc
(unset PKG_CONFIG_PATH; PKG_CONFIG_LIBDIR="$tmp/empty"; mk "$tmp/mk_cmdline" PKG_CONFIG_PATH="$pcp") ||
    fail "make -f examples/plugins/Makefile PKG_CONFIG_PATH=... (command-line form)"
(PKG_CONFIG_PATH=$pcp PKG_CONFIG_LIBDIR="$tmp/empty"; export PKG_CONFIG_PATH; mk "$tmp/mk_env") ||
    fail "PKG_CONFIG_PATH=... make -f examples/plugins/Makefile (environment form)"

# 3. The installed clforge finds it through CLFORGE_PLUGIN_PATH.
bin=$(find "$tmp/root" -type f -name clforge -perm -u+x | head -n 1)
lib=$(dirname "$(find "$tmp/root" -name 'libclforge.so*' | head -n 1)")
plugdir=$(dirname "$(find "$tmp/root" -name cf_optimizer_sgd.so | head -n 1)")
run_installed() {
    LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        CLFORGE_PLUGIN_PATH="$tmp/plugins:$plugdir" "$bin" "$@"
}
run_installed plugins >"$tmp/list.txt" 2>&1 || { cat "$tmp/list.txt" >&2; fail "clforge plugins"; }
grep -E '^optimizer +lion +1\.0\.0' "$tmp/list.txt" >/dev/null ||
    { cat "$tmp/list.txt" >&2; fail "lion is not in 'clforge plugins'"; }
grep "$tmp/plugins/cf_optimizer_lion.so" "$tmp/list.txt" >/dev/null || fail "lion's file not shown"
run_installed plugins lion >"$tmp/lion.txt" 2>&1 || { cat "$tmp/lion.txt" >&2; fail "clforge plugins lion"; }
for p in learning_rate beta_1 beta_2 weight_decay; do
    grep -w "$p" "$tmp/lion.txt" >/dev/null || { cat "$tmp/lion.txt" >&2; fail "'clforge plugins lion' lacks $p"; }
done

# 4. Its update equals the textbook rule on every backend (the in-tree
#    optimizer test, pointed at the new plugin).
CLFORGE_PLUGIN_PATH="$tmp/plugins" CF_TEST_REQUIRE_LION=1 CK_RUN_CASE=lion \
    "$builddir/tests/test_optimizers" >"$tmp/rule.log" 2>&1 ||
    { cat "$tmp/rule.log" >&2; fail "lion's update differs from the textbook rule"; }
grep -q 'Checks: 1, Failures: 0' "$tmp/rule.log" || { cat "$tmp/rule.log" >&2; fail "lion rule check did not run"; }

# 5. A config's plugin_path is enough (no environment), and lion trains:
#    a small MLP on 2000 Fashion-MNIST images must beat chance clearly.
data=/usr/share/datasets/fashion-mnist
if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
    echo "test_plugins_oot: Fashion-MNIST missing ($data): skipping the training check" >&2
    exit 0
fi
cat >"$tmp/lion.cfg" <<CFG
name = "lion_oot";
seed = 7;
plugin_path = [ "$tmp/plugins" ];
backend = { name = "reference"; };
data = { dataset = "fashion-mnist"; validation_split = 0.2; limit_train = 2000; };
model = { layers = ( { type = "dense"; units = 64; activation = "relu"; },
                     { type = "dense"; units = 10; } ); };
train = { epochs = 2; mini_batch_size = 32; };
optimizer = { plugin = "lion"; learning_rate = 3e-4; weight_decay = 0.01; };
CFG
LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" CLFORGE_PLUGIN_PATH="$plugdir" \
    "$bin" train "$tmp/lion.cfg" --run-dir "$tmp/run" --no-test --json >"$tmp/train.jsonl" 2>"$tmp/train.err" ||
    { tail -20 "$tmp/train.err" >&2; fail "clforge train with optimizer lion"; }
acc=$(grep -o '"validation_accuracy":[0-9.]*' "$tmp/train.jsonl" | tail -n 1 | cut -d: -f2)
[ -n "$acc" ] || { tail -5 "$tmp/train.jsonl" >&2; fail "no validation_accuracy in the training output"; }
awk -v a="$acc" 'BEGIN { exit !(a >= 0.6) }' || fail "lion reached only validation_accuracy $acc"

# 6. A plugin named like a built-in ("sgd") in plugin_path is used, and says
#    so: it never replaces the built-in silently (issue 17 item 9).
mkdir -p "$tmp/shadow"
sed 's/CF_PLUGIN_OPTIMIZER, "lion"/CF_PLUGIN_OPTIMIZER, "sgd"/' "$tmp/src/lion.c" > "$tmp/src/sgd.c"
${CC:-cc} $cflags -std=c11 -shared -fPIC -o "$tmp/shadow/cf_optimizer_sgd.so" "$tmp/src/sgd.c" $libs ||
    fail "building the shadowing sgd"
sed -e "s|$tmp/plugins|$tmp/shadow|" -e 's/plugin = "lion"/plugin = "sgd"/' -e 's/epochs = 2/epochs = 1/' \
    "$tmp/lion.cfg" > "$tmp/shadow.cfg"
LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" CLFORGE_PLUGIN_PATH="$plugdir" \
    "$bin" train "$tmp/shadow.cfg" --run-dir "$tmp/run_shadow" --no-test --quiet >"$tmp/shadow.out" 2>&1 ||
    { tail -5 "$tmp/shadow.out" >&2; fail "training with the shadowing sgd"; }
grep -q "note: optimizer plugin 'sgd' of $tmp/shadow/cf_optimizer_sgd.so is used instead of the one in .*cf_optimizer_sgd.so" \
    "$tmp/shadow.out" || { cat "$tmp/shadow.out" >&2; fail "a plugin hiding the built-in sgd was not announced"; }
echo "test_plugins_oot: lion built against the installed SDK, listed, and trained (validation_accuracy $acc)"
