#!/usr/bin/python3
"""Prints the numbers tests/unit/test_significance.c checks lib/ml/significance.c against:
scipy 1.10 (t distribution, betainc, binomtest, chi2, ttest_rel) and DeLong's test written
here independently with numpy and scipy.stats.rankdata (the AUCs cross-checked with
scipy.stats.mannwhitneyu). The samples come from the LCG test_significance.c uses.

    /usr/bin/python3 tests/unit/significance_reference.py"""
import numpy as np
from scipy import special, stats

M64 = (1 << 64) - 1


def lcg(seed, n):
    s, out = seed, []
    for _ in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) & M64
        out.append((s >> 11) * (1.0 / 9007199254740992.0))
    return out


def sample(n=300):
    u, v, w = lcg(1, n), lcg(2, n), lcg(3, n)
    y = np.array([1 if u[i] < 0.4 else 0 for i in range(n)], dtype=np.uint8)
    # model a separates better than model b; scores floored to 2 decimals: ties
    a = np.array([np.floor((0.35 * y[i] + 0.65 * v[i]) * 100.0) / 100.0 for i in range(n)])
    b = np.array([np.floor((0.15 * y[i] + 0.85 * w[i]) * 100.0) / 100.0 for i in range(n)])
    return y, a, b


def delong(y, a, b):
    pos, neg = y == 1, y == 0
    m, n = pos.sum(), neg.sum()
    aucs, v01, v10 = [], [], []
    for s in (a, b):
        tz = stats.rankdata(np.concatenate([s[pos], s[neg]]))
        tx, ty = stats.rankdata(s[pos]), stats.rankdata(s[neg])
        aucs.append((tz[:m].sum() / m - (m + 1) / 2) / n)
        v01.append((tz[:m] - tx) / n)
        v10.append(1 - (tz[m:] - ty) / m)
    sx, sy = np.cov(np.array(v01)), np.cov(np.array(v10))
    var = sx / m + sy / n
    d = var[0, 0] + var[1, 1] - 2 * var[0, 1]
    z = (aucs[0] - aucs[1]) / np.sqrt(d)
    return aucs, z, 2 * stats.norm.sf(abs(z))


y, a, b = sample()
aucs, z, p = delong(y, a, b)
mw = stats.mannwhitneyu(a[y == 1], a[y == 0]).statistic / ((y == 1).sum() * (y == 0).sum())
print("delong auc_a %.17g auc_b %.17g z %.17g p %.17g (mannwhitney auc_a %.17g)" % (aucs[0], aucs[1], z, p, mw))
print("t.sf(2.1, 7) %.17g; t.sf(-0.5, 30) %.17g; t.sf(4.0, 299) %.17g" % (
    stats.t.sf(2.1, 7), stats.t.sf(-0.5, 30), stats.t.sf(4.0, 299)))
print("betainc(2.5, 0.5, 0.3) %.17g; betainc(10, 3, 0.9) %.17g" % (
    special.betainc(2.5, 0.5, 0.3), special.betainc(10, 3, 0.9)))
print("binomtest(3, 15) %.17g; binomtest(7, 7) %.17g; chi2 b=40 c=20 %.17g" % (
    stats.binomtest(3, 15, 0.5).pvalue, stats.binomtest(7, 7, 0.5).pvalue,
    stats.chi2.sf((abs(40 - 20) - 1) ** 2 / 60, 1)))
ea, eb = (a - y) ** 2, (b - y) ** 2
r = stats.ttest_rel(ea, eb)
print("ttest_rel t %.17g p %.17g" % (r.statistic, r.pvalue))
