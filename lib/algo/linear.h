/* linear.h -- L2-regularised linear models: logistic regression (binary), softmax
 * (multinomial logistic) regression, and ridge regression.
 *
 * The model does its own preprocessing, fitted on the training matrix and saved with it:
 * a numeric column is imputed with its training mean (missing -> mean) and standardised
 * with its training mean and population standard deviation (of the imputed column, as
 * scikit-learn's SimpleImputer(strategy="mean") followed by StandardScaler computes them;
 * weighted by the sample weights when given; a constant column is scaled by 1); a
 * categorical column (struct fmatrix is_cat) is one-hot encoded over its ncat training
 * categories, a missing or unseen category (NaN, or a code >= ncat) giving all zeros.
 *
 * Objectives (rows whose target is NaN are left out; w_i = sample weight, 1 by default):
 *   logistic:  sum_i w_i logloss(y_i, sigmoid(b + x_i.beta)) + l2 / 2 ||beta||^2
 *   softmax:   sum_i w_i -ln softmax(b + x_i B)_{y_i}       + l2 / 2 ||B||_F^2
 *              (K coefficient vectors, all penalised)
 *   ridge:     sum_i w_i (y_i - b - x_i.beta)^2              + l2 ||beta||^2
 * The intercept b is never penalised. The logistic and softmax objectives are exactly
 * scikit-learn 1.2.1's LogisticRegression(C = 1 / l2, solver="lbfgs") (its loss is the
 * weighted SUM over rows, not the mean, and so is the gradient its tol applies to); ridge is
 * Ridge(alpha = l2). Logistic and softmax are solved by L-BFGS (10 correction pairs,
 * strong-Wolfe line search) stopping as scipy's L-BFGS-B does for scikit-learn: when the
 * largest gradient component is <= tol, when an iteration lowers the objective by less than
 * 2.2e-9 relative to it, or after max_iter iterations. Ridge is solved in closed form
 * (normal equations, Cholesky through LAPACK's dposv in OpenBLAS) unless the one-hot
 * expansion makes more than LINEAR_MAX_CLOSED_FORM coefficients, then by the same L-BFGS
 * on half the objective, stopping on the gradient test or max_iter only (the relative
 * test would stop it short of the closed form's accuracy).
 *
 * Margins and gradients are BLAS products (dgemv / dgemm) over a standardised copy of the
 * numeric columns -- or, for a classifier whose inputs are all numeric and finite with
 * every row used, over the input matrix itself with the standardisation folded into the
 * coefficients (no copy: half the memory). One-hot columns are handled through their codes;
 * the per-row loss loops run on `threads` threads in fixed chunks, so results do not
 * depend on the thread count. */
#ifndef AIOPS_LINEAR_H
#define AIOPS_LINEAR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "algo/progress.h"
#include "core/buf.h"
#include "data/fmatrix.h"
#include "data/spmatrix.h"
#include "data/table.h"

enum linear_kind { LINEAR_LOGISTIC, LINEAR_SOFTMAX, LINEAR_REGRESSION };
/* The sparse path's solver (the dense path always uses L-BFGS / the closed form). */
enum linear_solver { LINEAR_SOLVER_LBFGS, LINEAR_SOLVER_SAGA };

struct linear_params {
    enum linear_kind kind;
    int num_class;     /* softmax: classes (>= 2); ignored otherwise */
    double l2;         /* >= 0; 1.0: scikit-learn's default C = 1 (or Ridge alpha = 1) */
    int max_iter;      /* L-BFGS iterations, >= 1 [100] */
    double tol;        /* gradient tolerance, >= 0 [1e-4] */
    int fit_intercept; /* [1] */
    int threads;       /* worker threads for the row loops; <= 0: one per core */
    /* sparse path only: passes of stochastic gradient descent over the rows (in an order
     * drawn from seed) that warm-start L-BFGS [0: none]; the objective is unchanged */
    int warm_epochs;
    /* sparse path only [LINEAR_SOLVER_LBFGS]; with SAGA, max_iter counts passes over the
     * rows and tol is the relative change test below */
    enum linear_solver solver;
    uint64_t seed;
    /* SAGA with threads >= 2: 0 lets a second thread take half the features when a step's
     * work is large and a core is free (then timed pass by pass); 2 lets it whatever they
     * are (tests); the model is the same either way [0] */
    int saga_two_lanes;
};

