#!/bin/sh
# Distributed tuning (docs/distributed.md): `mpirun -np 3 clforge tune` on
# the Branin example runs every trial exactly once, on both workers; a worker
# rank killed with SIGKILL mid-study ends the job (Open MPI), and `clforge
# tune --resume` without MPI finishes the study with no completed trial lost
# or run twice.
set -u
CLF=./clforge
SRC=${srcdir:-.}
command -v mpirun >/dev/null 2>&1 || { echo "SKIP: mpirun not found (install openmpi-bin)"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
timeout 60 mpirun -np 2 --oversubscribe true > /dev/null 2>&1 || { echo "SKIP: mpirun cannot start 2 processes here"; exit 77; }
T=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT; echo "tmp $T"
fails=0
timeout 120 mpirun -np 3 --oversubscribe $CLF tune "$SRC/examples/tune_branin.cfg" --dir "$T/b" --quiet > "$T/b.out" 2>&1
if grep -q "built without MPI" "$T/b.out"; then echo "SKIP: clforge built without MPI"; exit 77; fi
[ -f "$T/b/trials.csv" ] || { echo "FAIL: mpirun tune: $(tail -5 "$T/b.out")"; exit 1; }
n=$(awk -F, 'NR > 1' "$T/b/trials.csv" | wc -l)
ids=$(awk -F, 'NR > 1 { print $1 }' "$T/b/trials.csv" | sort -u | wc -l)
ends=$(grep -c '"ev":"finished"' "$T/b/journal.jsonl")
uends=$(grep '"ev":"finished"' "$T/b/journal.jsonl" | grep -o '"trial":[0-9]*' | sort -u | wc -l)
[ "$n" -eq 40 ] && [ "$ids" -eq 40 ] && [ "$ends" -eq 40 ] && [ "$uends" -eq 40 ] \
    && echo "ok: 40 trials, each finished exactly once" || { echo "FAIL: trials $n ids $ids finished $ends/$uends"; fails=$((fails + 1)); }
head -1 "$T/b/trials.csv" | grep -q ',worker$' && echo "ok: trials.csv has a worker column" || { echo "FAIL: no worker column"; fails=$((fails + 1)); }
w1=$(awk -F, 'NR > 1 && $NF ~ /:1$/' "$T/b/trials.csv" | wc -l)
w2=$(awk -F, 'NR > 1 && $NF ~ /:2$/' "$T/b/trials.csv" | wc -l)
[ "$w1" -gt 0 ] && [ "$w2" -gt 0 ] && [ $((w1 + w2)) -eq 40 ] && echo "ok: both workers ran trials ($w1 + $w2)" \
    || { echo "FAIL: workers $w1 + $w2"; fails=$((fails + 1)); }
# Trials that crash (SIGSEGV in the child) are failed trials; the workers carry on.
timeout 120 mpirun -np 3 --oversubscribe $CLF tune "$SRC/examples/tune_branin.cfg" --dir "$T/c" --quiet \
    --set tune.max_trials=12 --set tune.objective.fail_crash=0.4 > "$T/c.out" 2>&1
rc=$?
nf=$(awk -F, 'NR > 1 && $2 == "failed" && /crashed/' "$T/c/trials.csv" | wc -l)
nd=$(awk -F, 'NR > 1 && $2 == "done"' "$T/c/trials.csv" | wc -l)
[ "$rc" -eq 0 ] && [ "$nf" -gt 0 ] && [ $((nf + nd)) -eq 12 ] && echo "ok: $nf crashing trials failed, $nd done, no rank lost" \
    || { echo "FAIL: crashing trials: rc $rc, $nf failed, $nd done: $(tail -3 "$T/c.out")"; fails=$((fails + 1)); }
# Slower trials (0.2 s epochs, 3 each), then SIGKILL of worker rank 1.
sed -e 's/objective = { function = "branin"; };/objective = { function = "branin"; epoch_seconds = 0.2; }; epochs = 3;/' \
    -e 's/max_trials = 40;/max_trials = 16;/' "$SRC/examples/tune_branin.cfg" > "$T/slow.cfg"
timeout 120 mpirun -np 3 --oversubscribe $CLF tune "$T/slow.cfg" --dir "$T/k" --quiet > "$T/k.out" 2>&1 &
mp=$!
victim=
for i in $(seq 1 200); do
    sleep 0.1
    [ -f "$T/k/journal.jsonl" ] && [ "$(grep -c '"ev":"finished"' "$T/k/journal.jsonl")" -ge 4 ] || continue
    # the rank itself, not its trial child (a fork: same command line and environment)
    for p in $(pgrep -f "tune $T/slow.cfg"); do
        pp=$(ps -o ppid= -p "$p" | tr -d ' ')
        case "$(ps -o comm= -p "$pp")" in mpirun|mpiexec|orterun|orted|prte*) ;; *) continue ;; esac
        tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && victim=$p
    done
    [ -n "$victim" ] && break
done
[ -n "$victim" ] && kill -9 "$victim"
wait $mp
before=$(grep '"ev":"finished"' "$T/k/journal.jsonl" | grep -o '"trial":[0-9]*,"value":[^,]*' | sort)
nb=$(printf '%s\n' "$before" | grep -c trial)
if [ -n "$victim" ] && [ "$nb" -lt 16 ]; then echo "ok: worker killed mid-study ($nb of 16 trials finished)"
else echo "FAIL: could not kill a worker mid-study (victim '$victim', $nb finished)"; fails=$((fails + 1)); fi
$CLF tune "$T/slow.cfg" --resume "$T/k" --quiet > "$T/r.out" 2>&1 || { echo "FAIL: resume: $(tail -3 "$T/r.out")"; fails=$((fails + 1)); }
n=$(awk -F, 'NR > 1 && $2 == "done"' "$T/k/trials.csv" | wc -l)
ends=$(grep -c '"ev":"finished"' "$T/k/journal.jsonl")
uends=$(grep '"ev":"finished"' "$T/k/journal.jsonl" | grep -o '"trial":[0-9]*' | sort -u | wc -l)
after=$(grep '"ev":"finished"' "$T/k/journal.jsonl" | grep -o '"trial":[0-9]*,"value":[^,]*' | sort)
kept=$(printf '%s\n' "$before" | while read -r l; do printf '%s\n' "$after" | grep -qxF "$l" && echo y; done | wc -l)
[ "$n" -eq 16 ] && [ "$ends" -eq 16 ] && [ "$uends" -eq 16 ] && [ "$kept" -eq "$nb" ] \
    && echo "ok: resumed without MPI: 16 trials done, each once; the $nb finished before the kill kept" \
    || { echo "FAIL: after resume: $n done, $ends finished lines ($uends trials), $kept of $nb kept"; fails=$((fails + 1)); }
exit $fails
