#!/usr/bin/python3
"""The peer of bench/automl_bench.sh: Optuna (TPESampler, its defaults, seeded) tuning
XGBoost (tree_method=hist, categoricals native) by 3-fold cross-validation on TRAIN.csv
within a time budget, then refitting the best parameters on every training row and scoring
TEST.csv. The search space is seed 002's habit for XGBoost: n_estimators 50-1000 (log),
learning_rate 0.01-0.3 (log), max_depth 2-10, reg_lambda 1e-3-10 (log), min_child_weight
1e-2-20 (log), subsample 0.5-1, colsample_bytree 0.3-1. The budget covers the search and
the refit: the search gets the budget minus the time one best-parameter fit took at most
(measured during the search); a fit still running when the search's time is up stops at the
next boosting round (an XGBoost callback) and its trial counts as pruned, as our trials are
stopped. Without a finished trial the refit uses XGBoost's defaults (100 rounds). Prints
one JSON object.

  automl_optuna.py TRAIN.csv TEST.csv TARGET TASK(binary|multiclass|regression) BUDGET SEED
"""
import json
import sys
import time

import numpy as np
import optuna
import pandas as pd
import xgboost as xgb
from sklearn.metrics import accuracy_score, mean_squared_error, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold


def load(path, target, classes=None):
    df = pd.read_csv(path)
    y = df.pop(target)
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].astype("category")
    return df, y


def main():
    train, test, target, task, budget, seed = sys.argv[1:7]
    budget, seed = float(budget), int(seed)
    t0 = time.monotonic()
    Xtr, ytr = load(train, target)
    Xte, yte = load(test, target)
    for c in Xtr.columns:
        if str(Xtr[c].dtype) == "category":
            Xte[c] = pd.Categorical(Xte[c], categories=Xtr[c].cat.categories)
    if task != "regression":
        classes = sorted(ytr.astype(str).unique())
        index = {c: i for i, c in enumerate(classes)}
        ytr_i = ytr.astype(str).map(index).to_numpy()
        yte_i = yte.astype(str).map(lambda v: index.get(v, -1)).to_numpy()
    else:
        ytr_i, yte_i = ytr.to_numpy(float), yte.to_numpy(float)
    objective = {"binary": "binary:logistic", "multiclass": "multi:softprob",
                 "regression": "reg:squarederror"}[task]
    base = {"objective": objective, "tree_method": "hist", "nthread": 2, "seed": seed,
            "max_cat_to_onehot": 1, "verbosity": 0}
    if task == "multiclass":
        base["num_class"] = len(classes)
    folds = (KFold(3, shuffle=True, random_state=seed) if task == "regression"
             else StratifiedKFold(3, shuffle=True, random_state=seed))
    splits = list(folds.split(Xtr, ytr_i))
    mats = [(xgb.DMatrix(Xtr.iloc[a], ytr_i[a], enable_categorical=True),
             xgb.DMatrix(Xtr.iloc[b], enable_categorical=True), ytr_i[b]) for a, b in splits]

    def score(y, p):
        if task == "binary":
            return roc_auc_score(y, p)
        if task == "multiclass":
            return accuracy_score(y, p.argmax(axis=1))
        return -mean_squared_error(y, p) ** 0.5

    fit_seconds = [0.0]

    class Deadline(xgb.callback.TrainingCallback):
        """Stops a fit once the search's time is up (returning True ends xgb.train)."""
        def __init__(self):
            self.late = False

        def after_iteration(self, model, epoch, evals_log):
            self.late = time.monotonic() - t0 > budget - fit_seconds[0]
            return self.late

    def trial_fn(trial):
        p = dict(base)
        rounds = trial.suggest_int("n_estimators", 50, 1000, log=True)
        p["eta"] = trial.suggest_float("learning_rate", 0.01, 0.3, log=True)
        p["max_depth"] = trial.suggest_int("max_depth", 2, 10)
        p["lambda"] = trial.suggest_float("reg_lambda", 1e-3, 10, log=True)
        p["min_child_weight"] = trial.suggest_float("min_child_weight", 1e-2, 20, log=True)
        p["subsample"] = trial.suggest_float("subsample", 0.5, 1.0)
        p["colsample_bytree"] = trial.suggest_float("colsample_bytree", 0.3, 1.0)
        s = []
        for dtr, dva, yva in mats:
            f0 = time.monotonic()
            stop = Deadline()
            b = xgb.train(p, dtr, rounds, callbacks=[stop])
            if stop.late:
                raise optuna.TrialPruned()
            fit_seconds[0] = max(fit_seconds[0], (time.monotonic() - f0) * 1.5)
            s.append(score(yva, b.predict(dva)))
        return float(np.mean(s))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    # the search stops early enough for the refit (about 1.5 fold fits) to end in budget
    while True:
        left = budget - (time.monotonic() - t0) - fit_seconds[0]
        if left <= 0:
            break
        study.optimize(trial_fn, n_trials=1, timeout=left)
    best = dict(base)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    bp = dict(study.best_params) if done else {}
    rounds = bp.pop("n_estimators", 100)
    best.update({} if not done else {"eta": bp["learning_rate"], "max_depth": bp["max_depth"],
                 "lambda": bp["reg_lambda"], "min_child_weight": bp["min_child_weight"],
                 "subsample": bp["subsample"], "colsample_bytree": bp["colsample_bytree"]})
    booster = xgb.train(best, xgb.DMatrix(Xtr, ytr_i, enable_categorical=True), rounds)
    used = time.monotonic() - t0
    p = booster.predict(xgb.DMatrix(Xte, enable_categorical=True))
    keep = yte_i >= 0 if task != "regression" else np.ones(len(yte_i), bool)
    if task == "binary":
        test = {"auc": roc_auc_score(yte_i[keep], p[keep])}
    elif task == "multiclass":
        test = {"accuracy": accuracy_score(yte_i[keep], p[keep].argmax(axis=1))}
    else:
        test = {"rmse": mean_squared_error(yte_i, p) ** 0.5}
    print(json.dumps({"tool": "optuna", "trials": len(study.trials), "complete": len(done),
                      "cv_best": study.best_value if done else None,
                      "budget_used_seconds": used,
                      "best_params": study.best_params if done else "xgboost defaults",
                      "test": test}))


if __name__ == "__main__":
    main()
