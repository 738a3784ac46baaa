/* svc-monitor: drift of the served models against their training references, label feedback,
 * retrain policies and the project's statistics (monitor_svc.h). Its routes are declared in
 * lib/rpc/routes.c ("health" is the service runtime's, lib/rpc/svc.h). */
#include "monitor_svc.h"

static const struct svc_handler handlers[] = {
    {"models.drift", handle_models_drift},       {"drift.status", handle_drift_status},
    {"drift.summary", handle_drift_summary},     {"drift.reset", handle_drift_reset},
    {"models.feedback", handle_models_feedback}, {"models.metrics", handle_models_metrics},
    {"models.retrain_policy_get", handle_retrain_policy_get},
    {"models.retrain_policy_put", handle_retrain_policy_put},
    {"stats", handle_stats}, /* issue 10: seed 004's system statistics */
};

SVC_MAIN(SVC_MONITOR, handlers, .start = drift_start, .stop = drift_stop)
