/* gwmetrics.h -- the gateway's Prometheus metrics (families named in deploy/, which the
 * dashboards and alert rules rely on: rename here and there together). */
#ifndef AIOPS_GWMETRICS_H
#define AIOPS_GWMETRICS_H

#include "core/buf.h"
#include "gw.h"

int gw_metrics_init(struct gw *gw);
void gw_metrics_free(struct gw *gw);
/* Counts one answered request. route may be NULL (unmatched). */
void gw_metrics_observe(struct gw *gw, const struct route *route, const char *method, int status,
                        double seconds);
/* WebSocket client count changes and dropped clients/messages. */
void gw_metrics_ws_clients(struct gw *gw, int delta);
void gw_metrics_ws_dropped(struct gw *gw, const char *reason);
/* A message from the service side whose seal failed ("event" or "reply"); any thread. */
void gw_metrics_envelope_refused(struct gw *gw, const char *what);
/* A batch envelope of `calls` calls sent to service (loop thread). */
void gw_metrics_batch(struct gw *gw, enum svc_id service, size_t calls);
/* The served models' series svc-monitor leaves in Redis (svc-monitor/modelmetrics.c), as its
 * text exposition and its JSON form (both copied; NULL: none, the series are gone), appended
 * to what GET /api/metrics and /api/metrics/json answer. Any thread (the auth thread fetches
 * them with its readiness checks). */
void gw_metrics_set_models(struct gw *gw, const char *text, size_t len, const char *json);
/* The whole exposition: the gateway's own families, then the models'. */
int gw_metrics_text(struct gw *gw, struct buf *out);
json_t *gw_metrics_json(struct gw *gw);

#endif
