#!/usr/bin/env python3
"""A multi-label image set from Fashion-MNIST (Python standard library only).

  make_multilabel.py OUT [--train N] [--test N] [--seed S]

Each image is a 2x2 mosaic of Fashion-MNIST items scaled to 14x14 (a 28x28
gray image); a tile is left black with probability 0.3. Its labels are the
classes present (one to four of the ten). Writes OUT/train.lst and
OUT/test.lst (MXNet .lst: index, ten multi-hot label columns - SageMaker's
multi-label layout - and the path) and the images as binary PGM under
OUT/train/ and OUT/test/. Train mosaics are made from the Fashion-MNIST
training images, test mosaics from its test images. Same seed, same files.
"""
import argparse, gzip, os, random, struct

FMNIST = "/usr/share/datasets/fashion-mnist/"


def load(test):
    pre = "t10k" if test else "train"
    with gzip.open(FMNIST + pre + "-images-idx3-ubyte.gz") as f:
        data = f.read()
    n = struct.unpack(">I", data[4:8])[0]
    with gzip.open(FMNIST + pre + "-labels-idx1-ubyte.gz") as f:
        labels = f.read()[8:]
    return [data[16 + i * 784:16 + (i + 1) * 784] for i in range(n)], labels


def half(px):
    """28x28 -> 14x14 by 2x2 averages."""
    return [(px[(2 * y) * 28 + 2 * x] + px[(2 * y) * 28 + 2 * x + 1] + px[(2 * y + 1) * 28 + 2 * x] +
             px[(2 * y + 1) * 28 + 2 * x + 1] + 2) // 4 for y in range(14) for x in range(14)]


def write(out, part, count, rnd):
    images, labels = load(part == "test")
    os.makedirs(os.path.join(out, part), exist_ok=True)
    with open(os.path.join(out, part + ".lst"), "w") as lst:
        for i in range(count):
            img = bytearray(28 * 28)
            present = [0] * 10
            for t in range(4):
                if rnd.random() < 0.3 and (t < 3 or sum(present)):  # never an empty mosaic
                    continue
                j = rnd.randrange(len(images))
                present[labels[j]] = 1
                small = half(images[j])
                oy, ox = (t // 2) * 14, (t % 2) * 14
                for y in range(14):
                    img[(oy + y) * 28 + ox:(oy + y) * 28 + ox + 14] = bytes(small[y * 14:(y + 1) * 14])
            rel = "%s/%05d.pgm" % (part, i)
            with open(os.path.join(out, rel), "wb") as f:
                f.write(b"P5\n28 28\n255\n" + bytes(img))
            lst.write("%d\t%s\t%s\n" % (i, "\t".join(str(v) for v in present), rel))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=20000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    write(a.out, "train", a.train, rnd)
    write(a.out, "test", a.test, rnd)


if __name__ == "__main__":
    main()
