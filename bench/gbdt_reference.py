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


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"
    # HIGGS
    tr = pd.read_csv(f"{data}/lightgbm_higgs_binary/higgs_train.csv")
    te = pd.read_csv(f"{data}/lightgbm_higgs_binary/higgs_test.csv")
    Xtr, ytr, Xte, yte = prep(tr, te, "label")
    p = xgb_fit(Xtr, ytr, Xte, {"objective": "binary:logistic"})
    print(f"higgs xgboost auc {roc_auc_score(yte, p):.6f}")
    p = rf(RandomForestClassifier, Xtr.values, ytr, Xte.values, 100)
    print(f"higgs sklearn-rf(100) auc {roc_auc_score(yte, p[:, 1]):.6f} "
          f"accuracy {accuracy_score(yte, p.argmax(1)):.6f}")
    # Adult
    tr = pd.read_csv(f"{data}/uci_adult/adult_train.csv")
    te = pd.read_csv(f"{data}/uci_adult/adult_test.csv")
    tr["income"] = (tr["income"] == ">50K").astype(int)
    te["income"] = (te["income"] == ">50K").astype(int)
    Xtr, ytr, Xte, yte = prep(tr, te, "income")
    p = xgb_fit(Xtr, ytr, Xte, {"objective": "binary:logistic"})
    print(f"adult xgboost auc {roc_auc_score(yte, p):.6f} "
          f"accuracy {accuracy_score(yte, p > 0.5):.6f}")
    p = rf(RandomForestClassifier, codes(Xtr), ytr, codes(Xte), 50)
    print(f"adult sklearn-rf(50) auc {roc_auc_score(yte, p[:, 1]):.6f} "
          f"accuracy {accuracy_score(yte, p.argmax(1)):.6f}")
    # Letter
    df = pd.read_csv(f"{data}/mlbench_letter_recognition/LetterRecognition.csv")
    trm, tem = hash_split(len(df))
    df["lettr"] = pd.Categorical(df["lettr"]).codes
    Xtr, ytr, Xte, yte = prep(df[trm].copy(), df[tem].copy(), "lettr")
    p = xgb_fit(Xtr, ytr, Xte, {"objective": "multi:softprob", "num_class": 26})
    print(f"letter xgboost accuracy {accuracy_score(yte, p.argmax(1)):.6f} "
          f"(train {len(ytr)} test {len(yte)})")
    p = rf(RandomForestClassifier, Xtr.values, ytr, Xte.values, 50)
    print(f"letter sklearn-rf(50) accuracy {accuracy_score(yte, p.argmax(1)):.6f}")
    # Diamonds
    df = pd.read_csv(f"{data}/ggplot2_diamonds/diamonds.csv")
    trm, tem = hash_split(len(df))
    Xtr, ytr, Xte, yte = prep(df[trm].copy(), df[tem].copy(), "price")
    p = xgb_fit(Xtr, ytr, Xte, {"objective": "reg:squarederror"})
    print(f"diamonds xgboost rmse {np.sqrt(np.mean((p - yte) ** 2)):.4f} "
          f"(train {len(ytr)} test {len(yte)})")
    p = rf(RandomForestRegressor, codes(Xtr), ytr, codes(Xte), 50)
    print(f"diamonds sklearn-rf(50) r2 {r2_score(yte, p):.6f} "
          f"rmse {np.sqrt(np.mean((p - yte) ** 2)):.4f}")


if __name__ == "__main__":
    main()
