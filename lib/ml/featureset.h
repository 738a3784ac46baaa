/* featureset.h -- a model's inputs and target: fitted once on the training table, saved inside
 * the model, and applied to every table or JSON row the model later sees.
 *
 * Features are matched by column NAME (never by position), and categories by their TEXT
 * (never by a code of the other table), so a model reads new data correctly whatever the
 * column order or the order in which categories first appear -- the mis-mapping that
 * LightGBM users meet with pandas category codes cannot happen here.
 *
 * The numeric matrix handed to the algorithms (lib/data/fmatrix.h) is column-major doubles:
 *   numeric / datetime / boolean-as-number features: the value, NaN when missing;
 *   categorical features: the category's training code (0 .. ncat-1) as a double, NaN when
 *   missing AND when the category was never seen in training (algorithms treat an unseen
 *   category like a missing value: trees send it the learned default way, linear models
 *   give it no one-hot weight). */
#ifndef AIOPS_FEATURESET_H
#define AIOPS_FEATURESET_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "data/fmatrix.h"
#include "data/table.h"
#include "ml/learner.h"

/* FEAT_TEXT: a free-text column. Its dense matrix column holds the text's length in code
 * points (NaN when missing: what trees and importances see of it), and its TF-IDF vector
 * (lib/text/featurize.h, fitted on the training table and saved with the model) goes into
 * the matrix's sparse block (struct fmatrix sp), which the linear learner trains on. */
enum feat_kind { FEAT_NUMERIC, FEAT_CATEGORICAL, FEAT_TEXT };

struct text_featurizer;

struct feature {
    char *name; /* column name, owned */
    enum feat_kind kind;
    enum col_type type;  /* the training column's type (for messages and the schema) */
    struct strdict cats; /* categorical: training categories, code k = k-th string (a
                            hash index is kept for lookups) */
    /* statistics of the training values (numeric: values; categorical: codes unused) */
    double mean, std, median, min, max;
    double missing_frac;
    struct text_featurizer *text; /* FEAT_TEXT: the fitted featurizer, owned */
};

struct feature_set {
    size_t n;
    struct feature *f;    /* n entries, owned */
    struct strdict names; /* the names again, code j = feature j (features_find), owned */
    const struct table *fitted; /* the table features_fit read while its text features keep
                                   its texts' terms (features_drop_fitted); else NULL */
};

/* Which columns become features: every column but the target, except identifiers (COL_ID)
 * and columns whose values are all missing; datetimes are numbers (Unix seconds), booleans
 * and categoricals are categorical, free text (COL_TEXT) is FEAT_TEXT (its featurizer is
 * fitted on every row of t with a text). `only` (may be NULL) restricts to the
 * named columns; `exclude` (may be NULL) drops more. Each is a NULL-terminated list.
 * AIOPS_EINVAL when no feature is left or a named column does not exist, with err (may be
 * NULL) saying which, on field "features". */
int features_fit(const struct table *t, long target, const char *const *only,
                 const char *const *exclude, struct feature_set *out, struct aiops_error *err);
/* Forgets the fitted table's text terms. Until then the text features keep them (4 bytes a
 * term), and a matrix of rows of that same table (t == fs->fitted: the caller must not have
 * changed or freed it) reads them instead of featurizing its texts a second time. Call it
 * once the matrices of the fitted table are built, before the table goes. */
void features_drop_fitted(struct feature_set *fs);
void feature_set_free(struct feature_set *fs);

/* Builds the matrix of t's rows for fs (columns found by name). A feature column missing
 * from t: AIOPS_ENOTFOUND, with err's field (err may be NULL) the name of that column, for
 * the caller to say in its own terms which data lacks it. A column of the wrong kind (text where a
 * number is expected) is read as missing, counted in *type_errors (may be NULL); unseen
 * categories are counted in *unseen (may be NULL). The caller frees with fmatrix_free. */
int features_matrix(const struct feature_set *fs, const struct table *t, struct fmatrix *out,
                    struct aiops_error *err, size_t *type_errors, size_t *unseen);
/* The same for an explicit row subset (rows[0..n), in that order). */
int features_matrix_rows(const struct feature_set *fs, const struct table *t, const size_t *rows,
                         size_t n, struct fmatrix *out, struct aiops_error *err,
                         size_t *type_errors, size_t *unseen);

/* Rows given as JSON objects ({"column": value, ...}, as the predict API receives them) into
 * a matrix. Numbers for numeric features (numeric strings accepted), strings (or numbers,
 * written as the training text would be) for categorical ones, null or an absent key for
 * missing. A value of the wrong JSON type is an error: AIOPS_EINVAL with *err an array of
 * {"row", "column", "reason"} (caller owns; at most 20 entries). */
