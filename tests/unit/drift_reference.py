#!/usr/bin/python3
"""The scipy 1.10 numbers tests/unit/test_drift.c checks lib/ml/drift.c against.

    /usr/bin/python3 tests/unit/drift_reference.py
writes the per-sample statistics to tests/unit/ref/drift_scipy.tsv (which test_drift.c
reads) and prints the other numbers, which were pasted into test_drift.c. The samples come
from the same 64-bit LCG and arithmetic as sample() in test_drift.c, so both sides see
bit-identical doubles."""
import os

import numpy as np
from scipy import stats
from scipy.spatial import distance

M64 = (1 << 64) - 1


def sample(seed, n, shift, scale, kind):
    s = seed & M64
    out = []
    for _ in range(n):
        u = []
        for _ in range(3):
            s = (s * 6364136223846793005 + 1442695040888963407) & M64
            u.append((s >> 11) * (1.0 / 9007199254740992.0))
        if kind == 0:
            out.append(shift + scale * (u[0] + u[1] + u[2] - 1.5))
        else:  # integers 0 .. scale-1 (+ shift): ties
            out.append(shift + float(int(u[0] * scale)))
    return np.array(out)


def binned(ref, cur, n=30):
    # Evidently get_binned_data (numeric) with feel_zeroes
    bins = np.histogram_bin_edges(list(ref) + list(cur), bins=n)
    r = np.histogram(ref, bins)[0] / len(ref)
    c = np.histogram(cur, bins)[0] / len(cur)
    np.place(r, r == 0, 0.0001)
    np.place(c, c == 0, 0.0001)
    return r, c


CASES = [  # name, (seed, n, shift, scale, kind) ref, cur
    ("equal_n", (1, 200, 0.0, 1.0, 0), (2, 200, 0.15, 1.0, 0)),
    ("unequal_n", (3, 300, 0.0, 1.0, 0), (4, 170, 0.1, 1.2, 0)),
    ("ties", (5, 400, 0.0, 12.0, 1), (6, 350, 1.0, 12.0, 1)),
    ("asymp_close", (7, 20000, 0.0, 1.0, 0), (8, 15000, 0.005, 1.0, 0)),
    ("asymp_far", (9, 20000, 0.0, 1.0, 0), (10, 15000, 0.03, 1.0, 0)),
    ("same", (11, 5000, 0.0, 1.0, 0), (12, 3000, 0.0, 1.0, 0)),
]

TSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref", "drift_scipy.tsv")
out = open(TSV, "w")
out.write("# tests/unit/drift_reference.py, scipy %s: name, then seed n shift scale kind of the"
          " reference and of the current sample, then ks ks_p wasserstein_normed psi js"
          " kl_cur_ref\n" % __import__("scipy").__version__)
for name, a, b in CASES:
    ref, cur = sample(*a), sample(*b)
    ks = stats.ks_2samp(ref, cur)
    wd = stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)
    r, c = binned(ref, cur)
    psi = float(np.sum((r - c) * np.log(r / c)))
    js = float(distance.jensenshannon(r, c))
    kl = float(stats.entropy(c, r))
    out.write("%s\t%d %d %r %r %d\t%d %d %r %r %d\t%.17g %.17g %.17g %.17g %.17g %.17g\n"
              % ((name,) + a + b + (ks.statistic, ks.pvalue, wd, psi, js, kl)))
out.close()
print("wrote", TSV)

# chi-square on category counts as Evidently's chi_stat_test builds them
ref_counts = [120, 80, 40, 10]
cur_counts = [100, 95, 30, 25]
k = sum(cur_counts) / sum(ref_counts)
chi = stats.chisquare(cur_counts, [x * k for x in ref_counts])
print("chisquare %.17g %.17g" % (chi.statistic, chi.pvalue))
print("chi2.sf(3.5, 1) %.17g; chi2.sf(250, 40) %.17g; chi2.sf(0.01, 7) %.17g"
      % (stats.chi2.sf(3.5, 1), stats.chi2.sf(250, 40), stats.chi2.sf(0.01, 7)))
rf = np.array(ref_counts) / sum(ref_counts)
cf = np.array(cur_counts) / sum(cur_counts)
print("categorical psi %.17g js %.17g" % (np.sum((rf - cf) * np.log(rf / cf)), distance.jensenshannon(rf, cf)))
# Evidently's z-test: 2 * (1 - norm.cdf(|z|))
n1, n2, h1, h2 = 500, 400, 300, 200
p1, p2 = h1 / n1, h2 / n2
P = (p1 * n1 + p2 * n2) / (n1 + n2)
z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
print("z %.17g" % (2 * (1 - stats.norm.cdf(abs(z)))))
print("kstwo.sf(0.02, 8000) %.17g; kstwo.sf(0.01, 8000) %.17g; kstwo.sf(0.05, 100) %.17g; kstwo.sf(0.3, 100) %.17g"
      % (stats.kstwo.sf(0.02, 8000), stats.kstwo.sf(0.01, 8000), stats.kstwo.sf(0.05, 100), stats.kstwo.sf(0.3, 100)))
