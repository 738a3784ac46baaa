#!/usr/bin/python3
"""Reference numbers for tests/unit/test_gbdt.c and tests/unit/test_forest.c: XGBoost 1.7
(tree_method="hist") and scikit-learn 1.2 random forests on the shared datasets, with the
parameters and row splits the C tests use.

  /usr/bin/python3 bench/gbdt_reference.py [DATA_DIR]     (default /work/shared/data)

Splits: HIGGS and Adult come with train/test files; Letter and Diamonds are split 80/20 by
a seeded hash of the row index, the same rule as the tests (row r is a test row when
splitmix64(42 << 32 | r) % 5 == 0; splitmix64 as lib/algo/tree.h's tree_rand).
Categorical columns (Adult's 8 strings, Diamonds' cut/color/clarity) go to XGBoost as pandas
category dtype with enable_categorical=True (the test file's categories mapped onto the
training categories; unseen ones missing); scikit-learn's forests get their codes as numbers,
missing as -1 (scikit-learn 1.2 forests cannot take NaN).
"""
import sys

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

M = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M
    z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def hash_split(n, seed=42):
    test = np.array([splitmix64((seed << 32) | r) % 5 == 0 for r in range(n)])
    return ~test, test


def prep(df_tr, df_te, target):
    ytr, yte = df_tr.pop(target), df_te.pop(target)
    for c in df_tr.columns:
        if df_tr[c].dtype == object:
            cats = pd.Index(sorted(df_tr[c].dropna().unique()))
            df_tr[c] = pd.Categorical(df_tr[c], categories=cats)
            df_te[c] = pd.Categorical(df_te[c], categories=cats)
    return df_tr, ytr, df_te, yte


def codes(df):
    out = df.copy()
    for c in out.columns:
        if str(out[c].dtype) == "category":
            out[c] = out[c].cat.codes.astype(float)  # NaN -> -1
    return out.values


def xgb_fit(Xtr, ytr, Xte, params, rounds=100):
    p = {"tree_method": "hist", "max_bin": 255, "eta": 0.1, "max_depth": 6, "lambda": 1.0,
         "min_child_weight": 1.0, "nthread": 2, "seed": 0}
    p.update(params)
    d = xgb.DMatrix(Xtr, label=ytr, enable_categorical=True)
    b = xgb.train(p, d, num_boost_round=rounds)
    return b.predict(xgb.DMatrix(Xte, enable_categorical=True))


def rf(cls, Xtr, ytr, Xte, trees):
    m = cls(n_estimators=trees, random_state=0, n_jobs=2).fit(Xtr, ytr)
    return m.predict_proba(Xte) if cls is RandomForestClassifier else m.predict(Xte)


def higgs(data):
    tr = pd.read_csv(f"{data}/lightgbm_higgs_binary/higgs_train.csv")
    te = pd.read_csv(f"{data}/lightgbm_higgs_binary/higgs_test.csv")
    return prep(tr, te, "label")


def adult(data):
    tr = pd.read_csv(f"{data}/uci_adult/adult_train.csv")
    te = pd.read_csv(f"{data}/uci_adult/adult_test.csv")
    tr["income"] = (tr["income"] == ">50K").astype(int)
    te["income"] = (te["income"] == ">50K").astype(int)
    return prep(tr, te, "income")


def letter(data):
    df = pd.read_csv(f"{data}/mlbench_letter_recognition/LetterRecognition.csv")
    trm, tem = hash_split(len(df))
    df["lettr"] = pd.Categorical(df["lettr"]).codes
    return prep(df[trm].copy(), df[tem].copy(), "lettr")


def diamonds(data):
    df = pd.read_csv(f"{data}/ggplot2_diamonds/diamonds.csv")
    trm, tem = hash_split(len(df))
    return prep(df[trm].copy(), df[tem].copy(), "price")


# What each line reports, from the true values y and the predictions p (class probabilities,
# one column per class, or values); "sizes" is the train/test row counts.
METRICS = {
    "auc": lambda y, p: "auc %.6f" % roc_auc_score(y, p[:, 1]),
    "accuracy": lambda y, p: "accuracy %.6f" % accuracy_score(y, p.argmax(1)),
    "rmse": lambda y, p: "rmse %.4f" % np.sqrt(np.mean((p - y) ** 2)),
    "r2": lambda y, p: "r2 %.6f" % r2_score(y, p),
}

# name, loader, XGBoost's objective, its metrics, scikit-learn's forest, its trees, its metrics
DATASETS = [
    ("higgs", higgs, {"objective": "binary:logistic"}, ["auc"],
     RandomForestClassifier, 100, ["auc", "accuracy"]),
    ("adult", adult, {"objective": "binary:logistic"}, ["auc", "accuracy"],
     RandomForestClassifier, 50, ["auc", "accuracy"]),
    ("letter", letter, {"objective": "multi:softprob", "num_class": 26}, ["accuracy", "sizes"],
     RandomForestClassifier, 50, ["accuracy"]),
    ("diamonds", diamonds, {"objective": "reg:squarederror"}, ["rmse", "sizes"],
     RandomForestRegressor, 50, ["r2", "rmse"]),
]


# Small data (issue 11: regression on ~1,000 rows trailed XGBoost): five samples of the
# diamonds split (the file is sorted by price, so every 43rd row from k): the first 1,000
# such training rows and the first 250 such test rows.
SMALL_SLICES = 5
SMALL_STRIDE = 43


def diamonds_small(data):
    Xtr, ytr, Xte, yte = diamonds(data)
    for k in range(SMALL_SLICES):
        tr, te = slice(k, None, SMALL_STRIDE), slice(k, None, SMALL_STRIDE)
        p = xgb_fit(Xtr.iloc[tr][:1000], ytr.iloc[tr][:1000], Xte.iloc[te][:250],
                    {"objective": "reg:squarederror"})
        y = yte.iloc[te][:250].values
        print("diamonds-small[%d] xgboost rmse %.4f" % (k, np.sqrt(np.mean((p - y) ** 2))))


def report(name, model, metrics, y, p, ntrain):
    words = ["(train %d test %d)" % (ntrain, len(y)) if m == "sizes" else METRICS[m](y, p)
             for m in metrics]
    print(f"{name} {model} " + " ".join(words))


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"
    for name, load, xgb_params, xgb_metrics, forest, trees, rf_metrics in DATASETS:
        Xtr, ytr, Xte, yte = load(data)
        p = xgb_fit(Xtr, ytr, Xte, xgb_params)
        if xgb_params["objective"] == "binary:logistic":
            p = np.column_stack([1 - p, p])
        report(name, "xgboost", xgb_metrics, yte, p, len(ytr))
        p = rf(forest, codes(Xtr), ytr, codes(Xte), trees)
        report(name, "sklearn-rf(%d)" % trees, rf_metrics, yte, p, len(ytr))
    diamonds_small(data)


if __name__ == "__main__":
    main()
