/* lime.h -- LIME for tabular data (Ribeiro et al. 2016) as lime's LimeTabularExplainer does
 * it with its defaults, for explaining single predictions of any model:
 *   numeric features discretised at their training quartiles (QuartileDiscretizer); a
 *   sample draws each feature's bin from the training bins' frequencies (categorical
 *   features: a category by its frequency) and a numeric value inside the bin from a normal
 *   of the bin's training mean and std truncated to the bin; sample 0 is the row itself;
 *   the interpretable representation is 1 where a sample's bin (category) is the row's;
 *   it is scaled by the means and standard deviations of the discretised training columns
 *   (bin or category codes: lime's StandardScaler fitted after discretising), distances to the row
 * are Euclidean on it, and weights sqrt(exp(-d^2 / w^2)) with kernel width w = 0.75 sqrt(features);
 *   5,000 samples; a weighted ridge (alpha 1, intercept: sklearn's Ridge) of the model's
 *   output for the explained class on the scaled representation; with more than 10
 *   features the 10 with the largest |coef * row| under a ridge of alpha 0.01 are kept
 *   (lime's "auto" selection; with 10 or fewer it keeps them all either way).
 * Missing values are a bin of their own. The sampling is seeded: the same call gives the
 * same explanation. */
#ifndef AIOPS_LIME_H
#define AIOPS_LIME_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "data/fmatrix.h"
#include "ml/model.h"

#define LIME_DEFAULT_SAMPLES 5000
#define LIME_MAX_SAMPLES 100000
#define LIME_MAX_FEATURES 10
#define LIME_BINS 5 /* four quartile bins and missing */

/* What lime learns from the training data, per feature. */
struct lime_feature {
    int categorical;
    double cut[3];          /* numeric: the quartiles */
    double freq[LIME_BINS]; /* numeric: share of the rows in each bin */
    double mean[LIME_BINS], std[LIME_BINS], lo[LIME_BINS], hi[LIME_BINS];
    uint32_t ncat;                /* categorical: codes 0 .. ncat-1 */
    double *cat_freq;             /* categorical: ncat + 1 shares (the last: missing) */
    double scale_mean, scale_std; /* of the column's codes (lime's scaler) */
};

struct lime_explainer {
    size_t d;
    struct lime_feature *f; /* d, owned */
};

struct lime_result {
    size_t nused;                      /* features in the explanation (<= LIME_MAX_FEATURES) */
    size_t feature[LIME_MAX_FEATURES]; /* most influential first */
    double weight[LIME_MAX_FEATURES];
    double intercept, score, local_pred, model_pred;
};

/* Learns the bins from training rows x. AIOPS_EINVAL without rows, AIOPS_ENOMEM. */
int lime_fit(const struct fmatrix *x, struct lime_explainer *out);
void lime_free(struct lime_explainer *e);

/* Explains output `output` (a class index, 0 for regression) of m at row (d values).
 * nsamples 0: LIME_DEFAULT_SAMPLES. AIOPS_EINVAL, AIOPS_ENOMEM. */
int lime_explain(const struct model *m, const struct lime_explainer *e, const double *row,
                 size_t output, size_t nsamples, uint64_t seed, int threads,
                 struct lime_result *out);

/* The condition feature j of row stands for, in lime's words ("age <= 28.00", "28.00 < age
 * <= 37.00", "age > 48.00", "sex=Male", "age is missing"), into buf. */
void lime_condition(const struct lime_explainer *e, const struct feature_set *fs, size_t j,
                    double v, char *buf, size_t n);

#endif
