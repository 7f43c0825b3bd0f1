#!/usr/bin/python3
"""clforge cpu backend vs PyTorch on the same CPU (issue 7), in one run.

For each model (mlp, cnn, resnet20) it trains a fixed number of batches on
Fashion-MNIST with clforge's cpu backend (`clforge train bench/configs/M.cfg`,
1 and 2 threads; the second epoch is timed, the first warms up) and with
PyTorch (bench/torch_models.py, 1 and 2 threads), repeating each setting and
keeping the best. It prints training and inference images/s, the ratio to
PyTorch's best setting, peak RSS of each training process, and clforge's
achieved GFLOP/s against the measured sgemm ceilings: OpenBLAS's (the issue's
yardstick) and the best sgemm on this machine (oneDNN's, when installed: the
cpu backend uses it, and under OPENBLAS_CORETYPE=Haswell it is about twice
OpenBLAS's).

  /usr/bin/python3 bench/bench_cpu.py --clforge BUILD/clforge [--repeats 2]

Inference (batch 256): PyTorch times model(x) under no_grad on tensors already
in memory; clforge's `clforge eval --json` on the 10,000 test images reports
the seconds spent in its forward passes (upload, ops, download of the
outputs; not the IDX decoding or metrics), the like-for-like figure. The
end-to-end column is the wall time of `clforge eval` on 10,000 minus 256 test
images (process start-up cancels; IDX decoding and metrics remain). Both
sides see the same OPENBLAS_* environment (printed).
"""
import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/share/datasets/fashion-mnist"
BATCH = {"mlp": 64, "cnn": 64, "resnet20": 128}
BATCHES = {"mlp": 400, "cnn": 60, "resnet20": 12}


def run(cmd, env=None, timeout=1800):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if p.returncode != 0:
        sys.exit("bench: %s failed (%d):\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-2000:],
                                                   p.stderr[-2000:]))
    return p


def sgemm_ceiling(tmp):
    src = os.path.join(HERE, "sgemm_peak.c")
    exe = os.path.join(tmp, "sgemm_peak")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "openblas"], capture_output=True,
                           text=True, check=True).stdout.split()
    if os.path.exists("/usr/include/oneapi/dnnl/dnnl.h"):
        flags += ["-DWITH_DNNL", "-ldnnl"]
    run(["cc", "-O2", src, "-o", exe] + flags)
    out, libs = {}, {}
    for t in (1, 2):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t))
        libs[t] = {l.split()[0]: float(l.split()[1]) for l in run([exe], env=env).stdout.split("\n")
                   if l.strip()}
        out[t] = max(libs[t].values())
    return out, libs


def subset_idx(tmp, n):
    """The first n test images/labels as IDX files (for the eval difference)."""
    paths = []
    for name, rec in (("t10k-images-idx3-ubyte.gz", 784), ("t10k-labels-idx1-ubyte.gz", 1)):
        with gzip.open(os.path.join(DATA, name), "rb") as f:
            buf = bytearray(f.read())
        hdr = 16 if rec == 784 else 8
        buf[4:8] = n.to_bytes(4, "big")
        out = os.path.join(tmp, "sub-" + name)
        with gzip.open(out, "wb") as f:
            f.write(bytes(buf[:hdr + n * rec]))
        paths.append(out)
    return paths


def timed(cmd, env=None):
    """Run under /usr/bin/time; returns (stdout, wall seconds, peak RSS MiB)."""
    t0 = time.perf_counter()
    p = run(["/usr/bin/time", "-f", "@@RSS %M"] + cmd, env=env)
    wall = time.perf_counter() - t0
    m = re.search(r"@@RSS (\d+)", p.stderr)
    return p.stdout, wall, (int(m.group(1)) / 1024.0 if m else float("nan"))


def clforge_train(clf, model, threads, tmp):
    b, nb = BATCH[model], BATCHES[model]
    rundir = os.path.join(tmp, "run-%s-%d" % (model, threads))
    shutil.rmtree(rundir, ignore_errors=True)
    out, wall, rss = timed([clf, "train", os.path.join(HERE, "configs", model + ".cfg"),
                            "--set", "data.limit_train=%d" % (b * nb),
                            "--set", "backend.name=cpu",
                            "--set", "backend.threads=%d" % threads,
                            "--set", "train.epochs=2", "--no-test", "--json",
                            "--run-dir", rundir])
    ips = [json.loads(l)["images_per_sec"] for l in out.splitlines()
           if l.startswith("{") and '"event":"epoch"' in l]
    return {"train_img_s": ips[-1], "peak_rss_mib": rss, "run_dir": rundir}


