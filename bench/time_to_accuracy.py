#!/usr/bin/python3
"""Time to accuracy: clforge vs PyTorch, the same recipe, one run (issue 19).

Recipe (bench/configs/resnet20_tta.cfg): ResNet-20 (clforge's preset; the
PyTorch twin is bench/torch_models.py's ResNet20 with clforge's He-normal
initialisation), Fashion-MNIST, random crop (pad 2) + horizontal flip,
SGD-Nesterov lr 0.1 momentum 0.9 weight decay 5e-4 on weight tensors (conv and
dense weights; clforge decays no bias or batch-norm parameter), cosine over E
epochs stepped per epoch, batch 128, test accuracy after every epoch.

Each side first runs a short images/s probe at 1 and 2 threads and then trains
at its faster setting. The time to an accuracy is the training time summed
over the epochs up to the first one whose test accuracy reaches it (the
evaluation passes are excluded on both sides); the elapsed column adds the
evaluations and, for clforge, process start-up, data loading and checkpoints.

PyTorch's data pipeline is the fast one: all images as one tensor in memory,
augmentation on whole batches (one gather for the crops, one where() for the
flips), no DataLoader.

  /usr/bin/python3 bench/time_to_accuracy.py --clforge BUILD/clforge [--epochs 12]
  /usr/bin/python3 bench/time_to_accuracy.py --clforge BUILD/clforge --quick   # smoke run

The PyTorch side runs in a child process of --python (default
/work/venv-torch/bin/python, PyTorch 2.x; torchvision is not needed); this driver needs
only the standard library.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/share/datasets/fashion-mnist"
CFG = os.path.join(HERE, "configs", "resnet20_tta.cfg")
BATCH, EVAL_BATCH = 128, 256
TARGETS = (0.92, 0.93)

sys.path.insert(0, HERE)
from bench_cpu import subset_idx  # noqa: E402  (the first n test images as IDX files)


# ---------------------------------------------------------------- PyTorch side

def torch_worker(args):
    """Runs in the PyTorch venv; prints one JSON line per event."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch_models import ResNet20, load_idx_images, load_idx_labels

    t_start = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x = torch.from_numpy(load_idx_images(f"{DATA}/train-images-idx3-ubyte.gz", args.limit_train or 60000))
    y = torch.from_numpy(load_idx_labels(f"{DATA}/train-labels-idx1-ubyte.gz", args.limit_train or 60000))
    xt = torch.from_numpy(load_idx_images(f"{DATA}/t10k-images-idx3-ubyte.gz", args.limit_test or 10000))
    yt = torch.from_numpy(load_idx_labels(f"{DATA}/t10k-labels-idx1-ubyte.gz", args.limit_test or 10000))

    model = ResNet20()
    decay, no_decay = [], []
    for m in model.modules():  # clforge's init: He normal weights, zero biases
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            decay.append(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
                no_decay.append(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            no_decay += [m.weight, m.bias]
    params = sum(p.numel() for p in model.parameters())
    assert params == sum(p.numel() for p in decay + no_decay), "a parameter is in no group"
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}],
                          lr=0.1, momentum=0.9, nesterov=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    n, pad = x.shape[0], 2
    ar = torch.arange(28)

    def augment(xb):
        b = xb.shape[0]
        xp = F.pad(xb, (pad, pad, pad, pad))
        oy = torch.randint(0, 2 * pad + 1, (b, 1, 1))
        ox = torch.randint(0, 2 * pad + 1, (b, 1, 1))
        rows = (oy + ar.view(1, 28, 1)).expand(b, 28, 28)
        cols = (ox + ar.view(1, 1, 28)).expand(b, 28, 28)
        out = xp[torch.arange(b).view(b, 1, 1), 0, rows, cols].unsqueeze(1)
        flip = torch.rand(b, 1, 1, 1) < 0.5
        return torch.where(flip, out.flip(3), out)

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(augment(xb)), yb)
        loss.backward()
        opt.step()
        return loss.detach()

    def emit(**kw):
        print(json.dumps(kw), flush=True)

    if args.probe:
        model.train()
        for i in range(args.probe + 3):
            if i == 3:
                t0 = time.perf_counter()
            lo = (i * BATCH) % (n - BATCH)
            step(x[lo:lo + BATCH], y[lo:lo + BATCH])
        emit(event="probe", threads=args.threads, train_img_s=args.probe * BATCH / (time.perf_counter() - t0))
        return
    emit(event="start", parameters=params, train_samples=n, torch=torch.__version__,
         threads=args.threads)
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        lsum = 0.0
        for lo in range(0, n, BATCH):
            idx = perm[lo:lo + BATCH]
            lsum += float(step(x[idx], y[idx])) * idx.numel()
        t_train = time.perf_counter() - t0
        lr = opt.param_groups[0]["lr"]
        sched.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for lo in range(0, xt.shape[0], EVAL_BATCH):
                correct += int((model(xt[lo:lo + EVAL_BATCH]).argmax(1) == yt[lo:lo + EVAL_BATCH]).sum())
        emit(event="epoch", epoch=epoch, lr=lr, train_loss=lsum / n, train_seconds=t_train,
             test_accuracy=correct / xt.shape[0], elapsed=time.perf_counter() - t_start)


