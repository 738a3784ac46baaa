#!/usr/bin/python3
"""The reference side of bench/gbdt_bench.sh: XGBoost (tree_method=hist) or scikit-learn's
random forest on the same binary inputs as bench/gbdt_bench.c, with the same key=value
parameters, timing only the training call (DMatrix / array construction excluded; note
XGBoost finds its quantile cuts inside xgb.train, as our gbdt_train bins inside it) and
prediction. Prints one JSON object like the C driver.

  gbdt_xgb.py TRAIN.bin TEST.bin [key=value ...]   (model=rf for scikit-learn)
"""
import json
import sys
import time

import numpy as np


def load(path):
    with open(path, "rb") as f:
        n, c = np.fromfile(f, dtype=np.int64, count=2)
        ncat = np.fromfile(f, dtype=np.int64, count=c)
        X = np.fromfile(f, dtype=np.float64, count=n * c).reshape(c, n).T
        y = np.fromfile(f, dtype=np.float64, count=n)
    return np.ascontiguousarray(X), y, ncat


def main():
    tr, te = sys.argv[1], sys.argv[2]
    kv = dict(a.split("=", 1) for a in sys.argv[3:])
    Xtr, ytr, _ = load(tr)
    Xte, yte, _ = load(te)
    obj = kv.get("objective", "binary")
    threads = int(kv.get("threads", 2))
    K = int(kv.get("num_class", 2)) if obj != "regression" else 1
    if kv.get("model") == "rf":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
        cls = RandomForestRegressor if obj == "regression" else RandomForestClassifier
        md = int(kv.get("max_depth", -1))
        mf = float(kv.get("max_features", 0))
        m = cls(n_estimators=int(kv.get("trees", 100)), max_depth=None if md <= 0 else md,
                min_samples_leaf=int(kv.get("min_samples_leaf", 1)), n_jobs=threads,
                max_features=(mf if mf > 0 else ("sqrt" if obj != "regression" else 1.0)),
                random_state=int(kv.get("seed", 0)))
        t0 = time.perf_counter()
        m.fit(Xtr, ytr)
        t1 = time.perf_counter()
        pred = (lambda X: m.predict_proba(X)) if obj != "regression" else m.predict
        iters = m.n_estimators
    else:
        import xgboost as xgb
        params = {"tree_method": "hist", "nthread": threads,
                  "max_bin": int(kv.get("max_bin", 256)), "eta": float(kv.get("eta", 0.1)),
                  "max_depth": int(kv.get("max_depth", 6)),
                  "lambda": float(kv.get("lambda", 1.0)),
                  "min_child_weight": float(kv.get("min_child_weight", 1.0)),
                  "subsample": float(kv.get("subsample", 1.0)),
                  "colsample_bytree": float(kv.get("colsample", 1.0)),
                  "seed": int(kv.get("seed", 0))}
        if "num_leaves" in kv:
            params.update(grow_policy="lossguide", max_leaves=int(kv["num_leaves"]))
            if "max_depth" not in kv:
                params["max_depth"] = 0
        if obj == "binary":
            params.update(objective="binary:logistic", eval_metric="auc")
        elif obj == "multiclass":
            params.update(objective="multi:softprob", num_class=K)
        else:
            params.update(objective="reg:squarederror")
        dtr = xgb.DMatrix(Xtr, label=ytr, nthread=threads)
        t0 = time.perf_counter()
        b = xgb.train(params, dtr, num_boost_round=int(kv.get("rounds", 100)))
        t1 = time.perf_counter()
        pred = lambda X: b.inplace_predict(X)
        iters = b.num_boosted_rounds()
    reps, p0 = 0, time.perf_counter()
    while True:
        out = pred(Xte)
        reps += 1
        p1 = time.perf_counter()
        if p1 - p0 >= 0.5:
            break
    ps = (p1 - p0) / reps
    res = {"impl": "sklearn" if kv.get("model") == "rf" else "xgboost",
           "train_s": round(t1 - t0, 4), "predict_s": round(ps, 5),
           "predict_rows_per_s": round(len(yte) / ps)}
    if obj == "binary":
        from sklearn.metrics import roc_auc_score
        p = out[:, 1] if out.ndim == 2 else out
        res["auc"] = round(float(roc_auc_score(yte, p)), 6)
    elif obj == "multiclass":
        res["accuracy"] = round(float(np.mean(np.argmax(out, axis=1) == yte)), 6)
    else:
        res["rmse"] = round(float(np.sqrt(np.mean((out - yte) ** 2))), 6)
    res["iterations"] = iters
    print(json.dumps(res))


if __name__ == "__main__":
    main()
