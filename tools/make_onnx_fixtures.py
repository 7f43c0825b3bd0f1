#!/usr/bin/env python3
"""Make the ONNX import fixtures of tests/fixtures/onnx/ with PyTorch.

Seeded torchvision(-style) models with random weights, exported by
torch.onnx in eval mode, with a few input images and PyTorch's class
probabilities next to them, so the test checks clforge's import without
torch. Run with a venv holding torch, torchvision and onnx:

    /work/venv-torch/bin/python tools/make_onnx_fixtures.py [OUTDIR]
    /work/venv-torch/bin/python tools/make_onnx_fixtures.py --big /work/fixtures-big

Per fixture NAME: NAME.onnx; NAME.input.bin (float32 little-endian, N*C*H*W,
the normalised tensor PyTorch saw); NAME.probs.bin (float32, N*K, softmax of
the logits); and a line "NAME N C H W K" in manifest.txt. The inputs are
8-bit images (u8/255, normalised with the ImageNet mean/std), also written as
NAME.0.png, so `clforge import --mean/--std` + `clforge predict` sees the
same tensor. bad_*.onnx are the error cases.
"""
import os
import struct
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torchvision
from onnx import helper, TensorProto
from torchvision.models.resnet import BasicBlock

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class TinyResNet(nn.Module):
    """torchvision's ResNet layout (7x7 stem, max pool, 4 stages of
    BasicBlocks, avg pool, fc) at widths 8..64 so the file stays small."""

    def __init__(self, widths=(8, 16, 32, 64), num_classes=10):
        super().__init__()
        w0 = widths[0]
        self.conv1 = nn.Conv2d(3, w0, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w0)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        blocks, cin = [], w0
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or cin != w:
                down = nn.Sequential(nn.Conv2d(cin, w, 1, stride, bias=False), nn.BatchNorm2d(w))
            blocks.append(BasicBlock(cin, w, stride, down))
            cin = w
        # nn.Sequential as torchvision's stages: parameters named layerS.B.*
        self.layer1, self.layer2, self.layer3, self.layer4 = (nn.Sequential(b) for b in blocks)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class OpsNet(nn.Module):
    """The operators the ResNets lack: AveragePool, Concat, Reshape to a
    constant shape (a Constant node), MatMul + Add, Dropout, Softmax."""

    def __init__(self, num_classes=5):
        super().__init__()
        self.a = nn.Conv2d(3, 6, 3, 1, 1)
        self.b = nn.Conv2d(3, 4, 5, 2, 2, dilation=1)
        self.bn = nn.BatchNorm2d(10)
        self.pool = nn.AvgPool2d(2, 2)
        self.mp = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.3)
        self.w = nn.Parameter(torch.randn(10 * 8 * 8, 16) * 0.05)
        self.bias = nn.Parameter(torch.randn(16) * 0.1)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        a = self.pool(torch.relu(self.a(x)))      # 6 x 16 x 16
        b = torch.relu(self.b(x))                 # 4 x 16 x 16
        x = self.mp(self.bn(torch.cat([a, b], 1)))  # 10 x 8 x 8
        x = self.drop(x.reshape(-1, 10 * 8 * 8))
        x = torch.relu(torch.matmul(x, self.w) + self.bias)
        return torch.softmax(self.fc(x), 1)


