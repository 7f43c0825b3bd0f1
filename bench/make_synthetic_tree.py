#!/usr/bin/env python3
"""A synthetic ImageFolder tree of RGB JPEGs (seeded): smooth colour gradients
with a few random rectangles, so files compress like photos (~10-20 KB at
224x224) rather than like noise. For bench/data_loader.sh and the streaming
peak-RSS run; never committed.
  make_synthetic_tree.py OUT --count N [--classes 10] [--size 224] [--quality 90]
Needs numpy and Pillow (the /work/venv-torch venv has both)."""
import argparse
import os

import numpy as np
from PIL import Image


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    s = a.size
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
    for k in range(a.classes):
        os.makedirs(os.path.join(a.out, "class%02d" % k), exist_ok=True)
    for i in range(a.count):
        k = i % a.classes
        path = os.path.join(a.out, "class%02d" % k, "img%06d.jpg" % i)
        if os.path.exists(path):
            continue
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        t = (xx * np.cos(k) + yy * np.sin(k)) * 0.7
        img = c0[None, None, :] * (1 - t[..., None]) + c1[None, None, :] * t[..., None]
        for _ in range(3):
            x0, y0 = rng.integers(0, s - 16, 2)
            w, h = rng.integers(8, s // 2, 2)
            img[y0:y0 + h, x0:x0 + w] = rng.uniform(0, 255, 3)
        img += rng.normal(0, 6, (s, s, 1))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, quality=a.quality)


if __name__ == "__main__":
    main()
