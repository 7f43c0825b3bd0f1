# Shared by the fault-injection sweeps (alloc_sweep.sh, write_sweep.sh,
# test_opencl_fault.sh): a tiny IDX dataset and configs for a train run, an
# eval and a tune study, the sweep loop, and the checks of what a failed run
# may leave behind. Needs python3. Sourced with T (a scratch directory), CLF
# (the clforge program) and, for fault_sweep, SO (the interposer) and STRIDE.

fault_setup() {
    python3 - "$T" <<'PY'
import struct, sys, random
t = sys.argv[1]
random.seed(1)
def idx(n, pre):
    img = bytearray(struct.pack('>BBBBIII', 0, 0, 8, 3, n, 4, 4))
    lab = bytearray(struct.pack('>BBBBI', 0, 0, 8, 1, n))
    for i in range(n):
        c = i % 2
        img += bytes((200 if (x < 2) == bool(c) else 20) + random.randint(0, 30) for y in range(4) for x in range(4))
        lab.append(c)
    open(f'{t}/{pre}-images-idx3-ubyte', 'wb').write(img)
    open(f'{t}/{pre}-labels-idx1-ubyte', 'wb').write(lab)
idx(16, 'tr')
idx(4, 'te')
PY
    cat >"$T/train.cfg" <<CFG
name = "fault"; seed = 1;
backend = { name = "reference"; };
data = { dataset = "idx"; train_images = "$T/tr-images-idx3-ubyte"; train_labels = "$T/tr-labels-idx1-ubyte";
         test_images = "$T/te-images-idx3-ubyte"; test_labels = "$T/te-labels-idx1-ubyte"; validation_split = 0.25; };
model = { layers = ( { type = "dense"; units = 3; activation = "relu"; }, { type = "dense"; units = 2; } ); };
train = { epochs = 2; mini_batch_size = 4; };
optimizer = { plugin = "sgd"; learning_rate = 0.1; momentum = 0.9; };
CFG
    cat >"$T/tune.cfg" <<CFG
tune = { name = "fault"; strategy = "random"; max_trials = 3; max_parallel = 1; seed = 3;
  objective = { function = "branin"; curve = 2.0; };
  parameters = ( { key = "x1"; type = "continuous"; min = -5.0; max = 10.0; },
                 { key = "x2"; type = "continuous"; min = 0.0; max = 15.0; } ); };
CFG
}

# The files a run leaves must be whole: model files and checkpoints pass
# their CRC, JSON files parse, journal lines are whole JSON objects (a torn
# last line is allowed: --resume cuts it). Prints what is wrong; rc 1 then.
fault_check_outputs() {
    python3 - "$1" <<'PY'
import json, os, struct, sys, zlib
bad = []
for root, dirs, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(root, f)
        if '.tmp' in f:
            bad.append(p + ': temporary file left behind')
            continue
        b = open(p, 'rb').read()
        if f.endswith('.clf') or f.endswith('.ckpt'):
            if len(b) < 16 or b[:8] != b'CLFORGE1' or zlib.crc32(b[8:-4]) != struct.unpack('<I', b[-4:])[0]:
                bad.append(p + ': not a whole model/checkpoint file')
        elif f.endswith('.json'):
            try: json.loads(b)
            except Exception as e: bad.append(p + ': not whole JSON: ' + str(e))
        elif f == 'journal.jsonl':
            lines = b.split(b'\n')
            for i, l in enumerate(lines[:-1]):
                try: json.loads(l)
                except Exception: bad.append('%s:%d: torn line inside the journal' % (p, i + 1))
for m in bad: print(m)
sys.exit(1 if bad else 0)
PY
}

# fault_sweep NAME WHAT POINTS COUNT_VAR HANDLER CMD...: run CMD once with the
# interposer counting its calls (COUNT_VAR=file), then HANDLER N CMD... for
# N = 1, 1 + s, ... up to the count m (s = STRIDE, or about m / POINTS when
# STRIDE is 0). HANDLER counts $ok (completed) and $err (clean errors) and
# $fails; prints "NAME: m WHAT, ...".
fault_sweep() {
    name=$1 what=$2 points=$3 cvar=$4 handler=$5
    shift 5
    rm -f "$T/count"
    env "$cvar=$T/count" LD_PRELOAD="$SO" "$@" >/dev/null 2>&1 || { echo "FAIL: $name does not run"; fails=$((fails + 1)); return; }
    m=$(sort -k2 -n "$T/count" | tail -n 1 | cut -d' ' -f2)
    s=$STRIDE
    [ "$s" -gt 0 ] || s=$(( (m + points - 1) / points ))
    ok=0 err=0 n=1 runs=0
    while [ "$n" -le "$m" ]; do
        "$handler" "$n" "$@"
        runs=$((runs + 1))
        n=$((n + s))
    done
    echo "$name: $m $what, $runs failed in turn (stride $s): $err clean errors, $ok completed"
}
