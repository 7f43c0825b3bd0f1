#!/bin/bash
# bench/gpu/run.sh — the device side of the GPU kit (issue 18).
#
#   bash bench/gpu/run.sh [OUTDIR]        # OUTDIR defaults to $OUT
#
# Needs only bench/gpu/kit/ (bench/gpu/pack.sh makes it; carry it) and the
# tracked tree (bench/configs/, this script, torch_bench.py, bench/torch_models.py). Unpacks the kit
# into a temporary directory, points LD_LIBRARY_PATH at it, makes the NVIDIA
# OpenCL driver visible to the kit's ICD loader when no vendors file names it,
# then, each step under `timeout` and all of them within GPU_KIT_BUDGET_S:
#   env       uname, os-release, nvidia-smi
#   ldd       every kit binary and module: each non-glibc library must resolve
#   devices   clforge devices
#   parity    tests/test_parity, CF_TEST_BACKENDS=opencl (every op vs reference)
#   cnn / resnet20   clforge train (opencl) -> training img/s; clforge eval -> inference img/s
#   torch     torch_bench.py: the same models on PyTorch CUDA (skipped without torch/CUDA)
#   opencl-tests  tests/test_opencl (cache, device selection, errors, OOM, dropout)
# and writes to OUTDIR (at most 4 files, the device tool brings back 8):
#   summary.md, summary.json, run.log (everything, every step's full log), logs.tar.gz
# The last thing printed is the summary, so the tool's output tail diagnoses a run.
#
# Environment:
#   GPU_KIT_QUICK=1         small runs (for testing the kit on PoCL; minutes on a CPU)
#   GPU_KIT_BUDGET_S=N      seconds for all steps (default 450; quick 900)
#   GPU_KIT_DIR=DIR         the kit (default: bench/gpu/kit next to this script)
#   GPU_KIT_STEPS=a,b,...   only these steps (env,ldd,devices,parity,cnn,resnet20,torch,opencl-tests)
#   GPU_KIT_DEVICE=SEL      backend.device for clforge (default "": first GPU, else first device)
#   GPU_KIT_PYTHON=PATH     python for the torch step (default /opt/torch/.venv/bin/python3, python3)
#   GPU_KIT_NVIDIA_OPENCL=PATH   libnvidia-opencl.so.1 (default: searched for)
set -eu

t_start=$(date +%s)
orig_ld=${LD_LIBRARY_PATH:-}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:-${OUT:-}}
[ -n "$out" ] || { echo "usage: bash bench/gpu/run.sh OUTDIR (or set OUT)" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
kit=${GPU_KIT_DIR:-$here/kit}
quick=${GPU_KIT_QUICK:-0}
if [ "$quick" = 1 ]; then budget=${GPU_KIT_BUDGET_S:-900}; else budget=${GPU_KIT_BUDGET_S:-450}; fi
steps_wanted=${GPU_KIT_STEPS:-env,ldd,devices,parity,cnn,resnet20,torch,opencl-tests}
device=${GPU_KIT_DEVICE:-}

work=$(mktemp -d /tmp/clforge-gpu-kit.XXXXXX)
logs=$work/logs
mkdir -p "$logs"
runlog=$out/run.log
: >"$runlog"
steps_tab=$work/steps.tab    # name rc seconds note
: >"$steps_tab"

now() { date +%s; }
elapsed() { echo $(($(now) - t_start)); }
say() { printf '[gpu-kit %3ss] %s\n' "$(elapsed)" "$*" | tee -a "$runlog"; }
wanted() { case ",$steps_wanted," in *",$1,"*) return 0 ;; esac; return 1; }
note() { printf '%s\n' "$*" >>"$work/notes"; }
: >"$work/notes"

