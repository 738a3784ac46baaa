#!/usr/bin/python3
"""XGBoost's side of bench/shap_bench.sh: times Booster.predict(pred_contribs=True) on the
rows of DIR/binary.x.f64 with the model DIR/binary.json (both from
tests/unit/ref/xgb_reference.py), nthread threads, and prints "wall_s cpu_s" of the call;
writes the contributions to DIR/binary.contrib.f64 for the accuracy check."""
import sys
import time

import numpy as np
import xgboost as xgb

d, threads = sys.argv[1], int(sys.argv[2])
with open(d + "/binary.shape") as f:
    rows, cols, _ = (int(v) for v in f.read().split())
x = np.fromfile(d + "/binary.x.f64").reshape(rows, cols)
bst = xgb.Booster(model_file=d + "/binary.json")
bst.set_param({"nthread": threads})
m = xgb.DMatrix(x, feature_names=["f%d" % j for j in range(cols)])
w0, c0 = time.perf_counter(), time.process_time()
c = bst.predict(m, pred_contribs=True)
w1, c1 = time.perf_counter(), time.process_time()
np.asarray(c, dtype=np.float64).astype("<f8").tofile(d + "/binary.contrib.f64")
print("%.3f %.3f" % (w1 - w0, c1 - c0))
