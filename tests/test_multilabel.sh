#!/bin/sh
# Multi-label end to end on 2x2 Fashion-MNIST mosaics (examples/make_multilabel.py):
# a multi-hot .lst trains with data.multi_label (sigmoid + BCE) and reports
# per-label metrics in every output; clforge eval's micro/macro F1, exact match
# and Hamming loss equal those computed here from clforge predict's
# probabilities; class-id columns, RecordIO headers (im2rec --pack-label) and
# SageMaker's multi_label = 1 train too; misuse is an error naming the cause.
set -u
CLF=./clforge
S=${CF_TEST_SRCDIR:-.}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
D=/usr/share/datasets/fashion-mnist
[ -r "$D/t10k-images-idx3-ubyte.gz" ] || { echo "no Fashion-MNIST: skip"; exit 77; }
command -v python3 >/dev/null || { echo "no python3: skip"; exit 77; }
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
python3 "$S/examples/make_multilabel.py" "$T/d" --train 400 --test 100 || { echo "FAIL: make_multilabel.py"; exit 1; }
cat > "$T/m.cfg" <<CFG
seed = 3;
backend = { name = "reference"; };
data = { train = "$T/d/train.lst"; test = "$T/d/test.lst"; multi_label = true; validation_split = 0.2;
         class_names = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"]; };
model = { preset = "mlp"; hidden = [64]; };
train = { epochs = 3; mini_batch_size = 32; };
optimizer = { plugin = "adam"; learning_rate = 0.003; };
CFG

# Training: per-epoch validation F1s, the test report in summary.json.
$CLF train "$T/m.cfg" --run-dir "$T/r" > "$T/out" 2>"$T/err" || bad "train: $(cat "$T/err")"
grep -q "val loss [0-9.]* exact [0-9.]* micro-F1 [0-9.]* macro-F1" "$T/out" && grep -q "^test micro F1" "$T/out" \
    && ok "console: exact match, micro/macro F1" || bad "console: $(cat "$T/out")"
grep -q '"validation_micro_f1":' "$T/r/metrics.jsonl" && grep -q '"validation_hamming_loss":' "$T/r/metrics.jsonl" \
    && ok "metrics.jsonl: validation micro/macro F1, Hamming loss" || bad "metrics.jsonl: $(cat "$T/r/metrics.jsonl")"
python3 - "$T/r/summary.json" <<'PY' && ok "summary.json: the test's per-label report" || bad "summary.json"
import json, sys
s = json.load(open(sys.argv[1]))
t = s["test"]
assert t["multi_label"] is True and "confusion" not in t, t.keys()
assert len(t["per_class"]) == 10 and t["per_class"][9]["class"] == "Ankle_boot", t["per_class"]
assert 0 < t["micro_f1"] <= 1 and 0 <= t["hamming_loss"] < 1 and t["accuracy"] == t["exact_match"], t
assert "micro_f1" in s["validation"], s["validation"]
PY
grep -q "Per-label metrics (test, multi-label)" "$T/r/report.html" && ok "report.html: per-label table" || bad "report.html"

# eval = the metrics recomputed from predict's probabilities (threshold 0.5).
$CLF eval "$T/r/model.clf" --data "$T/d/test.lst" --json > "$T/eval.json" 2>"$T/err" || bad "eval: $(cat "$T/err")"
$CLF eval "$T/r/model.clf" --data "$T/d/test.lst" > "$T/eval.txt" 2>&1 && grep -q "^Ankle_boot" "$T/eval.txt" \
    && grep -q "^micro avg" "$T/eval.txt" && ok "eval: per-label table" || bad "eval text: $(cat "$T/eval.txt")"
imgs=$(cut -f12 "$T/d/test.lst" | sed "s|^|$T/d/|")
# shellcheck disable=SC2086
$CLF predict "$T/r/model.clf" $imgs --json --top-k 10 > "$T/pred.jsonl" 2>"$T/err" || bad "predict: $(cat "$T/err")"
python3 - "$T/d/test.lst" "$T/pred.jsonl" "$T/eval.json" "$T/r/summary.json" <<'PY' && ok "eval's metrics = predict's labels scored by hand" || bad "eval vs predict"
import json, math, sys
truth = [[int(v) for v in l.split("\t")[1:11]] for l in open(sys.argv[1])]
pred = []
for l in open(sys.argv[2]):
    o = json.loads(l)
    assert o["threshold"] == 0.5
    row = [0] * 10
    for lab in o["labels"]:
        assert lab["probability"] > 0.5
        row[lab["index"]] = 1
    pred.append(row)
assert len(pred) == len(truth) == 100
tp = [sum(p[j] and t[j] for p, t in zip(pred, truth)) for j in range(10)]
fp = [sum(p[j] and not t[j] for p, t in zip(pred, truth)) for j in range(10)]
fn = [sum(t[j] and not p[j] for p, t in zip(pred, truth)) for j in range(10)]
def f1(a, b, c):
    pr = a / (a + b) if a + b else 0.0
    rc = a / (a + c) if a + c else 0.0
    return 2 * pr * rc / (pr + rc) if pr + rc else 0.0
micro = f1(sum(tp), sum(fp), sum(fn))
macro = sum(f1(tp[j], fp[j], fn[j]) for j in range(10)) / 10
exact = sum(p == t for p, t in zip(pred, truth)) / 100
ham = sum(a != b for p, t in zip(pred, truth) for a, b in zip(p, t)) / 1000
# the loss: binary cross-entropy of each label's probability, averaged over labels and images
bce = 0.0
for l, t in zip(open(sys.argv[2]), truth):
    p = {e["index"]: min(max(e["probability"], 1e-7), 1 - 1e-7) for e in json.loads(l)["top"]}
    bce -= sum(t[j] * math.log(p[j]) + (1 - t[j]) * math.log(1 - p[j]) for j in range(10)) / 10
bce /= 100
ev = json.load(open(sys.argv[3]))
assert abs(ev["loss"] - bce) < 1e-3 * bce, (ev["loss"], bce)
for src in (ev, json.load(open(sys.argv[4]))["test"]):
    got = (src["micro_f1"], src["macro_f1"], src["exact_match"], src["hamming_loss"])
    want = (micro, macro, exact, ham)
    assert all(abs(a - b) < 1e-6 for a, b in zip(got, want)), (got, want)
print("micro F1 %.4f macro F1 %.4f exact %.2f hamming %.4f" % (micro, macro, exact, ham))
PY
$CLF predict "$T/r/model.clf" "$T/d/test/00001.pgm" | grep -q "labels (probability > 0.5):" \
    && ok "predict names the labels above the threshold" || bad "predict text"

# class-id columns (a class index each, padded by repeating one) train the same classes.
python3 - "$T/d/train.lst" "$T/cid.lst" <<'PY'
import sys
with open(sys.argv[2], "w") as o:
    for l in open(sys.argv[1]):
        f = l.rstrip("\n").split("\t")
        ids = [str(j) for j, v in enumerate(f[1:11]) if v == "1"]
        ids += [ids[0]] * (4 - len(ids))
        o.write("\t".join([f[0]] + ids + [f[11]]) + "\n")
PY
$CLF train "$T/m.cfg" --run-dir "$T/cid" --quiet --set train.epochs=1 --set data.train=\""$T/cid.lst"\" \
    --set data.root=\""$T/d"\" --set data.label_format=\"class-id\" --set data.expect_classes=10 2>"$T/err" \
    && grep -q '"per_class":\[{"class":"T-shirt_top"' "$T/cid/summary.json" && ok "class-id label columns" \
    || bad "class-id: $(cat "$T/err")"

# RecordIO: the labels packed in the headers (im2rec --pack-label).
cp "$T/d/train.lst" "$T/d/mltrain.lst"
$CLF im2rec --pack-label --encoding .png --color 0 "$T/d/mltrain" "$T/d" > /dev/null 2>"$T/err" || bad "im2rec: $(cat "$T/err")"
$CLF train "$T/m.cfg" --run-dir "$T/rec" --quiet --set train.epochs=1 --set data.train=\""$T/d/mltrain.rec"\" 2>"$T/err" \
    && grep -q '"multi_label":true' "$T/rec/summary.json" && ok "RecordIO multi-label headers" || bad "recordio: $(cat "$T/err")"

# SageMaker augmented manifests: multi-hot and class-id lists train alike; S3 references are refused.
python3 - "$T/d" <<'PY'
import json, sys
d = sys.argv[1]
rows = [l.rstrip("\n").split("\t") for l in open(d + "/train.lst")]
with open(d + "/hot.manifest", "w") as f, open(d + "/cid.manifest", "w") as g, open(d + "/s3.manifest", "w") as h:
    for r in rows:
        f.write(json.dumps({"source-ref": r[11], "class": [int(v) for v in r[1:11]], "class-metadata": {"x": 1}}) + "\n")
        g.write(json.dumps({"image-ref": r[11], "class": [j for j, v in enumerate(r[1:11]) if v == "1"]}) + "\n")
    h.write('{"source-ref": "s3://bucket/a.jpg", "class": 1}\n')
PY
for m in hot cid; do
    $CLF train "$T/m.cfg" --run-dir "$T/man-$m" --quiet --set train.epochs=1 --set data.train=\""$T/d/$m.manifest"\" \
        --set data.expect_classes=10 2>"$T/err" || bad "manifest $m: $(cat "$T/err")"
done
[ -s "$T/man-hot/metrics.jsonl" ] && cmp -s "$T/man-hot/metrics.jsonl" "$T/man-cid/metrics.jsonl" \
    && ok "augmented manifests: multi-hot and class-id lists give the same run" || bad "manifests differ"
$CLF data info "$T/d/s3.manifest" 2>"$T/err" >/dev/null && bad "accepted an S3 reference" \
    || { grep -q "s3.manifest:1: s3://bucket/a.jpg is an S3 reference" "$T/err" && ok "refused an S3 reference" \
         || bad "s3: $(cat "$T/err")"; }

# weighted_loss: pos_weight from the label counts; SageMaker's multi_label = 1.
printf '{"multi_label": "1", "use_weighted_loss": "1", "epochs": "1"}' > "$T/hp.json"
$CLF train "$T/m.cfg" --hyperparameters "$T/hp.json" --run-dir "$T/sm2" --quiet 2>"$T/err" \
    && grep -q "multi_label = true" "$T/sm2/config.cfg" && grep -q "weighted_loss = true" "$T/sm2/config.cfg" \
    && ok "SageMaker multi_label = 1 and use_weighted_loss" || bad "sagemaker: $(cat "$T/err")"

# The tuner maximises validation:micro_f1 (the trials' --json epoch lines carry it).
{ cat "$T/m.cfg"; cat <<'CFG'
tune = { strategy = "grid"; objective = { metric = "validation:micro_f1"; goal = "maximize"; };
         max_parallel = 1;
         parameters = ( { key = "optimizer.learning_rate"; type = "categorical"; values = [0.003, 0.0003]; } ); };
CFG
} > "$T/tune.cfg"
$CLF tune "$T/tune.cfg" --set train.epochs=1 --dir "$T/tune" > "$T/tune.out" 2>&1 \
    && python3 - "$T/tune/trials.csv" <<'PY' && ok "tune objective validation:micro_f1" || bad "tune: $(cat "$T/tune.out")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 2 and all(r["state"] == "done" and 0 < float(r["validation:micro_f1"]) <= 1 for r in rows), rows
PY

# Misuse: errors that say what.
$CLF train "$T/m.cfg" --run-dir "$T/bad2" --quiet --set data.train=\""$T/cid.lst"\" --set data.root=\""$T/d"\" \
    --set data.label_format=\"multi-hot\" 2>"$T/err" >/dev/null && bad "accepted class ids as multi-hot" \
    || { grep -q "cid.lst: data.label_format = \"multi-hot\" but a label is not 0 or 1" "$T/err" \
         && ok "refused class ids as multi-hot" || bad "multi-hot: $(cat "$T/err")"; }
rm -rf "$T/bad2"
for c in "data.train=\"$D/train-images-idx3-ubyte.gz\"|needs label lists" \
         'train.loss="cross_entropy"|data.multi_label needs train.loss = "bce"' \
         'train.pos_weight=[1.0,2.0]|train.pos_weight has 2 values for 10 classes' \
                  'data.expect_classes=7|10 multi-hot label columns but 7 classes'; do
    $CLF train "$T/m.cfg" --run-dir "$T/bad2" --quiet --set "${c%%|*}" 2>"$T/err" >/dev/null \
        && bad "accepted ${c%%|*}" || { grep -q "${c#*|}" "$T/err" && ok "refused ${c%%|*}" || bad "${c%%|*}: $(cat "$T/err")"; }
    rm -rf "$T/bad2"
done
[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