/* Above this many coefficients (one-hot expanded), ridge uses L-BFGS instead of the
 * normal equations (whose matrix grows as the square). */
#define LINEAR_MAX_CLOSED_FORM 4096
/* Coefficient count limit (outputs x (expanded columns + 1)): AIOPS_ETOOBIG beyond it. */
#define LINEAR_MAX_COEFS (1u << 22)

struct linear;

/* Fills p with the defaults above for kind. */
void linear_params_default(struct linear_params *p, enum linear_kind kind);

/* Trains on the rows of x. y: class index (0 .. K-1 as a double; logistic K = 2, the
 * positive class 1) or the regression value; NaN = no target, the row is skipped. w: sample
 * weights (NULL = all 1; each finite and >= 0). progress (may be NULL) is called after each
 * L-BFGS iteration with the mean weighted data loss (log-loss; regression: squared error)
 * and the metric (binary: AUC, multiclass: accuracy, regression: RMSE) on the training
 * rows (the AUC over at most 200,000 evenly spaced rows, so that it costs little next to
 * an iteration); a non-zero return stops training with AIOPS_ECANCELED. The closed-form ridge
 * reports once. On success the caller owns *out (linear_free). Errors: AIOPS_EINVAL with a
 * message in err (a bad parameter, a class index out of range, a bad weight, no row with a
 * target and a positive weight, a single class for logistic), AIOPS_ETOOBIG, AIOPS_ENOMEM,
 * AIOPS_ECANCELED. */
int linear_train(const struct fmatrix *x, const double *y, const double *w,
                 const struct linear_params *p, train_progress_fn progress, void *arg,
                 struct linear **out, struct aiops_error *err);

/* Predictions for the rows of x, which must have the training matrix's columns (same count,
 * same categorical flags; AIOPS_EINVAL otherwise). Classification writes nrows x K
 * probabilities row-major (binary: 1 - p, p), regression nrows values. The caller allocates
 * out (linear_outputs() values per row). AIOPS_ENOMEM. */
int linear_predict(const struct linear *m, const struct fmatrix *x, double *out);
/* Values per predicted row: K for classification, 1 for regression. */
size_t linear_outputs(const struct linear *m);
/* Input columns the model was trained on. */
size_t linear_num_features(const struct linear *m);
enum linear_kind linear_get_kind(const struct linear *m);
/* L-BFGS iterations run (0 for the closed form) and whether a stopping test was met
 * (1) rather than max_iter (0). */
void linear_fit_info(const struct linear *m, int *iterations, int *converged);

/* The coefficients as JSON (caller owns *out):
 *   {"kind", "l2", "iterations", "converged",
 *    "outputs": [name per coefficient vector]   (binary: the positive class; softmax:
 *                                                every class; regression: "value"),
 *    "intercept": [per output]   (on the standardised scale),
 *    "intercept_unscaled": [per output]   (for numeric inputs in their own units),
 *    "coefficients": [{"name", "column", "category", "coef": [per output],
 *                      "coef_unscaled": [per output]}]}
 * one entry per numeric column ("name" = the column name, "category" null,
 * "coef_unscaled" = coef / std) and per category of a categorical column ("name" =
 * "column=category", "category" = its text; "coef_unscaled" = coef). Names come from names
 * and class labels (K entries) from labels; either may be NULL, then columns are named
 * "x<j>", categories by code and classes by index. AIOPS_EINVAL when names do not match
 * the model (a categorical column without categories, or with another count); AIOPS_ENOMEM. */
struct linear_names {
    const char *const *columns;        /* ncols column names */
    const struct strdict *const *cats; /* ncols: a categorical column's categories (code k
                                          is the k-th string), NULL for a numeric one */
};
int linear_coefficients(const struct linear *m, const struct linear_names *names,
                        const char *const *labels, json_t **out);

/* Serialises the model (its preprocessing included) into out. AIOPS_ENOMEM. */
int linear_save(const struct linear *m, struct buf *out);
/* Reads what linear_save wrote. AIOPS_ECORRUPT for anything malformed or inconsistent
 * (never crashes; fuzzed by tests/fuzz/fuzz_linear.c), AIOPS_ENOMEM. The caller owns *out. */
