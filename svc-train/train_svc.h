/* train_svc.h -- svc-train: training jobs (worker.c), runs (runs.c), the model registry's
 * routes (registry.c, over lib/store/registry.h) and serving predictions (serve.c, over
 * lib/ml/modelcache.h). */
#ifndef AIOPS_TRAIN_SVC_H
#define AIOPS_TRAIN_SVC_H

#include <jansson.h>
#include <stdint.h>

#include "data/table.h"
#include "ml/model.h"
#include "rpc/svc.h"
#include "store/runqueue.h"
#include "store/db.h"

/* runs.c */
svc_handler_fn handle_train_start, handle_train_status, handle_runs_list, handle_runs_get,
    handle_runs_compare, handle_runs_metrics, handle_runs_tags, handle_runs_cancel;
/* POST /api/v1/automl (issue 13): an AutoML run on the training queue */
svc_handler_fn handle_automl_start;
/* A run to put on the training queue (all borrowed). */
/* runs_queue (store/runqueue.h) for the caller's project; `what` is the failure reply's
 * context. 0; an error after replying. */
int queue_run(struct svc_call *c, const struct run_spec *spec, const char *run_id,
              const char *what);

/* registry.c */
/* what a model name must be (registry_name_valid), after the field's name */
#define MODEL_NAME_RULE "must be 1 to 128 of A-Z a-z 0-9 . _ -, not starting with ."
/* 404 model_not_found / version_not_found / alias_not_found naming what was asked for. */
void reply_model_not_found(struct svc_call *c, const char *name);
void reply_version_not_found(struct svc_call *c, const char *name, int version);
void reply_alias_not_found(struct svc_call *c, const char *name, const char *alias);
svc_handler_fn handle_models_list, handle_models_versions, handle_models_alias_set,
    handle_models_alias_delete, handle_models_promote, handle_models_rollback,
    handle_models_artifact;

/* retrain.c (issue 9): POST /api/v1/models/retrain, GET /api/v1/models/info */
svc_handler_fn handle_models_retrain, handle_models_info;
/* A retrain's challenger against the champion it challenges, on the retrain's hold-out. */
struct retrain_verdict {
    int champion_version;
    char metric[16], test[16]; /* "auc"/"accuracy"/"rmse"; "delong"/"mcnemar"/"paired_t" */
    double champion_metric, challenger_metric, p_value; /* NaN: not computed */
    double level; /* the significance level (RETRAIN_SIGNIFICANCE_LEVEL) */
    size_t rows;  /* hold-out rows both models scored */
    int promoted;
    char reason[300];
};
/* Scores challenger and the champion version v.champion_version of name on the hold-out the
 * retrain kept out of t (its validation rows) and decides; a reason for every outcome, a
 * failure to compare is a kept champion. */
void retrain_compare(struct db *db, const char *project, const char *name,
                     const struct model *challenger, const struct table *t,
                     struct retrain_verdict *v);
/* RETRAIN_SIGNIFICANCE_LEVEL, a number in (0, 0.5], else 0.05. */
double retrain_significance_level(void);
/* 1 when both models predict the same target with the same classes in the same order (the
 * class indices of their predictions then mean the same). */
int retrain_same_target(const struct model *a, const struct model *b);
/* v->promoted and v->reason from v's scores, p-value and level; better: the challenger's
 * metric is the better one; rows_what names what v->rows counts ("hold-out rows"). */
void retrain_decide(struct retrain_verdict *v, int better, const char *rows_what);
/* Stores the verdict for challenger version `version` of run_id (NULL: none, an A/B test) and, when
 * it promotes, points the champion at it (the caller's transaction; not when the champion changed
 * meanwhile). *decision (caller owns) receives it as GET /api/v1/models/info shows it. */
int retrain_record(struct db *db, const char *project, const char *name, const char *run_id,
                   int version, struct retrain_verdict *v, json_t **decision);

/* abtest.c (issue 9): live A/B tests -- a challenger version answers a share of a model's
 * predict traffic; the label feedback of each arm decides on stop */
