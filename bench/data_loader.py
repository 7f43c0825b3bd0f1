#!/usr/bin/env python3
"""Input-pipeline throughput (decode + augment + batch, no model): clforge's
`clforge data bench` against torchvision's ImageFolder + DataLoader
(num_workers 0, 1, 2; the best counts) on the same JPEG tree with the same
transforms, alternating, best of --repeats. Prints img/s and the ratio.
  data_loader.py CLFORGE CONFIG TREE --kind 224|28 [--batches N] [--repeats 3] [--set K=V]
clforge's img/s include filling its pipeline; torchvision's are timed from its
first batch (its workers' start-up left out), which favours the peer.
CONFIG: bench/configs/data_224.cfg or data_28.cfg (the transforms below match)."""
import argparse
import json
import os
import subprocess
import time

import torch
from torchvision import datasets, transforms


def torch_ips(tree, kind, workers, batches, batch=64):
    if kind == "224":
        tf = transforms.Compose([transforms.Resize(256), transforms.RandomCrop(224),
                                 transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                                 transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    else:
        tf = transforms.Compose([transforms.Grayscale(), transforms.RandomHorizontalFlip(),
                                 transforms.ToTensor(), transforms.Normalize([0.286], [0.353])])
    ds = datasets.ImageFolder(tree, transform=tf)
    dl = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers)
    # timed from the first batch on: the workers' start-up is not counted
    t0, n = 0.0, 0
    for i, (x, _) in enumerate(dl):
        if i == 0:
            t0 = time.perf_counter()
        else:
            n += x.shape[0]
        if i >= batches:
            break
    return n / (time.perf_counter() - t0)


def clforge_ips(exe, cfg, tree, batches, sets):
    extra = [x for kv in sets for x in ("--set", kv)]
    out = subprocess.run([exe, "data", "bench", cfg, "--json", "--batches", str(batches),
                          "--set", 'data.train="%s"' % tree] + extra, check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["images_per_s"], r["open_s"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("clforge")
    ap.add_argument("config")
    ap.add_argument("tree")
    ap.add_argument("--kind", choices=["224", "28"], required=True)
    ap.add_argument("--batches", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--set", action="append", default=[], help="more clforge --set KEY=VALUE")
    a = ap.parse_args()
    torch.set_num_threads(1)
    best = {}
    for r in range(a.repeats):
        ips, op = clforge_ips(a.clforge, a.config, a.tree, a.batches, a.set)
        print("repeat %d clforge: %.1f img/s (open %.2f s)" % (r + 1, ips, op), flush=True)
        best["clforge"] = max(best.get("clforge", 0), ips)
        for w in (0, 1, 2):
            v = torch_ips(a.tree, a.kind, w, a.batches)
            print("repeat %d torchvision num_workers=%d: %.1f img/s" % (r + 1, w, v), flush=True)
            best["torch%d" % w] = max(best.get("torch%d" % w, 0), v)
    tb = max(best[k] for k in best if k.startswith("torch"))
    print("load: %s" % os.getloadavg()[0])
    print("best clforge %.1f img/s, best torchvision %.1f img/s (%s): ratio %.2fx (target >= 3x)"
          % (best["clforge"], tb, ", ".join("w%s %.1f" % (k[-1], best[k]) for k in sorted(best) if k != "clforge"),
             best["clforge"] / tb))


if __name__ == "__main__":
    main()
