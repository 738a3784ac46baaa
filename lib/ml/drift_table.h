/* drift_table.h -- column-by-column drift between a reference table and a current table
 * (lib/ml/drift.h per column), and the JSON every drift answer shares: `aiops drift` and
 * GET /api/v1/models/{name}/drift.
 *
 * Columns are matched by name. Numbers (numeric, datetime, numeric ids) are compared as
 * numbers, categorical and boolean columns by their strings; text and string-id columns are
 * not tested (Evidently would need a domain classifier) and are listed under "skipped" with
 * the reason, as are columns whose type differs between the two tables. */
#ifndef AIOPS_DRIFT_TABLE_H
#define AIOPS_DRIFT_TABLE_H

#include <jansson.h>

#include "core/err.h"
#include "data/table.h"
#include "ml/drift.h"

/* Evidently's DataDriftPreset drift_share: the dataset drifts when at least this share of
 * its columns does. */
#define DRIFT_DATASET_SHARE 0.5

/* {"feature", "type", "method", "statistic", "p_value", "threshold", "psi", "ks",
 * "ks_p_value", "wasserstein", "jensen_shannon", "chisquare_p_value", "n_reference",
 * "n_current", "n_unique", "drift"} for one column (NaN becomes null). NULL when out of
 * memory. */
json_t *drift_result_json(const char *feature, const char *type, const struct drift_result *r);

/* Sets what every drift answer says of its columns on doc: "features" and "skipped" (taken),
 * "number_of_columns" (tested), "number_of_drifted_columns", "share_drifted",
 * "drift_share" and "dataset_drift". A failure is remembered in *failed. */
void drift_summary_set(json_t *doc, json_t *features, json_t *skipped, size_t tested,
                       size_t drifted, int *failed);

/* Compares every column of cur with the same-named column of ref, `threads` columns at a
 * time (<= 0: the online CPUs). The column named target (may be NULL) is reported apart as
 * "target" and left out of the share. *out: {"features": [...], "number_of_columns",
 * "number_of_drifted_columns", "share_drifted", "dataset_drift", "drift_share",
 * "target"?, "skipped": [{"feature", "reason"}]}; the caller owns it. A reference column
 * absent from cur is AIOPS_EINVAL with err naming it (field = the column); a reference or
 * current table without rows AIOPS_EINVAL; AIOPS_ENOMEM. */
int drift_tables(const struct table *ref, const struct table *cur, const char *target, int threads,
                 json_t **out, struct aiops_error *err);

#endif
