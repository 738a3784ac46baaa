/* forest.h -- random forests (Breiman; scikit-learn's RandomForestClassifier / Regressor).
 *
 * Each tree is grown on a bootstrap sample of the rows (drawn with replacement, n draws;
 * a row drawn k times weighs k), choosing each split among max_features features drawn at
 * random per node (features constant in the node do not count, as in scikit-learn), until
 * leaves are pure, hold fewer than 2 * min_samples_leaf rows or reach max_depth. Splits
 * minimise Gini impurity (classification) or variance (regression) and are searched on the
 * same binned features as the boosted trees (lib/algo/binning.h: up to 255 quantile bins per
 * feature, one bin per distinct value when there are fewer); missing values take the side
 * that scores better; categorical features are split on categories ordered by their class
 * share or mean target (Breiman's ordering). Trees are grown in parallel, each from its own
 * seed, so a forest is the same for a given seed whatever the thread count. */
#ifndef AIOPS_FOREST_H
#define AIOPS_FOREST_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "algo/progress.h"
#include "algo/tree.h"
#include "core/buf.h"
#include "core/pool.h"
#include "data/fmatrix.h"

struct forest_params {    /* zeros mean the defaults in brackets */
    int trees;            /* [100] */
    int max_depth;        /* [-1 = no limit] */
    int min_samples_leaf; /* [1] rows (distinct sampled rows, as scikit-learn counts) */
    double max_features;  /* [0: sqrt(n) for classification, all for regression];
                             (0, 1]: that fraction of the features; > 1: that many */
    int bootstrap;        /* [1]; -1: no bootstrap (every tree sees every row) */
    unsigned seed;
    int threads;        /* [0 = online CPUs] */
    int classification; /* 1: classes, 0: regression */
    int num_class;      /* classification: >= 2 */
};

struct forest;

/* Trains on x with targets y (classification: class index 0..num_class-1; regression: the
 * value; never NaN) and row weights w (NULL: all 1). progress (may be NULL) is called after
 * each finished tree with iteration = trees finished so far (losses and metrics NaN); a
 * non-zero return stops training with AIOPS_ECANCELED. Returns 0 and *out (the caller
 * frees with forest_free); AIOPS_EINVAL with a message in err; AIOPS_ENOMEM. */
int forest_train(const struct fmatrix *x, const double *y, const double *w,
                 const struct forest_params *p, train_progress_fn progress, void *arg,
                 struct forest **out, struct aiops_error *err);

/* Classification: class probabilities, the mean over trees of the leaf's weighted class
 * shares (as scikit-learn), out[nrows * num_class] row-major; regression: the mean of the
 * trees' leaf means, out[nrows]. AIOPS_EINVAL when x has another column count. */
int forest_predict(const struct forest *f, const struct fmatrix *x, double *out);
/* The same, with the rows shared among pool's threads (pool may be NULL). */
int forest_predict_pool(const struct forest *f, const struct fmatrix *x, struct pool *pool,
                        double *out);
/* Columns forest_predict writes per row: num_class, or 1. */
size_t forest_outputs(const struct forest *f);

/* Impurity-based importance per feature (out[nfeat]) as scikit-learn's feature_importances_:
 * each tree's weighted impurity decreases normalised to sum 1, averaged over trees, and
 * normalised again (all 0 when no tree split). */
int forest_importance(const struct forest *f, double *out);
size_t forest_num_features(const struct forest *f);

int forest_save(const struct forest *f, struct buf *out);
/* Reads what forest_save wrote; AIOPS_ECORRUPT on anything inconsistent (never crashes). */
int forest_load(const uint8_t *p, size_t n, struct forest **out);
void forest_free(struct forest *f);

/* Read-only access for explanation: tree i (node values are class shares or means). */
size_t forest_num_trees(const struct forest *f);
const struct tree *forest_tree(const struct forest *f, size_t i);

#endif
