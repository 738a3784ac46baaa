/* explain_svc.h -- svc-explain: a run's feature importance with significance and its
 * correlation matrix (seed 000's routes), measured on the run's validation rows by
 * lib/ml/importance.h, once per run, and kept in explain_results (migration 0006) so that
 * any replica answers from PostgreSQL. */
#ifndef AIOPS_EXPLAIN_SVC_H
#define AIOPS_EXPLAIN_SVC_H

#include <jansson.h>

#include "ml/model.h"
#include "ml/train.h"
#include "rpc/svc.h"

/* Rows explained by Kernel SHAP at most per request or per run (each costs thousands of
 * predictions); LIME rows per request; TreeSHAP rows per request. */
#define SHAP_KERNEL_ROWS 50
#define LIME_ROWS 10
#define SHAP_TREE_ROWS 10000

/* results.c */
/* The result `kind` ("importance", "correlation_pearson", "correlation_spearman") of the
 * completed run run_id of the caller's project: cached, or measured and cached. 0 with
 * *out (the caller's), or an error after answering: 404 run_not_found, 409
 * run_not_completed with the run's status, 404 version_not_found / dataset_not_found when
 * what the run made is gone, 503 when PostgreSQL is down. */
int explain_result(struct svc_call *c, const char *run_id, const char *kind, json_t **out);

/* Sets "description" of every {"feature", ...} of list from the descriptions of run_id's
 * dataset (PUT /api/v1/datasets/{id}/descriptions; null without), read at every request
 * since they can be replaced: 0, or an error after answering. */
int explain_describe(struct svc_call *c, const char *run_id, json_t *list);

/* A run's model, dataset and validation rows (every labelled row when it held none out). */
struct run_data {
    struct model *m;
    struct table t;
    struct labelled_predictions p; /* the rows, their targets */
    struct fmatrix x;              /* the rows' features */
};
/* Loads them: 0, or an error after answering (404 version_not_found, dataset_not_found, 422
 * when the dataset no longer fits the model, 503). run_data_free after success. */
int run_data_load(struct svc_call *c, const char *name, int version, const char *dataset,
                  struct run_data *rd);
void run_data_free(struct run_data *rd);

/* values.c */
/* SHAP values of rows: phi[(r * nout + k) * (nfeat + 1) + j] (bias last), the outputs
 * worth showing k0 .. k0 + kshown (a binary classifier's positive class). */
struct explain_values {
    double *phi;
    size_t nrows, nout, k0, kshown;
    const char *method; /* "tree" (exact TreeSHAP) or "kernel" */
};
/* TreeSHAP of every row of x for tree models; Kernel SHAP of the first max_kernel rows of x
 * for others, against background_rows summarised by k-means. AIOPS_ENOMEM, AIOPS_EINVAL. */
int explain_shap_rows(const struct model *m, const struct fmatrix *x,
                      const struct fmatrix *background_rows, size_t max_kernel,
                      struct explain_values *out);
void explain_values_free(struct explain_values *ev);
/* Sorts a list of objects by the number under key, largest first. */
void explain_sort_desc(json_t *list, const char *key);

/* routes.c */
svc_handler_fn handle_importance, handle_correlation, handle_run_importance, handle_shap,
    handle_lime;

/* import.c */
svc_handler_fn handle_import;

#endif
