/* explain_svc.h -- svc-explain: a run's feature importance with significance and its
 * correlation matrix (seed 000's routes), measured on the run's validation rows by
 * lib/ml/importance.h, once per run, and kept in explain_results (migration 0006) so that
 * any replica answers from PostgreSQL. */
#ifndef AIOPS_EXPLAIN_SVC_H
#define AIOPS_EXPLAIN_SVC_H

#include <jansson.h>

#include "rpc/svc.h"

/* results.c */
/* The result `kind` ("importance", "correlation_pearson", "correlation_spearman") of the
 * completed run run_id of the caller's project: cached, or measured and cached. 0 with
 * *out (the caller's), or an error after answering: 404 run_not_found, 409
 * run_not_completed with the run's status, 404 version_not_found / dataset_not_found when
 * what the run made is gone, 503 when PostgreSQL is down. */
int explain_result(struct svc_call *c, const char *run_id, const char *kind, json_t **out);

/* routes.c */
void handle_importance(struct svc_call *c);
void handle_correlation(struct svc_call *c);

#endif
