/* automl.h -- a time-budgeted search over the learners and their parameters, scored by
 * k-fold cross-validation, with pruning and a greedy ensemble of the best trials.
 *
 * The search space is read from the learner table (lib/ml/learner.h): every supervised
 * learner that learns the task (or those named), and for each its parameters with `search`
 * set, on their search range and scale, and the feature set's searched transforms that can
 * change something for it on these data (lib/ml/featureset.h: target encoding when a
 * categorical has more than PREP_TARGET_MIN_CATS categories and the task is not multiclass;
 * robust scaling for learners with scale_sensitive; feature selection). A learner is a
 * categorical dimension and its parameters are conditional on it; lib/ml/tpe.h samples them
 * (Optuna's default TPE: 10 random trials, then TPE), seeded. The first trial of each
 * learner is its defaults with no transform (what `aiops train` gives), as Optuna's
 * enqueue_trial would start a study; then a small fixed portfolio (boosted trees with a
 * lower learning rate, at two depths), then the sampler. A trial's transforms are in its
 * leaderboard "params" ("encoding", "scaling", "select", "select_keep"); they are fitted on
 * each training fold only, and a model behind them is a "prep" model (lib/ml/prep.h) that
 * applies them.
 *
 * A learner that stops early (an "early_stopping" parameter: the boosted trees) has its
 * iterations out of the search: its sampled and portfolio trials run up to the top of the
 * iterations' range, each fold fitting 85% of its training rows and stopping on the other
 * 15% (never on the rows it is scored on); the leaderboard entry's "early_stopping" says
 * the patience and the folds' mean kept iterations, and a refit trains that mean scaled to
 * every row.
 *
 * Trials run `threads` at a time (one CPU each), in batches sampled from the trials finished
 * before the batch, so the search is deterministic for a seed (with max_trials; a budget
 * stops it where the clock says). A trial is stopped when it falls behind the pace that
 * would finish it within the time left, or half the search's time if less, and no trial
 * starts when less time is left than the fastest complete one took. Each trial trains its
 * learner on the folds in turn and is
 * pruned after a fold when its mean loss so far is worse than the median of the trials
 * that reached that fold (Optuna's MedianPruner rule: successive halving over folds,
 * reduction factor 2, after 5 finished trials). The budget covers everything, the model
 * file's writing included: trials stop at a deadline that keeps back the time to refit the
 * best trial so far and to write it (from its measured fold times scaled by rows and by
 * the refit's threads at half a core each past the first, and its
 * first fold model's saved size and saving time; at most 30% of the budget), and a trial
 * still running then is stopped through its learner's progress callback.
 *
 * The final model is Caruana's greedy ensemble selection (with replacement) on the
 * out-of-fold predictions of the best trials and the best trial of each learner (their fold
 * models averaged), kept only when
 * its out-of-fold loss is below the best single trial's and its writing fits what is left;
 * otherwise the best single trial refitted on every row when its training and writing fit,
 * or its fold models when their writing fits, or else the next best trial the same way (a
 * smaller model: a forest grown to purity on many classes is hundreds of megabytes). */
#ifndef AIOPS_AUTOML_H
#define AIOPS_AUTOML_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "data/table.h"
#include "ml/model.h"

/* A finished trial: its leaderboard entry (borrowed for the call) and its rank among the
 * complete trials so far (1 = best; 0 for a pruned or stopped one). Called on the search's
 * threads, one call at a time, in the trials' order. */
typedef void (*automl_trial_fn)(void *arg, const json_t *trial, size_t rank);
/* Polled during the search: non-zero stops it, keeping the best so far. */
typedef int (*automl_cancel_fn)(void *arg);

struct automl_config {
    const char *target;
    const char *metric;         /* auc, logloss, accuracy, f1_macro, rmse, mae; NULL: auc for
                                   binary, accuracy for multiclass, rmse for regression */
    const char *models;         /* "gbdt,rf": the learners to search; NULL or "": every one that
                                   learns the task */
    size_t folds;               /* 2 .. 20; 0: 5, or 3 from 20,000 labelled rows on */
    uint64_t seed;              /* of the sampler, the folds and every learner */
    double budget_seconds;      /* > 0 */
    size_t max_trials;          /* stop after this many trials (0: only the budget stops it) */
    int threads;                /* trials at a time; 0: every CPU */
    uint64_t start_ns;          /* time_mono_ns() the budget counts from; 0: the call */
    automl_trial_fn on_trial;   /* may be NULL */
    automl_cancel_fn cancelled; /* may be NULL */
    void *arg;
};

struct automl_result {
    struct model *model;  /* the caller owns it */
    json_t *leaderboard;  /* every trial, in the order they ran: {"trial", "learner",
                             "params", "cv_mean", "cv_std", "folds", "seconds", "pruned",
                             "status"} (status: complete, pruned, stopped, failed), and
                             for a trial that stopped early "early_stopping": {"patience",
                             "iterations"} */
    json_t *best;         /* the best complete trial's entry */
    json_t *ensemble;     /* {"kept", "members": [{"trial", "learner", "weight"}],
                             "oof_score", "best_single_oof_score", "steps"} */
    const char *metric;   /* the metric scored (static) */
    int higher_is_better; /* of the metric */
    double seconds;       /* from start_ns to the model's completion */
    int cancelled;        /* the search was stopped by cfg->cancelled */
};

/* Runs the search on the rows of t with a target. AIOPS_EINVAL with err naming the field
 * (target, metric, models, folds, budget_seconds) for a request that cannot run, or when
 * the budget ended before any trial finished ("budget_seconds"); AIOPS_ENOMEM. */
int automl_run(const struct table *t, const struct automl_config *cfg, struct automl_result *out,
               struct aiops_error *err);
void automl_result_free(struct automl_result *r);

/* 1 when metric is one automl_run accepts (NULL counts: the default). */
int automl_metric_known(const char *metric);

#endif
