/* svc-train: training (a durable job queue shared by every replica), run tracking, the model
 * registry, and predictions. Training runs on its own threads (TRAIN_WORKERS, default 1),
 * never on the threads that answer requests, so predictions and health calls are never
 * held up by it. */
#include "callytics.h"
#include "train_svc.h"

static int start(struct svc *s)
{
    int rv = callytics_config();
    if (rv == 0)
        rv = serve_start(s);
    if (rv == 0 && (rv = workers_start(s)) != 0)
        serve_stop();
    if (rv == 0 && (rv = calljobs_start(s)) != 0) {
        workers_stop();
        serve_stop();
    }
    return rv;
}

static void stop(struct svc *s)
{
    (void)s;
    calljobs_stop();
    workers_stop();
    serve_stop();
    callytics_free();
}

static const struct svc_handler handlers[] = {
    {"train.start", handle_train_start},
    {"train.status", handle_train_status},
    {"runs.list", handle_runs_list},
    {"runs.get", handle_runs_get},
    {"runs.compare", handle_runs_compare},
    {"runs.metrics", handle_runs_metrics},
    {"runs.tags", handle_runs_tags},
    {"runs.cancel", handle_runs_cancel},
    {"automl.start", handle_automl_start}, /* issue 13 */
    {"models.list", handle_models_list},
    {"models.versions", handle_models_versions},
    {"models.alias_set", handle_models_alias_set},
    {"models.alias_delete", handle_models_alias_delete},
    {"models.promote", handle_models_promote},
    {"models.rollback", handle_models_rollback},
    {"models.artifact", handle_models_artifact},
    {"models.info", handle_models_info},       /* issue 9: retraining */
    {"models.retrain", handle_models_retrain}, /* issue 9 */
    {"models.ab_create", handle_ab_create},    /* issue 9: A/B tests */
    {"models.ab_get", handle_ab_get},
    {"models.ab_list", handle_ab_list},
    {"models.ab_stop", handle_ab_stop},
    {"models.predict", handle_models_predict},
    {"v2.infer", handle_v2_infer},
    {"v2.ready", handle_v2_ready},
    {"v2.metadata", handle_v2_metadata},
    /* issue 7: segments and persona search */
    {"analysis.one", handle_analysis_one},
    {"analysis.batch", handle_analysis_batch},
    {"models.clusters_put", handle_models_clusters_put},
    {"rag.documents_add", handle_rag_documents_add},
    {"rag.documents_list", handle_rag_documents_list},
    {"rag.documents_delete", handle_rag_documents_delete},
    {"rag.query", handle_rag_query},
    /* issue 10: counseling sessions (seed 004) */
    {"callytics.process", handle_callytics_process},
    {"callytics.batch", handle_callytics_batch},
    {"callytics.status", handle_callytics_status},
    {"callytics.results", handle_callytics_results},
    {"predictions.get", handle_predictions_get},
    {"predictions.batch", handle_predictions_batch},
    {"predictions.history", handle_predictions_history},
};

SVC_MAIN(SVC_TRAIN, handlers, .start = start, .stop = stop)
