/* segments.h -- what a clustering model (a learner with LEARN_CLUSTERING, e.g. kmeans) is
 * measured and described by: its metrics (inertia, silhouette, and against a known
 * grouping the adjusted Rand index and NMI), and a name and description of each cluster in
 * Korean and English from what sets it apart from all rows -- the numeric features whose
 * cluster mean lies furthest from the overall mean in standard deviations, the categories
 * over-represented the most -- with its size and centre in the data's own units. */
#ifndef AIOPS_SEGMENTS_H
#define AIOPS_SEGMENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "data/table.h"
#include "ml/model.h"

/* The silhouette is measured on at most this many rows (it costs the square of them). */
#define SEGMENTS_SILHOUETTE_SAMPLE 2000

/* The grouping in column col of t as codes (distinct values numbered from 0, missing -1):
 * *codes (caller frees) t->nrows entries, *k the distinct values. AIOPS_ENOMEM. */
int segments_truth(const struct table *t, long col, int32_t **codes, size_t *k);

/* Metrics of clustering model m on the rows of x, labels[i] its clusters: {"rows",
 * "clusters", "sizes", "inertia" (squared distances to the cluster means in the model's
 * space), "silhouette" (on a seeded sample), and with truth (n codes, -1 unknown, ktruth
 * values; may be NULL) "adjusted_rand" and "nmi"}. AIOPS_ENOMEM. */
int segments_metrics(const struct model *m, const struct fmatrix *x, const int32_t *labels,
                     const int32_t *truth, size_t ktruth, json_t **out);

/* One object per cluster: {"id", "size", "share", "name", "description" (Korean),
 * "name_en", "description_en", "centroid" {feature: mean, or the most common category}}.
 * AIOPS_ENOMEM. */
int segments_describe(const struct model *m, const struct fmatrix *x, const int32_t *labels,
                      json_t **out);

#endif