def clforge_infer(clf, rundir, sub, threads):
    """(forward-pass images/s, end-to-end images/s) of `clforge eval`, best of 2."""
    model = os.path.join(rundir, "model.clf")
    cmd = [clf, "eval", model, "--backend", "cpu", "--threads", str(threads), "--json"]
    fwd, e2e = 0, 0
    for _ in range(2):
        _, t_small, _ = timed(cmd + ["--images", sub[0], "--labels", sub[1]])
        out, t_full, _ = timed(cmd)
        rep = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
        fwd = max(fwd, rep["forward_images_per_sec"])
        if t_full > t_small:
            e2e = max(e2e, (10000 - 256) / (t_full - t_small))
    return fwd, e2e


def opbench_infer(exe, module, model, threads):
    """Backend-only forward at batch 256 (bench/opbench.c), no data pipeline."""
    if not exe or not os.path.exists(module):
        return float("nan")
    p = run([exe, module, model, str(threads)])
    return json.loads(p.stdout.strip().splitlines()[-1])["infer_img_s"]


def build_opbench(tmp):
    exe = os.path.join(tmp, "opbench")
    run(["cc", "-O2", "-std=c11", "-D_GNU_SOURCE", "-I", os.path.join(HERE, "..", "engine", "include"),
         os.path.join(HERE, "opbench.c"), "-o", exe, "-ldl", "-lm"])
    return exe


