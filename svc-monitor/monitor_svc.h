/* monitor_svc.h -- svc-monitor: drift of every served model against the reference it was
 * trained with (drift.c), over the window svc-train feeds into Redis (svc-train/window.c). */
#ifndef AIOPS_MONITOR_SVC_H
#define AIOPS_MONITOR_SVC_H

#include "rpc/svc.h"
#include "store/kv.h"

/* alerts.c: performance_alert to /ws/performance and to ALERT_WEBHOOK_URL */
int alerts_start(void);
void alerts_stop(void);
/* Sends alert ({"severity", "message", "metrics"}; taken) to the project's /ws/performance
 * subscribers and queues it for the webhook. Never blocks on the network. */
void alerts_raise(struct svc *s, const char *project, json_t *alert);

/* health.c: system_health and metrics_update on /ws/performance every
 * MONITOR_INTERVAL_SECONDS; p95 latency alerts */
int health_start(struct svc *s);
void health_stop(void);

/* modelmetrics.c: every served model's series for Prometheus, rebuilt each health tick and
 * left in Redis for the gateways' GET /api/metrics (aiops:metrics:models, text exposition, and
 * aiops:metrics:models:json, prom_render_json's form), each kept for MODEL_METRICS_TTL_TICKS
 * ticks so that a stopped svc-monitor's series disappear. Families, labels project and model:
 *   aiops_model_predictions_total, aiops_model_prediction_rows_total,
 *   aiops_model_prediction_errors_total (counters, summed over every svc-train replica),
 *   aiops_model_prediction_duration_seconds (histogram, svc-train's buckets),
 *   aiops_model_accuracy (rolling, from label feedback; only models that have some),
 *   aiops_model_drift_kl (the scores' KL at the last drift check, kept MODEL_KL_TTL_SECONDS). */
#define MODEL_METRICS_TTL_TICKS 3
#define MODEL_KL_TTL_SECONDS 86400
struct model_metrics;
struct model_sample {
    const char *project, *model;
    long long requests, rows, errors, latency_us;
    const long long *cumulative; /* per latency bound, then +Inf */
    double accuracy, kl;         /* NaN: none */
};
struct model_metrics *model_metrics_begin(const double *bounds, size_t nbounds);
void model_metrics_add(struct model_metrics *mm, const struct model_sample *s);
/* Renders, stores with a TTL of ttl_seconds and frees mm (NULL is fine; kv NULL: only
 * frees). */
void model_metrics_publish(struct model_metrics *mm, struct kv *kv, long ttl_seconds);

/* health.c: the rolling accuracy of a model's label feedback (feedback_window_read), NaN
 * without any; *labels (may be NULL) gets how many labels it is over. */
double monitor_rolling_accuracy(struct kv *kv, const char *project, const char *model,
                                size_t *labels);

/* policy.c: retraining policies and the thread that applies them (RETRAIN_CHECK_SECONDS) */
int policy_start(struct svc *s);
void policy_stop(void);
svc_handler_fn handle_retrain_policy_get, handle_retrain_policy_put;

/* drift.c */
struct cached_model;
/* Version `version` of the caller's model `name` from the service's cache (monitor_model_put
 * when done), or NULL after replying (404 version_not_found, 503). */
struct cached_model *monitor_model(struct svc_call *c, const char *name, int version);
void monitor_model_put(struct cached_model *cm);
/* ?model=NAME, else the model that predicted last: 0, or -1 after replying. */
int monitor_latest_model(struct svc_call *c, char *name, size_t cap);
int drift_start(struct svc *s);
void drift_stop(struct svc *s);
svc_handler_fn handle_models_drift, handle_drift_status, handle_drift_summary, handle_drift_reset;

/* feedback.c */
svc_handler_fn handle_models_feedback, handle_models_metrics;
/* A model's label feedback window, the one reader of aiops:feedback:{project}:{model} (its
 * entries "predicted actual classes", classes 0 for a regressor's; the newest
 * METRICS_WINDOW), oldest first, malformed entries skipped. AIOPS_OK with *w (free it with
 * feedback_window_free, also after a failure), AIOPS_EUNAVAIL when Redis is down,
 * AIOPS_ENOMEM. */
struct feedback_window {
    double *pred, *actual; /* n each: the predicted and the true class index, or values */
    unsigned *classes;     /* n: each entry's number of classes */
    size_t n;
};
int feedback_window_read(struct kv *kv, const char *project, const char *model,
                         struct feedback_window *w);
void feedback_window_free(struct feedback_window *w);

/* stats.c: GET /api/v1/stats */
svc_handler_fn handle_stats;

#endif
