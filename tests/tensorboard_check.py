"""Reads RUN_DIR/tb with TensorBoard's own EventAccumulator and checks it
against RUN_DIR/metrics.jsonl (tests/test_tensorboard.sh runs it).

usage: tensorboard_check.py RUN_DIR EPOCHS [KEY=NUMBER ...]
KEY=NUMBER: hyperparameters the hparams plugin must report."""
import glob
import json
import math
import os
import struct
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2


def crc32c(data):
    """Bitwise CRC-32C, independent of the C table version under test."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def check_framing(path):
    data = open(path, "rb").read()
    pos, n = 0, 0
    while pos < len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        (hcrc,) = struct.unpack_from("<I", data, pos + 8)
        assert hcrc == masked(crc32c(data[pos:pos + 8])), f"{path}: record {n}: bad length CRC"
        body = data[pos + 12:pos + 12 + length]
        (dcrc,) = struct.unpack_from("<I", data, pos + 12 + length)
        assert dcrc == masked(crc32c(body)), f"{path}: record {n}: bad data CRC"
        pos += 16 + length
        n += 1
    assert pos == len(data), f"{path}: trailing bytes"
    return n


def main():
    run, epochs = sys.argv[1], int(sys.argv[2])
    hp_want = dict(a.split("=", 1) for a in sys.argv[3:])
    files = sorted(glob.glob(os.path.join(run, "tb", "events.out.tfevents.*")))
    assert files, f"no event file in {run}/tb"
    for f in files:
        print(f"ok: {os.path.basename(f)}: {check_framing(f)} records, CRCs match")
    ea = EventAccumulator(os.path.join(run, "tb"), size_guidance={"scalars": 0, "tensors": 0})
    ea.Reload()
    tags = ea.Tags()["scalars"]
    print("scalar tags:", ", ".join(tags))
    metrics = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
    assert len(metrics) == epochs, f"metrics.jsonl has {len(metrics)} epochs, want {epochs}"
    pairs = {"train/loss": "train_loss", "train/accuracy": "train_accuracy", "learning_rate": "lr",
             "validation/loss": "validation_loss", "validation/accuracy": "validation_accuracy"}
    epoch_tags = [t for t in pairs if t in tags] + [t for t in ("images_per_sec",) if t in tags]
    assert len(epoch_tags) >= 3, f"want >= 3 per-epoch scalar tags, got {tags}"
    for tag in epoch_tags:
        ev = ea.Scalars(tag)
        steps = [e.step for e in ev]
        assert steps == list(range(1, epochs + 1)), f"{tag}: steps {steps}, want 1..{epochs}"
        if tag in pairs:
            for e, m in zip(ev, metrics):
                want = m[pairs[tag]]
                assert math.isclose(e.value, want, rel_tol=1e-6, abs_tol=1e-7), \
                    f"{tag} step {e.step}: {e.value} != metrics.jsonl {want}"
        print(f"ok: {tag}: steps 1..{epochs}" + (", values = metrics.jsonl" if tag in pairs else ""))
    if "test/accuracy" in tags:
        summary = json.load(open(os.path.join(run, "summary.json")))
        (e,) = ea.Scalars("test/accuracy")
        assert e.step == epochs and math.isclose(e.value, summary["test"]["accuracy"], rel_tol=1e-6)
        print(f"ok: test/accuracy at step {epochs} = summary.json")
    if hp_want:
        content = ea.PluginTagToContent("hparams")["_hparams_/session_start_info"]
        hp = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
        for k, v in hp_want.items():
            assert k in hp and math.isclose(hp[k].number_value, float(v)), f"hparams {k}: {hp.get(k)}"
        text = ea.Tensors("hparams")[0].tensor_proto.string_val[0].decode()
        assert all(k in text for k in hp_want), text
        print("ok: hparams plugin and text summary:", ", ".join(f"{k}={hp[k].number_value:g}" for k in hp_want))


if __name__ == "__main__":
    main()
