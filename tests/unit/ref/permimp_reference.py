#!/usr/bin/python3
"""scikit-learn's side of tests/integration/test_importance_sklearn.py.

   permimp_reference.py AIOPS MODEL DATA.csv TARGET KIND [--repeats N] [--seed S]

Runs sklearn.inspection.permutation_importance (Debian's python3-sklearn) on a model of ours:
the estimator's predictions are `AIOPS predict MODEL` on each shuffled copy of DATA's feature
columns, its score the default one of its kind (KIND "classifier": accuracy; "regressor":
R^2), so the numbers are what scikit-learn would report for the same model and rows. Prints
one JSON object {"score": baseline, "importance": {feature: {"mean", "std"}}} on stdout.
Exits 3 when scikit-learn cannot be imported, so that the caller skips loudly."""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import accuracy_score, r2_score
except ImportError as e:  # the caller turns this into a loud SKIP
    print("scikit-learn not importable: %s" % e, file=sys.stderr)
    sys.exit(3)


class AiopsModel:
    """A fitted model file seen as a scikit-learn estimator: predict() writes the rows as a
    CSV and reads back `aiops predict`'s first column."""

    def __init__(self, aiops, model, features, kind, tmp):
        self.aiops, self.model, self.features, self.kind = aiops, model, features, kind
        self.tmp = tmp

    def fit(self, x, y):  # scikit-learn's check_scoring wants an estimator that has one
        return self

    def predict(self, x):
        rows = os.path.join(self.tmp, "rows.csv")
        out = os.path.join(self.tmp, "pred.csv")
        with open(rows, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(self.features)
            w.writerows(x.tolist())
        subprocess.run([self.aiops, "predict", self.model, rows, "--out", out], check=True,
                       capture_output=True)
        with open(out, newline="") as f:
            got = [r[0] for r in csv.reader(f)][1:]
        return np.array(got if self.kind == "classifier" else [float(v) for v in got],
                        dtype=object if self.kind == "classifier" else float)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("aiops")
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("target")
    ap.add_argument("kind", choices=("classifier", "regressor"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    with open(a.data, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    t = header.index(a.target)
    features = [h for i, h in enumerate(header) if i != t]
    # the cells stay text, as the CSV has them: aiops parses them itself
    x = np.array([[c for i, c in enumerate(r) if i != t] for r in body], dtype=object)
    if a.kind == "classifier":
        y = np.array([r[t] for r in body], dtype=object)
        score = lambda est, xs, ys: accuracy_score(ys, est.predict(xs))  # noqa: E731
    else:
        y = np.array([float(r[t]) for r in body])
        score = lambda est, xs, ys: r2_score(ys, est.predict(xs))  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        est = AiopsModel(a.aiops, a.model, features, a.kind, tmp)
        base = score(est, x, y)
        r = permutation_importance(est, x, y, scoring=score, n_repeats=a.repeats,
                                   random_state=a.seed)
    json.dump({"score": base,
               "importance": {f: {"mean": float(r.importances_mean[j]),
                                  "std": float(r.importances_std[j])}
                              for j, f in enumerate(features)}}, sys.stdout)


if __name__ == "__main__":
    main()