svc_handler_fn handle_ab_create, handle_ab_get, handle_ab_list, handle_ab_stop;
/* A running test and the arm chosen for one request. */
struct ab_arm {
    int test_id; /* 0: no test runs (the other fields are unset) */
    int champion_version, challenger_version;
    double share;   /* of requests the challenger answers */
    int challenger; /* the chosen arm: 1 the challenger, 0 the champion */
    int version;    /* the chosen arm's version */
};
/* The running A/B test of a model into *arm (test_id 0: none), from a per-model cache
 * refreshed once a second (no query per request; a test started or stopped through this
 * process is seen at once). A failure to read it serves without a test (logged). */
void abtest_running(struct svc_call *c, const char *name, struct ab_arm *arm);
/* Chooses arm's arm: by key_hash (a hash of the request's routing_key, abtest_key_hash)
 * when has_key, else at random. */
void abtest_choose(struct ab_arm *arm, int has_key, uint64_t key_hash);
uint64_t abtest_key_hash(const void *key, size_t len);
/* Counts a request (and its rows) an arm answered: traffic per arm in Redis,
 * aiops:abtest:{project}:{id} {champion,challenger}_{requests,rows}, written by
 * abtest_flush (serve.c's flusher, once a second). */
void abtest_count(const char *project, const struct ab_arm *arm, size_t rows);
struct kv;
void abtest_flush(struct kv *kv);

/* serve.c */
int serve_start(struct svc *s);
void serve_stop(void);
svc_handler_fn handle_models_predict, handle_v2_infer, handle_v2_ready, handle_v2_metadata;
/* The model a request names (path_version "" or NULL: ?version=, ?alias=, else the
 * champion), or NULL after replying (404, 422); serve_model_put after use (NULL: no-op). */
struct cached_model *serve_model_get(struct svc_call *c, const char *name,
                                     const char *path_version);
void serve_model_put(struct cached_model *s);
/* The champion of model name held in *out (serve_model_put after use), without replying (for
 * work of the service's own threads too): AIOPS_ENOTFOUND when there is no such model; the
 * cache's load errors (err says why for AIOPS_ECORRUPT / AIOPS_EUNSUPPORTED). */
struct aiops_error;
int serve_champion(struct db *db, const char *project, const char *name, struct cached_model **out,
                   struct aiops_error *err);
/* Drops the cached meaning of the aliases of a model (after an alias changed here). */
void serve_forget(const char *project, const char *name);

/* window.c: the drift window's feed (DRIFT_WINDOW, default 1000) */
int window_start(void);
/* Samples rows of x (the request's matrix for m) with their predictions pred (x->nrows *
 * model_outputs(m)) for the drift window of version `version` of the model; a copy, no I/O. */
void window_add(const char *project, const char *name, int version, const struct model *m,
                const struct fmatrix *x, const double *pred);
/* Keeps what one request answered (pred: n rows x model_outputs(m)) for label feedback under
 * its request id (ids "{reqid}:{row}") with the A/B test arm that answered (test_id 0:
 * none); a copy, no I/O. */
void window_keep_predictions(const char *project, const char *reqid, const char *name, int version,
                             const struct model *m, const double *pred, size_t n,
                             const struct ab_arm *arm);
/* Writes what was sampled and kept since the last call to Redis (serve.c's flusher). */
struct kv;
void window_flush(struct kv *kv);

/* segments.c (issue 7: k-means segments and persona search) */
svc_handler_fn handle_analysis_one, handle_analysis_batch, handle_models_clusters_put,
    handle_rag_documents_add, handle_rag_documents_list, handle_rag_documents_delete,
    handle_rag_query;
/* One persona document per cluster of a newly registered clustering model m (nothing for
 * other models), inside the caller's transaction. */
int segments_add_documents(struct db *db, const char *project, const char *model_name, int version,
                           const struct model *m);
/* worker.c */
int workers_start(struct svc *s);
void workers_stop(void);

#endif
