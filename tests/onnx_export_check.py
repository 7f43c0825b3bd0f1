"""Checks a model `clforge export` wrote against clforge's own predictions.

  onnx_export_check.py images DIR C H W N SEED   write N random PGM/PPM images
  onnx_export_check.py check MODEL.onnx PRED.jsonl IMAGE...

`check`: onnx.checker (full, with shape inference), the interface (input
[N, C, H, W] with a symbolic batch, output probs [N, K], metadata), then ONNX
Runtime on all images in one batch: every probability within 1e-4 of
`clforge predict --json --top-k K` on the same files, and the same top-1.
"""
import json
import sys

import numpy as np


def write_images(d, c, h, w, n, seed):
    rng = np.random.default_rng(seed)
    for i in range(n):
        # smooth-ish images (a random gradient plus noise), not only noise
        base = rng.uniform(0, 255, size=(1, 1, c)) * np.linspace(0, 1, w)[None, :, None]
        px = np.clip(base + rng.normal(0, 60, size=(h, w, c)), 0, 255).astype(np.uint8)
        ext, magic = ("pgm", b"P5") if c == 1 else ("ppm", b"P6")
        with open(f"{d}/img{i:03d}.{ext}", "wb") as f:
            f.write(magic + b"\n%d %d\n255\n" % (w, h) + px.tobytes())


def read_image(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, size, _max, rest = data.split(b"\n", 3)  # the header write_images wrote
    w, h = size.split()
    c = 1 if magic == b"P5" else 3
    px = np.frombuffer(rest, np.uint8).reshape(int(h), int(w), c)
    return px.transpose(2, 0, 1).astype(np.float32) / 255.0


def check(model_path, pred_path, images):
    import onnx
    import onnxruntime as ort

    m = onnx.load(model_path)
    onnx.checker.check_model(m, full_check=True)
    fails = []
    if m.producer_name != "clforge":
        fails.append(f"producer_name {m.producer_name!r}")
    if not any(o.domain in ("", "ai.onnx") and o.version >= 13 for o in m.opset_import):
        fails.append("opset < 13")
    meta = {p.key: p.value for p in m.metadata_props}
    names = json.loads(meta.get("class_names", "[]"))
    if not names or "clforge_version" not in meta:
        fails.append(f"metadata {meta}")
    (inp,) = m.graph.input
    (out,) = m.graph.output
    dims = inp.type.tensor_type.shape.dim
    if inp.name != "input" or out.name != "probs" or len(dims) != 4 or not dims[0].dim_param:
        fails.append(f"interface {inp.name} {out.name} {dims}")
    x = np.stack([read_image(p) for p in images])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
    probs = sess.run(["probs"], {"input": x})[0]
    k = len(names)
    ref = np.zeros((len(images), k), np.float64)
    with open(pred_path) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    for i, row in enumerate(lines):
        for t in row["top"]:
            ref[i, t["index"]] = t["probability"]
    if probs.shape != ref.shape:
        fails.append(f"shape {probs.shape} vs clforge {ref.shape}")
    else:
        diff = float(np.abs(probs - ref).max())
        top = int((probs.argmax(1) == ref.argmax(1)).sum())
        print(f"{model_path}: {len(m.graph.node)} nodes, max |onnxruntime - clforge| = {diff:.2e}, "
              f"top-1 agrees on {top}/{len(images)}")
        if not diff <= 1e-4:
            fails.append(f"max difference {diff:.3g} > 1e-4")
        if ref.max(1).min() > 0.9999:
            fails.append("every image has a probability of 1: saturated outputs compare nothing")
        if top != len(images):
            fails.append(f"top-1 differs on {len(images) - top} images")
    for f_ in fails:
        print("FAIL:", f_)
    return 1 if fails else 0


if __name__ == "__main__":
    if sys.argv[1] == "images":
        d, c, h, w, n, seed = sys.argv[2], *map(int, sys.argv[3:8])
        write_images(d, c, h, w, n, seed)
        sys.exit(0)
    sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4:]))
