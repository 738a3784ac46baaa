#!/usr/bin/python3
"""Generates the `aiops drift` benchmark inputs (seeded: every run writes the same bytes).

  bench/drift_data.py OUTDIR [--rows N] [--cols K] [--seed S]

Writes OUTDIR/reference.csv and OUTDIR/current.csv, N rows (default 1,000,000) x K columns
(default 100): c00.. numeric floats (normal, uniform, lognormal, with 6 significant
digits), every 10th column a small count 0..4 (few values: chi-square / Jensen-Shannon),
the last 5 columns categorical strings. In current.csv the first 10 numeric columns are
shifted by 0.5 standard deviations and one categorical column changes its frequencies, so
the expected verdicts are known."""
import argparse
import os

import numpy as np


def columns(rng, rows, cols, shifted):
    data, names = [], []
    ncat = 5
    for j in range(cols - ncat):
        names.append("c%02d" % j)
        shift = 0.5 if shifted and j < 10 else 0.0
        if j % 10 == 9:
            v = rng.binomial(4, 0.3 + (0.1 if shifted and j < 10 else 0.0), rows).astype(np.float64)
            data.append(np.char.mod("%d", v.astype(np.int64)))
            continue
        kind = j % 3
        if kind == 0:
            v = rng.normal(shift, 1.0, rows)
        elif kind == 1:
            v = rng.uniform(0.0, 1.0, rows) + shift * 0.29
        else:
            v = rng.lognormal(shift * 0.5, 0.5, rows)
        data.append(np.char.mod("%.6g", v))
    levels = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"])
    for j in range(ncat):
        names.append("cat%d" % j)
        p = np.array([0.3, 0.25, 0.2, 0.1, 0.1, 0.05])
        if shifted and j == 0:
            p = np.array([0.15, 0.25, 0.2, 0.1, 0.1, 0.2])
        data.append(levels[rng.choice(6, rows, p=p)])
    return names, data


def write(path, names, data, rows):
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        step = 100000
        for s in range(0, rows, step):
            block = [d[s:s + step] for d in data]
            lines = block[0].astype(object)
            for b in block[1:]:
                lines = lines + "," + b.astype(object)
            f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--cols", type=int, default=100)
    ap.add_argument("--seed", type=int, default=9)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    rng = np.random.RandomState(a.seed)
    for name, shifted in (("reference.csv", False), ("current.csv", True)):
        names, data = columns(rng, a.rows, a.cols, shifted)
        write(os.path.join(a.outdir, name), names, data, a.rows)


if __name__ == "__main__":
    main()
