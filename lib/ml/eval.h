/* eval.h -- evaluation metrics of predictions, with scikit-learn 1.2.1's definitions.
 *
 * Classification takes y[i] = the true class index (0 .. K-1 as a double, NaN = no target:
 * the row is skipped) and prob = the predicted class probabilities, row-major n x K (binary:
 * K = 2, column 1 = the positive class, which is the last class as lib/ml/featureset.h orders
 * them). The predicted class is the first arg-max of a row (so a binary row predicts the
 * positive class when p > 0.5, as LogisticRegression.predict does).
 *
 * Conventions, where scikit-learn has a choice:
 *  - precision / recall / F1 of a class never predicted (or never present) are 0:
 *    scikit-learn's zero_division="warn" default, which returns 0 (and warns);
 *  - macro and weighted averages run over the classes present in y or in the predictions,
 *    scikit-learn's labels=None default; the per-class report lists all K classes;
 *  - ROC AUC and average precision of a multiclass task are the macro mean one-vs-rest over
 *    the classes that occur in y with other classes beside them (scikit-learn's
 *    roc_auc_score(multi_class="ovr") refuses a class absent from y instead); undefined
 *    values (one class only) are NaN, written as JSON null;
 *  - log loss clips probabilities to [eps, 1 - eps] with eps = DBL_EPSILON, renormalises
 *    each row, and averages -ln p(true class) (log_loss(eps="auto"));
 *  - Brier: binary is brier_score_loss, mean (p1 - y)^2; multiclass is Brier's original
 *    mean over rows of sum_k (p_k - [y = k])^2 (scikit-learn 1.2 has no multiclass Brier;
 *    for two classes it is twice the binary figure);
 *  - R^2 of a constant target is 1 when the predictions are exact, else 0 (force_finite). */
#ifndef AIOPS_METRICS_H
#define AIOPS_METRICS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Number of calibration bins and of lift/gains groups. */
#define METRICS_CALIBRATION_BINS 10
#define METRICS_LIFT_GROUPS 10

/* Every classification metric as one JSON object (the caller owns *out):
 *   "n", "accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_precision",
 *   "weighted_recall", "weighted_f1", "auc", "pr_auc", "logloss", "brier",
 *   "confusion_matrix": K rows (true class) of K counts (predicted class),
 *   "per_class": [{"class", "precision", "recall", "f1", "support"}] for every class;
 * binary tasks add
 *   "positive_class", "precision", "recall", "f1" (of the positive class),
 *   "calibration": 10 bins [{"lower", "upper", "count", "mean_predicted",
 *      "observed_rate"}] of the positive-class probability, as calibration_curve(n_bins=10,
 *      strategy="uniform") bins it (bin 0 is [0, 0.1], bin i is (i/10, (i+1)/10]); empty
 *      bins have count 0 and null means,
 *   "lift": 10 groups of rows sorted by that probability, highest first (group g holds rows
 *      [g n / 10, (g + 1) n / 10) of that order; ties keep row order): [{"decile", "rows",
 *      "positives", "rate", "lift", "cumulative_lift"}] (lift = rate / overall rate),
 *   "gains": [{"decile", "rows_pct", "gain_pct"}]: cumulative share of rows and of
 *      positives reached after each group, in percent.
 * labels (may be NULL: classes are then named by index) names the K classes.
 * AIOPS_EINVAL when K < 2, a y is not a class index or NaN, or a probability is not finite;
 * AIOPS_ENOMEM. Rows whose y is NaN are skipped ("n" counts the others). */
int eval_classification(const double *y, const double *prob, size_t n, size_t K,
                        const char *const *labels, json_t **out);

/* {"n", "mse", "rmse", "mae", "r2"} of pred against y, rows with a NaN y skipped.
 * AIOPS_EINVAL when a prediction is not finite; AIOPS_ENOMEM. */
