#!/usr/bin/python3
"""Writes the inputs of bench/gbdt_bench.sh in the driver's binary form (see gbdt_bench.c):
int64 nrows, int64 ncols, int64 ncat[ncols], float64 features column-major, float64 targets.

  gbdt_data.py synth DIR [--rows N] [--cols C] [--seed S] [--name NAME]
                                                            DIR/NAME_{train,test}.bin
  gbdt_data.py higgs DIR DATA_DIR                           DIR/higgs_{train,test}.bin

The synthetic set is a seeded binary task: 30 standard-normal features (1,000,000 training
rows and a tenth of that, at least 1,000, for testing by default), a label drawn from a logistic model on a non-linear,
interacting function of the first 12 features (the rest are noise).
"""
import sys

import numpy as np
import pandas as pd


def write(path, X, y, ncat=None):
    X = np.asarray(X, dtype=np.float64)
    n, c = X.shape
    ncat = np.zeros(c, dtype=np.int64) if ncat is None else np.asarray(ncat, dtype=np.int64)
    with open(path, "wb") as f:
        np.array([n, c], dtype=np.int64).tofile(f)
        ncat.tofile(f)
        np.asfortranarray(X).T.astype(np.float64).tofile(f)  # column-major
        np.asarray(y, dtype=np.float64).tofile(f)


def synth_margin(X):
    return (1.5 * X[:, 0] * X[:, 1] + np.sin(2 * X[:, 2]) + X[:, 3] ** 2 - 1
            + 0.8 * X[:, 4] - 0.6 * np.abs(X[:, 5]) + 0.5 * (X[:, 6] > 0.3) * X[:, 7]
            + 0.4 * np.maximum(X[:, 8], X[:, 9]) - 0.3 * X[:, 10] * X[:, 11])


def synth(out, rows, cols, seed, prefix):
    rng = np.random.default_rng(seed)
    for name, n in (("train", rows), ("test", max(rows // 10, 1000))):
        X = rng.standard_normal((n, cols))
        p = 1 / (1 + np.exp(-synth_margin(X)))
        y = (rng.random(n) < p).astype(np.float64)
        write(f"{out}/{prefix}_{name}.bin", X, y)


def higgs(out, data):
    for name in ("train", "test"):
        df = pd.read_csv(f"{data}/lightgbm_higgs_binary/higgs_{name}.csv")
        write(f"{out}/higgs_{name}.bin", df.drop(columns="label").values, df["label"].values)


def main():
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "synth":
        opts = dict(zip(args[2::2], args[3::2]))
        synth(args[1], int(opts.get("--rows", 1000000)), int(opts.get("--cols", 30)),
              int(opts.get("--seed", 42)), opts.get("--name", "synth"))
    elif len(args) == 3 and args[0] == "higgs":
        higgs(args[1], args[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