int linear_load(const uint8_t *p, size_t n, struct linear **out);
void linear_free(struct linear *m);


/* --- sparse input (text features) -------------------------------------------------------
 *
 * The same three objectives over a design whose columns are: the numeric columns of x,
 * standardised as above (missing -> mean -> 0); the one-hot blocks of its categorical
 * columns; and the columns of a sparse block sp (x->nrows rows: TF-IDF vectors of text
 * features, lib/text/featurize.h) taken as they are. This is what a model with a text
 * column trains: 60,000 reviews by 400,000 n-grams is too wide for the dense path above,
 * and scikit-learn likewise fits LogisticRegression on the sparse TfidfVectorizer output
 * directly. Solved by the same L-BFGS with the same stopping tests; margins and gradients
 * are sums over the non-zeros of each row, the rows split over `threads` threads (each
 * thread keeps its own gradient, added in thread order: the last bits of the result depend
 * on the thread count). Coefficients are kept as doubles while training and saved as
 * floats (a shipped model is half the size; predictions move by ~1e-7).
 * With warm_epochs > 0, L-BFGS starts from that many passes of plain SGD on the same
 * objective (divided by the weight sum; one thread, rows in an order drawn from seed, the
 * step 1 / (L (1 + epoch)) for the largest row's curvature bound L): an SGD pass costs about
 * one L-BFGS iteration and lands near the optimum that L-BFGS then polishes, so fewer
 * iterations reach the same accuracy. Deterministic for a seed.
 * With solver LINEAR_SOLVER_SAGA the same objective (divided by the weight sum) is solved by
 * SAGA instead (stochastic average gradient with SAGA's correction, as scikit-learn's
 * solver="saga" without L1): rows in an order drawn from seed each pass (on one thread, or
 * on two each owning half the features when a step's work is large and a core is free --
 * saga_two_lanes; the same model either way), the step
 * 5 / (3 L) for the largest row curvature bound L, halved after a pass whose loss rose by
 * more than 0.1%; just-in-time updates, so a step costs the row's non-zeros, not the width.
 * At most max_iter passes, stopping after a pass that moved no coefficient by more than tol
 * times the largest one (scikit-learn's test; coefficients are floats while it runs, so tol
 * below ~1e-6 is not reached); progress is called after each pass; warm_epochs is ignored.
 * It reaches L-BFGS's optimum in a fraction of its time on wide text designs (nsmc5: 15
 * passes). Deterministic for a seed. */
struct linear_sparse;

/* Trains on x (may have 0 columns) and sp. y, w, p, progress as linear_train. Errors as
 * linear_train, and AIOPS_EINVAL when sp->nrows != x->nrows. */
int linear_sparse_train(const struct fmatrix *x, const struct spmatrix *sp, const double *y,
                        const double *w, const struct linear_params *p,
                        train_progress_fn progress, void *arg, struct linear_sparse **out,
                        struct aiops_error *err);
/* Predictions as linear_predict, for x and sp with the training columns (AIOPS_EINVAL
 * otherwise: another dense layout, or another sparse width). */
int linear_sparse_predict(const struct linear_sparse *m, const struct fmatrix *x,
                          const struct spmatrix *sp, double *out);
/* The same with the rows shared out on pool's threads in blocks (pool NULL: this thread);
 * the same predictions either way. */
struct pool;
int linear_sparse_predict_pool(const struct linear_sparse *m, const struct fmatrix *x,
                               const struct spmatrix *sp, struct pool *pool, double *out);
size_t linear_sparse_outputs(const struct linear_sparse *m);
size_t linear_sparse_num_features(const struct linear_sparse *m); /* dense columns */
size_t linear_sparse_width(const struct linear_sparse *m);        /* sparse columns */
void linear_sparse_fit_info(const struct linear_sparse *m, int *iterations, int *converged);
/* "LSP1" bytes; load refuses anything inconsistent with AIOPS_ECORRUPT (fuzzed with
 * tests/fuzz/fuzz_linear.c's inputs through the learner), AIOPS_ENOMEM. */
int linear_sparse_save(const struct linear_sparse *m, struct buf *out);
int linear_sparse_load(const uint8_t *p, size_t n, struct linear_sparse **out);
void linear_sparse_free(struct linear_sparse *m);

#endif