int features_matrix_json(const struct feature_set *fs, const json_t *rows, struct fmatrix *out,
                         json_t **err);

/* The sparse block (out->sp) of JSON rows for fs's text features, for a matrix whose dense
 * part was read otherwise (lib/ml/instances.h); out->sp stays NULL without text features.
 * rows is an array of out->nrows objects. AIOPS_ENOMEM. */
int features_text_block_json(const struct feature_set *fs, const json_t *rows, struct fmatrix *out);
/* 1 when fs has a text feature. */
int features_have_text(const struct feature_set *fs);

/* The feature named name[0..len), or -1. */
long features_find(const struct feature_set *fs, const char *name, size_t len);

/* What a JSON row holds for a feature. */
enum json_value_kind { JV_NULL, JV_NUMBER, JV_STRING, JV_TRUE, JV_FALSE, JV_CONTAINER };
/* The matrix value of one JSON value for feature f, by the rules of features_matrix_json
 * (num for JV_NUMBER, s/len for JV_STRING). NaN with *reason set for a value of the wrong
 * type; NaN without one for a missing value or an unseen category. */
double feature_value_json(const struct feature *f, enum json_value_kind kind, double num,
                          const char *s, size_t len, const char **reason);
/* An empty matrix of nrows rows for fs (values to be filled in). */
int features_matrix_alloc(const struct feature_set *fs, size_t nrows, struct fmatrix *out);

/* --- the target ------------------------------------------------------------------------- */

struct target_spec {
    char *name;           /* column name, owned */
    enum table_task task; /* TASK_BINARY, TASK_MULTICLASS or TASK_REGRESSION */
    size_t nclasses;      /* classification: >= 2 */
    char **labels;        /* classification: class labels as text, in class order: sorted
                             as lib/data/table.h says (numbers numerically, strings bytewise,
                             booleans false < true); the positive class of a binary task
                             is the last */
    int numeric_labels;   /* the labels are numbers (shown as JSON numbers) */
};

/* Fits the target from column col of t and fills y (t->nrows values): the class index for
 * classification, the value for regression, NaN where the target is missing. `task`
 * overrides the inferred task (TASK_NONE: infer with table_task). AIOPS_EINVAL when the
 * column cannot be that target (fewer than 2 classes, a text column for regression), with
 * err (may be NULL) saying why on field "target". */
int target_fit(const struct table *t, long col, enum table_task task, struct target_spec *out,
               double *y, struct aiops_error *err);
/* Maps column col of another table with an existing spec (evaluation): a class the model
 * does not know becomes NaN and is counted in *unknown. */
int target_apply(const struct target_spec *ts, const struct table *t, long col, double *y,
                 size_t *unknown);
void target_spec_free(struct target_spec *ts);
/* A class label or regression value as JSON (a number for numeric labels). */
json_t *target_label_json(const struct target_spec *ts, size_t k);

/* Per-row weights from a class_weight setting: NULL or "" -> all 1; "balanced" -> n / (K *
 * count of the row's class) as scikit-learn does; "label:w,label:w" -> the given weight per
 * class (unlisted classes 1). y holds class indexes (NaN rows get weight 0). AIOPS_EINVAL
 * for an unknown label or a weight that is not a positive number, with err (may be NULL)
 * saying which on field "class_weight". */
int class_weights(const struct target_spec *ts, const char *setting, const double *y, size_t n,
                  double *w, struct aiops_error *err);

/* --- searched transforms (AutoML) -------------------------------------------------------- *
 * Transforms of a feature set's matrix that lib/ml/automl.h searches as a trial's
 * parameters, fitted on a training fold only and saved with the model (lib/ml/learn_prep.c
 * wraps the learner's model and applies them to every matrix it is handed):
 *   encoding   "onehot": categoricals stay categories (trees split on them, linear and
 *              neural learners one-hot them); "target": categoricals with more than
 *              PREP_TARGET_MIN_CATS categories become the smoothed mean target of their
 *              category, (sum + m * prior) / (count + m), m = PREP_TARGET_SMOOTHING, prior
 *              the fold's mean target; unseen and missing categories read the prior. The
 *              training rows' own values are cross-fitted (each from the other
 *              PREP_TARGET_INNER_FOLDS - 1 inner folds), so no row sees its own label.
 *              Binary (mean of the positive class) and regression tasks only.
 *   scaling    "standard": as the learners do themselves (mean / standard deviation);
 *              "robust": (x - median) / IQR (the standard deviation when the IQR is 0),
 *              clipped to +-PREP_ROBUST_CLIP. The learners standardise afterwards anyway,
 *              which undoes any affine map: the clipping is what robust scaling changes for
 *              them (outliers no longer dominate a linear or neural fit).
 *   select     "none", "importance" (gain of a small gbdt fitted on the fold) or
 *              "univariate" (classification: chi-square of category x class counts for
 *              categoricals, ANOVA F of the values by class for numbers; regression: the F
 *              of the correlation for numbers, ANOVA F of the target by category for
 *              categoricals; ranked by p-value, then statistic per degree of freedom);
 *              keeps the best max(1, round(keep * columns)). */
