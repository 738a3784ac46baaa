#!/usr/bin/python3
"""Seeded synthetic data for bench/nn_bench.sh, written as raw little-endian float64:
NAME_x.bin (rows x cols, column-major: column j is rows values) and NAME_y.bin (rows 0/1),
with NAME.shape holding "rows cols".

  click: seed 000's click data shape -- 119 features (numeric signals, one-hot style 0/1
         groups, noise), ~2% positives drawn from a logistic model of a few of them.
  dense: a dense binary problem (30 numeric features, ~50% positives) for the MLP.

  /usr/bin/python3 bench/nn_data.py click|dense OUT_DIR --rows N --cols D --seed S
"""
import argparse
import os

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["click", "dense"])
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--cols", type=int, required=True)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    n, d = a.rows, a.cols
    x = rng.standard_normal((n, d))
    if a.kind == "click":
        # a third of the columns are 0/1 flags, as one-hot encoded categories are
        flags = d // 3
        x[:, d - flags:] = (rng.random((n, flags)) < 0.2).astype(np.float64)
        w = np.zeros(d)
        w[:8] = rng.normal(0, 0.8, 8)
        w[d - flags:d - flags + 6] = rng.normal(0, 1.0, 6)
        margin = x @ w - 6.7  # ~2% positives
    else:
        w = rng.normal(0, 1, d)
        margin = x @ w / np.sqrt(d) + 0.5 * np.sin(x[:, 0] * x[:, 1])
    y = (rng.random(n) < 1 / (1 + np.exp(-margin))).astype(np.float64)
    os.makedirs(a.out, exist_ok=True)
    x.T.astype("<f8").tofile(os.path.join(a.out, a.kind + "_x.bin"))
    y.astype("<f8").tofile(os.path.join(a.out, a.kind + "_y.bin"))
    with open(os.path.join(a.out, a.kind + ".shape"), "w") as f:
        f.write("%d %d\n" % (n, d))
    print("%s: %d x %d, positives %.2f%%" % (a.kind, n, d, 100 * y.mean()))


if __name__ == "__main__":
    main()
