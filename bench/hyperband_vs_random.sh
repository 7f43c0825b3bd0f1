#!/bin/sh
# Hyperband vs random search on examples/tune_fashion_cnn.cfg (issue 6 acceptance:
# hyperband reaches the best validation accuracy of a 20-trial random search within
# 0.5 points while spending <= 1/3 of its total epochs).
#
#   bench/hyperband_vs_random.sh BUILD/clforge [OUTDIR]
#
# Both studies use the example's model and `parameters` block unchanged (copied from
# the file, so the search space cannot drift) and the same data slice and split; only
# the strategy lines differ:
#   random:    20 trials x E epochs (E = the example's train.epochs), no early stopping
#   hyperband: R = E, r_min = 1, eta = 3, max_total_epochs = a third of the epochs
#              random search spent (it runs first; docs/tuning.md plans the brackets
#              within the budget); for E = 9 and 180 epochs that is 60: s = 2 (9x1, 3x3,
#              1x9), s = 1 (5x3, 1x9) and s = 0 cut to 2x9, promotions continuing their
#              parent's run: 21 + 21 + 18 = 60
# max_parallel = 1 so that epochs and seconds are not distorted by two trials
# sharing the cores. Environment:
#   LIMIT_TRAIN=N   train on the first N training images (data.limit_train; the
#                   validation split comes out of them). Default 15000; 0 = all 60000.
#   VALIDATION_SPLIT=F  data.validation_split of both studies (default 0.4: 6,000
#                   validation images of 15,000, so that one standard error of an
#                   accuracy near 0.9 is ~0.4 points rather than ~1 with 0.1 of it)
#   THREADS=T       backend.threads of every trial (default: the example's)
#   SEED=S          tune.seed of both studies (default 7, the example's)
#   HB_BUDGET=N     hyperband's max_total_epochs (default: random's epochs / 3, rounded
#                   down; a random trial that diverges in its first epoch spends none)
#   HB_BRACKETS=B   also bound hyperband's brackets (tune.brackets; default: none)
#   RANDOM_TRIALS=N random-search trials (default 20)
#   HB_OPTS="..."   extra tune lines for the hyperband study, e.g.
#                   'promotion = "restart";'
set -eu
EXE=${1:?usage: bench/hyperband_vs_random.sh BUILD/clforge [OUTDIR]}
OUT=${2:-runs/hyperband_vs_random}
LIMIT_TRAIN=${LIMIT_TRAIN:-15000}
VALIDATION_SPLIT=${VALIDATION_SPLIT:-0.4}
THREADS=${THREADS:-}
SEED=${SEED:-7}
HB_BRACKETS=${HB_BRACKETS:-}
RANDOM_TRIALS=${RANDOM_TRIALS:-20}
HB_OPTS=${HB_OPTS:-}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC="$HERE/../examples/tune_fashion_cnn.cfg"
case $EXE in /*) ;; *) EXE="$(pwd)/$EXE" ;; esac
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

E=$(sed -n 's/^train = {.*epochs = \([0-9]*\);.*/\1/p' "$SRC")
[ -n "$E" ] || { echo "cannot read train.epochs from $SRC" >&2; exit 1; }

# $1 = study name, $2 = strategy lines; writes $OUT/$1.cfg.
make_cfg() {
    {
        # everything before the tune group, with the data slice and split (and the
        # backend's threads) of this bench
        sed -n '/^tune = {/q; p' "$SRC" |
            sed -e "s/^data = {/data = { limit_train = $LIMIT_TRAIN;/" \
                -e "/^data = {/s/validation_split = [0-9.]*;/validation_split = $VALIDATION_SPLIT;/" |
            if [ -n "$THREADS" ]; then sed "s/^backend = {/backend = { threads = $THREADS;/"; else cat; fi
        echo "tune = {"
        echo "  name = \"$1\";"
        echo "  objective = { metric = \"validation:accuracy\"; goal = \"maximize\"; };"
        echo "  max_parallel = 1; seed = $SEED;"
        printf '%s\n' "$2"
        sed -n '/^  parameters = (/,/);/p' "$SRC"
        echo "};"
    } >"$OUT/$1.cfg"
    grep -q "limit_train = $LIMIT_TRAIN;.*validation_split = $VALIDATION_SPLIT;" "$OUT/$1.cfg" ||
        { echo "no data group with validation_split in $SRC" >&2; exit 1; }
    [ -z "$THREADS" ] || grep -q "^backend = { threads = $THREADS;" "$OUT/$1.cfg" ||
        { echo "no backend group in $SRC" >&2; exit 1; }
    grep -q "parameters = (" "$OUT/$1.cfg" || { echo "no parameters in $SRC" >&2; exit 1; }
}

