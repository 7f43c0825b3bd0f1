#!/bin/sh
# The write-failure sweep: the N-th output call (failwrite.so, LD_PRELOAD:
# write, fwrite, fprintf, fflush, fsync, close, rename, ...) fails with
# ENOSPC or EIO, for N = 1, 1 + STRIDE, ... over
#   resume: `train --resume` of a one-epoch run to two epochs; afterwards the
#           last good checkpoint and model.clf are still whole, and resuming
#           again unfaulted gives the model of an uninterrupted two-epoch run;
#   train:  a fresh two-epoch run;
#   tune:   a three-trial study; `tune --resume` unfaulted then finishes it
#           with the best.cfg of an unfaulted study (or, where the failure hit
#           a trial process, with that trial recorded as failed).
# Each faulted run ends in exit 1 with an error naming a file, or completes
# (report.html is optional: its failure is a warning); never a signal or a
# hang; the files it leaves are whole (common.sh).
# usage: write_sweep.sh CLFORGE FAILWRITE_SO SCRATCH STRIDE [ERRNO]
#   STRIDE 0: about 12 points per command (make check); 1: every call.
#   ERRNO: ENOSPC, EIO, or both (the default: they alternate from point to point).
set -u
CLF=$1 SO=$2 T=$3 STRIDE=$4 ERRS=${5:-both}
ERR=ENOSPC
. "$(dirname "$0")/common.sh"
fault_setup
fails=0
"$CLF" train "$T/train.cfg" --run-dir "$T/base2" --quiet &&
    "$CLF" train "$T/train.cfg" --set train.epochs=1 --run-dir "$T/base1" --quiet &&
    "$CLF" tune "$T/tune.cfg" --dir "$T/study0" --quiet >/dev/null ||
    { echo "FAIL: the unfaulted runs failed"; exit 1; }

bad() {
    echo "FAIL: $name with output call $n failing ($ERR): $1"
    tail -n 5 "$T/stderr" | sed 's/^/    /'
    fails=$((fails + 1))
}

# faulted N OUTDIR CMD...: rc in $rc; 0 when the run behaved
faulted() {
    n=$1 out=$2
    shift 2
    case $ERRS in both) [ $((runs % 2)) -eq 0 ] && ERR=ENOSPC || ERR=EIO ;; *) ERR=$ERRS ;; esac
    CF_FAILWRITE_AT=$n CF_FAILWRITE_ERRNO=$ERR LD_PRELOAD=$SO timeout 60 "$@" >"$T/stdout" 2>"$T/stderr"
    rc=$?
    if [ "$rc" -ge 124 ]; then bad "exit $rc (signal, abort or hang)"; return 1; fi
    if [ "$rc" -ne 0 ] && ! grep -q "^clforge.*/" "$T/stderr"; then bad "exit $rc without an error naming a file"; return 1; fi
    if [ -d "$out" ] && ! fault_check_outputs "$out" >"$T/check"; then bad "half-written output: $(cat "$T/check")"; return 1; fi
    [ "$rc" -eq 0 ] && ok=$((ok + 1)) || err=$((err + 1))
    return 0
}

case_resume() {
    rm -rf "$T/w" && cp -r "$T/base1" "$T/w"
    faulted "$1" "$T/w" "$CLF" train --resume "$T/w" --epochs 2 --quiet || return
    for f in checkpoints/last.ckpt model.clf; do
        [ -f "$T/w/$f" ] || { bad "the previous $f is gone"; return; }
    done
    "$CLF" train --resume "$T/w" --epochs 2 --quiet >/dev/null 2>"$T/stderr" || { bad "the run does not resume afterwards"; return; }
    cmp -s "$T/w/model.clf" "$T/base2/model.clf" || bad "resumed afterwards, its model.clf differs from an uninterrupted run's"
}

case_train() {
    rm -rf "$T/w"
    faulted "$1" "$T/w" "$CLF" train "$T/train.cfg" --run-dir "$T/w" --quiet || return
    [ "$rc" -ne 0 ] || cmp -s "$T/w/model.clf" "$T/base2/model.clf" || bad "completed with another model.clf"
}

case_tune() {
    rm -rf "$T/w"
    faulted "$1" "$T/w" "$CLF" tune "$T/tune.cfg" --dir "$T/w" --quiet || return
    if [ "$rc" -ne 0 ]; then
        if [ -s "$T/w/journal.jsonl" ]; then
            "$CLF" tune "$T/tune.cfg" --resume "$T/w" --quiet >/dev/null 2>"$T/stderr" || { bad "the study does not resume afterwards"; return; }
        else
            rm -rf "$T/w"
            "$CLF" tune "$T/tune.cfg" --dir "$T/w" --quiet >/dev/null 2>"$T/stderr" || { bad "the study does not run afterwards"; return; }
        fi
    fi
    # A failure inside a trial process fails that trial (trials.csv says so), and
    # the study may then pick another best; otherwise the best is the unfaulted one.
    cmp -s "$T/w/best.cfg" "$T/study0/best.cfg" || grep -q ',failed,' "$T/w/trials.csv" ||
        bad "its best.cfg differs from an unfaulted study's, with no failed trial"
}

rm -rf "$T/w" && cp -r "$T/base1" "$T/w"
fault_sweep resume "output calls ($ERRS)" 12 CF_FAILWRITE_COUNT case_resume "$CLF" train --resume "$T/w" --epochs 2 --quiet
rm -rf "$T/w"
fault_sweep train "output calls ($ERRS)" 12 CF_FAILWRITE_COUNT case_train "$CLF" train "$T/train.cfg" --run-dir "$T/w" --quiet
rm -rf "$T/w"
fault_sweep tune "output calls ($ERRS)" 12 CF_FAILWRITE_COUNT case_tune "$CLF" tune "$T/tune.cfg" --dir "$T/w" --quiet
[ "$fails" -eq 0 ]
