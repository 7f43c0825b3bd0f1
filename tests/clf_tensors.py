#!/usr/bin/env python3
"""Read clforge model/checkpoint files (engine/model/modelfile.c: magic, text,
named float32 tensors, CRC) for tests/test_transfer.sh. Standard library only.

  clf_tensors.py same A B LAYER...      tensors of LAYER(s) byte-identical in A and B
  clf_tensors.py differ A B LAYER...    each LAYER has a tensor that changed
  clf_tensors.py lr W0 W1 W2 MULT LAYER the step W0->W2 is MULT x the step W0->W1
                                        for LAYER's tensors, the same for the others
"""
import struct
import sys


def read(path):
    b = open(path, "rb").read()
    assert b[:8] == b"CLFORGE1", path
    o = 8
    (tl,) = struct.unpack_from("<I", b, o)
    o += 4 + tl
    (n,) = struct.unpack_from("<I", b, o)
    o += 4
    out = {}
    for _ in range(n):
        (nl,) = struct.unpack_from("<I", b, o)
        o += 4
        name = b[o:o + nl].decode()
        o += nl
        (nd,) = struct.unpack_from("<I", b, o)
        o += 4
        shape = struct.unpack_from("<%dI" % nd, b, o)
        o += 4 * nd
        cnt = 1
        for d in shape:
            cnt *= d
        out[name] = b[o:o + 4 * cnt]
        o += 4 * cnt
    return out


def layer(name):
    return name.rsplit(".", 1)[0]


def floats(raw):
    return struct.unpack("<%df" % (len(raw) // 4), raw)


def main(a):
    if a[0] in ("same", "differ"):
        x, y = read(a[1]), read(a[2])
        for lay in a[3:]:
            names = [k for k in x if layer(k) == lay and not k.startswith("slot")]
            if not names:
                sys.exit("no tensors of layer %s in %s" % (lay, a[1]))
            changed = [k for k in names if x[k] != y.get(k)]
            if a[0] == "same" and changed:
                sys.exit("FAIL: %s changed (frozen)" % ", ".join(changed))
            if a[0] == "differ" and not changed:
                sys.exit("FAIL: layer %s did not change" % lay)
            print("ok: %s %s (%s)" % (lay, "unchanged" if a[0] == "same" else "changed", ", ".join(names)))
        return
    if a[0] == "lr":
        w0, w1, w2, mult, lay = read(a[1]), read(a[2]), read(a[3]), float(a[4]), a[5]
        worst = 0.0
        for k in w0:
            if k.startswith("slot") or k.endswith("running_mean") or k.endswith("running_var"):
                continue
            m = mult if layer(k) == lay else 1.0
            p0, p1, p2 = floats(w0[k]), floats(w1[k]), floats(w2[k])
            scale = max(abs(v1 - v0) for v0, v1 in zip(p0, p1)) or 1.0
            for v0, v1, v2 in zip(p0, p1, p2):
                worst = max(worst, abs((v2 - v0) - m * (v1 - v0)) / (m * scale))
        if worst > 1e-3:
            sys.exit("FAIL: step is not lr_mult x the plain step (relative error %g)" % worst)
        print("ok: %s stepped %g x, the rest 1 x (relative error %.2g)" % (lay, mult, worst))
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
