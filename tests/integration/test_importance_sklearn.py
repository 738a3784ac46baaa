"""Permutation importance (lib/ml/importance.c, `aiops importance`) against scikit-learn's
permutation_importance on the same model and rows (issue 8): scikit-learn shuffles with its
own generator, so the two means are compared within the noise of their repeats, and the
baseline score, which involves no shuffle, must be equal."""
import json
import math
import os
import subprocess
import tempfile
import unittest

import harness

ROWS = 2000     # rows scored: the reference calls `aiops predict` once per shuffle
REPEATS = 10


def first_rows(src, dst, n):
    with open(src, newline="") as f, open(dst, "w", newline="") as out:
        for i, line in enumerate(f):
            if i > n:
                break
            out.write(line)


def compare(stack, train_csv, score_csv, target, kind, params):
    aiops = os.path.join(stack.bin, "aiops")
    with tempfile.TemporaryDirectory() as d:
        model, rows = os.path.join(d, "m.aiops"), os.path.join(d, "rows.csv")
        first_rows(score_csv, rows, ROWS)
        p = subprocess.run([aiops, "train", train_csv, "--target", target, "--model", "gbdt"]
                           + sum((["--param", kv] for kv in params), []) + ["--out", model],
                           capture_output=True, text=True, env=stack.env, timeout=300)
        assert p.returncode == 0, p.stderr
        p = subprocess.run([aiops, "importance", model, rows, "--repeats", str(REPEATS),
                            "--seed", "7"], capture_output=True, text=True, env=stack.env,
                           timeout=300)
        assert p.returncode == 0, p.stderr
        ours = json.loads(p.stdout)
        p = subprocess.run(["/usr/bin/python3",
                            os.path.join(harness.ROOT, "tests", "unit", "ref",
                                         "permimp_reference.py"),
                            aiops, model, rows, target, kind, "--repeats", str(REPEATS)],
                           capture_output=True, text=True, env=stack.env, timeout=600)
        if p.returncode == 3:
            raise unittest.SkipTest("python3-sklearn is not installed: permutation importance "
                                    "is NOT checked against scikit-learn")
        assert p.returncode == 0, p.stderr
        ref = json.loads(p.stdout)
    # the same predictions on unshuffled rows: the same score to the last digit
    assert ours["rows"] == ROWS, ours["rows"]
    assert abs(ours["score_value"] - ref["score"]) < 1e-9, (ours["score_value"], ref["score"])
    imp = {f["feature"]: f for f in ours["importance"]}
    assert set(imp) == set(ref["importance"]), (sorted(imp), sorted(ref["importance"]))
    for name, r in ref["importance"].items():
        o = imp[name]
        # each mean's standard error is about std / sqrt(repeats - 1); allow four of the
        # difference's, plus a floor for features whose shuffles change a handful of rows
        se = math.sqrt((o["std"] ** 2 + r["std"] ** 2) / (REPEATS - 1))
        assert abs(o["importance"] - r["mean"]) <= 4 * se + 2e-3, (name, o, r)
        if r["mean"] > 0.01:  # a feature that matters spreads alike on both sides
            assert 0.25 < (o["std"] + 1e-4) / (r["std"] + 1e-4) < 4, (name, o, r)
    top_ours = max(imp.values(), key=lambda f: f["importance"])["feature"]
    top_ref = max(ref["importance"].items(), key=lambda kv: kv[1]["mean"])[0]
    return top_ours, top_ref


def test_permutation_importance_matches_sklearn_on_a_classifier(stack):
    """adult (binary, numeric and categorical columns), accuracy as the score."""
    top_ours, top_ref = compare(stack, harness.data_file("uci_adult", "adult_train.csv"),
                                harness.data_file("uci_adult", "adult_test.csv"), "income",
                                "classifier", ["rounds=50"])
    assert top_ours == top_ref == "capital_gain", (top_ours, top_ref)


def test_permutation_importance_matches_sklearn_on_a_regressor(stack):
    """diamonds (price), R^2 as the score."""
    csv_path = harness.data_file("ggplot2_diamonds", "diamonds.csv")
    top_ours, top_ref = compare(stack, csv_path, csv_path, "price", "regressor", ["rounds=50"])
    assert top_ours == top_ref, (top_ours, top_ref)