# ---------------------------------------------------------------- driver

def run_json(cmd):
    """Run cmd, return (JSON objects of its stdout lines, each with the time it
    arrived since the start as "t_arrived")."""
    t0 = time.perf_counter()
    errf = tempfile.TemporaryFile(mode="w+")  # a pipe would fill up and stall the child
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, text=True)
    out = []
    for line in p.stdout:
        if line.startswith("{"):
            o = json.loads(line)
            o["t_arrived"] = time.perf_counter() - t0
            out.append(o)
            if o.get("event") == "epoch" and o.get("test_accuracy", o.get("validation_accuracy")) is not None:
                print("  %s" % short(o), flush=True)
    rc = p.wait()
    errf.seek(0)
    err = errf.read()
    if rc != 0:
        sys.exit("tta: %s failed (%d):\n%s" % (" ".join(cmd), p.returncode, err[-3000:]))
    return out


def short(o):
    acc = o.get("test_accuracy", o.get("validation_accuracy"))
    return "epoch %d  lr %.4f  train loss %.4f  test acc %.4f" % (o["epoch"], o["lr"], o["train_loss"], acc)


def clforge_cmd(args, threads, rundir, extra):
    return [args.clforge, "train", CFG, "--json", "--no-test", "--run-dir", rundir,
            "--set", "backend.threads=%d" % threads] + sum((["--set", s] for s in extra), [])


def clforge_probe(args, threads, tmp):
    nb = args.probe_batches
    ev = run_json(clforge_cmd(args, threads, os.path.join(tmp, "probe-%d" % threads),
                              ["train.epochs=2", "data.limit_train=%d" % (nb * BATCH)]))
    return [o["images_per_sec"] for o in ev if o.get("event") == "epoch"][-1]  # epoch 1 warms up


