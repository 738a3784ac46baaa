/* train_svc.h -- svc-train: training jobs (worker.c), runs (runs.c), the model registry's
 * routes (registry.c, over lib/store/registry.h) and serving predictions (serve.c, over
 * lib/ml/modelcache.h). */
#ifndef AIOPS_TRAIN_SVC_H
#define AIOPS_TRAIN_SVC_H

#include <jansson.h>

#include "ml/model.h"
#include "rpc/svc.h"
#include "store/db.h"

/* runs.c */
void handle_train_start(struct svc_call *c);
void handle_train_status(struct svc_call *c);
void handle_runs_list(struct svc_call *c);
void handle_runs_get(struct svc_call *c);
void handle_runs_compare(struct svc_call *c);
void handle_runs_metrics(struct svc_call *c);
void handle_runs_tags(struct svc_call *c);
void handle_runs_cancel(struct svc_call *c);
/* POST /api/v1/automl (issue 13): an AutoML run on the training queue */
void handle_automl_start(struct svc_call *c);

/* registry.c */
/* 404 model_not_found / version_not_found / alias_not_found naming what was asked for. */
void reply_model_not_found(struct svc_call *c, const char *name);
void reply_version_not_found(struct svc_call *c, const char *name, int version);
void reply_alias_not_found(struct svc_call *c, const char *name, const char *alias);
void handle_models_list(struct svc_call *c);
void handle_models_versions(struct svc_call *c);
void handle_models_alias_set(struct svc_call *c);
void handle_models_alias_delete(struct svc_call *c);
void handle_models_promote(struct svc_call *c);
void handle_models_rollback(struct svc_call *c);
void handle_models_artifact(struct svc_call *c);

/* serve.c */
int serve_start(struct svc *s);
void serve_stop(void);
void handle_models_predict(struct svc_call *c);
void handle_v2_infer(struct svc_call *c);
void handle_v2_ready(struct svc_call *c);
void handle_v2_metadata(struct svc_call *c);
/* Drops the cached meaning of the aliases of a model (after an alias changed here). */
void serve_forget(const char *project, const char *name);

/* worker.c */
int workers_start(struct svc *s);
void workers_stop(void);

#endif
