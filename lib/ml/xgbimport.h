/* xgbimport.h -- XGBoost JSON models (Booster.save_model("model.json"), gbtree booster) read
 * into our gbdt model format, so that they are served, evaluated and explained like models
 * trained here; TreeSHAP on an imported model is checked number for number against
 * XGBoost's pred_contribs (tests/unit/test_xgbimport.c).
 *
 * What is read: learner.objective.name (binary:logistic, binary:logitraw, multi:softprob,
 * multi:softmax, reg:squarederror, reg:linear, reg:pseudohubererror, reg:absoluteerror),
 * learner.learner_model_param (base_score, num_class, num_feature), learner.feature_names
 * (f0, f1, ... when absent), and each tree's left_children, right_children, split_indices,
 * split_conditions (the leaf value at leaves), default_left, sum_hessian (the cover
 * TreeSHAP weighs by) and loss_changes (the gain importance sums), with tree_info saying
 * which output each tree adds to.
 *
 * XGBoost sends x < split_condition left; our trees send x <= threshold left, so the
 * threshold is the largest double below the condition: the same side for every value.
 * XGBoost compares in single precision, so values that are not floats may fall on the other
 * side of a split in XGBoost than here; values read from float data agree exactly.
 * Categorical splits, the dart booster, and other objectives are refused with a message
 * naming the field. The target is called "label", as XGBoost calls it; class labels are the
 * class indexes 0 .. K-1. */
#ifndef AIOPS_XGBIMPORT_H
#define AIOPS_XGBIMPORT_H

#include <stddef.h>

#include "core/err.h"
#include "ml/model.h"

/* The largest XGBoost JSON model read (bytes). */
#define XGB_IMPORT_MAX_BYTES ((size_t)1 << 30)

/* Reads json[0..len) into *out (the caller frees with model_free). The model went through
 * model_save and model_load once, so it is exactly what loading its file gives.
 * AIOPS_EPARSE (not JSON) or AIOPS_EINVAL (not a model we can read) with err's field naming
 * the JSON path at fault and its message saying why; AIOPS_ETOOBIG; AIOPS_ENOMEM. */
int xgb_import(const char *json, size_t len, struct model **out, struct aiops_error *err);
/* The same from a file; AIOPS_EIO when it cannot be read. */
int xgb_import_file(const char *path, struct model **out, struct aiops_error *err);

#endif