#define PREP_TARGET_MIN_CATS 10
#define PREP_TARGET_SMOOTHING 10.0
#define PREP_TARGET_INNER_FOLDS 5
#define PREP_ROBUST_CLIP 5.0

enum prep_encoding { PREP_ONEHOT, PREP_TARGET };
enum prep_scaling { PREP_STANDARD, PREP_ROBUST };
enum prep_select { PREP_SELECT_NONE, PREP_SELECT_IMPORTANCE, PREP_SELECT_UNIVARIATE };

struct prep_config {
    enum prep_encoding encoding;
    enum prep_scaling scaling;
    enum prep_select select;
    double keep; /* select: the fraction of columns kept, (0, 1] */
};

/* The parameters naming a prep_config in a trial's parameters (JSON: "encoding", "scaling",
 * "select" as text, "select_keep" a number), with their AutoML search ranges: i in
 * 0 .. prep_param_count() - 1. */
size_t prep_param_count(void);
const struct param_def *prep_param_at(size_t i);
/* The config that params (a JSON object; absent keys: the identity) names. AIOPS_EINVAL for
 * a value outside the choices. */
int prep_config_from_json(const json_t *params, struct prep_config *out);
/* 1 when c changes nothing (onehot, standard, no selection). */
int prep_config_identity(const struct prep_config *c);

/* One output column of a fitted transform. */
enum prep_op { PREP_COPY, PREP_TARGET_ENCODE, PREP_ROBUST_SCALE };
struct prep_column {
    uint32_t src;    /* the input column */
    enum prep_op op;
    double a, b;     /* robust: median, scale; target: prior, unused */
    uint32_t nenc;   /* target: categories encoded (the input's ncat) */
    double *enc;     /* target: nenc values, owned */
};

struct feature_prep {
    struct prep_config cfg;
    size_t nin, nout;          /* input columns (the feature set's), output columns */
    struct prep_column *col;   /* nout, owned */
};

/* Fits c on the training rows x (y: x->nrows targets, class index or value; task and
 * nclasses as the target's) and writes the transformed training matrix to *xout (the
 * training rows' target encodings cross-fitted; x->sp, if any, is borrowed: *xout->sp ==
 * x->sp, to be set to NULL before fmatrix_free). *out (the caller frees with
 * feature_prep_free) is what feature_prep_apply applies to other rows. AIOPS_EINVAL for
 * target encoding of a multiclass task; AIOPS_ENOMEM. */
int feature_prep_fit(const struct prep_config *c, const struct fmatrix *x, const double *y,
                     enum table_task task, size_t nclasses, uint64_t seed,
                     struct feature_prep **out, struct fmatrix *xout);
/* x (p->nin columns) transformed into *out (sp borrowed as above). AIOPS_EINVAL when x has
 * another number of columns, AIOPS_ENOMEM. */
int feature_prep_apply(const struct feature_prep *p, const struct fmatrix *x,
                       struct fmatrix *out);
void feature_prep_free(struct feature_prep *p);
/* Appends p's bytes; feature_prep_load reads them (AIOPS_ECORRUPT for anything
 * inconsistent, never a crash; AIOPS_ENOMEM). */
int feature_prep_save(const struct feature_prep *p, struct buf *out);
int feature_prep_load(const uint8_t *bytes, size_t n, struct feature_prep **out);
/* {"encoding", "scaling", "select", "select_keep"} of c (caller owns). */
json_t *prep_config_json(const struct prep_config *c);

/* --- persistence (inside a model file; see lib/ml/model.h) ---------------------------------- */
int features_save(const struct feature_set *fs, const struct target_spec *ts, struct buf *out);
/* Reads what features_save wrote; AIOPS_ECORRUPT for anything inconsistent. */
int features_load(const uint8_t *p, size_t n, struct feature_set *fs, struct target_spec *ts);

#endif
