#!/usr/bin/python3
"""XGBoost's side of tests/unit/test_xgbimport.c and bench/shap_bench.sh.

   xgb_reference.py OUTDIR [--rows N] [--rounds R] [--depth D] [--only TASK] [--no-contribs]

Trains XGBoost (python3-xgboost, Debian's 1.7.4) on data drawn from a fixed seed -- values
that are single-precision floats, because XGBoost compares in float32, with 5% missing --
for each task (binary:logistic, multi:softprob with 3 classes, reg:squarederror) and writes,
per task, into OUTDIR:
  TASK.json           the model (Booster.save_model)
  TASK.shape          "nrows ncols outputs"
  TASK.x.f64          the rows, row-major float64 (NaN where missing)
  TASK.margin.f64     predict(output_margin=True), nrows x outputs
  TASK.contrib.f64    predict(pred_contribs=True), nrows x outputs x (ncols + 1)
  TASK.csv            the rows as CSV with a header (f0..f{n-1}; empty cell = missing)
Exits 3 when xgboost cannot be imported, so that the caller skips loudly."""
import argparse
import os
import sys
import time

try:
    import numpy as np
    import xgboost as xgb
except ImportError as e:  # the caller turns this into a loud SKIP
    print("xgboost not importable: %s" % e, file=sys.stderr)
    sys.exit(3)


def data(task, rows, cols, rng):
    x = rng.normal(size=(rows, cols)).astype(np.float32)
    x[:, 1] = np.round(x[:, 1] * 3).astype(np.float32)  # ties and repeated split values
    m = 1.5 * x[:, 0] - x[:, 1] + 0.8 * x[:, 2] * x[:, 3] + np.sin(x[:, 4])
    if task == "binary":
        y = (m + rng.normal(scale=0.5, size=rows) > 0).astype(np.float32)
    elif task == "multiclass":
        y = np.digitize(m + rng.normal(scale=0.5, size=rows), [-1.0, 1.0]).astype(np.float32)
    else:
        y = (m + rng.normal(scale=0.3, size=rows)).astype(np.float32)
    miss = rng.random(size=x.shape) < 0.05
    x = x.astype(np.float64)
    x[miss] = np.nan
    return x, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--cols", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--only", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-contribs", action="store_true")
    a = ap.parse_args()
    objectives = {"binary": ({"objective": "binary:logistic"}, 1),
                  "multiclass": ({"objective": "multi:softprob", "num_class": 3}, 3),
                  "regression": ({"objective": "reg:squarederror"}, 1)}
    for task, (params, k) in objectives.items():
        if a.only and task != a.only:
            continue
        rng = np.random.default_rng(20261204)
        x, y = data(task, a.rows, a.cols, rng)
        names = ["f%d" % j for j in range(a.cols)]
        d = xgb.DMatrix(x, label=y, feature_names=names)
        p = dict(params, max_depth=a.depth, eta=0.3, tree_method="hist", nthread=a.threads,
                 seed=1)
        bst = xgb.train(p, d, num_boost_round=a.rounds)
        base = os.path.join(a.outdir, task)
        bst.save_model(base + ".json")
        with open(base + ".shape", "w") as f:
            f.write("%d %d %d\n" % (a.rows, a.cols, k))
        x.astype("<f8").tofile(base + ".x.f64")
        np.savetxt(base + ".csv", x, delimiter=",", header=",".join(names), comments="",
                   fmt="%.17g")
        with open(base + ".csv") as f:  # missing as an empty cell, not "nan"
            text = f.read().replace("nan", "")
        with open(base + ".csv", "w") as f:
            f.write(text)
        margin = bst.predict(d, output_margin=True).astype(np.float64)
        margin.reshape(a.rows, k).astype("<f8").tofile(base + ".margin.f64")
        if not a.no_contribs:
            t0 = time.time()
            c = bst.predict(d, pred_contribs=True)
            secs = time.time() - t0
            np.asarray(c, dtype=np.float64).reshape(a.rows, k, a.cols + 1).astype(
                "<f8").tofile(base + ".contrib.f64")
            print("%s pred_contribs %.3f s" % (task, secs))


if __name__ == "__main__":
    main()