# run_step NAME CAP_SECONDS CMD...   (stdout+stderr -> $logs/NAME.log)
# The step gets min(CAP, what is left of the budget); rc 124 = timed out.
first_failure=""
# Seconds kept back for the torch step while the clforge steps run, so a slow
# clforge run cannot leave nothing to compare with.
reserve=0
case ",$steps_wanted," in *,torch,*) reserve=120 ;; esac
run_step() {
    local name=$1 cap=$2 left lim rc t0 secs
    shift 2
    left=$((budget - $(elapsed) - reserve))
    lim=$cap
    [ "$left" -lt "$lim" ] && lim=$left
    if [ "$lim" -lt 10 ]; then
        say "$name: SKIPPED (budget of ${budget}s spent)"
        echo "$name skip 0 budget" >>"$steps_tab"
        return 0
    fi
    say "$name: start (limit ${lim}s): $(echo "$*" | sed "s|$work|\$W|g; s|$kit|\$K|g; s|$top/||g")"
    t0=$(now)
    rc=0
    if declare -F "$1" >/dev/null; then   # a shell function: timeout needs a process
        timeout -k 5 "$lim" bash -c "$(declare -f "$1"); $1" >"$logs/$name.log" 2>&1 </dev/null || rc=$?
    else
        timeout -k 5 "$lim" "$@" >"$logs/$name.log" 2>&1 </dev/null || rc=$?
    fi
    secs=$(($(now) - t0))
    if [ -n "${SKIP_RC:-}" ] && [ "$rc" = "$SKIP_RC" ]; then
        echo "$name skip $secs SKIP-line-above" >>"$steps_tab"
        say "$name: SKIPPED: $(grep -m1 'SKIP' "$logs/$name.log" | cut -c1-300)"
        return 0
    fi
    echo "$name $rc $secs -" >>"$steps_tab"
    if [ "$rc" -eq 0 ]; then
        say "$name: ok (${secs}s)"
    else
        local why="exit $rc"
        [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why="TIMED OUT after ${lim}s"
        say "$name: FAILED ($why, ${secs}s); last lines of $name.log:"
        tail -n 15 "$logs/$name.log" | cut -c1-200 | sed 's/^/    | /' | tee -a "$runlog"
        [ -n "$first_failure" ] || first_failure=$name
    fi
    return 0
}
step_rc() {
    local r
    r=$(awk -v n="$1" '$1 == n {print $2}' "$steps_tab" | tail -1)
    echo "${r:-not run}"
}

finish() {
    # Every step's full log into run.log and logs.tar.gz.
    {
        echo
        echo "==================== full logs ===================="
        for f in "$logs"/*.log; do
            [ -f "$f" ] || continue
            echo "---------- $(basename "$f") ----------"
            cat "$f"
        done
    } >>"$runlog"
    tar -C "$work" -czf "$out/logs.tar.gz" logs 2>/dev/null || true
}

trap 'echo "[gpu-kit] run.sh stopped by an unexpected error at line $LINENO (exit $?); logs so far: $runlog" >&2' ERR
say "clforge GPU kit run: $(date -u +%Y-%m-%dT%H:%M:%SZ), quick=$quick, budget ${budget}s, out $out"

# ---- unpack ---------------------------------------------------------------------------
[ -f "$kit/clforge-kit.tar.gz" ] || {
    say "ERROR: no $kit/clforge-kit.tar.gz: run bench/gpu/pack.sh here and carry [\"bench/gpu/kit\"]"
    exit 1
}
if ! tar -C "$work" -xzf "$kit/clforge-kit.tar.gz" 2>"$logs/unpack.log"; then
    say "tar -xzf failed ($(head -c 300 "$logs/unpack.log")); trying python3's tarfile"
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
        "$kit/clforge-kit.tar.gz" "$work" || { say "ERROR: cannot unpack the kit"; exit 1; }
fi
sed -n '1,4p' "$kit/MANIFEST.txt" 2>/dev/null | sed 's/^/    kit: /' | tee -a "$runlog"
say "paths below: \$W = $work (the unpacked kit), \$K = $kit, others relative to $top"
clf=$work/bin/clforge
data=$kit/data
export CLFORGE_PLUGIN_PATH=$work/lib/clforge
export CLFORGE_CACHE_DIR=$work/cache
export POCL_CACHE_DIR=$work/cache/pocl
export CF_TEST_SRCDIR=$work/src
export CK_VERBOSITY=${CK_VERBOSITY:-normal}
mkdir -p "$CLFORGE_CACHE_DIR"
kit_ld=$work/lib
export work kit_ld   # for the step functions, which run under timeout in a new bash

# ---- the NVIDIA OpenCL driver and the ICD vendors directory ------------------------
is_elf64() { [ "$(od -An -tx1 -j4 -N1 "$1" 2>/dev/null | tr -d ' ')" = 02 ]; }
nv=${GPU_KIT_NVIDIA_OPENCL:-}
if [ -z "$nv" ]; then
    for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
        if [ -e "$d/libnvidia-opencl.so.1" ] && is_elf64 "$d/libnvidia-opencl.so.1"; then nv=$d/libnvidia-opencl.so.1; break; fi
    done
fi
if [ -z "$nv" ]; then
    for f in $(timeout 60 find / \( -path /proc -o -path /sys -o -path /dev -o -path "$work" \) -prune \
                -o -name 'libnvidia-opencl.so*' -print 2>/dev/null | sort); do
        is_elf64 "$f" && { nv=$f; break; }
    done
fi
nv_dir=""
export nv_dir nv
if [ -n "$nv" ]; then
    nv_dir=$(dirname "$nv")
    say "NVIDIA OpenCL driver: $nv"
else
    say "no libnvidia-opencl.so* on this machine (fine for PoCL; on the GPU machine the OpenCL steps will find no GPU)"
fi
vend=${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}
icds=""
if [ -d "$vend" ]; then icds=$(ls "$vend"/*.icd 2>/dev/null || true)
elif [ -f "$vend" ]; then icds=$vend; fi
if [ -n "$nv" ] && ! { [ -n "$icds" ] && grep -qi nvidia $icds 2>/dev/null; }; then
    newv=$work/ocl-vendors
    mkdir -p "$newv"
    for f in $icds; do cp "$f" "$newv/"; done
    echo "$nv" >"$newv/nvidia.icd"
    export OCL_ICD_VENDORS=$newv OPENCL_VENDOR_PATH=$newv
    say "OpenCL vendors: $newv (nvidia.icd -> $nv$( [ -n "$icds" ] && echo "; plus the .icd files of $vend"))"
else
    say "OpenCL vendors: $vend ($(echo $icds | tr ' ' '\n' | xargs -r -n1 basename | tr '\n' ' ')$( [ -n "$icds" ] || echo 'none'))"
fi
for f in $(ls "${OCL_ICD_VENDORS:-$vend}"/*.icd 2>/dev/null; [ -f "${OCL_ICD_VENDORS:-$vend}" ] && echo "${OCL_ICD_VENDORS:-$vend}"); do
    say "    $(basename "$f"): $(head -c 200 "$f")"
done
# The driver's own dependencies (libcuda.so.1, ...) sit next to it.
ld=$kit_ld${nv_dir:+:$nv_dir}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH=$ld

# ---- env ------------------------------------------------------------------------------
if wanted env; then
    envinfo() {
        echo "uname: $(uname -srm)"
        [ -f /etc/os-release ] && echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
        echo "glibc: $(ldd --version 2>/dev/null | head -1)"
        echo "cpus: $(nproc), memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
        echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
        echo "OCL_ICD_VENDORS=${OCL_ICD_VENDORS:-unset}"
        if command -v nvidia-smi >/dev/null 2>&1 || [ -x /usr/local/nvidia/bin/nvidia-smi ]; then
            smi=$(command -v nvidia-smi || echo /usr/local/nvidia/bin/nvidia-smi)
            echo "nvidia-smi: $("$smi" --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -2)"
            "$smi" 2>&1 | head -20
        else
            echo "nvidia-smi: not found"
        fi
    }
    run_step env 40 envinfo
    grep -E '^(os|glibc|nvidia-smi):' "$logs/env.log" | sed 's/^/    /' | tee -a "$runlog"
fi

# ---- ldd: every non-glibc library resolves (into the kit, or the driver) ----------------
lddcheck() {
    local objs bad=0 compat_needed=0 o
    objs=$(find "$work/bin" "$work/lib" "$work/tests" -type f \( -name '*.so*' -o -perm -u+x \) ! -path '*/lib-compat/*' ! -name MANIFEST | sort)
    for o in $objs; do
        echo "== $o"
        ldd "$o" 2>&1 || true
    done >"$work/ldd.txt"
    if grep -q 'not found' "$work/ldd.txt"; then
        echo "with lib/ only:"
        grep 'not found' "$work/ldd.txt" | sort -u | sed 's/^/    /'
        if ! grep 'not found' "$work/ldd.txt" | grep -qv -e 'libstdc++' -e 'libgcc_s' -e 'GLIBCXX' -e 'CXXABI' -e 'GCC_'; then
            compat_needed=1
        fi
    fi
    echo "compat_needed=$compat_needed"
    if [ "$compat_needed" = 1 ]; then
        export LD_LIBRARY_PATH=$kit_ld:$work/lib-compat${nv_dir:+:$nv_dir}
        for o in $objs; do echo "== $o"; ldd "$o" 2>&1 || true; done >"$work/ldd.txt"
    fi
    # Classify every resolution.
    awk -v kit="$work/" '
        /^== / { obj = $2; next }
        /not found/ { print "NOT FOUND  " obj ": " $0; bad = 1; next }
        /=>/ && $3 ~ /^\// {
            so = $1; p = $3
            if (index(p, kit) == 1) where = "kit"
            else if (so ~ /^(libc|libm|libpthread|libdl|librt|libresolv|libutil|libmvec)\.so/ || so ~ /^ld-linux/) where = "glibc"
            else if (so ~ /^(libstdc\+\+|libgcc_s)\.so/) where = "system-c++"
            else where = "OUTSIDE"
            n[where]++
            if (where == "OUTSIDE" || where == "system-c++") seen[so " => " p] = where
        }
        END {
            for (w in n) printf "resolved to %s: %d\n", w, n[w]
            for (s in seen) printf "%s  %s\n", seen[s], s
            exit bad
        }' "$work/ldd.txt" >"$work/ldd.summary" || bad=1
    cat "$work/ldd.summary"
    echo "objects checked: $(echo "$objs" | wc -l)"
    if grep -q '^OUTSIDE' "$work/ldd.summary"; then bad=1; fi
    cat "$work/ldd.txt"
    return $bad
}
if wanted ldd; then
    run_step ldd 60 lddcheck
    grep -q '^compat_needed=1' "$logs/ldd.log" && {
        export LD_LIBRARY_PATH=$kit_ld:$work/lib-compat${nv_dir:+:$nv_dir}
        say "the system lacks a new enough libstdc++/libgcc_s: using the kit's lib-compat/"
    }
    grep -E '^(resolved to |OUTSIDE  |system-c\+\+  |NOT FOUND  |objects checked)' "$logs/ldd.log" | sort -u | head -20 | sed 's/^/    /' | tee -a "$runlog"
fi

# ---- devices ----------------------------------------------------------------------------
ocl_dev=""
if wanted devices; then
    run_step devices 90 "$clf" devices
    sed -n '/^backend opencl:/,/^backend [^o]/p' "$logs/devices.log" | grep -v '^backend [^o]' | head -12 |
        sed 's/^/    /' | tee -a "$runlog"
    ocl_dev=$(sed -n '/^backend opencl:/,/^backend [^o]/p' "$logs/devices.log" | sed -n '2,4p' | sed 's/^ *//' | paste -sd'|' - | sed 's/|/; /g')
    # The driver is there but OpenCL shows no GPU: say why, as far as we can tell.
    if [ -n "$nv" ] && ! sed -n '/^backend opencl:/,/^backend [^o]/p' "$logs/devices.log" | grep -q 'type gpu'; then
        icddiag() {
            echo "driver: $nv"
            echo "device nodes: $(ls /dev/nvidia* 2>&1 | tr '\n' ' ')"
            echo "driver libraries not found (ldd):"
            ldd "$nv" 2>&1 | grep -i 'not found' || echo "  none"
            pyd=$(command -v python3 || ls /opt/torch/.venv/bin/python3 2>/dev/null || true)
            [ -n "$pyd" ] && "$pyd" -c '
import ctypes, sys
try:
    lib = ctypes.CDLL(sys.argv[1])
    n = ctypes.c_uint(0)
    r = lib.clIcdGetPlatformIDsKHR(0, None, ctypes.byref(n))
    print("clIcdGetPlatformIDsKHR from the driver directly: status %d, %d platform(s)" % (r, n.value))
except Exception as e:
    print("calling the driver directly failed: %s: %s" % (type(e).__name__, e))
' "$nv" 2>&1
            return 0
        }
        say "OpenCL lists no GPU although $nv exists; diagnosis:"
        run_step icd-diag 30 icddiag
        sed 's/^/    /' "$logs/icd-diag.log" | head -12 | cut -c1-300 | tee -a "$runlog"
    fi
fi

# ---- parity -----------------------------------------------------------------------------
if wanted parity; then
    CF_TEST_BACKENDS=opencl CF_TEST_DEVICE=$device run_step parity 180 "$work/tests/test_parity"
    grep -E '^parity |Checks:|^[0-9]+%' "$logs/parity.log" | grep -v ': FAIL ' | head -8 | sed 's/^/    /' | tee -a "$runlog"
    grep ': FAIL ' "$logs/parity.log" | head -5 | cut -c1-220 | sed 's/^/    /' | tee -a "$runlog" || true
fi

# ---- clforge training and inference --------------------------------------------------
# cnn = the model of examples/fashion_cnn.cfg (bench/configs/cnn.cfg: batch 64, Adam);
# resnet20 = the resnet preset, num_layers 20 (bench/configs/resnet20.cfg: batch 128, SGD).
bench_model() {   # MODEL TRAIN_IMAGES EPOCHS TRAIN_CAP EVAL_CAP
    local m=$1 n=$2 ep=$3 tcap=$4 ecap=$5 test_img test_lab
    if [ "$quick" = 1 ]; then
        test_img=$data/quick-t10k-images-idx3-ubyte.gz test_lab=$data/quick-t10k-labels-idx1-ubyte.gz
    else
        test_img=$data/t10k-images-idx3-ubyte.gz test_lab=$data/t10k-labels-idx1-ubyte.gz
    fi
    "$clf" model "$top/bench/configs/$m.cfg" >"$logs/model-$m.log" 2>&1 || true
    run_step "train-$m" "$tcap" "$clf" train "$top/bench/configs/$m.cfg" \
        --set backend.name=opencl --set "backend.device=\"$device\"" --set backend.verbose=true \
        --set "data.train_images=\"$data/train-images-idx3-ubyte.gz\"" \
        --set "data.train_labels=\"$data/train-labels-idx1-ubyte.gz\"" \
        --set "data.test_images=\"$test_img\"" --set "data.test_labels=\"$test_lab\"" \
        --set data.limit_train="$n" --set train.epochs="$ep" \
        --no-test --json --run-dir "$work/runs/$m"
    echo "$n $ep" >"$logs/steps-$m"
    grep '^clforge opencl: counters' "$logs/train-$m.log" | sed 's/^/    /' | tee -a "$runlog" || true
    grep '"event":"epoch"' "$logs/train-$m.log" | sed 's/.*"epoch":\([0-9]*\).*"train_loss":\([^,]*\).*"seconds":\([^,]*\),"images_per_sec":\([0-9.]*\).*/    epoch \1: loss \2, \3 s, \4 img\/s/' | tee -a "$runlog"
    if [ -f "$work/runs/$m/model.clf" ]; then
        run_step "eval-$m" "$ecap" "$clf" eval "$work/runs/$m/model.clf" --backend opencl \
            --images "$test_img" --labels "$test_lab" --json
    else
        say "eval-$m: SKIPPED (training wrote no model.clf)"
        echo "eval-$m skip 0 no-model" >>"$steps_tab"
    fi
}
# img/s of the last epoch after the first (the first compiles kernels and warms up);
# only epoch 1's figure when nothing else finished.
train_ips() {
    local f=$logs/train-$1.log
    [ -f "$f" ] || return 0
    grep '"event":"epoch"' "$f" | sed 's/.*"epoch":\([0-9]*\).*"images_per_sec":\([0-9.]*\).*/\1 \2/' |
        awk '{e = $1; v[e] = $2; last = e} END {if (last > 1) print v[last]; else if (last == 1) print v[1] " epoch1"}'
}
# Per training step, from the run's totals (backend.verbose's counters line)
# over epochs x ceil(images / batch) steps; the totals also hold the backend's
# open, saving model.clf and checkpoints, so this slightly overstates a step.
# Prints "launches syncs blocking_reads h2d_bytes d2h_bytes" or nothing.
step_counters() {
    local f=$logs/train-$1.log n ep b steps
    [ -f "$f" ] && [ -f "$logs/steps-$1" ] || return 0
    read -r n ep <"$logs/steps-$1"
    b=$(sed -n 's/.*mini_batch_size = \([0-9]*\).*/\1/p' "$top/bench/configs/$1.cfg")
    steps=$((ep * ((n + b - 1) / b)))
    grep '^clforge opencl: counters' "$f" | tail -1 | tr ' ()' '\n\n\n' | awk -F= -v s="$steps" '
        {v[$1] = $2} END {if (s > 0 && ("launches" in v))
            printf "%.1f %.1f %.1f %.0f %.0f\n", v["launches"] / s, v["host_syncs"] / s,
                v["blocking_reads"] / s, v["h2d_bytes"] / s, v["d2h_bytes"] / s}'
}
eval_ips() {
    local f=$logs/eval-$1.log
    [ -f "$f" ] || return 0
    grep -o '"forward_images_per_sec":[0-9.]*' "$f" | tail -1 | cut -d: -f2
}
eval_acc() {
    local f=$logs/eval-$1.log
    [ -f "$f" ] || return 0
    grep -o '"accuracy":[0-9.]*' "$f" | head -1 | cut -d: -f2
}
if [ "$quick" = 1 ]; then
    wanted cnn && bench_model cnn 1024 2 180 120
    wanted resnet20 && bench_model resnet20 128 2 240 180
else
    wanted cnn && bench_model cnn 12800 3 120 60
    wanted resnet20 && bench_model resnet20 12800 2 150 60
fi

# ---- PyTorch CUDA -----------------------------------------------------------------------
py=${GPU_KIT_PYTHON:-}
if [ -z "$py" ]; then
    if [ -x /opt/torch/.venv/bin/python3 ]; then py=/opt/torch/.venv/bin/python3
    else py=$(command -v python3 || true); fi
fi
torch_status="not run"
reserve=0
if wanted torch; then
    if [ -z "$py" ]; then
        say "torch: SKIPPED (no python3 on this machine)"
        torch_status="skipped: no python3"
        echo "torch skip 0 no-python" >>"$steps_tab"
    else
        targs="--data $data --json $work/torch.json"
        [ "$quick" = 1 ] && targs="$targs --quick"
        # The torch process must not see the kit's libraries (it has its own CUDA/C++
        # runtime): the machine's LD_LIBRARY_PATH as it was, plus the driver's directory.
        tld=$orig_ld${nv_dir:+${orig_ld:+:}$nv_dir}
        SKIP_RC=3 run_step torch 180 env -u OCL_ICD_VENDORS -u OPENCL_VENDOR_PATH LD_LIBRARY_PATH="$tld" \
            "$py" "$here/torch_bench.py" $targs
        grep -E '^torch' "$logs/torch.log" | cut -c1-300 | sed 's/^/    /' | tee -a "$runlog"
        rc=$(step_rc torch)
        if [ "$rc" = skip ]; then
            torch_status=$(grep '^torch: SKIP' "$logs/torch.log" | head -1 | cut -c1-300)
        elif [ "$rc" = 0 ]; then torch_status=ok
        else torch_status="failed (rc $rc)"; fi
    fi
fi
torch_val() {   # MODEL KEY
    [ -f "$logs/torch.log" ] || return 0
    grep "^torch $1 " "$logs/torch.log" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

# ---- the OpenCL backend's own tests ---------------------------------------------------
if wanted opencl-tests; then
    CF_TEST_DEVICE=$device run_step opencl-tests 120 "$work/tests/test_opencl"
    grep -E 'Checks:|^[0-9]+%' "$logs/opencl-tests.log" | head -3 | sed 's/^/    /' | tee -a "$runlog"
    grep -E ':[EF]:' "$logs/opencl-tests.log" | head -8 | cut -c1-220 | sed 's/^/    /' | tee -a "$runlog" || true
fi

# ---- summary ----------------------------------------------------------------------------
num() { case $1 in ''|*[!0-9.]*) echo null ;; *) echo "$1" ;; esac; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a + 0 > 0 && b + 0 > 0) printf "%.3f", a / b; else print ""}'; }
fmt() { awk -v a="$1" 'BEGIN {if (a == "") print "—"; else printf "%.0f", a}'; }
parity_line=$(grep -E '^parity opencl: ([0-9]+ cases|skipped)' "$logs/parity.log" 2>/dev/null | tail -1 || true)
ocl_tests_line=$(grep -E '^[0-9]+%: Checks' "$logs/opencl-tests.log" 2>/dev/null | tail -1 || true)
smi_line=$(sed -n 's/^nvidia-smi: //p' "$logs/env.log" 2>/dev/null | head -1 || true)
torch_env=$(grep '^torch: ' "$logs/torch.log" 2>/dev/null | grep -v SKIP | head -1 | sed 's/^torch: //' || true)
{
    echo "# clforge OpenCL vs PyTorch CUDA — $(date -u +%Y-%m-%d) $( [ "$quick" = 1 ] && echo '(QUICK mode: tiny runs, not a benchmark)')"
    echo
    echo "- machine: $(uname -m), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), $(nproc) CPUs"
    echo "- nvidia-smi: ${smi_line:-n/a}"
    echo "- OpenCL device (clforge devices): ${ocl_dev:-n/a}"
    echo "- kit: $(sed -n '2p' "$kit/MANIFEST.txt" 2>/dev/null)"
    echo "- PyTorch: ${torch_env:-$torch_status}"
    echo "- parity (test_parity, opencl vs reference): ${parity_line:-not run / no summary line} [rc $(step_rc parity)]"
    echo "- test_opencl: ${ocl_tests_line:-not run / no summary line} [rc $(step_rc opencl-tests)]"
    echo
    echo "| model | batch | clforge OpenCL train img/s | PyTorch CUDA train img/s | train ratio | clforge infer img/s (eval, batch 256) | PyTorch infer img/s (host↔device) | infer ratio | PyTorch infer, resident input | params clforge / torch | test acc (clforge) |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for m in cnn resnet20; do
        wanted "$m" || continue
        tr=$(train_ips "$m"); trv=${tr%% *}
        ev=$(eval_ips "$m")
        ptr=$(torch_val "$m" train_img_s); pin=$(torch_val "$m" infer_img_s); pres=$(torch_val "$m" infer_resident_img_s)
        b=$(sed -n 's/.*mini_batch_size = \([0-9]*\).*/\1/p' "$top/bench/configs/$m.cfg")
        pc=$(sed -n 's/^total trainable parameters: \([0-9]*\).*/\1/p' "$logs/model-$m.log" 2>/dev/null) || true
        pt=$(torch_val "$m" params)
        r1=$(ratio "$trv" "$ptr"); r2=$(ratio "$ev" "$pin")
        echo "| $m | $b | $(fmt "$trv")$(case $tr in *epoch1) echo ' (epoch 1 only)';; esac) | $(fmt "$ptr") | ${r1:-—} | $(fmt "$ev") | $(fmt "$pin") | ${r2:-—} | $(fmt "$pres") | ${pc:-?} / ${pt:-?}$( [ -n "$pc" ] && [ -n "$pt" ] && { [ "$pc" = "$pt" ] && echo ' ✓' || echo ' MISMATCH'; }) | $(eval_acc "$m") |"
    done
    echo
    echo "| model | launches/step (kernels + CLBlast GEMMs) | host syncs/step | blocking reads/step | bytes host→device/step | bytes device→host/step |"
    echo "|---|---|---|---|---|---|"
    for m in cnn resnet20; do
        wanted "$m" || continue
        c=$(step_counters "$m")
        [ -n "$c" ] && echo "| $m | $(echo "$c" | awk '{print $1 " | " $2 " | " $3 " | " $4 " | " $5}') |"
    done
    echo
    echo "Counters: \`backend.verbose\` totals of the training run / its steps (includes open and saving; see docs/opencl.md)."
    echo
    echo "Ratios are clforge / PyTorch (1.0 = as fast). clforge train img/s: last epoch after the first, from \`clforge train --json\`;"
    echo "infer: \`clforge eval --json\` forward_images_per_sec (upload + ops + download, batch 256). PyTorch: fp32, TF32 off, eager, NCHW."
    echo
    echo "| step | result | seconds |"
    echo "|---|---|---|"
    while read -r n rc s why; do
        case $rc in 0) r=ok ;; skip) r="skipped ($why)" ;; 124|137) r="TIMED OUT" ;; *) r="FAILED (rc $rc)" ;; esac
        echo "| $n | $r | $s |"
    done <"$steps_tab"
    echo
    echo "total: $(elapsed) s of a ${budget} s budget; logs: run.log (all steps, in full), logs.tar.gz"
} >"$out/summary.md"

