/* stats.h -- statistics primitives over contiguous arrays of doubles.
 *
 * NaN means missing everywhere: every function that takes raw values skips NaNs, and the
 * ones that take sorted arrays require them to be NaN-free (sort_f64() puts NaNs last, so
 * trim them). Definitions follow numpy/pandas so that results can be checked against them:
 * sample variance with ddof = 1, pandas' bias-corrected skewness and excess kurtosis,
 * numpy's default ('linear', Hyndman-Fan type 7) quantiles, numpy's histogram binning,
 * pandas' pairwise-complete Pearson correlation. Results that are undefined (too few
 * values, a constant column) are NaN, never an error. */
#ifndef AIOPS_STATS_H
#define AIOPS_STATS_H

#include <stddef.h>
#include <stdint.h>

/* --- moments ------------------------------------------------------------------------- */

struct stats_moments {
    size_t n;        /* non-NaN values */
    double mean;     /* NaN when n == 0 */
    double m2;       /* sum of squared deviations from the mean */
    double var;      /* m2 / (n - 1); NaN when n < 2; exactly 0 when min == max */
    double std;      /* sqrt(var) */
    double skewness; /* pandas Series.skew(): n sqrt(n-1) / (n-2) * M3 / M2^1.5 over central
                        sums; NaN when n < 3, 0 when constant */
    double kurtosis; /* pandas Series.kurt() (excess, bias-corrected G2); NaN when n < 4,
                        0 when constant */
    double min, max; /* NaN when n == 0 */
};

/* Fills *out from the non-NaN values of x[0..n): two passes (the mean, then central sums
 * corrected for the mean's residual error), so results stay accurate for data far from
 * zero. Never fails. */
void stats_moments(const double *x, size_t n, struct stats_moments *out);
/* The mean of the non-NaN values; NaN when there are none. */
double stats_mean(const double *x, size_t n);
/* The variance of the non-NaN values with ddof (1 = sample, 0 = population); NaN when fewer
 * than ddof + 1 values. */
double stats_variance(const double *x, size_t n, unsigned ddof);
/* The index of the largest of x[0..n), n >= 1: the first on ties (a predicted class from a
 * row of probabilities); NaNs never win over a number at index 0. */
size_t stats_argmax(const double *x, size_t n);

/* --- order statistics ---------------------------------------------------------------- */

/* Quantile q (0 <= q <= 1) of sorted[0..n) (ascending, no NaN) by linear interpolation
 * between closest ranks -- numpy.quantile's default, type 7, with numpy's own lerp so that
 * results agree to the last bit. NaN when n == 0 or q is outside [0, 1]. */
double stats_quantile_sorted(const double *sorted, size_t n, double q);
/* Number of elements of sorted[0..n) that are < v (resp. <= v). Binary search. */
size_t stats_count_below(const double *sorted, size_t n, double v);
size_t stats_count_at_most(const double *sorted, size_t n, double v);
/* Number of distinct values in sorted[0..n) (-0.0 and +0.0 are one value). */
size_t stats_distinct_sorted(const double *sorted, size_t n);

/* Average (1-based) ranks of x[0..n) into ranks (ties share the mean of their ranks, as
 * scipy.stats.rankdata / pandas rank(method="average")); NaN values get NaN ranks and are
 * not counted. AIOPS_ENOMEM / AIOPS_ETOOBIG as sort_f64_argsort() (lib/math/sort.h). */
int stats_rank_average(const double *x, size_t n, double *ranks);

/* --- histograms ---------------------------------------------------------------------- */

/* numpy.histogram(x, bins) bin edges for data in [min, max]: bins + 1 values written to
 * edges, as numpy.linspace computes them (the last edge is max exactly). A constant range
 * (min == max) becomes [min - 0.5, max + 0.5], as in numpy. AIOPS_EINVAL when bins == 0 or
 * the range is not finite (or its width overflows). */
int stats_histogram_edges(double min, double max, size_t bins, double *edges);
/* Counts sorted[0..n) (ascending, no NaN) into bins: bin i holds edges[i] <= v <
 * edges[i+1], the last bin also v == edges[bins] (numpy's rule); values outside
 * [edges[0], edges[bins]] are not counted. counts has bins entries. O(bins log n). */
void stats_histogram_sorted(const double *sorted, size_t n, const double *edges, size_t bins,
                            uint64_t *counts);
/* numpy.histogram(x[~isnan(x)], bins): equal-width edges over [min, max] of the non-NaN
 * values (bins + 1 into edges) and their counts (bins into counts), binned exactly as numpy
 * does for unsorted data. With no values the range is [0, 1] as in numpy. AIOPS_EINVAL as
 * stats_histogram_edges(). */
int stats_histogram(const double *x, size_t n, size_t bins, double *edges, uint64_t *counts);

/* --- association --------------------------------------------------------------------- */

/* Pearson correlation of x and y over the rows where both are non-NaN (pandas
 * Series.corr). NaN when fewer than 2 such rows or either side is constant on them.
 * *n_used (may be NULL) receives the number of complete rows. */
double stats_pearson(const double *x, const double *y, size_t n, size_t *n_used);

/* Pearson correlation matrix of k columns of n rows each (cols[j][0..n)) into r (k * k,
 * symmetric, row-major == column-major), each entry over the rows where both columns are
 * present -- exactly pandas DataFrame.corr()'s pairwise-complete definition, not an
 * imputation. How: every column is centred and scaled (z, 0 where missing); in blocks of
 * rows BLAS forms Z'Z (dsyrk), and for the columns that have gaps, with their 0/1 presence
 * mask M, also Z'M, (Z.Z)'M (dgemm) and M'M (dsyrk): each pair's count, sums and sums of
 * squares over its complete rows, from which its covariance and variances follow (the sums
 * also absorb any error in the centring). Without missing values that is one dsyrk per
 * block. Entries are NaN where pandas gives NaN (fewer than 2 complete rows, a side
 * constant on them) and also for a column holding +-inf; the diagonal is exactly 1
 * otherwise. Memory: O(k * k + block * k). AIOPS_ENOMEM, AIOPS_ETOOBIG past 2^30 rows. */
int stats_corr_matrix(const double *const *cols, size_t k, size_t n, double *r);

/* ROC AUC of scores given as the positives' and the negatives' values, each sorted
 * ascending without NaN: P(score of a random positive > score of a random negative) +
 * P(tie) / 2, i.e. the Mann-Whitney U / (npos * nneg) with ties at average ranks. Exact
 * integer counting, one merge pass. NaN when either side is empty. */
double stats_auc_sorted(const double *pos, size_t npos, const double *neg, size_t nneg);
/* ROC AUC of score against y (1 = positive, 0 = negative; other values and NaN scores are
 * skipped), O(n log n). *auc is NaN when a class is absent. AIOPS_ENOMEM. */
int stats_roc_auc(const double *score, const uint8_t *y, size_t n, double *auc);

#endif