def randomise_bn(model, g):
    """Fresh BatchNorm layers are the identity: give them real statistics."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


def images(n, h, w, seed):
    rng = np.random.default_rng(seed)
    u8 = rng.integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)
    x = u8.astype(np.float32) / 255.0
    x = (x - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return u8, np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def write_png(path, u8):
    from PIL import Image

    Image.fromarray(u8, "RGB").save(path)


def export(model, x, path, fold, dynamo=False):
    kw = dict(input_names=["input"], output_names=["logits"], opset_version=13)
    if dynamo:
        torch.onnx.export(model, (x,), path, dynamo=True, external_data=False, **kw)
    else:
        torch.onnx.export(model, (x,), path, dynamo=False, do_constant_folding=fold,
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, **kw)
    onnx.checker.check_model(onnx.load(path))


def add_noop_nodes(path):
    """torch drops Dropout and Identity in eval exports: put one of each
    after the graph input, as other exporters leave them."""
    m = onnx.load(path)
    g = m.graph
    for n in g.node:
        n.input[:] = ["x_id" if i == "input" else i for i in n.input]
    g.node.insert(0, helper.make_node("Dropout", ["x_drop"], ["x_id"], name="drop_in"))
    g.node.insert(0, helper.make_node("Identity", ["input"], ["x_drop"], name="identity_in"))
    onnx.checker.check_model(m)
    onnx.save(m, path)


def fixture(out, name, model, h, w, k, seed, fold=True, dynamo=False, post=None, manifest=None):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    randomise_bn(model, g)
    model.eval()
    u8, x = images(4, h, w, seed)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        y = model(xt)
        probs = y if isinstance(model, OpsNet) else torch.softmax(y, 1)
    path = os.path.join(out, name + ".onnx")
    export(model, xt, path, fold, dynamo)
    if post:
        post(path)
    x.astype("<f4").tofile(os.path.join(out, name + ".input.bin"))
    probs.numpy().astype("<f4").tofile(os.path.join(out, name + ".probs.bin"))
    write_png(os.path.join(out, name + ".0.png"), u8[0])
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    nparam = sum(p.numel() for p in model.parameters())
    print(f"{name}: {os.path.getsize(path)} bytes, {nparam} parameters, ops {' '.join(ops)}")
    if manifest is not None:
        manifest.append(f"{name} 4 3 {h} {w} {k}")


def bad_fixtures(out):
    """Error cases: an operator clforge lacks (Erf), a Conv attribute it
    lacks (group), a ceil_mode pool whose size differs from the floor's, a
    symbolic image size, a missing initializer, a truncated and a non-ONNX
    file."""
    def save(name, nodes, inits, cout=4):
        x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, cout, 8, 8])
        g = helper.make_graph(nodes, name, [x], [y], inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        onnx.save(m, os.path.join(out, name + ".onnx"))

    wt = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], list(np.linspace(-1, 1, 108)))
    save("bad_erf", [helper.make_node("Conv", ["input", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
                     helper.make_node("Erf", ["c"], ["y"], name="gelu_erf")], [wt])
    wg = helper.make_tensor("w", TensorProto.FLOAT, [3, 1, 3, 3], list(np.linspace(-1, 1, 27)))
    save("bad_group", [helper.make_node("Conv", ["input", "w"], ["y"], name="dwconv", group=3,
                                        pads=[1, 1, 1, 1])], [wg], cout=3)
    save("bad_noinit", [helper.make_node("Conv", ["input", "w_missing"], ["y"], name="conv1",
                                         pads=[1, 1, 1, 1])], [])
    xd = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])
    yd = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 1, 1])
    gd = helper.make_graph([helper.make_node("GlobalAveragePool", ["input"], ["y"], name="gap")], "bad_dynamic",
                           [xd], [yd])
    onnx.save(helper.make_model(gd, opset_imports=[helper.make_opsetid("", 13)]),
              os.path.join(out, "bad_dynamic.onnx"))
    save("bad_ceil", [helper.make_node("MaxPool", ["input"], ["y"], name="pool_ceil", kernel_shape=[3, 3],
                                       strides=[2, 2], ceil_mode=1)], [], cout=3)
    with open(os.path.join(out, "ops.onnx"), "rb") as f:
        data = f.read()
    with open(os.path.join(out, "bad_truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(os.path.join(out, "bad_text.onnx"), "w") as f:
        f.write("this is not an ONNX model\n")


def main():
    args = sys.argv[1:]
    if args and args[0] == "--big":
        out = args[1] if len(args) > 1 else "/work/fixtures-big"
        os.makedirs(out, exist_ok=True)
        torch.manual_seed(0)
        m = torchvision.models.resnet18(weights=None, num_classes=1000)
        fixture(out, "resnet18", m, 224, 224, 1000, 18, fold=False)
        return
    out = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "onnx")
    os.makedirs(out, exist_ok=True)
    man = []
    torch.manual_seed(1)
    fixture(out, "tiny_resnet", TinyResNet(), 64, 64, 10, 1, fold=False, manifest=man)
    torch.manual_seed(2)
    fixture(out, "tiny_resnet_folded", TinyResNet(), 64, 64, 10, 2, fold=True, manifest=man)
    torch.manual_seed(3)
    fixture(out, "tiny_resnet_dynamo", TinyResNet(), 64, 64, 10, 3, dynamo=True, manifest=man)
    torch.manual_seed(4)
    fixture(out, "squeezenet1_1", torchvision.models.squeezenet1_1(weights=None, num_classes=10),
            64, 64, 10, 4, fold=False, manifest=man)
    torch.manual_seed(5)
    fixture(out, "ops", OpsNet(), 32, 32, 5, 5, fold=False, post=add_noop_nodes, manifest=man)
    bad_fixtures(out)
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(man) + "\n")


if __name__ == "__main__":
    main()
