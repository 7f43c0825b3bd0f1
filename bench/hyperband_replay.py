#!/usr/bin/env python3
"""Replays hyperband bracket plans on learning curves recorded by random searches.

    bench/hyperband_replay.py OUT/seed*/random [--budget 60] [--reps 20000]

Every complete curve of the given random studies (journal.jsonl "epoch" events) is one
configuration of a pool; a replay draws 20 of them for a random search and, independently,
new ones for hyperband, whose rungs read the same curves (a continued promotion reproduces
a fresh run exactly, tests/test_resume.sh). It prints, per plan, how often hyperband's best
full-budget value is within 0.5 points of random's best and the median gap: a cheap
estimate of what bench/hyperband_vs_random.sh measures, before spending an hour on it.
The plans mirror docs/tuning.md: Li et al.'s brackets, cut by tune.brackets or planned
within tune.max_total_epochs (engine/tune/hyperband.c), promotions continued.
"""
import argparse
import glob
import json
import math
import os
import random
import statistics


def curves(dirs):
    pool = []
    for d in dirs:
        per = {}
        with open(os.path.join(d, "journal.jsonl")) as f:
            for line in f:
                e = json.loads(line)
                if e.get("ev") == "epoch":
                    per.setdefault(e["trial"], {})[e["epoch"]] = e["value"]
        pool += [[c[k] for k in sorted(c)] for c in per.values()]
    R = max(len(c) for c in pool)
    return [c for c in pool if len(c) == R], R


def bracket(R, eta, smax, b, n):
    s = smax - b
    r = R / eta**s
    return [(int(n // eta**i), min(R, max(1, int(math.floor(r * eta**i + 0.5))))) for i in range(s + 1)]


def cost(rungs):
    return sum(n * (r - (rungs[i - 1][1] if i else 0)) for i, (n, r) in enumerate(rungs))


def plan(R, eta, brackets, budget):
    smax = 0
    while eta ** (smax + 1) <= R:
        smax += 1
    out, left, g = [], budget, 0
    while g < (brackets or (10**9 if budget else smax + 1)):
        b = g % (smax + 1)
        s = smax - b
        n = math.ceil((smax + 1) * eta**s / (s + 1) - 1e-9)
        while n > 0:
            rungs = bracket(R, eta, smax, b, n)
            if rungs[-1][0] < 1:
                return out
            if not budget or cost(rungs) <= left:
                break
            n -= 1
        if n == 0:
            return out
        left -= cost(rungs) if budget else 0
        out.append(rungs)
        g += 1
    return out


def run(rng, pool, brackets):
    best = 0.0
    for rungs in brackets:
        cfgs = [rng.choice(pool) for _ in range(rungs[0][0])]
        for i in range(1, len(rungs)):
            prev_r = rungs[i - 1][1]
            cfgs = sorted(cfgs, key=lambda c: -c[prev_r - 1])[: rungs[i][0]]
        best = max([best] + [c[rungs[-1][1] - 1] for c in cfgs])
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("studies", nargs="+", help="random-search study directories")
    ap.add_argument("--budget", type=int, default=0, help="max_total_epochs (default: a third of 20 x R)")
    ap.add_argument("--random-trials", type=int, default=20)
    ap.add_argument("--eta", type=int, default=3)
    ap.add_argument("--reps", type=int, default=20000)
    a = ap.parse_args()
    pool, R = curves(a.studies)
    budget = a.budget or a.random_trials * R // 3
    print(f"{len(pool)} complete {R}-epoch curves from {len(a.studies)} studies; budget {budget} epochs")
    for name, p in ((f"max_total_epochs = {budget}", plan(R, a.eta, 0, budget)),
                    ("brackets = 2", plan(R, a.eta, 2, 0))):
        rng = random.Random(1)
        gaps = []
        for _ in range(a.reps):
            rb = max(rng.choice(pool)[R - 1] for _ in range(a.random_trials))
            gaps.append(100 * (rb - run(rng, pool, p)))
        med10 = [statistics.median(rng.sample(gaps, 10)) for _ in range(2000)]
        shape = " | ".join(" ".join(f"{n}x{r}" for n, r in b) for b in p)
        print(f"{name}: {shape}; {sum(cost(b) for b in p)} epochs, "
              f"{sum(b[0][0] for b in p)} configurations")
        print(f"  P(gap <= 0.5) = {sum(g <= 0.5 for g in gaps) / len(gaps):.2f}, median gap "
              f"{statistics.median(gaps):.2f} points, P(median of 10 seeds <= 0.5) = "
              f"{sum(m <= 0.5 for m in med10) / len(med10):.2f}")


if __name__ == "__main__":
    main()
