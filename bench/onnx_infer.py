"""clforge eval vs ONNX Runtime on the model clforge exported (issue 15), in one run.

For each model (bench/configs: mlp, cnn, resnet20) it trains a few batches on
Fashion-MNIST with the cpu backend (the weights do not matter for speed),
exports it (`clforge export`), and measures inference at batch 256 on the
10,000 test images:

  clforge: `clforge eval MODEL --backend cpu --threads T --json`, the
           forward_images_per_sec it reports (cf_net_run per batch: upload,
           ops, loss/probabilities, download; not the IDX decoding or metrics)
  ONNX Runtime: InferenceSession(intra_op_num_threads=T).run on [256, 1, 28,
           28] float batches already in memory (pixels / 255; the exported
           graph normalises), the same images, the first batch left out

best of T = 1 and 2 threads on each side and best of --repeats runs. It also
checks ONNX Runtime's top-1 on the test set equals clforge eval's accuracy.

  .venv/bin/python bench/onnx_infer.py --clforge ./clforge [--repeats 2] [--models mlp,cnn,resnet20]
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/share/datasets/fashion-mnist"
TRAIN_IMAGES = {"mlp": 2048, "cnn": 1024, "resnet20": 512}
BATCH = 256


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("bench: %s failed (%d):\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return p.stdout


def test_set():
    with gzip.open(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"), "rb") as f:
        x = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz"), "rb") as f:
        y = np.frombuffer(f.read()[8:], np.uint8)
    return x.astype(np.float32) / 255.0, y


def clforge_eval(clf, model, threads):
    out = run([clf, "eval", model, "--backend", "cpu", "--threads", str(threads), "--json"])
    rep = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
    return rep["forward_images_per_sec"], rep.get("accuracy", rep.get("acc"))


def ort_infer(path, x, threads):
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    preds, t, n = [], 0.0, 0
    for b0 in range(0, len(x), BATCH):
        xb = x[b0:b0 + BATCH]
        t0 = time.perf_counter()
        p = s.run(["probs"], {"input": xb})[0]
        dt = time.perf_counter() - t0
        if b0 > 0 and len(xb) == BATCH:  # as clforge: no first or partial batch
            t += dt
            n += len(xb)
        preds.append(p.argmax(1))
    return n / t, np.concatenate(preds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clforge", default="./clforge")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--models", default="mlp,cnn,resnet20")
    args = ap.parse_args()
    import onnxruntime as ort

    x, y = test_set()
    print("onnxruntime %s, %d cores, load average %.1f at start" % (ort.__version__, os.cpu_count(), os.getloadavg()[0]))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in args.models.split(","):
            rd = os.path.join(tmp, m)
            run([args.clforge, "train", os.path.join(HERE, "configs", m + ".cfg"), "--set",
                 "data.limit_train=%d" % TRAIN_IMAGES[m], "--set", "train.epochs=1", "--set",
                 "backend.threads=2", "--no-test", "--quiet", "--run-dir", rd])
            model, onnx_path = os.path.join(rd, "model.clf"), os.path.join(tmp, m + ".onnx")
            run([args.clforge, "export", model, "-o", onnx_path])
            cf, rt, acc = {}, {}, None
            for _ in range(args.repeats):
                for t in (1, 2):
                    ips, acc = clforge_eval(args.clforge, model, t)
                    cf[t] = max(cf.get(t, 0), ips)
                    ips, pred = ort_infer(onnx_path, x, t)
                    rt[t] = max(rt.get(t, 0), ips)
            ort_acc = float((pred == y).mean())
            best_cf, best_rt = max(cf.values()), max(rt.values())
            row = {"model": m, "clforge_img_s": cf, "onnxruntime_img_s": rt, "ratio": best_cf / best_rt,
                   "clforge_accuracy": acc, "onnxruntime_accuracy": ort_acc}
            rows.append(row)
            print("%-9s clforge %8.0f img/s (1T %.0f, 2T %.0f)   onnxruntime %8.0f img/s (1T %.0f, 2T %.0f)   "
                  "ratio %.2fx   accuracy clforge %s / onnxruntime %.4f" %
                  (m, best_cf, cf[1], cf[2], best_rt, rt[1], rt[2], row["ratio"], acc, ort_acc))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