int eval_regression(const double *y, const double *pred, size_t n, json_t **out);

/* The metrics of label feedback (GET /api/v1/models/metrics, an A/B test's arms): n pairs of
 * predicted and actual class indices of a `classes`-class model, or values of a regressor
 * (classes 0). {"feedback_count", "task": "unknown" (n 0) | "regression" | "binary" |
 * "multiclass", then "rmse", "mae" or "accuracy", "precision", "recall", "f1" (binary: of the
 * positive class, the last; multiclass: macro averages over all classes)}; a pair whose index
 * is out of range counts as wrong. *out is the caller's; AIOPS_ENOMEM. */
int eval_feedback(const double *pred, const double *actual, size_t n, size_t classes, json_t **out);

/* Single numbers for per-iteration reporting. Rows with a NaN y are skipped; the result is
 * NaN when no row is left, when an input is out of range, or when the metric is undefined. */
double eval_logloss(const double *y, const double *prob, size_t n, size_t K);
double eval_accuracy(const double *y, const double *prob, size_t n, size_t K);
/* Binary: ROC AUC of prob[:, 1]; multiclass: macro one-vs-rest AUC. */
double eval_auc(const double *y, const double *prob, size_t n, size_t K);
/* Average precision (scikit-learn's average_precision_score, the step-function sum
 * sum_t (R_t - R_{t-1}) P_t over descending distinct scores) of score against y01 (1 =
 * positive, 0 = negative, other values skipped). NaN without positives. */
double eval_average_precision(const double *score, const uint8_t *y01, size_t n);
/* A curve for a chart: n points (x[i], y[i]), owned (eval_curve_free). */
struct eval_curve {
    size_t n;
    double *x, *y;
};
/* The ROC curve (x false-positive rate, y true-positive rate) and the precision-recall
 * curve (x recall, y precision) of score against y01 (1 positive, 0 negative, other values
 * and NaN scores skipped): one point per distinct score from the highest, as scikit-learn's
 * roc_curve(drop_intermediate=False) and precision_recall_curve (reversed) give them, after
 * a first point (0, 0) on ROC and (0, 1) on PR; then at most max_points of them (>= 2; the
 * first and the last kept, the rest evenly spaced by rank). AIOPS_EINVAL without a positive
 * or without a negative, AIOPS_ENOMEM, AIOPS_ETOOBIG; both curves are empty on failure. */
int eval_curves(const double *score, const uint8_t *y01, size_t n, size_t max_points,
                struct eval_curve *roc, struct eval_curve *pr);
void eval_curve_free(struct eval_curve *c);
double eval_mse(const double *y, const double *pred, size_t n);
double eval_rmse(const double *y, const double *pred, size_t n);
double eval_mae(const double *y, const double *pred, size_t n);
double eval_r2(const double *y, const double *pred, size_t n);

/* --- clustering ------------------------------------------------------------------------- */

/* Agreement of two partitions of n items, a[i] in 0 .. ka-1 and b[i] in 0 .. kb-1 (a
 * negative label: the item is left out), as scikit-learn's adjusted_rand_score and
 * normalized_mutual_info_score (arithmetic mean of the entropies) define them: 1 for the
 * same partition whatever the label names. NaN when out of memory or no item is left. */
double eval_adjusted_rand(const int32_t *a, size_t ka, const int32_t *b, size_t kb, size_t n);
double eval_nmi(const int32_t *a, size_t ka, const int32_t *b, size_t kb, size_t n);
/* scikit-learn's silhouette_score (Euclidean) of the n rows of x (n * d, row-major) in
 * clusters labels[i] in 0 .. k-1: the mean over rows of (b - a) / max(a, b), a row alone in
 * its cluster counting 0. O(n^2 d): callers pass a sample. NaN with fewer than 2 clusters
 * used or out of memory. */
double eval_silhouette(const double *x, size_t n, size_t d, const int32_t *labels, size_t k);

#endif
