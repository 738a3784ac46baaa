/* signif.h -- significance tests of a feature against a target, and the distributions they
 * need, defined as scipy 1.10 defines them so that p-values can be checked against it
 * (tests/unit/test_signif.c, numbers from tests/unit/ref/signif_reference.py):
 *   Welch's t-test        scipy.stats.ttest_ind(a, b, equal_var=False)
 *   Mann-Whitney U        scipy.stats.mannwhitneyu(a, b) with method="asymptotic" (normal
 *                         approximation, tie correction, continuity correction; scipy's
 *                         "auto" uses it too except for samples of at most 8 without ties)
 *   chi-square            scipy.stats.chi2_contingency(table) (Yates' correction when the
 *                         table has one degree of freedom); Cramér's V as
 *                         scipy.stats.contingency.association(table) (uncorrected)
 * NaN values are skipped; results that are undefined (too few values, no variance) are NaN,
 * never an error. */
#ifndef AIOPS_SIGNIF_H
#define AIOPS_SIGNIF_H

#include <stddef.h>
#include <stdint.h>

/* --- distributions --------------------------------------------------------------------- */

/* The regularised incomplete beta function I_x(a, b), a, b > 0 (NaN otherwise). */
double signif_betainc(double a, double b, double x);
/* P(Z > z) of the standard normal. */
double signif_normal_sf(double z);
/* P(|T| > |t|) of Student's t with df > 0 degrees of freedom (two-sided). */
double signif_t_sf2(double t, double df);
/* The t with P(T <= t) = p, 0 < p < 1, df > 0 (scipy.stats.t.ppf). */
double signif_t_ppf(double p, double df);
/* The regularised upper incomplete gamma function Q(a, x), a > 0 (NaN otherwise): 1 for
 * x <= 0, in [0, 1]. */
double signif_gamma_q(double a, double x);
/* P(X > x) of chi-square with k > 0 degrees of freedom. */
double signif_chi2_sf(double x, double k);

/* --- tests ------------------------------------------------------------------------------- */

struct signif_result {
    double statistic;    /* t; U of the first sample; chi-square */
    double df;           /* degrees of freedom (Welch, chi-square); NaN for Mann-Whitney */
    double p;            /* two-sided p-value */
    double effect;       /* Welch: mean(a) - mean(b); Mann-Whitney: U / (na nb), the probability
                            that a value of a exceeds one of b (ties half); chi-square: Cramér's V */
    double ci_lo, ci_hi; /* 95% confidence interval of the effect: Welch's t interval;
                            Hanley-McNeil's normal interval for the probability (clamped to
                            [0, 1]); Cramér's V: a normal interval for the uncorrected
                            chi-square (variance 2(k + 2 lambda), lambda = max(X - k, 0) its
                            noncentrality) carried over to V, clamped to [0, 1] */
    size_t n;            /* values used */
};

/* Welch's t-test of a[0..na) against b[0..nb). */
void signif_welch(const double *a, size_t na, const double *b, size_t nb,
                  struct signif_result *out);
/* Mann-Whitney U of a against b. AIOPS_ENOMEM. */
int signif_mann_whitney(const double *a, size_t na, const double *b, size_t nb,
                        struct signif_result *out);
/* Chi-square test of independence of an r x c table of counts (row-major); rows and
 * columns that are all zero are left out. */
void signif_chi2(const uint64_t *table, size_t r, size_t c, struct signif_result *out);

/* Cramér's V of an r x c table (no correction), NaN when fewer than 2 rows or columns hold
 * counts. */
double signif_cramers_v(const uint64_t *table, size_t r, size_t c);

#endif
