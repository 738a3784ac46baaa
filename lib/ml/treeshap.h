/* treeshap.h -- exact SHAP values of tree ensembles: the path-dependent TreeSHAP algorithm
 * (Lundberg, Erion, Lee 2018, "Consistent individualized feature attribution for tree
 * ensembles", Algorithm 2), polynomial in the tree's depth rather than exponential in the
 * features.
 *
 * "Path-dependent" means a feature left out of a coalition follows both children of a split
 * on it in proportion to their training cover (the hessian sums of a boosted tree, the
 * weighted rows of a forest's), exactly as XGBoost's pred_contribs and shap's TreeExplainer
 * with feature_perturbation="tree_path_dependent" do, so the values can be compared with
 * theirs number for number.
 *
 * Output layout (what XGBoost's pred_contribs gives): for row r and output k,
 * out[(r * nout + k) * (nfeat + 1) + j] is feature j's contribution (j < nfeat) and
 * out[... + nfeat] is the bias (the expected value of the output over the trees' cover).
 * Per row and output they sum to the raw output: the margin for boosted trees (before the
 * sigmoid / softmax: gbdt_predict_margin), the predicted probability or value for forests. */
#ifndef AIOPS_TREESHAP_H
#define AIOPS_TREESHAP_H

#include <stddef.h>

#include "algo/forest.h"
#include "algo/gbdt.h"
#include "core/pool.h"
#include "data/fmatrix.h"
#include "ml/model.h"

/* Outputs explained per row: gbdt_tree_groups() for boosted trees (1 for binary and
 * regression, K for multiclass), forest_outputs() for forests. */
size_t treeshap_gbdt_outputs(const struct gbdt *g);
size_t treeshap_forest_outputs(const struct forest *f);

/* Contributions of every row of x (x->ncols must be the model's feature count) into the
 * caller's out[x->nrows * outputs * (ncols + 1)], laid out as above. pool (may be NULL: this
 * thread only) shares the rows out. AIOPS_EINVAL when x does not fit the model;
 * AIOPS_ENOMEM. */
int treeshap_gbdt(const struct gbdt *g, const struct fmatrix *x, struct pool *pool, double *out);
int treeshap_forest(const struct forest *f, const struct fmatrix *x, struct pool *pool,
                    double *out);

/* How rows are explained: the recursion of the paper, or per tree weights precomputed for
 * every pattern of followed features (Fast TreeSHAP v2; treeshap.c says when). Both give the
 * same values to rounding. */
enum treeshap_method { TREESHAP_AUTO, TREESHAP_RECURSIVE, TREESHAP_PRECOMPUTED };
/* For tests and benchmarks only (not thread-safe): forces a method for the calls that follow;
 * TREESHAP_PRECOMPUTED still leaves trees past the memory bound to the recursion. */
void treeshap_force_method(enum treeshap_method method);

/* 1 when m's learner is one TreeSHAP explains (gbdt, rf). */
int treeshap_supports(const struct model *m);
/* treeshap_gbdt / treeshap_forest for a model, with *nout its outputs per row; threads <= 0:
 * the online CPUs. AIOPS_EUNSUPPORTED for another learner, else as above. */
int treeshap_model(const struct model *m, const struct fmatrix *x, int threads, double *out,
                   size_t *nout);
/* The outputs per row treeshap_model writes for m (0 when unsupported). */
size_t treeshap_model_outputs(const struct model *m);

#endif
