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

/* --- persistence (inside a model file; see lib/ml/model.h) ---------------------------------- */
int features_save(const struct feature_set *fs, const struct target_spec *ts, struct buf *out);
/* Reads what features_save wrote; AIOPS_ECORRUPT for anything inconsistent. */
int features_load(const uint8_t *p, size_t n, struct feature_set *fs, struct target_spec *ts);

#endif
