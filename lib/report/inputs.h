/* inputs.h -- the measured numbers one report is written from, gathered in one document.
 *
 * Every part of a report (the AI report's text, the PDF, the model card, the performance
 * answer) reads this document and nothing else, so that what a report says can always be
 * traced to a measurement, and so that it can be computed once per run and cached (svc-report
 * keeps it in PostgreSQL). report_inputs_compute() measures what the model and the data give
 * by themselves; the caller adds what only it knows (the run, the training history,
 * significance and correlations from svc-explain, drift) with the setters below.
 *
 * The document (numbers that are undefined are null; "importance" values sum to 1):
 * {
 *   "version": 1,
 *   "model": {"kind", "task", "target", "params", "features", "train_rows", "valid_rows",
 *             "iterations", "train_seconds", "created_at", "name", "version"},
 *   "data": {"rows": rows of the table, "evaluated_rows": rows the metrics are on,
 *            "evaluated_on": "validation" | "given" | "training",
 *            "class_balance": [{"class", "count", "pct"}] | null,
 *            "positive_class": the class lift is about (binary) | null,
 *            "base_rate": that class's share of the evaluated rows | null},
 *   "metrics": the evaluation (lib/ml/eval.h) on the evaluated rows; binary tasks add
 *            "ece" (expected calibration error over the 10 calibration bins),
 *   "curves": {"roc": {"fpr", "tpr"}, "pr": {"recall", "precision"}} (binary) | null,
 *   "importance": [{"feature", "importance", "pValue", "ci": [lo, hi] | null,
 *                   "description"}] most important first,
 *   "importance_method": "model" (the learner's own, saved at training) | what the caller
 *                   set | null when the learner has none,
 *   "correlation": {"method", "features", "matrix"} over the most important numeric
 *                   features (and a numeric target) | null,
 *   "history": {key: [[step, value], ...]} per-iteration metrics | {} ,
 *   "slices": [{"column", "groups": [{"value", "rows", "base_rate", "accuracy",
 *                "recall", "precision", "predicted_rate", "auc"} | regression {"value",
 *                "rows", "rmse", "mae"}], "gaps": [{"metric", "best", "worst", "gap",
 *                "flagged"}]}] for each categorical column of the table with 2 to 20
 *                values (at most REPORT_MAX_SLICE_COLUMNS, the target excluded),
 *   "leakage": the profile's leakage suspects [{"column", "reason", "score", "detail"}],
 *   "drift": null | what the caller set ({"features": [{"feature", "psi", ...}], ...}),
 *   "run": null | what the caller set ({"run_id", "dataset_id", ...})
 * }
 * Slice groups with fewer than REPORT_MIN_SLICE_ROWS rows are listed but not compared; a
 * gap is flagged when it is at least 0.05 (rates, AUC) or 10% of the overall value (errors). */
#ifndef AIOPS_REPORT_INPUTS_H
#define AIOPS_REPORT_INPUTS_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"
#include "data/table.h"
#include "ml/model.h"

#define REPORT_INPUTS_VERSION 1
#define REPORT_MAX_SLICE_COLUMNS 8
#define REPORT_MIN_SLICE_ROWS 30
#define REPORT_CORR_FEATURES 12
#define REPORT_CURVE_POINTS 101

/* What the measurements are taken from. Every pointer is borrowed for the call. */
struct report_source {
    const struct model *model;
    const struct table *table; /* has the model's features and target */
    const size_t *rows;        /* the rows to evaluate on (the run's validation rows), or
                                  NULL: every row of the table */
    size_t nrows;
    const char *evaluated_on;  /* "validation", "given" (a table given for it), "training" */
    const json_t *profile;     /* the table's profile (lib/data/profile.h) or NULL: computed */
    const json_t *descriptions; /* {"feature": "description"} (Korean text kept) or NULL */
};

/* Measures everything the source gives into *out (the document above; the caller owns it).
 * AIOPS_EINVAL with err when the table lacks the target or a feature, or has no labelled
 * row among those asked for; AIOPS_ENOMEM. */
int report_inputs_compute(const struct report_source *src, json_t **out,
                          struct aiops_error *err);

/* Sets the per-iteration history from rows of (key, step, value): history is
 * {key: [[step, value], ...]}, taken. */
void report_inputs_set_history(json_t *inputs, json_t *history);
/* Replaces the importance list and its method with those of a better source (svc-explain:
 * permutation importance with p-values and CIs). list is taken; it is sorted most important
 * first and its values normalised to sum 1; descriptions already known are kept. */
void report_inputs_set_importance(json_t *inputs, json_t *list, const char *method);

/* The top-n importance entries (borrowed from inputs), n may be less when there are fewer. */
size_t report_inputs_top_features(const json_t *inputs, size_t n, const json_t **out);
/* A number at a path of object keys ("metrics", "auc", NULL) or NAN when absent / null. */
double report_num(const json_t *doc, ...);

#endif