def torch_run(model, threads):
    p = run(["/usr/bin/python3", os.path.join(HERE, "torch_models.py"), model, str(threads),
             "--batches", str(BATCHES[model])])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clforge", default=shutil.which("clforge") or os.path.join(HERE, "..", "clforge"))
    ap.add_argument("--module", help="cf_backend_cpu.so for the backend-only inference column "
                    "(default: next to --clforge in a build tree)")
    ap.add_argument("--models", default="mlp,cnn,resnet20")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", help="also write all results here")
    args = ap.parse_args()
    models = args.models.split(",")
    tmp = tempfile.mkdtemp(prefix="clforge-bench-")
    env_note = " ".join("%s=%s" % (k, v) for k, v in sorted(os.environ.items())
                        if k.startswith(("OPENBLAS", "OMP_")))
    print("environment: %s; %d CPUs; load average %s" %
          (env_note or "(no OPENBLAS_*/OMP_* variables)", os.cpu_count(),
           " ".join("%.2f" % x for x in os.getloadavg())))
    ceil, ceil_libs = sgemm_ceiling(tmp)
    print("sgemm ceiling (best library): %.1f GFLOP/s (1 thread), %.1f GFLOP/s (2 threads)  [%s]" %
          (ceil[1], ceil[2], "; ".join("%dT %s" % (t, ", ".join("%s %.1f" % kv for kv in
                                                               sorted(ceil_libs[t].items())))
                                      for t in (1, 2))))
    sub = subset_idx(tmp, 256)
    module = args.module or os.path.join(os.path.dirname(os.path.abspath(args.clforge)), "backends",
                                         "cpu", ".libs", "cf_backend_cpu.so")
    opb = build_opbench(tmp)
    results = {"ceiling_gflops": ceil, "ceiling_by_library": ceil_libs, "models": {}}
    for m in models:
        cf, pt = {}, {}
        for rep in range(args.repeats):  # interleaved, so load spikes hit both
            for t in (1, 2):
                r = clforge_train(args.clforge, m, t, tmp)
                if t not in cf or r["train_img_s"] > cf[t]["train_img_s"]:
                    cf[t] = dict(r, peak_rss_mib=min(r["peak_rss_mib"], cf.get(t, r)["peak_rss_mib"]))
                r = torch_run(m, t)
                if t not in pt or r["train_img_s"] > pt[t]["train_img_s"]:
                    keep_inf = max(r["infer_img_s"], pt.get(t, r)["infer_img_s"])
                    pt[t] = dict(r, infer_img_s=keep_inf)
                else:
                    pt[t]["infer_img_s"] = max(pt[t]["infer_img_s"], r["infer_img_s"])
        tc = max(cf, key=lambda t: cf[t]["train_img_s"])
        inf = {t: clforge_infer(args.clforge, cf[tc]["run_dir"], sub, t) for t in (1, 2)}
        tci = max(inf, key=lambda t: inf[t][0])
        inf_cf, inf_e2e = inf[tci][0], max(v[1] for v in inf.values())
        inf_op = max(opbench_infer(opb, module, m, t) for t in (1, 2))
        tp = max(pt, key=lambda t: pt[t]["train_img_s"])
        tpi = max(pt, key=lambda t: pt[t]["infer_img_s"])
        flops = 3 * pt[tp]["fwd_flops_per_img"] - pt[tp]["first_layer_flops_per_img"]
        gflops = cf[tc]["train_img_s"] * flops * 1e-9
        row = {
            "clforge": {t: {"train_img_s": cf[t]["train_img_s"], "peak_rss_mib": cf[t]["peak_rss_mib"]}
                        for t in cf},
            "pytorch": {t: {k: pt[t][k] for k in ("train_img_s", "infer_img_s", "peak_rss_mib")}
                        for t in pt},
            "clforge_best_threads": tc, "pytorch_best_threads": tp,
            "train_ratio": cf[tc]["train_img_s"] / pt[tp]["train_img_s"],
            "clforge_infer_img_s": inf_cf, "clforge_infer_threads": tci,
            "clforge_infer_img_s_by_threads": {t: inf[t][0] for t in inf},
            "clforge_e2e_infer_img_s": inf_e2e, "pytorch_infer_img_s": pt[tpi]["infer_img_s"],
            "infer_ratio": inf_cf / pt[tpi]["infer_img_s"],
            "clforge_backend_infer_img_s": inf_op,
            "backend_infer_ratio": inf_op / pt[tpi]["infer_img_s"],
            "train_gflops": gflops, "ceiling_share": gflops / ceil[tc],
            "openblas_ceiling_share": gflops / ceil_libs[tc]["openblas"],
            "rss_clforge_mib": cf[tc]["peak_rss_mib"], "rss_pytorch_mib": pt[tp]["peak_rss_mib"],
            "train_flops_per_img": flops,
        }
        results["models"][m] = row
        print("\n== %s (batch %d, %d timed batches)" % (m, BATCH[m], BATCHES[m]))
        for t in (1, 2):
            print("  train img/s  clforge %dT %9.0f (RSS %5.0f MiB)   pytorch %dT %9.0f (RSS %5.0f MiB)" %
                  (t, cf[t]["train_img_s"], cf[t]["peak_rss_mib"], t, pt[t]["train_img_s"],
                   pt[t]["peak_rss_mib"]))
        print("  training:  clforge %.0f img/s (%dT) / pytorch best %.0f img/s (%dT) = %.2fx" %
              (cf[tc]["train_img_s"], tc, pt[tp]["train_img_s"], tp, row["train_ratio"]))
        print("  inference (batch 256, forward passes): clforge %.0f img/s (%dT; %s) / "
              "pytorch best %.0f img/s (%dT; 1T %.0f, 2T %.0f) = %.2fx" %
              (inf_cf, tci, ", ".join("%dT %.0f" % (t, inf[t][0]) for t in sorted(inf)),
               pt[tpi]["infer_img_s"], tpi, pt[1]["infer_img_s"], pt[2]["infer_img_s"],
               row["infer_ratio"]))
        print("  inference end-to-end (clforge eval wall time, 10,000 - 256 images, IDX decoding "
              "and metrics included): %.0f img/s" % inf_e2e)
        print("  inference, backend only (opbench, forward at batch 256): %.0f img/s = %.2fx" %
              (inf_op, row["backend_infer_ratio"]))
        print("  peak RSS (training): clforge %.0f MiB, pytorch %.0f MiB" %
              (row["rss_clforge_mib"], row["rss_pytorch_mib"]))
        print("  clforge achieved %.1f GFLOP/s = %.0f%% of the %dT OpenBLAS sgemm ceiling, %.0f%% of "
              "the best %dT sgemm (%.1f MFLOP/img)" %
              (gflops, 100 * row["openblas_ceiling_share"], tc, 100 * row["ceiling_share"], tc,
               flops * 1e-6))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
