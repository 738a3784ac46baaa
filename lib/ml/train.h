/* train.h -- from a table to a trained, evaluated model: the one training path behind both
 * `aiops train` and svc-train's jobs.
 *
 * A learner (lib/ml/learner.h) trains the model; its table defines its parameters -- names,
 * aliases (epochs = rounds for tree models and max_iter for linear ones, eta =
 * learning_rate, ...), types, ranges, defaults -- besides the ones every learner shares
 * (features, exclude, seed, threads, valid_fraction, task, class_weight); `aiops train
 * --help` lists them. The seed's neural-network settings (batch_size, lstm_hidden,
 * mlp_hidden, dropout) are accepted and reported as ignored. Anything else is an error
 * naming the field. */
#ifndef AIOPS_TRAIN_H
#define AIOPS_TRAIN_H

#include <jansson.h>
#include <stdint.h>

#include "algo/progress.h"
#include "core/err.h"
#include "data/table.h"
#include "ml/model.h"

struct train_config {
    const struct learner *learner; /* learner_find(); NULL is refused as an unknown model */
    const char *target;            /* the target column's name */
    const json_t *params;          /* object of parameters (borrowed; NULL: defaults) */
    double valid_fraction;         /* default when params has none: 0 = none */
};

/* Checkpoints, for learners that make them (the neural networks; struct learner_input has
 * the same fields): every finished epoch's state goes to checkpoint(arg, ...) (may be NULL),
 * and training continues from resume (NULL: from the start). */
struct train_checkpoint {
    int (*checkpoint)(void *arg, int epoch, const uint8_t *state, size_t n);
    void *arg;
    const uint8_t *resume;
    size_t resume_len;
};

struct train_result {
    struct model *model; /* the caller owns it */
    json_t *metrics;     /* evaluation on the validation rows; NULL without them */
    json_t *ignored;     /* names of parameters accepted but ignored (array) */
    double train_seconds;
    size_t train_rows, valid_rows, unlabelled_rows;
    int iterations;
};

/* Checks a configuration without training: the learner's parameters, their types and
 * ranges. AIOPS_EINVAL with err set. *normalised (may be NULL; caller owns) receives the
 * parameters under their canonical names (epochs -> rounds, eta -> learning_rate, ...),
 * typed, without the ignored ones. */
int train_check(const struct train_config *cfg, json_t **normalised, struct aiops_error *err);

/* Trains on t (validation rows from `valid` when not NULL, else held out of t by
 * valid_fraction, stratified for classification), evaluates, and builds the model. Progress
 * goes to progress(arg, ...) after every iteration; a non-zero return cancels
 * (AIOPS_ECANCELED). AIOPS_EINVAL with err for a request that cannot be trained (unknown
 * target, no labelled rows, bad parameters, a task the learner does not learn, ...). On
 * failure *out is left empty (nothing to free). */
int train_model(const struct table *t, const struct table *valid, const struct train_config *cfg,
                train_progress_fn progress, void *arg, struct train_result *out,
                struct aiops_error *err);
/* train_model with checkpoints (ckpt may be NULL: train_model). A resume state the learner
 * refuses is AIOPS_ECORRUPT. */
int train_model_checkpointed(const struct table *t, const struct table *valid,
                             const struct train_config *cfg, const struct train_checkpoint *ckpt,
                             train_progress_fn progress, void *arg, struct train_result *out,
                             struct aiops_error *err);
void train_result_free(struct train_result *r);

/* Sets m->meta, the model's metadata, for a model m with its learner, features and target:
 * {"kind", "task", "target", "params", "metrics" (null when NULL), "features" [{"name",
 * "kind"}], "train_rows", "valid_rows", "train_seconds", "iterations", "created_at",
 * "version", "importance"}. Takes params and metrics. AIOPS_ENOMEM. */
int train_model_meta(struct model *m, json_t *params, json_t *metrics, size_t train_rows,
                     size_t valid_rows, double train_seconds, int iterations);

/* The rows of t that train_model held out for validation when it trained m on t (the
 * same target, valid_fraction and seed from m's metadata, the same split): *rows (caller
 * frees; NULL when none) holds *n table row indices. *n is 0 when the run held none out
 * (no valid_fraction in its parameters, fewer than 10 labelled rows). AIOPS_EINVAL when t
 * has no target column or a class the model does not know (it is not the training table),
 * AIOPS_ENOMEM. */
int train_holdout_rows(const struct model *m, const struct table *t, size_t **rows, size_t *n);

/* A model's predictions for the rows of a table that have a known target. */
struct labelled_predictions {
    size_t n;       /* rows predicted */
    size_t *rows;   /* n table rows, in the order asked for */
    double *y;      /* n targets as the model encodes them (class index, or the value) */
    double *pred;   /* n * outputs: class probabilities row-major, or values */
    size_t outputs; /* model_outputs() */
    size_t unknown; /* rows (of the whole table) whose class the model does not know */
};
void labelled_predictions_free(struct labelled_predictions *p);
/* Predicts m for rows[0..n) of t (every row when rows is NULL), keeping those with a known
 * target, into *out (the caller frees it, on success only). AIOPS_EINVAL with err when t
 * lacks the target or a feature; AIOPS_ENOMEM. */
int train_predict_labelled(const struct model *m, const struct table *t, const size_t *rows,
                           size_t n, struct labelled_predictions *out, struct aiops_error *err);

/* Metrics of model m on table t, whose target column is the model's target: the JSON of
 * eval_classification()/eval_regression(). AIOPS_EINVAL with err when t lacks a
 * feature or the target. */
int train_evaluate(const struct model *m, const struct table *t, json_t **metrics,
                   struct aiops_error *err);

#endif
