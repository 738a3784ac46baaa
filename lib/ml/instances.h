/* instances.h -- the rows of a prediction request, read straight from its JSON text into a
 * model's feature matrix (no JSON tree: on the predict path building one cost more than the
 * prediction).
 *
 * The body is {"instances": [row, ...]}, or one row as {"instances": row} or
 * {"instance": row}; other members are ignored. A row is {"column": value, ...} read by the
 * rules of feature_value_json() (lib/ml/featureset.h); unknown columns are ignored, absent ones
 * are missing values. */
#ifndef AIOPS_INSTANCES_H
#define AIOPS_INSTANCES_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"
#include "ml/featureset.h"

/* Row errors reported at most (the rest are counted only). */
#define INSTANCES_MAX_ERRORS 20

/* Reads body[0..len) into *x (features_matrix_alloc'd; the caller frees it with
 * fmatrix_free). Returns 0, or, with *x empty:
 *   AIOPS_EPARSE  not JSON, a repeated key, not an object: err (may be NULL) has the reason
 *                 as its message, with offset, line and column;
 *   AIOPS_EINVAL  JSON that cannot be used: err->field is "instances" and err->message says
 *                 why -- no rows, "instances" neither a row nor an array, or rows that do not
 *                 fit the features; for the last, *row_errors (when row_errors is not NULL;
 *                 the caller owns it) receives [{"row", "column", "reason"}] for the first
 *                 INSTANCES_MAX_ERRORS of them (rows counted from 0);
 *   AIOPS_ENOMEM.
 * *row_errors is NULL in every other case. */
int instances_read(const struct feature_set *fs, const void *body, size_t len, struct fmatrix *x,
                   struct aiops_error *err, json_t **row_errors);

#endif
