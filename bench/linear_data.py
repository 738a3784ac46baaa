#!/usr/bin/python3
"""Inputs and the scikit-learn side of bench/linear_bench.sh.

  linear_data.py synth DIR [--rows N] [--cols C] [--seed S]   DIR/lsynth_{train,test}.bin
  linear_data.py higgs DIR DATA_DIR                           DIR/higgs_{train,test}.bin
  linear_data.py sklearn TRAIN.bin TEST.bin C MAX_ITER TOL    one JSON line of timings

The binary form (read by linear_bench.c): int64 nrows, int64 ncols, int64 ncat[ncols],
float64 features column-major, float64 targets.

The synthetic set is a seeded binary task for a linear model: C features (30 by default),
each a standard normal with its own offset and scale (so standardisation matters), pairs
of them correlated, and a label drawn from a logistic model whose margin is linear in the
features (1,000,000 training rows, 100,000 test rows by default).

The scikit-learn timing fits LogisticRegression(solver="lbfgs", C, max_iter, tol) on inputs
already standardised with StandardScaler (whose own time is reported apart), as asked.
"""
import json
import sys
import time

import numpy as np


def write(path, X, y):
    X = np.asarray(X, dtype=np.float64)
    n, c = X.shape
    with open(path, "wb") as f:
        np.array([n, c], dtype=np.int64).tofile(f)
        np.zeros(c, dtype=np.int64).tofile(f)
        np.ascontiguousarray(X.T).tofile(f)  # column-major
        np.asarray(y, dtype=np.float64).tofile(f)


def read(path):
    with open(path, "rb") as f:
        n, c = np.fromfile(f, dtype=np.int64, count=2)
        np.fromfile(f, dtype=np.int64, count=c)
        X = np.fromfile(f, dtype=np.float64, count=n * c).reshape(c, n).T
        y = np.fromfile(f, dtype=np.float64, count=n)
    return X, y


def synth(out, rows, cols, seed):
    rng = np.random.default_rng(seed)
    n = rows + rows // 10
    Z = rng.standard_normal((n, cols))
    Z[:, 1::2] = 0.6 * Z[:, 0::2][:, : Z[:, 1::2].shape[1]] + 0.8 * Z[:, 1::2]
    beta = rng.normal(0, 0.5, cols) * (rng.random(cols) < 0.7)
    margin = Z @ beta - 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-margin))).astype(np.float64)
    X = Z * rng.uniform(0.5, 20, cols) + rng.uniform(-50, 50, cols)
    write(f"{out}/lsynth_train.bin", X[:rows], y[:rows])
    write(f"{out}/lsynth_test.bin", X[rows:], y[rows:])


def higgs(out, data_dir):
    import pandas as pd

    for part in ("train", "test"):
        df = pd.read_csv(f"{data_dir}/lightgbm_higgs_binary/higgs_{part}.csv")
        write(f"{out}/higgs_{part}.bin", df.drop(columns="label").values, df["label"].values)


def sk(train, test, C, max_iter, tol):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
    from sklearn.preprocessing import StandardScaler

    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = read(train)
    Xt, yt = read(test)
    t0 = time.perf_counter()
    sc = StandardScaler().fit(X)
    Xs = sc.transform(X)
    t1 = time.perf_counter()
    c1 = time.process_time()
    m = LogisticRegression(C=C, max_iter=max_iter, tol=tol, solver="lbfgs").fit(Xs, y)
    t2 = time.perf_counter()
    c2 = time.process_time()
    p = m.predict_proba(sc.transform(Xt))[:, 1]
    print(json.dumps({"scale_s": round(t1 - t0, 3), "train_s": round(t2 - t1, 3),
                      "train_cpu_s": round(c2 - c1, 3),
                      "iterations": int(m.n_iter_[0]), "auc": round(roc_auc_score(yt, p), 6),
                      "accuracy": round(accuracy_score(yt, p > 0.5), 6),
                      "logloss": round(log_loss(yt, p), 6)}))


def main(argv):
    if len(argv) >= 3 and argv[1] == "synth":
        opts = dict(zip(argv[3::2], argv[4::2]))
        synth(argv[2], int(opts.get("--rows", 1000000)), int(opts.get("--cols", 30)),
              int(opts.get("--seed", 1)))
    elif len(argv) == 4 and argv[1] == "higgs":
        higgs(argv[2], argv[3])
    elif len(argv) == 7 and argv[1] == "sklearn":
        sk(argv[2], argv[3], float(argv[4]), int(argv[5]), float(argv[6]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
