/* monitor_svc.h -- svc-monitor: drift of every served model against the reference it was
 * trained with (drift.c), over the window svc-train feeds into Redis (svc-train/window.c). */
#ifndef AIOPS_MONITOR_SVC_H
#define AIOPS_MONITOR_SVC_H

#include "rpc/svc.h"

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

#endif
