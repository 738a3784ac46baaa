#!/usr/bin/python3
"""The pandas + scipy loop `aiops drift` is measured against (bench/drift_bench.sh): reads
both CSVs with pandas and computes, per column, what lib/ml/drift_table.c reports, the way
Evidently 0.1.50 and scipy do it: ks_2samp, wasserstein_distance / std, 30-bin PSI and
Jensen-Shannon, chi-square or z over value counts, and Evidently's test choice.

  bench/drift_scipy.py REFERENCE.csv CURRENT.csv [--compare AIOPS_OUTPUT.json]

Prints the same JSON shape on its last line; with --compare, also the largest difference
per statistic against `aiops drift`'s output (to stderr)."""
import json
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance


def binned(ref, cur, numeric, n=30):
    if numeric:
        bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=n)
        r = np.histogram(ref, bins)[0] / len(ref)
        c = np.histogram(cur, bins)[0] / len(cur)
    else:
        keys = sorted(set(ref.unique()) | set(cur.unique()))
        rv, cv = ref.value_counts(), cur.value_counts()
        r = np.array([rv.get(k, 0) for k in keys]) / len(ref)
        c = np.array([cv.get(k, 0) for k in keys]) / len(cur)
    r, c = r.astype(float), c.astype(float)
    np.place(r, r == 0, 0.0001)
    np.place(c, c == 0, 0.0001)
    return r, c


def counts_test(ref, cur, n_unique):
    keys = sorted(set(ref.unique()) | set(cur.unique()))
    rv, cv = ref.value_counts(), cur.value_counts()
    k = len(cur) / len(ref)
    obs = [cv.get(x, 0) for x in keys]
    exp = [rv.get(x, 0) * k for x in keys]
    chi_p = stats.chisquare(obs, exp)[1]
    if n_unique > 2:
        return "chisquare", chi_p, chi_p
    p1, p2 = (ref == keys[0]).mean(), (cur == keys[0]).mean()
    P = (p1 * len(ref) + p2 * len(cur)) / (len(ref) + len(cur))
    z = (p1 - p2) / np.sqrt(P * (1 - P) * (1 / len(ref) + 1 / len(cur)))
    return "z", 2 * (1 - stats.norm.cdf(abs(z))), chi_p


def column(name, ref, cur):
    numeric = pd.api.types.is_numeric_dtype(ref)
    ref = ref.replace([np.inf, -np.inf], np.nan).dropna()
    cur = cur.replace([np.inf, -np.inf], np.nan).dropna()
    n_unique = pd.concat([ref, cur]).nunique()
    r, c = binned(ref.to_numpy() if numeric else ref, cur.to_numpy() if numeric else cur, numeric)
    out = {"feature": name, "type": "numeric" if numeric else "categorical",
           "psi": float(np.sum((r - c) * np.log(r / c))),
           "jensen_shannon": float(distance.jensenshannon(r, c)), "n_unique": int(n_unique)}
    if numeric:
        ks = stats.ks_2samp(ref, cur)
        out["ks"], out["ks_p_value"] = float(ks.statistic), float(ks.pvalue)
        out["wasserstein"] = float(stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001))
    small = len(ref) <= 1000
    if (not numeric or n_unique <= 5) and small:
        method, p, chi_p = counts_test(ref, cur, n_unique)
        out.update(method=method, p_value=p, drift=bool(p < 0.05))
    elif numeric and small:
        out.update(method="ks", p_value=out["ks_p_value"], drift=bool(out["ks_p_value"] < 0.05))
    elif numeric and n_unique > 5:
        out.update(method="wasserstein", statistic=out["wasserstein"], drift=bool(out["wasserstein"] >= 0.1))
    else:
        out.update(method="jensenshannon", statistic=out["jensen_shannon"], drift=bool(out["jensen_shannon"] >= 0.1))
    return out


def main():
    args = sys.argv[1:]
    compare = None
    if "--compare" in args:
        i = args.index("--compare")
        compare = args[i + 1]
        del args[i:i + 2]
    t0 = time.time()
    ref, cur = pd.read_csv(args[0]), pd.read_csv(args[1])
    t1 = time.time()
    feats = [column(n, ref[n], cur[n]) for n in ref.columns]
    t2 = time.time()
    drifted = sum(f["drift"] for f in feats)
    print("read %.2f s, statistics %.2f s" % (t1 - t0, t2 - t1), file=sys.stderr)
    if compare:
        ours = {f["feature"]: f for f in json.loads(open(compare).read().splitlines()[-1])["features"]}
        worst, verdicts = {}, 0
        for f in feats:
            o = ours[f["feature"]]
            verdicts += o["drift"] != f["drift"] or o["method"] != f["method"]
            for k in ("psi", "jensen_shannon", "ks", "ks_p_value", "wasserstein"):
                if k in f and o.get(k) is not None:
                    d = abs(o[k] - f[k]) / max(abs(f[k]), 1e-300)
                    worst[k] = max(worst.get(k, 0.0), d)
        print("largest relative difference per statistic: %s; verdict/method mismatches: %d"
              % (json.dumps(worst), verdicts), file=sys.stderr)
    print(json.dumps({"features": feats, "number_of_drifted_columns": drifted,
                      "share_drifted": drifted / len(feats)}))


if __name__ == "__main__":
    main()