make_cfg random "  strategy = \"random\"; max_trials = $RANDOM_TRIALS; early_stopping = \"off\";"

for s in random hyperband; do
    if [ $s = hyperband ]; then
        # the budget: a third of what random search spent (trials.csv column 5)
        spent=$(awk -F, 'NR > 1 { e += $5 } END { print e + 0 }' "$OUT/random/trials.csv")
        budget=${HB_BUDGET:-$((spent / 3))}
        make_cfg hyperband "  strategy = \"hyperband\"; min_epochs = 1; max_epochs = $E; eta = 3; max_total_epochs = $budget; ${HB_BRACKETS:+brackets = $HB_BRACKETS; }max_trials = 1000; $HB_OPTS"
    fi
    if [ -f "$OUT/$s/trials.csv" ] && grep -q '"ev":"done"' "$OUT/$s/journal.jsonl" 2>/dev/null; then
        echo "== $s: already done in $OUT/$s (delete it to re-run)"
        continue
    fi
    echo "== $s: $EXE tune $OUT/$s.cfg --dir $OUT/$s"
    t0=$(date +%s)
    if [ -f "$OUT/$s/journal.jsonl" ]; then
        "$EXE" tune "$OUT/$s.cfg" --resume "$OUT/$s"
    else
        "$EXE" tune "$OUT/$s.cfg" --dir "$OUT/$s"
    fi
    echo "== $s: $(( $(date +%s) - t0 )) s"
done

# Summary from trials.csv: columns trial,state,<objective>,epochs,epochs_run,bracket,rung,...
# Hyperband's best counts only trials at the full budget E (as the tuner's best does).
awk -F, -v E="$E" -v limit="$LIMIT_TRAIN" -v vs="$VALIDATION_SPLIT" '
FNR == 1 { study = (FILENAME ~ /\/random\//) ? "random" : "hyperband"; next }
{
    ep[study] += $5; sec[study] += $9; n[study]++
    if ($2 == "done" && $4 == E && $3 + 0 > best[study]) best[study] = $3 + 0
    if (study == "hyperband") { # trials run bracket by bracket (max_parallel = 1)
        bep[$6] = ep[study]; if ($2 == "done" && $4 == E && $3 + 0 > bb[$6]) bb[$6] = $3 + 0; nb = $6 + 1 }
}
END {
    printf "\n| study | trials | epochs spent | trial seconds | best validation accuracy |\n|---|---|---|---|---|\n"
    for (i = 0; i < 2; i++) {
        s = i ? "hyperband" : "random"
        printf "| %s | %d | %d | %.0f | %.4f |\n", s, n[s], ep[s], sec[s], best[s]
    }
    b = 0
    for (g = 0; g < nb; g++) { if (bb[g] > b) b = bb[g]; printf "hyperband after bracket %d: %d epochs, best %.4f\n", g, bep[g], b }
    printf "\ndata.limit_train = %s, data.validation_split = %s, E = %d epochs\n", limit, vs, E
    printf "epochs ratio hyperband/random = %.3f (need <= 0.333)\n", ep["hyperband"] / ep["random"]
    d = 100 * (best["random"] - best["hyperband"])
    printf "accuracy gap random - hyperband = %.2f points (need <= 0.5): %s\n", d,
           (d <= 0.5 && ep["hyperband"] * 3 <= ep["random"]) ? "MET" : "NOT MET"
}' "$OUT/random/trials.csv" "$OUT/hyperband/trials.csv"
