#!/usr/bin/env python3
"""livekpi's lexicon sentiment beside SnowNLP on tests/sentiment/labelled.tsv.

SnowNLP (PyPI `snownlp`, pinned in tests/requirements.txt) gives P(positive) for Chinese text
(a naive Bayes model trained on product reviews). Mapping used here: >= 0.6 positive,
<= 0.4 negative, else neutral. It is applied to every comment, English ones included (SnowNLP
has no English model; that is part of the comparison).

livekpi's labels come from the `sentiment_eval` example (`--dump` prints text<TAB>label per
comment), so both are scored on the same rows with the same metrics.

    pip install -r tests/requirements.txt
    python3 tests/sentiment/compare_snownlp.py
"""
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TSV = os.path.join(ROOT, "tests", "sentiment", "labelled.tsv")
LABELS = ["positive", "neutral", "negative"]


def load():
    rows, split = [], "dev"
    with open(TSV, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# split:"):
                split = line.split(":", 1)[1].strip()
                continue
            if not line.strip() or line.startswith("#"):
                continue
            text, label = line.rsplit("\t", 1)
            rows.append((split, text, label.strip()))
    return rows


def metrics(pairs):
    cm = {g: {p: 0 for p in LABELS} for g in LABELS}
    for g, p in pairs:
        cm[g][p] += 1
    acc = sum(cm[k][k] for k in LABELS) / max(1, len(pairs))
    f1s = []
    for k in LABELS:
        tp = cm[k][k]
        pred = sum(cm[g][k] for g in LABELS)
        gold = sum(cm[k].values())
        p = tp / pred if pred else 0.0
        r = tp / gold if gold else 0.0
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    return acc, sum(f1s) / 3


def livekpi_labels():
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", "/tmp/target-sentiment")
    out = subprocess.run(
        ["cargo", "run", "-q", "--release", "--features", "console", "--example",
         "sentiment_eval", "--", "--dump"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    labels = [line.rsplit("\t", 1)[1] for line in out.splitlines() if "\t" in line]
    return labels


def snownlp_label(p):
    if p >= 0.6:
        return "positive"
    if p <= 0.4:
        return "negative"
    return "neutral"


def main():
    from snownlp import SnowNLP

    rows = load()
    ours = livekpi_labels()
    assert len(ours) == len(rows), (len(ours), len(rows))
    t0 = time.perf_counter()
    snow = []
    for _, text, _ in rows:
        try:
            snow.append(snownlp_label(SnowNLP(text).sentiments))
        except Exception:  # SnowNLP fails on some inputs (e.g. no Chinese at all)
            snow.append("neutral")
    dt = time.perf_counter() - t0
    print(f"labelled set: {len(rows)} comments ({TSV})")
    print("SnowNLP mapping: P(pos) >= 0.6 positive, <= 0.4 negative, else neutral")
    print(f"{'split':<8} {'n':>4}  {'livekpi acc':>11} {'livekpi F1':>10}  {'SnowNLP acc':>11} {'SnowNLP F1':>10}")
    import re
    latin = re.compile(r"[A-Za-z]")
    for split in ["dev", "heldout", "all", "all-zh"]:
        # all-zh: comments without Latin letters (SnowNLP's home ground).
        idx = [i for i, r in enumerate(rows)
               if split == "all" or r[0] == split or (split == "all-zh" and not latin.search(r[1]))]
        gold = [rows[i][2] for i in idx]
        a1, f1 = metrics(list(zip(gold, [ours[i] for i in idx])))
        a2, f2 = metrics(list(zip(gold, [snow[i] for i in idx])))
        print(f"{split:<8} {len(idx):>4}  {a1:>11.3f} {f1:>10.3f}  {a2:>11.3f} {f2:>10.3f}")
    print(f"SnowNLP throughput: {len(rows) / dt:.0f} comments/s (Python, this machine)")
    if "-v" in sys.argv:
        for (split, text, g), o, s in zip(rows, ours, snow):
            if o != g or s != g:
                print(f"  {split:<7} gold {g:<8} livekpi {o:<8} snownlp {s:<8} {text}")


if __name__ == "__main__":
    main()
