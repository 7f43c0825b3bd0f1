"""PyTorch CUDA side of the GPU benchmark (issue 18), run by bench/gpu/run.sh.

Trains the same models as clforge's bench/configs/cnn.cfg (= the model of
examples/fashion_cnn.cfg) and bench/configs/resnet20.cfg (the resnet preset,
num_layers = 20) on the kit's Fashion-MNIST slice, same batch sizes (64, 128),
same optimizers, fp32 only (TF32 off for matmul and cuDNN, no AMP, NCHW, no
channels_last, no torch.compile, cudnn.benchmark off), and times:

  train_img_s        training steps, each batch copied host -> device as clforge
                     uploads each batch; warm-up steps excluded; ends with
                     torch.cuda.synchronize()
  infer_img_s        eval-mode forward at batch 256 under no_grad, input copied
                     host -> device and logits copied back (what clforge eval's
                     "forward_images_per_sec" times: upload, ops, download)
  infer_resident_img_s  the same with the input already on the device

  python3 torch_bench.py --data DIR --models cnn,resnet20 --json OUT.json [--quick]

It prints one "torch MODEL key=value ..." line per model. Exit status 3 with a
"torch: SKIP ..." line when torch is not importable or CUDA is not available
(GPU_KIT_TORCH_DEVICE=cpu forces a CPU run, for testing the script itself).
"""
import argparse
import gzip
import json
import os
import sys
import time


def skip(msg):
    print("torch: SKIP (%s)" % msg, flush=True)
    sys.exit(3)


try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as e:  # noqa: BLE001 - any import failure means "no torch here"
    skip("torch not importable by %s: %s: %s" % (sys.executable, type(e).__name__, e))


def load_idx(path):
    with gzip.open(path, "rb") as f:
        buf = f.read()
    ndim = buf[3]
    dims = [int.from_bytes(buf[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    t = torch.frombuffer(bytearray(buf[4 + 4 * ndim:]), dtype=torch.uint8)
    return t.reshape(dims)


# The same architectures as the CPU benchmark (bench/torch_models.py, which
# mirrors clforge's bench/configs and presets): one definition for both.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torch_models import CNN, ResNet20  # noqa: E402


# name: (class, training batch, optimizer) — as bench/configs/<name>.cfg
MODELS = {
    "cnn": (CNN, 64, lambda p: torch.optim.Adam(p, lr=1e-3)),
    "resnet20": (ResNet20, 128, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
}
INFER_BATCH = 256


def bench(name, x, y, dev, quick):
    cls, batch, make_opt = MODELS[name]
    torch.manual_seed(1)
    model = cls().to(dev)
    params = sum(p.numel() for p in model.parameters())
    opt = make_opt(model.parameters())
    n = x.shape[0]
    nbatches = n // batch
    warm = 2 if quick else 10
    timed = (4 if quick else max(nbatches, 100))
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def step(i):
        lo = (i % nbatches) * batch
        xb = x[lo:lo + batch].to(dev).float().div_(255.0)
        yb = y[lo:lo + batch].to(dev).long()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    model.train()
    for i in range(warm):
        step(i)
    sync()
    t0 = time.perf_counter()
    for i in range(timed):
        loss = step(warm + i)
    sync()
    train_s = time.perf_counter() - t0
    final_loss = float(loss)

    model.eval()
    ni = max(1, min(n // INFER_BATCH, 4 if quick else 40))
    with torch.no_grad():
        for i in range(3):  # warm-up
            model(x[:INFER_BATCH].to(dev).float().div_(255.0)).cpu()
        sync()
        t0 = time.perf_counter()
        for i in range(ni):
            lo = i * INFER_BATCH
            model(x[lo:lo + INFER_BATCH].to(dev).float().div_(255.0)).cpu()
        sync()
        infer_s = time.perf_counter() - t0
        xd = x[:ni * INFER_BATCH].to(dev).float().div_(255.0)
        sync()
        t0 = time.perf_counter()
        for i in range(ni):
            model(xd[i * INFER_BATCH:(i + 1) * INFER_BATCH])
        sync()
        resident_s = time.perf_counter() - t0
    return {
        "model": name, "batch": batch, "params": params,
        "train_img_s": timed * batch / train_s, "train_batches": timed, "warmup_batches": warm,
        "final_loss": final_loss,
        "infer_batch": INFER_BATCH, "infer_img_s": ni * INFER_BATCH / infer_s,
        "infer_resident_img_s": ni * INFER_BATCH / resident_s, "infer_batches": ni,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="directory with train-images-idx3-ubyte.gz ...")
    ap.add_argument("--models", default="cnn,resnet20")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--quick", action="store_true", help="a few batches only (testing)")
    args = ap.parse_args()

    want = os.environ.get("GPU_KIT_TORCH_DEVICE", "cuda")
    if want == "cuda":
        if not torch.cuda.is_available():
            skip("torch %s imported, but CUDA is not available (torch.version.cuda=%s, "
                 "CUDA_VISIBLE_DEVICES=%s)" % (torch.__version__, torch.version.cuda,
                                               os.environ.get("CUDA_VISIBLE_DEVICES", "unset")))
        dev = torch.device("cuda", 0)
        gpu = torch.cuda.get_device_name(0)
    else:
        dev = torch.device(want)
        gpu = want
    # fp32, comparable with clforge: no TF32 anywhere, default (non-autotuned) cuDNN.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
    torch.set_float32_matmul_precision("highest")

    x = load_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz")).unsqueeze(1).contiguous()
    y = load_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))
    env = {"torch": torch.__version__, "cuda": torch.version.cuda,
           "cudnn": torch.backends.cudnn.version() if dev.type == "cuda" else None,
           "device": gpu, "python": sys.version.split()[0], "images": int(x.shape[0]),
           "settings": "fp32, TF32 off, cudnn.benchmark off, NCHW, no AMP, eager"}
    print("torch: %s" % " ".join("%s=%s" % kv for kv in env.items() if kv[0] != "settings"),
          flush=True)
    results = {"env": env, "models": {}}
    for name in args.models.split(","):
        t0 = time.perf_counter()
        r = bench(name, x, y, dev, args.quick)
        r["wall_s"] = time.perf_counter() - t0
        results["models"][name] = r
        print("torch %s %s" % (name, " ".join(
            "%s=%s" % (k, ("%.1f" % v) if isinstance(v, float) else v)
            for k, v in r.items() if k != "model")), flush=True)
        if args.json:  # after every model, so a timeout keeps what finished
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
