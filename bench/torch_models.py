#!/usr/bin/python3
"""PyTorch side of the clforge CPU benchmark (issue 7).

Trains one of the three bench models (mlp, cnn, resnet20) on Fashion-MNIST for
a fixed number of batches with a fixed thread count, then times inference at
batch 256, and prints one JSON line: images/s for both, peak RSS after
training, and the model's FLOPs per image (forward), so the driver can put
the numbers next to clforge's. The models are defined exactly as clforge's
configs in bench/configs/ (and clforge's presets) define them.

Run with Debian's python3-torch: /usr/bin/python3 bench/torch_models.py MODEL THREADS
"""
import argparse
import gzip
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def load_idx_images(path, limit):
    with gzip.open(path, "rb") as f:
        buf = f.read()
    n, h, w = (int.from_bytes(buf[i:i + 4], "big") for i in (4, 8, 12))
    n = min(n, limit)
    x = np.frombuffer(buf, dtype=np.uint8, count=n * h * w, offset=16)
    return x.reshape(n, 1, h, w).astype(np.float32) / 255.0


def load_idx_labels(path, limit):
    with gzip.open(path, "rb") as f:
        buf = f.read()
    n = min(int.from_bytes(buf[4:8], "big"), limit)
    return np.frombuffer(buf, dtype=np.uint8, count=n, offset=8).astype(np.int64)


class MLP(nn.Module):
    """784-256-128-10, ReLU."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class CNN(nn.Module):
    """conv3x3x32 p1-relu-maxpool2, conv3x3x64 p1-relu-maxpool2, dense128-relu, dense10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class Block(nn.Module):
    """Basic block; 1x1 projection shortcut (+BN) when stride or width change,
    as clforge's resnet preset (option B)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        return F.relu(y + (self.proj(x) if self.proj is not None else x))


class ResNet20(nn.Module):
    """CIFAR-style ResNet-20: 3 stages x 3 basic blocks, 16/32/64 channels."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for s, w in enumerate((16, 32, 64)):
            for b in range(3):
                layers.append(Block(cin, w, 2 if (b == 0 and s > 0) else 1))
                cin = w
        self.blocks = nn.Sequential(*layers)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn(self.stem(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


MODELS = {
    # name: (class, batch, optimizer factory)
    "mlp": (MLP, 64, lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9)),
    "cnn": (CNN, 64, lambda p: torch.optim.Adam(p, lr=1e-3)),
    "resnet20": (ResNet20, 128, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
}


def forward_flops(model, shape=(1, 1, 28, 28)):
    """Multiply-adds x 2 of conv and linear layers, per image (forward), and
    those of the first such layer (whose input gradient training skips)."""
    flops, first = 0, None

    def hook(mod, inp, out):
        nonlocal flops, first
        f = 0
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            f = 2 * k * out.numel()
        elif isinstance(mod, nn.Linear):
            f = 2 * mod.in_features * mod.out_features * out.shape[0]
        flops += f
        if first is None:
            first = f

    hs = [m.register_forward_hook(hook) for m in model.modules()
          if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()
        model(torch.zeros(shape))
    for h in hs:
        h.remove()
    return flops, first


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("threads", type=int)
    ap.add_argument("--batches", type=int, default=0, help="timed training batches")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--infer-batches", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    cls, batch, make_opt = MODELS[args.model]
    nb = args.batches or {"mlp": 400, "cnn": 60, "resnet20": 12}[args.model]
    ni = args.infer_batches or {"mlp": 100, "cnn": 20, "resnet20": 6}[args.model]
    need = (nb + args.warmup) * batch
    x = torch.from_numpy(load_idx_images(f"{DATA}/train-images-idx3-ubyte.gz", 60000))
    y = torch.from_numpy(load_idx_labels(f"{DATA}/train-labels-idx1-ubyte.gz", 60000))
    model = cls()
    flops, first_flops = forward_flops(model)
    params = sum(p.numel() for p in model.parameters())
    opt = make_opt(model.parameters())
    model.train()

    def step(i):
        lo = (i * batch) % (x.shape[0] - batch)
        xb, yb = x[lo:lo + batch], y[lo:lo + batch]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    for i in range(args.warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(nb):
        loss = step(args.warmup + i)
    float(loss)
    train_s = time.perf_counter() - t0
    rss_train = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB

    model.eval()
    ib = 256
    with torch.no_grad():
        model(x[:ib])
        t0 = time.perf_counter()
        for i in range(ni):
            lo = (i * ib) % (x.shape[0] - ib)
            model(x[lo:lo + ib])
        infer_s = time.perf_counter() - t0
    print(json.dumps({
        "impl": "pytorch", "version": torch.__version__, "model": args.model,
        "threads": args.threads, "batch": batch, "batches": nb,
        "train_img_s": nb * batch / train_s, "infer_img_s": ni * ib / infer_s,
        "peak_rss_mib": rss_train / 1024.0, "fwd_flops_per_img": flops,
        "first_layer_flops_per_img": first_flops, "parameters": params,
        "final_loss": float(loss),
    }))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
