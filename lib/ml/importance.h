/* importance.h -- global feature importance of a model on labelled rows, and each
 * feature's significance against the target.
 *
 * Permutation importance is scikit-learn's permutation_importance with the estimator's
 * default score (accuracy for classifiers, R^2 for regressors): the drop in score when one
 * feature's column is shuffled, `repeats` times per feature; mean and std (ddof 0) as
 * scikit-learn reports them, and a 95% confidence interval of the mean, mean +- t(0.975,
 * repeats - 1) * sd(ddof 1) / sqrt(repeats). Shuffles are drawn from a seed, so the same call
 * gives the same numbers.
 *
 * Significance (lib/math/signif.h) by the kinds of feature and target:
 *   binary target, numeric feature: Welch's t-test between the classes when both hold at
 *     least 30 values, else Mann-Whitney U;
 *   categorical feature (any target; a numeric target is cut at its quartiles) or numeric
 *     feature against a multiclass target (the feature cut at its quartiles): chi-square;
 *   numeric feature against a numeric target: the t-test of Pearson's r (n - 2 df), the
 *     effect r with Fisher's z interval. */
#ifndef AIOPS_IMPORTANCE_H
#define AIOPS_IMPORTANCE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "data/fmatrix.h"
#include "math/signif.h"
#include "ml/model.h"

#define IMPORTANCE_DEFAULT_REPEATS 5
#define IMPORTANCE_MAX_REPEATS 100

struct perm_importance {
    double mean;         /* mean drop of the score */
    double std;          /* standard deviation of the drops (ddof 0, as scikit-learn) */
    double ci_lo, ci_hi; /* 95% interval of the mean (NaN with one repeat) */
};

/* The model's score on x (rows of m's features) against y (class index or value):
 * accuracy, or R^2 for regression. */
int importance_score(const struct model *m, const struct fmatrix *x, const double *y, int threads,
                     double *score);

/* Permutation importance of every feature of m on x/y into out[m->features.n], repeats
 * 1..IMPORTANCE_MAX_REPEATS. threads as model_predict_threads. x is not changed.
 * AIOPS_EINVAL (no rows, repeats out of range), AIOPS_ENOMEM. */
int importance_permutation(const struct model *m, const struct fmatrix *x, const double *y,
                           int repeats, uint64_t seed, int threads, struct perm_importance *out);

/* Significance of every feature of m (columns of x) against y (class index or value) into
 * out[m->features.n], and the test used into test[m->features.n]: "welch_t",
 * "mann_whitney", "chi_square" or "pearson" (static strings). AIOPS_ENOMEM. */
int importance_significance(const struct model *m, const struct fmatrix *x, const double *y,
                            struct signif_result *out, const char **test);

/* Everything above for one model and labelled rows as the seed-000 list, most important
 * first: [{"feature", "importance" (permutation mean), "std", "ci": [lo, hi] | null,
 * "pValue", "test", "effect", "effectCi": [lo, hi] | null, "model_importance" (the
 * learner's own, normalised to sum 1: gain for gbdt, impurity for rf; null without),
 * "splits" (gbdt: splits on the feature; else null), "description" (from descriptions, a
 * {"feature": "text"} object that may be NULL; null when none)}]. *out is the caller's.
 * Errors as importance_permutation. */
int importance_list_json(const struct model *m, const struct fmatrix *x, const double *y,
                         int repeats, uint64_t seed, int threads, const json_t *descriptions,
                         json_t **out);

/* The correlation matrix of m's features over the rows of x (the seed-000 answer
 * {"features", "matrix", "method"}): numeric pairs by Pearson's r (method "pearson") or
 * Spearman's rho (method "spearman": Pearson's r of the average ranks), pairs with a
 * categorical feature by Cramer's V (a numeric side cut at its quartiles). NaN (null) where
 * undefined. AIOPS_EINVAL for another method, AIOPS_ENOMEM. */
int importance_correlation_json(const struct model *m, const struct fmatrix *x, const char *method,
                                json_t **out);

#endif
