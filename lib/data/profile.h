/* profile.h -- dataset profiling (EDA) of a table: the JSON behind `aiops profile`, the
 * dataset profile endpoint and the HTML profile page.
 *
 * The document (key names snake_case; a number that is undefined -- NaN, +-inf -- is
 * null; every "pct" is a percentage 0..100 rounded to 2 decimals; counts are integers):
 *
 * {
 *   "rows": 4521, "column_count": 17,
 *   "target": "y" | null,
 *   "task": "binary" | "multiclass" | "regression" | null,
 *       the upload summary's rule (lib/data/ingest.c): a boolean target is binary; other
 *       strings: 2 classes binary, more multiclass; numbers: 2 distinct values binary,
 *       whole numbers with 3..20 distinct values multiclass, otherwise regression;
 *       datetime, or fewer classes than that: null (a note says why).
 *       Classes are ordered by label (numbers numerically, strings bytewise, booleans
 *       false < true); for binary tasks the positive class is the last one.
 *   "target_missing": rows whose target is missing (null without a target),
 *   "missing": {"cells", "cells_pct", "rows_with_missing", "rows_with_missing_pct",
 *               "columns": [{"column", "missing", "missing_pct"}, ...]}
 *       every column, sorted by missing descending (ties in column order),
 *   "columns": [ per column in table order:
 *       {"name", "type" (lib/data/table.h names), "missing", "missing_pct", "distinct",
 *        numeric and datetime (datetime in Unix seconds, plus "min_iso"/"max_iso"):
 *          "mean", "std" (ddof 1), "min", "max",
 *          "quantiles": {"p1","p5","p25","p50","p75","p95","p99"} (numpy linear),
 *          "iqr", "outliers_iqr" (values < Q1 - 1.5 IQR or > Q3 + 1.5 IQR),
 *          "outliers_zscore" (|x - mean| / std > 3, with the ddof-1 std above),
 *          "skewness", "kurtosis" (pandas' bias-corrected skew and excess kurtosis),
 *          "zeros", "histogram": {"edges": [bins+1], "counts": [bins]} (numpy.histogram
 *          equal-width bins over [min, max] of the finite values; null without any),
 *          and for a binary target "target_auc": ROC AUC of the column alone as a score
 *          for the positive class (0.5 = useless; near 0 or 1 = near-leak);
 *        categorical, boolean, text, id: "top_values": [{"value", "count", "pct"}] (at
 *          most top_k, by count descending then value; pct of the non-missing values),
 *          text also "mean_length", "max_length" (in Unicode code points) }, ...],
 *   "class_balance": [{"class", "count", "pct"}] (classification; pct of rows with a
 *       target; label order) | null,
 *   "imbalance_ratio": majority count / minority count | null,
 *   "correlations": {"method": "pearson", "features": [numeric column names, target
 *       included when numeric], "matrix": [[r or null]] (pairwise-complete rows, as
 *       pandas DataFrame.corr(); null where undefined, e.g. a constant column),
 *       "threshold", "top_pairs": [{"a", "b", "r"}] (|r| >= threshold, by |r|
 *       descending, then column order)},
 *   "duplicates": {"rows": rows that repeat an earlier row exactly (missing equals
 *       missing), "pct"},
 *   "leakage": [{"column", "reason", "score", "detail"}] sorted by score descending:
 *       "separates_target" -- the column alone predicts the target almost perfectly:
 *          binary target, numeric/datetime column: max(AUC, 1 - AUC) >= 0.98;
 *          multiclass target, numeric/datetime column: weighted purity of up to 32
 *            equal-frequency bins of >= 20 rows each (ties never split; each bin may take
 *            one more cut where it helps most, so that a class boundary inside a bin does
 *            not hide a perfect separator; missing is a bin of its own) >= 0.99;
 *          classification target, categorical/boolean/text column with more than one
 *            category and distinct < 50% of rows: weighted purity (sum over categories,
 *            missing being one, of the majority class count / rows with a target) >= 0.99;
 *          regression target, numeric/datetime column: |pearson| >= 0.98;
 *       "present_only_for_one_class" -- classification target; the column is missing
 *          for >= 5% of the rows with a target, present for at least 10 of them, >= 99%
 *          of those belong to one class, and that class's share among the rows where the
 *          column is missing is at most half of that (so that with a very imbalanced
 *          target a column with ordinary gaps is not flagged). score: the 99% share.
 *   "notes": [strings: limits applied, checks skipped]
 * }
 * The same table and options always give the same document (byte for byte once dumped).
 */
#ifndef AIOPS_PROFILE_H
#define AIOPS_PROFILE_H

#include <jansson.h>
#include <stddef.h>

#include "data/table.h"

struct profile_options {
    size_t hist_bins;        /* histogram bins; 0: 20 (at most 1000) */
    size_t top_k;            /* top values per column; 0: 20 (at most 1000) */
    double corr_threshold;   /* top_pairs: |r| >= this; <= 0 or NaN: 0.8 */
    size_t max_corr_columns; /* the first this many numeric columns go into the
                                correlation matrix (a note says so); 0: 200 (at most 2000) */
    unsigned threads;        /* worker threads for the per-column work; 0: online CPUs, at
                                most 8 (results do not depend on it) */
};

/* Profiles t (which is not modified) with column `target` as the target (-1: none) and
 * puts the document above into *out, which the caller owns. opt may be NULL (defaults).
 * AIOPS_EINVAL when target is out of range or the table is inconsistent (a dictionary
 * code past its dictionary), AIOPS_ETOOBIG past 2^32 - 2 rows, AIOPS_ENOMEM. *out is NULL
 * on failure. */
int profile_compute(const struct table *t, long target, const struct profile_options *opt,
                    json_t **out);

#endif
