/* gbdt.h -- gradient-boosted decision trees with the histogram method (XGBoost "hist" /
 * LightGBM style).
 *
 * Training bins every feature (lib/algo/binning.h), then each boosting round fits one tree per
 * output (K for multiclass softmax, else 1) to the gradients and hessians of the loss:
 * per node, gradient/hessian histograms are built for the smaller child only (the larger is
 * the parent minus it), the best split per feature is found by scanning bins, trying
 * missing values on both sides (the better becomes the split's default direction);
 * categorical features are split LightGBM's way (categories sorted by gradient/hessian and
 * scanned, or one-vs-rest when few). Growth is depth-wise (XGBoost's default) unless
 * num_leaves is set, then best-first (leaf-wise, LightGBM's default). Histograms sum
 * fixed-point gradients in 64-bit integers, so a model is the same bits for a given seed
 * whatever the thread count.
 *
 * Trees split on raw values (lib/algo/tree.h), so prediction needs no binning. */
#ifndef AIOPS_GBDT_H
#define AIOPS_GBDT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "algo/progress.h"
#include "algo/tree.h"
#include "core/buf.h"
#include "core/pool.h"
#include "data/fmatrix.h"

enum gbdt_objective { GBDT_BINARY, GBDT_MULTICLASS, GBDT_REGRESSION };

struct gbdt_params { /* zeros mean the defaults in brackets */
    enum gbdt_objective objective;
    int num_class;           /* multiclass: >= 2 */
    int rounds;              /* [100] trees (per class for multiclass) */
    double learning_rate;    /* [0.1]  (eta) */
    int max_depth;           /* [6]; -1 = no limit */
    int num_leaves;          /* [0 = 2^max_depth, or 31 when max_depth is -1: then growth is
                                leaf-wise]; leaf-wise growth when set */
    int max_bin;             /* [255] value bins per feature (2 .. 65535) */
    double lambda;           /* [1.0] L2 on leaf weights; < 0: 0 */
    double min_child_weight; /* [1.0] min hessian sum in a child; < 0: 0 */
    double subsample;        /* [1.0] rows per tree */
    double colsample;        /* [1.0] features per tree */
    int early_stopping;      /* [0 = off] rounds without improvement of the valid loss */
    unsigned seed;           /* [0] */
    int threads;             /* [0 = online CPUs] */
    double min_split_gain;   /* [0] minimum loss reduction to split (XGBoost's gamma) */
    int max_cat_to_onehot;   /* [4] categorical features with at most this many categories
                                in a node are split one-vs-rest */
    int max_cat_threshold;   /* [32] most categories on the smaller side of a sorted split */
    double cat_smooth;       /* [10] added to the hessian when ordering categories; < 0: 0 */
    double cat_l2;           /* [10] extra L2 for sorted categorical splits; < 0: 0. Both
                                apply only where a node holds more than 8 categories */
};

struct gbdt;

/* Trains on x (x->nrows rows) with targets y (binary: 0/1; multiclass: the class index
 * 0..num_class-1; regression: the value; never NaN: the caller drops unlabelled rows) and
 * row weights w (NULL: all 1; >= 0, finite; class weights arrive this way). vx/vy (both or
 * neither; vx has x's columns): a validation set whose loss drives early stopping, which
 * keeps the trees of the best round. progress (may be NULL) is called after every round;
 * when it returns non-zero training stops with AIOPS_ECANCELED. Train metrics (AUC sorts
 * every round) are computed only when progress is given.
 * Returns 0 and *out (the caller frees with gbdt_free); AIOPS_EINVAL with a message in err
 * for bad parameters or data; AIOPS_ENOMEM. */
int gbdt_train(const struct fmatrix *x, const double *y, const double *w, const struct fmatrix *vx,
               const double *vy, const struct gbdt_params *p, train_progress_fn progress, void *arg,
               struct gbdt **out, struct aiops_error *err);

/* Predictions for the rows of x (x->ncols must be the model's feature count), row-major:
 * binary: (1 - p, p) per row into out[nrows * 2]; multiclass: softmax into out[nrows * K];
 * regression: out[nrows]. AIOPS_EINVAL when x does not fit the model. */
int gbdt_predict(const struct gbdt *g, const struct fmatrix *x, double *out);
/* The same, with the rows shared among pool's threads (pool may be NULL). */
int gbdt_predict_pool(const struct gbdt *g, const struct fmatrix *x, struct pool *pool,
                      double *out);
/* Raw margins (before the sigmoid / softmax): out[nrows * gbdt_tree_groups(g)]. */
int gbdt_predict_margin(const struct gbdt *g, const struct fmatrix *x, double *out);
/* Number of columns gbdt_predict writes per row (2 for binary, K, or 1). */
size_t gbdt_outputs(const struct gbdt *g);

/* Per feature (out[nfeat]): gain != 0: the total loss reduction of the splits on it;
 * gain == 0: how many splits use it. */
int gbdt_importance(const struct gbdt *g, int gain, double *out);
size_t gbdt_num_features(const struct gbdt *g);

/* Appends the model's bytes (self-checking: CRC-32C). AIOPS_ENOMEM. */
int gbdt_save(const struct gbdt *g, struct buf *out);
/* Reads what gbdt_save wrote; AIOPS_ECORRUPT on anything inconsistent (never crashes on any
 * bytes). The caller frees *out. */
int gbdt_load(const uint8_t *p, size_t n, struct gbdt **out);
void gbdt_free(struct gbdt *g);

/* Boosting rounds kept (the best round's when early stopping stopped training). */
size_t gbdt_iterations(const struct gbdt *g);

/* Read-only access for explanation (TreeSHAP): trees are stored round by round, output k of
 * round r at index r * gbdt_tree_groups(g) + k; the margin of output k is base_score(k) plus
 * the values of the leaves its trees reach. */
size_t gbdt_tree_groups(const struct gbdt *g);
size_t gbdt_num_trees(const struct gbdt *g);
const struct tree *gbdt_tree(const struct gbdt *g, size_t i);
double gbdt_base_score(const struct gbdt *g, size_t k);
enum gbdt_objective gbdt_objective(const struct gbdt *g);

/* A model from trees grown elsewhere (an imported XGBoost model, lib/ml/xgbimport.h), all on
 * numeric features: trees[0..ntrees) round by round as gbdt_tree() lays them out (ntrees a
 * multiple of groups; groups > 1 exactly for GBDT_MULTICLASS), one output per node, base[k]
 * the margin of output k before any tree. Each tree is checked with tree_check. On success
 * *out owns the trees (the caller's array is emptied: every tree zeroed); on failure the
 * caller still owns them. AIOPS_ECORRUPT for a tree or count that does not fit, AIOPS_ENOMEM. */
int gbdt_from_trees(enum gbdt_objective obj, uint32_t groups, uint32_t nfeat, struct tree *trees,
                    uint32_t ntrees, const double *base, double learning_rate, struct gbdt **out);

#endif
