/* significance.h -- is a challenger model better than the champion on the same rows? The
 * paired tests a promotion decision rests on (issue 9's retraining, A/B tests):
 *   DeLong      two correlated ROC AUCs on the same labelled rows (DeLong, DeLong &
 *               Clarke-Pearson 1988), computed with Sun & Xu's O(n log n) midrank form;
 *   McNemar     two classifiers' correctness on the same rows: exact two-sided binomial
 *               test of the discordant pairs (scipy.stats.binomtest(b, b + c, 0.5)) below 25
 *               discordant pairs, else the chi-square with continuity correction;
 *   paired t    two regressors' squared errors on the same rows (scipy.stats.ttest_rel).
 * Each returns a two-sided p-value (NaN when undefined: no discordant pairs, a class
 * missing, constant differences). tests/unit/test_significance.c checks them against scipy
 * and an independent numpy DeLong (tests/unit/significance_reference.py). */
#ifndef AIOPS_SIGNIFICANCE_H
#define AIOPS_SIGNIFICANCE_H

#include <stddef.h>
#include <stdint.h>

/* Student's t survival function P(T > t) with df degrees of freedom. */
double sig_t_sf(double t, double df);

/* McNemar on b (champion right, challenger wrong) and c (the reverse) discordant rows. */
double sig_mcnemar(uint64_t b, uint64_t c);

/* Paired t-test of x[i] - y[i] over n rows: *t (may be NULL) the statistic of mean(x - y),
 * returns the two-sided p-value. */
double sig_paired_t(const double *x, const double *y, size_t n, double *t);

/* DeLong's test of AUC(score_a) == AUC(score_b) on the same rows with labels y (1 positive,
 * 0 negative). *auc_a, *auc_b (may be NULL) receive the AUCs, *z the statistic. Returns the
 * two-sided p-value, NaN when a class is absent or the variance of the difference is 0.
 * AIOPS_ENOMEM is reported as NaN with *z NaN. */
double sig_delong(const double *score_a, const double *score_b, const uint8_t *y, size_t n,
                  double *auc_a, double *auc_b, double *z);

#endif