def clforge_run(args, threads, tmp):
    test = [os.path.join(DATA, "t10k-images-idx3-ubyte.gz"), os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")]
    if args.limit_test:
        test = subset_idx(tmp, args.limit_test)
    extra = ["train.epochs=%d" % args.epochs, "data.validation=%s" % test[0], "data.test_labels=%s" % test[1]]
    if args.limit_train:
        extra.append("data.limit_train=%d" % args.limit_train)
    ev = run_json(clforge_cmd(args, threads, os.path.join(tmp, "run"), extra))
    start = [o for o in ev if o.get("event") == "start"][0]
    n = start["train_samples"]
    curve, cum = [], 0.0
    for o in ev:
        if o.get("event") == "epoch":
            cum += n / o["images_per_sec"]  # training only: images_per_sec = seen / t_train
            curve.append({"epoch": o["epoch"], "test_accuracy": o["validation_accuracy"],
                          "train_loss": o["train_loss"], "train_s": cum, "elapsed_s": o["t_arrived"]})
    return start["parameters"], curve


def torch_cmd(args, threads, extra):
    return [args.python, os.path.abspath(__file__), "--torch-worker", "--threads", str(threads),
            "--epochs", str(args.epochs), "--seed", "1"] + extra


def torch_probe(args, threads):
    ev = run_json(torch_cmd(args, threads, ["--probe", str(args.probe_batches)]))
    return ev[-1]["train_img_s"]


def torch_run(args, threads):
    extra = ["--limit-train", str(args.limit_train), "--limit-test", str(args.limit_test)]
    ev = run_json(torch_cmd(args, threads, extra))
    start = [o for o in ev if o.get("event") == "start"][0]
    curve, cum = [], 0.0
    for o in ev:
        if o.get("event") == "epoch":
            cum += o["train_seconds"]
            curve.append({"epoch": o["epoch"], "test_accuracy": o["test_accuracy"],
                          "train_loss": o["train_loss"], "train_s": cum, "elapsed_s": o["elapsed"]})
    return start["parameters"], start["torch"], curve


def time_to(curve, target):
    for c in curve:
        if c["test_accuracy"] >= target:
            return c
    return None


def fmt_min(c, key):
    return "%.2f (ep %d)" % (c[key] / 60, c["epoch"]) if c else "not reached"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clforge", help="the built clforge binary")
    ap.add_argument("--python", default="/work/venv-torch/bin/python", help="python with PyTorch 2.x")
    ap.add_argument("--epochs", type=int, default=0, help="epochs (cosine length); default 12, --quick 1")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 epoch on 5,000 training images, tested on 2,000")
    ap.add_argument("--limit-train", type=int, default=0, help="use the first N training images (0 = all)")
    ap.add_argument("--limit-test", type=int, default=0, help="test on the first N test images (0 = all)")
    ap.add_argument("--threads", default="1,2", help="thread counts each side's probe tries")
    ap.add_argument("--probe-batches", type=int, default=0, help="timed batches of the probe (default 10, quick 2)")
    ap.add_argument("--json", help="also write the curves and results to this file")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--probe", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        args.threads = int(args.threads)
        return torch_worker(args)
    if not args.clforge:
        ap.error("--clforge BUILD/clforge is required")
    args.epochs = args.epochs or (1 if args.quick else 12)
    if args.quick and not args.limit_train:
        args.limit_train = 5000
    if args.quick and not args.limit_test:
        args.limit_test = 2000
    args.probe_batches = args.probe_batches or (2 if args.quick else 10)
    threads = [int(t) for t in args.threads.split(",")]
    print("time to accuracy: ResNet-20, Fashion-MNIST, %d epoch(s), %s training and %s test images; "
          "%d cpus, load %s" % (args.epochs, args.limit_train or "all", args.limit_test or "all", os.cpu_count(), "%.1f %.1f %.1f" % os.getloadavg()))
    print("OPENBLAS_CORETYPE=%s OPENBLAS_NUM_THREADS=%s OMP_NUM_THREADS=%s" % tuple(
        os.environ.get(k, "-") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")))
    tmp = tempfile.mkdtemp(prefix="clforge-tta-")
    try:
        probe = {"clforge": {}, "pytorch": {}}
        for t in threads:
            probe["clforge"][t] = clforge_probe(args, t, tmp)
            probe["pytorch"][t] = torch_probe(args, t)
            print("probe %d thread(s): clforge %.1f img/s, pytorch %.1f img/s"
                  % (t, probe["clforge"][t], probe["pytorch"][t]), flush=True)
        best = {k: max(v, key=v.get) for k, v in probe.items()}
        print("clforge (%d threads):" % best["clforge"], flush=True)
        cp, ccurve = clforge_run(args, best["clforge"], tmp)
        print("pytorch (%d threads):" % best["pytorch"], flush=True)
        tp, tver, tcurve = torch_run(args, best["pytorch"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if cp != tp:
        print("WARNING: parameter counts differ: clforge %d, pytorch %d" % (cp, tp))
    print("\nparameters: clforge %d, pytorch %d (torch %s)" % (cp, tp, tver))
    print("| side | threads | final test acc | train min to 0.92 | to 0.93 | elapsed min to 0.92 | to 0.93 |")
    print("|---|---|---|---|---|---|---|")
    res = {}
    for name, curve in (("clforge", ccurve), ("pytorch", tcurve)):
        hit = {t: time_to(curve, t) for t in TARGETS}
        res[name] = {"threads": best[name], "probe_img_s": probe[name], "curve": curve,
                     "minutes_to": {str(t): (hit[t]["train_s"] / 60 if hit[t] else None) for t in TARGETS}}
        print("| %s | %d | %.4f | %s | %s | %s | %s |" % (
            name, best[name], curve[-1]["test_accuracy"], fmt_min(hit[0.92], "train_s"),
            fmt_min(hit[0.93], "train_s"), fmt_min(hit[0.92], "elapsed_s"), fmt_min(hit[0.93], "elapsed_s")))
    for t in TARGETS:
        a, b = res["clforge"]["minutes_to"][str(t)], res["pytorch"]["minutes_to"][str(t)]
        if a and b:
            print("time to %.2f: pytorch / clforge = %.2fx" % (t, b / a))
        else:
            print("time to %.2f: no ratio (%s)" % (t, "reached by neither" if not (a or b) else
                                                   "only %s reached it" % ("clforge" if a else "pytorch")))
    imgs = ccurve[-1]["epoch"] * (args.limit_train or 60000)
    print("whole run, training only: clforge %.2f min, pytorch %.2f min (%.0f vs %.0f img/s); ratio %.2fx"
          % (ccurve[-1]["train_s"] / 60, tcurve[-1]["train_s"] / 60, imgs / ccurve[-1]["train_s"],
             imgs / tcurve[-1]["train_s"], tcurve[-1]["train_s"] / ccurve[-1]["train_s"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"epochs": args.epochs, "limit_train": args.limit_train, "torch": tver, **res}, f, indent=1)


if __name__ == "__main__":
    main()