{
    echo "{"
    echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"quick\": $( [ "$quick" = 1 ] && echo true || echo false),"
    echo "  \"nvidia_smi\": \"$(echo "$smi_line" | sed 's/["\\]/ /g')\","
    echo "  \"opencl_device\": \"$(echo "$ocl_dev" | sed 's/["\\]/ /g')\","
    echo "  \"torch\": \"$(echo "${torch_env:-$torch_status}" | sed 's/["\\]/ /g')\","
    echo "  \"kit_commit\": \"$(sed -n 's/^commit: //p' "$kit/MANIFEST.txt" 2>/dev/null | sed 's/["\\]/ /g')\","
    echo "  \"parity\": \"$(echo "$parity_line" | sed 's/["\\]/ /g')\", \"parity_rc\": \"$(step_rc parity)\","
    echo "  \"test_opencl\": \"$(echo "$ocl_tests_line" | sed 's/["\\]/ /g')\", \"test_opencl_rc\": \"$(step_rc opencl-tests)\","
    echo "  \"models\": {"
    sep=""
    for m in cnn resnet20; do
        wanted "$m" || continue
        tr=$(train_ips "$m")
        printf '%s    "%s": {"clforge_train_img_s": %s, "clforge_train_epoch1_only": %s, "clforge_infer_img_s": %s, "clforge_test_accuracy": %s, "torch_train_img_s": %s, "torch_infer_img_s": %s, "torch_infer_resident_img_s": %s, "torch_params": %s' \
            "$sep" "$m" "$(num "${tr%% *}")" "$(case $tr in *epoch1) echo true ;; *) echo false ;; esac)" \
            "$(num "$(eval_ips "$m")")" "$(num "$(eval_acc "$m")")" "$(num "$(torch_val "$m" train_img_s)")" \
            "$(num "$(torch_val "$m" infer_img_s)")" "$(num "$(torch_val "$m" infer_resident_img_s)")" \
            "$(num "$(torch_val "$m" params)")"
        c=$(step_counters "$m")
        [ -n "$c" ] && printf ', "clforge_per_step": {"launches": %s, "host_syncs": %s, "blocking_reads": %s, "h2d_bytes": %s, "d2h_bytes": %s}' $c
        printf '}'
        sep=$(printf ',\n')
    done
    echo
    echo "  },"
    echo "  \"steps\": ["
    awk '{printf "%s    {\"step\": \"%s\", \"rc\": \"%s\", \"seconds\": %s}", (NR > 1 ? ",\n" : ""), $1, $2, $3} END {print ""}' "$steps_tab"
    echo "  ]"
    echo "}"
} >"$out/summary.json"

finish
echo
cat "$out/summary.md"
if [ -n "$first_failure" ]; then
    echo
    echo "first failed step: $first_failure — its last lines:"
    tail -n 25 "$logs/$first_failure.log" | cut -c1-240 | sed 's/^/    | /'
fi
rm -rf "$work"
trap - ERR
[ -z "$first_failure" ] || exit 1
