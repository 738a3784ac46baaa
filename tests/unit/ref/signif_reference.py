#!/usr/bin/python3
"""The scipy 1.10.1 numbers tests/unit/test_signif.c checks, on its fixed samples:
    /usr/bin/python3 tests/unit/ref/signif_reference.py"""
import numpy as np
from scipy import stats
from scipy.stats import contingency

a = [2.1, 3.4, 1.9, 5.6, 4.4, 3.3, 2.8, 4.1, 3.9, 2.2, 3.0, 4.8]
b = [1.2, 2.2, 2.9, 1.8, 2.4, 3.1, 1.1, 2.0, 2.7, 1.5]
t = stats.ttest_ind(a, b, equal_var=False)
print("welch t=%.17g p=%.17g" % (t.statistic, t.pvalue))
print("t.ppf(0.975, 7.3)=%.17g" % stats.t.ppf(0.975, 7.3))
print("chi2.sf(7.5, 3)=%.17g" % stats.chi2.sf(7.5, 3))
# ties on purpose
c = [1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 7, 7]
d = [2, 3, 4, 4, 4, 5, 6, 6, 8, 8, 9]
u = stats.mannwhitneyu(c, d, method="asymptotic")
print("mw U=%.17g p=%.17g" % (u.statistic, u.pvalue))
u = stats.mannwhitneyu(a, b, method="asymptotic")
print("mw(a,b) U=%.17g p=%.17g" % (u.statistic, u.pvalue))
t22 = np.array([[12, 5], [7, 15]])
r = stats.chi2_contingency(t22)
print("chi2 2x2 stat=%.17g p=%.17g dof=%d V=%.17g" % (r[0], r[1], r[2],
      contingency.association(t22)))
t23 = np.array([[10, 20, 30], [25, 15, 12]])
r = stats.chi2_contingency(t23)
print("chi2 2x3 stat=%.17g p=%.17g dof=%d V=%.17g" % (r[0], r[1], r[2],
      contingency.association(t23)))
