/* progress.h -- the per-iteration progress callback shared by the training algorithms
 * (gradient-boosted trees, random forest, linear models).
 *
 * A learner calls the callback after each iteration (boosting round, tree, epoch); a
 * non-zero return asks it to stop, and the learner then returns AIOPS_ECANCELED. */
#ifndef AIOPS_PROGRESS_H
#define AIOPS_PROGRESS_H

/* metrics are the objective's loss on train and valid (NaN without valid) and the task
 * metric (binary: AUC, multiclass: accuracy, regression: RMSE) on train and valid; a
 * learner that does not compute one passes NaN. */
struct train_progress {
    int iteration, total;
    double train_loss, valid_loss, train_metric, valid_metric;
    const char *metric_name; /* "auc", "accuracy", "rmse" (static) */
    /* the share of rows predicted right, when has_accuracy (classifiers that compute it
       besides their metric: the neural networks; NaN without validation rows) */
    double train_accuracy, valid_accuracy;
    int has_accuracy;
};
/* A learner that can be cancelled between iterations of a long epoch calls the callback
 * with iteration -1 (no metrics) after each batch: only the return value counts. */
typedef int (*train_progress_fn)(void *arg, const struct train_progress *p);

#endif
