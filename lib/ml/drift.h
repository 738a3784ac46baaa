/* drift.h -- data-drift statistics between a reference sample and a current sample, and the
 * choice of the test that decides, as Evidently's defaults make it (old API, v0.1.50 --
 * /work/shared/REFERENCES.md).
 *
 * Definitions follow scipy 1.10 and Evidently so that results can be checked against them
 * (tests/unit/test_drift.c holds numbers printed by tests/unit/drift_reference.py):
 *   KS             scipy.stats.ks_2samp(ref, cur) (two-sided, method 'auto': exact p-value
 *                  while max(n_ref, n_cur) <= 10000, else the asymptotic kstwo.sf)
 *   Wasserstein    scipy.stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)
 *   PSI, JS, KL    on Evidently's get_binned_data: 30 equal-width bins over the range of
 *                  both samples (numeric) or the union of categories, as fractions of each
 *                  sample with 0 replaced by 0.0001; PSI = sum (r - c) ln(r / c); JS =
 *                  scipy.spatial.distance.jensenshannon (natural log); KL =
 *                  scipy.stats.entropy(p, q)
 *   chi-square     scipy.stats.chisquare(cur counts, ref counts * n_cur / n_ref)
 *   Z              Evidently's two-proportion z-test, two-sided
 * Missing values (NaN, and the callers' missing category) are dropped before any test, as
 * Evidently does. */
#ifndef AIOPS_DRIFT_H
#define AIOPS_DRIFT_H

#include <stddef.h>
#include <stdint.h>

/* Evidently's PSI / JS / KL bin count and the fill for an empty bin's fraction. */
#define DRIFT_BINS 30
#define DRIFT_EMPTY_FRACTION 0.0001

enum drift_method {
    DRIFT_KS,             /* p-value < 0.05 drifts */
    DRIFT_CHISQUARE,      /* p-value < 0.05 */
    DRIFT_Z,              /* p-value < 0.05 */
    DRIFT_WASSERSTEIN,    /* normed distance >= 0.1 */
    DRIFT_JENSEN_SHANNON, /* distance >= 0.1 */
    DRIFT_METHOD_COUNT
};

/* "ks", "chisquare", "z", "wasserstein", "jensenshannon" (Evidently's test names). */
const char *drift_method_name(enum drift_method m);

/* --- primitives ----------------------------------------------------------------------- */

/* Two-sample KS statistic of sorted samples (ascending, no NaN, both non-empty). */
double drift_ks_statistic_sorted(const double *a, size_t na, const double *b, size_t nb);
/* The two-sided p-value of statistic d for samples of na and nb values as ks_2samp's 'auto'
 * method computes it. NaN when a size is 0. */
double drift_ks_pvalue(double d, size_t na, size_t nb);
/* scipy.stats.kstwo.sf(x, n): the two-sided one-sample Kolmogorov distribution's survival
 * function. Follows scipy's _kolmogn for n > 140; below that scipy uses the Durbin matrix
 * and Pomeranz recursions, for which Pelz-Good stands in here (agrees to ~1e-5). */
double drift_kstwo_sf(double x, double n);
/* scipy.stats.wasserstein_distance of sorted samples (ascending, no NaN, non-empty). */
double drift_wasserstein_sorted(const double *a, size_t na, const double *b, size_t nb);
/* Population stdev (np.std) of sorted[0..n). */
double drift_std(const double *x, size_t n);

/* Fractions counts[i] / total with 0 replaced by DRIFT_EMPTY_FRACTION, into frac. */
void drift_fractions(const uint64_t *counts, size_t k, uint64_t total, double *frac);
/* PSI of reference and current fractions (DRIFT_EMPTY_FRACTION-filled, so no zero). */
double drift_psi(const double *ref, const double *cur, size_t k);
/* scipy.spatial.distance.jensenshannon(p, q): both normalised, sqrt of half the sum of
 * the KL of each to their mean. NaN when a side sums to 0. */
double drift_jensen_shannon(const double *p, const double *q, size_t k);
/* scipy.stats.entropy(p, q): KL(p || q) of p and q normalised; inf where q is 0 and p not. */
double drift_kl(const double *p, const double *q, size_t k);

/* scipy.stats.chisquare(observed, expected) over k cells: statistic into *stat (may be
 * NULL), p-value returned with k - 1 degrees of freedom (NaN when k < 2). */
double drift_chisquare(const double *observed, const double *expected, size_t k, double *stat);
/* Evidently's two-proportion z-test: the share of category 0 among ref_n reference and
 * cur_n current values (ref_hits, cur_hits of them). Two-sided p-value; 1 when both
 * samples hold one and the same value. */
double drift_z_test(uint64_t ref_hits, uint64_t ref_n, uint64_t cur_hits, uint64_t cur_n);

/* --- one column ----------------------------------------------------------------------- */

struct drift_result {
    enum drift_method method; /* the test that decides (Evidently's default choice) */
    int categorical;          /* tested as categories (a categorical column, or a numeric
                                 one with at most 5 distinct values) */
    size_t n_ref, n_cur;      /* values tested (missing dropped) */
    size_t n_unique;          /* distinct values over both samples */
    double statistic;         /* the deciding test's statistic (the p-value's test
                                 statistic for KS / chi-square / Z, else the distance) */
    double p_value;           /* the deciding test's p-value; NaN for distances */
    double threshold;         /* 0.05 for p-values, 0.1 for distances */
    double psi;               /* always computed */
    double ks, ks_p_value;    /* numeric columns; NaN for categories */
    double wasserstein;       /* numeric columns (normed); NaN for categories */
    double jensen_shannon;    /* always computed */
    double chisquare_p_value; /* categories; NaN for numeric */
    int drift;                /* the deciding test says drifted */
};

/* Drift of a numeric column from its sorted reference and current values (ascending, NaN
 * trimmed). A column with at most 5 distinct values over both is tested as categories.
 * AIOPS_EINVAL when a side is empty; AIOPS_ENOMEM. */
int drift_numeric(const double *ref, size_t n_ref, const double *cur, size_t n_cur,
                  struct drift_result *out);
/* The same with the reference given as a sketch: n_ref sorted values (quantiles) standing
 * for n_ref_rows rows (lib/ml/reference.h). The test is chosen and the KS p-value computed
 * for n_ref_rows; the statistics are the sketch's (exact when n_ref == n_ref_rows). */
int drift_numeric_sketch(const double *ref, size_t n_ref, size_t n_ref_rows, const double *cur,
                         size_t n_cur, struct drift_result *out);
/* Drift of a categorical column from the count of each of k categories (the same index on
 * both sides; missing not counted). AIOPS_EINVAL when a side has no values; AIOPS_ENOMEM. */
int drift_categorical(const uint64_t *ref_counts, const uint64_t *cur_counts, size_t k,
                      struct drift_result *out);

/* --- prediction scores (seed 001) --------------------------------------------------- */

/* KL(current || reference) of two samples of scores binned as Evidently bins a numeric
 * column (DRIFT_BINS over their joint range, empty fractions filled). Inputs unsorted;
 * NaN skipped. NaN when a side is empty. */
double drift_score_kl(const double *ref, size_t n_ref, const double *cur, size_t n_cur);
/* Seed 001's reading of a score KL: "normal" < 0.3 <= "watch" <= 0.5 < "drift" <= 1.0 <
 * "severe". */
const char *drift_kl_level(double kl);

#endif
