#!/usr/bin/python3
"""clforge bayesian vs Optuna TPE on Branin and Hartmann-6: median regret per budget.

    /usr/bin/python3 bench/tune_vs_optuna.py --clforge BUILD/clforge [--seeds 10] [--first-seed 0] [--budget 60]
        [--set tune.restart_period=3]... [--no-optuna]

clforge runs `clforge tune` on examples/tune_{branin,hartmann6}.cfg with --seed S and
--max-parallel 1, evaluating in-process (--in-process); the regret after n evaluations is
(best value among the first n trials) - (global minimum). Optuna (Debian python3-optuna)
runs TPESampler(seed=S) on the same functions and bounds. Results: bench/RESULTS.md.
"""
import argparse
import csv
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

BRANIN_MIN = 0.39788735772973816
HARTMANN6_MIN = -3.3223680114155147


def branin(x1, x2):
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


AL = [1.0, 1.2, 3.0, 3.2]
A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
     [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]


def hartmann6(*x):
    return -sum(AL[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j]) ** 2 for j in range(6))) for i in range(4))


PROBLEMS = {
    "branin": (branin, [(-5.0, 10.0), (0.0, 15.0)], BRANIN_MIN, "examples/tune_branin.cfg"),
    "hartmann6": (hartmann6, [(0.0, 1.0)] * 6, HARTMANN6_MIN, "examples/tune_hartmann6.cfg"),
}


def best_so_far(values, fmin):
    out, best = [], float("inf")
    for v in values:
        if v is not None and v < best:
            best = v
        out.append(best - fmin)
    return out


def run_clforge(exe, cfg, seed, budget, workdir, sets=()):
    d = os.path.join(workdir, "s%d" % seed)
    extra = [a for kv in sets for a in ("--set", kv)]
    subprocess.run([exe, "tune", cfg, "--seed", str(seed), "--max-trials", str(budget), "--max-parallel", "1",
                    "--in-process", "--quiet", "--dir", d] + extra, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(d, "trials.csv")) as f:
        rows = list(csv.DictReader(f))
    return [float(r["validation:loss"]) if r["validation:loss"] else None for r in rows]


def run_optuna(fn, bounds, seed, budget):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(lambda t: fn(*[t.suggest_float("x%d" % (i + 1), lo, hi) for i, (lo, hi) in enumerate(bounds)]),
                   n_trials=budget)
    return [t.value for t in study.trials]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clforge", default=os.path.join(ROOT, "clforge"))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--problems", default="branin,hartmann6")
    ap.add_argument("--no-optuna", action="store_true")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="passed to clforge tune, e.g. tune.restart_period=3")
    a = ap.parse_args()
    budgets = [b for b in (10, 20, 30, 40, 50, 60, 80, 100) if b <= a.budget]
    for name in a.problems.split(","):
        fn, bounds, fmin, cfg = PROBLEMS[name]
        cfg = os.path.join(ROOT, cfg)
        curves = {"clforge bayesian": [], "optuna TPE": []}
        secs = {"clforge bayesian": 0.0, "optuna TPE": 0.0}
        with tempfile.TemporaryDirectory() as tmp:
            for s in range(a.first_seed, a.first_seed + a.seeds):
                t0 = time.time()
                curves["clforge bayesian"].append(best_so_far(run_clforge(a.clforge, cfg, s, a.budget, tmp, a.set), fmin))
                secs["clforge bayesian"] += time.time() - t0
                if not a.no_optuna:
                    t0 = time.time()
                    curves["optuna TPE"].append(best_so_far(run_optuna(fn, bounds, s, a.budget), fmin))
                    secs["optuna TPE"] += time.time() - t0
        print("\n## %s: median regret over seeds %d-%d (global minimum %.6f)\n"
              % (name, a.first_seed, a.first_seed + a.seeds - 1, fmin))
        print("| method | " + " | ".join("n=%d" % b for b in budgets) + " | s/seed |")
        print("|---|" + "---|" * (len(budgets) + 1))
        for m, cs in curves.items():
            if not cs:
                continue
            meds = [statistics.median(c[b - 1] for c in cs) for b in budgets]
            print("| %s | %s | %.1f |" % (m, " | ".join("%.2e" % v for v in meds), secs[m] / len(cs)))
        cs = curves["clforge bayesian"]
        need = 40 if name == "branin" else 60
        if need <= a.budget:
            ok = sum(1 for c in cs if c[need - 1] < 1e-2)
            print("\nclforge bayesian: regret < 1e-2 within %d evaluations in %d of %d seeds" % (need, ok, len(cs)))
            print("per seed at n=%d: %s" % (need, " ".join("%.1e" % c[need - 1] for c in cs)))
        if curves["optuna TPE"] and 50 <= a.budget:
            mc = statistics.median(c[49] for c in cs)
            mo = statistics.median(c[49] for c in curves["optuna TPE"])
            print("median regret at n=50: clforge %.2e, TPE %.2e, ratio %.0fx" % (mc, mo, mo / max(mc, 1e-300)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
