/* train.h -- from a table to a trained, evaluated model: the one training path behind both
 * `aiops train` and svc-train's jobs.
 *
 * Parameters use the names users know from XGBoost/LightGBM/scikit-learn:
 *   gbdt:   rounds, learning_rate, max_depth, num_leaves, max_bin, lambda, min_child_weight,
 *           subsample, colsample, early_stopping, class_weight, seed, threads
 *   rf:     rounds (trees), max_depth, min_samples_leaf, max_features, bootstrap,
 *           class_weight, seed, threads
 *   linear: lambda, max_iter, tol, class_weight, threads
 * plus, for every model, valid_fraction (rows held out for validation and early stopping
 * when no validation table is given), features / exclude (lists of column names) and task
 * ("binary", "multiclass", "regression", "classification"). Seed-000 aliases: epochs =
 * rounds for tree models and max_iter for linear ones; n_estimators = rounds; eta =
 * learning_rate. The seed's neural-network settings (batch_size, lstm_hidden, mlp_hidden,
 * dropout) are accepted and reported as ignored for these models. Anything else is an
 * error naming the field. */
#ifndef AIOPS_TRAIN_H
#define AIOPS_TRAIN_H

#include <jansson.h>
#include <stdint.h>

#include "algo/progress.h"
#include "data/table.h"
#include "ml/model.h"

/* Why a training request cannot be run: the field at fault (for a 422 answer) and what is
 * wrong. */
struct train_error {
    char field[64];
    char message[256];
};

struct train_config {
    enum model_kind kind;
    const char *target;   /* the target column's name */
    const json_t *params; /* object of parameters (borrowed; NULL: defaults) */
    double valid_fraction; /* default when params has none: 0 = none */
};

struct train_result {
    struct model *model;   /* the caller owns it */
    json_t *metrics;       /* evaluation on the validation rows; NULL without them */
    json_t *ignored;       /* names of parameters accepted but ignored (array) */
    double train_seconds;
    size_t train_rows, valid_rows, unlabelled_rows;
    int iterations;
};

/* Checks a configuration without training: the model kind's parameters, their types and
 * ranges. AIOPS_EINVAL with err set. *normalised (may be NULL; caller owns) receives the
 * parameters under their canonical names (epochs -> rounds, eta -> learning_rate, ...),
 * typed, without the ignored ones. */
int train_check(const struct train_config *cfg, json_t **normalised, struct train_error *err);

/* Trains on t (validation rows from `valid` when not NULL, else held out of t by
 * valid_fraction, stratified for classification), evaluates, and builds the model. Progress
 * goes to progress(arg, ...) after every iteration; a non-zero return cancels
 * (AIOPS_ECANCELED). AIOPS_EINVAL with err for a request that cannot be trained (unknown
 * target, no labelled rows, bad parameters, ...). */
int train_model(const struct table *t, const struct table *valid, const struct train_config *cfg,
                train_progress_fn progress, void *arg, struct train_result *out,
                struct train_error *err);
void train_result_free(struct train_result *r);

/* Metrics of model m on table t, whose target column is the model's target: the JSON of
 * eval_classification()/eval_regression(). AIOPS_EINVAL with err when t lacks a
 * feature or the target. */
int train_evaluate(const struct model *m, const struct table *t, json_t **metrics,
                   struct train_error *err);

#endif
