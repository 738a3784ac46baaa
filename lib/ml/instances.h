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

#include "ml/featureset.h"

/* Row errors reported at most (the rest are counted only). */
#define INSTANCES_MAX_ERRORS 20

enum instances_problem {
    INSTANCES_BAD_JSON = 1, /* not JSON, a repeated key, not an object: *details = {"line",
                               "column", "position", "reason"} */
    INSTANCES_BAD_SHAPE,    /* no rows, or "instances" neither a row nor an array:
                               *details = {"field": "instances"} */
    INSTANCES_BAD_ROWS,     /* rows that do not fit the features: *details = {"errors":
                               [{"row", "column", "reason"}, ...]} */
};

/* Reads body[0..len) into *x (features_matrix_alloc'd; the caller frees with fmatrix_free).
 * 0; AIOPS_EINVAL with *problem and *details (caller owns) when the body cannot be used;
 * AIOPS_ENOMEM. */
int instances_read(const struct feature_set *fs, const void *body, size_t len,
                   struct fmatrix *x, enum instances_problem *problem, json_t **details);

#endif
