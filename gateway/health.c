/* health.c -- the routes the gateway answers itself: health, liveness, readiness,
 * metrics and the OpenAPI document (openapi.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/time.h"
#include "forward.h"
#include "console.h"
#include "gw.h"
#include "gwmetrics.h"
#include "openapi.h"

/* Seconds after start during which readiness waits for the event relay's first connection. */
#define RELAY_READY_GRACE 10.0

/* The checks behind /readyz and /api/health: name -> up. */
static json_t *dependency_checks(struct gw *gw, json_t **missing)
{
    json_t *checks = json_object();
    *missing = json_array();
    int db = atomic_load(&gw->db_up), redis = atomic_load(&gw->redis_up);
    json_object_set_new(checks, "postgres", json_string(db ? "up" : "down"));
    json_object_set_new(checks, "redis", json_string(redis ? "up" : "down"));
    if (!db)
        json_array_append_new(*missing, json_string("postgres"));
    if (!redis)
        json_array_append_new(*missing, json_string("redis"));
    /* events are best effort: without the relay, WebSocket clients hear nothing new, but every
     * request is still served, so it is reported and not counted as missing (a gateway that
     * left the load balancer whenever the relay restarted would take the API down with it) */
    int relay = fwd_relay_up(gw);
    json_object_set_new(checks, "event-relay", json_string(relay ? "up" : "down"));
    /* ...except just after start: a gateway that took traffic before its first connection
     * to the relay would lose the events of the first moments (a run's first epochs) for
     * its WebSocket clients. It waits up to RELAY_READY_GRACE for that connection. */
    if (relay)
        gw->relay_seen = 1;
    else if (!gw->relay_seen && time_now() - gw->started < RELAY_READY_GRACE)
        json_array_append_new(*missing, json_string("event-relay (not yet connected)"));
    for (int id = 1; id < SVC_COUNT; id++) {
        char name[32];
        snprintf(name, sizeof name, "svc-%s", svc_name((enum svc_id)id));
        int up = fwd_service_up(gw, (enum svc_id)id);
        json_object_set_new(checks, name, json_string(up ? "up" : "down"));
        if (!up)
            json_array_append_new(*missing, json_string(name));
    }
    return checks;
}

static void handle_health(struct gw_req *r)
{
    json_t *missing;
    json_t *checks = dependency_checks(r->gw, &missing);
    char ts[40];
    double now = time_now();
    time_iso8601(ts, sizeof ts, now);
    json_t *j = json_object();
    /* degraded when anything is down, the relay included (readiness leaves it out) */
    int down = json_array_size(missing) > 0;
    const char *name;
    json_t *v;
    json_object_foreach(checks, name, v) down |= strcmp(json_string_value(v), "up") != 0;
    json_object_set_new(j, "status", json_string(down ? "degraded" : "healthy"));
    json_object_set_new(j, "version", json_string(AIOPS_VERSION));
    json_object_set_new(j, "uptime_seconds", json_real(now - r->gw->started));
    json_object_set_new(j, "timestamp", json_string(ts));
    json_object_set_new(j, "checks", checks);
    json_decref(missing);
    gw_reply_json(r, 200, j);
}

static void handle_readyz(struct gw_req *r)
{
    json_t *missing;
    json_t *checks = dependency_checks(r->gw, &missing);
    if (r->gw->stopping)
        json_array_append_new(missing, json_string("gateway (shutting down)"));
    if (json_array_size(missing) == 0) {
        json_decref(missing);
        gw_reply_json(r, 200, json_pack("{s:s, s:o}", "status", "ready", "checks", checks));
        return;
    }
    struct buf msg = BUF_INIT;
    buf_puts(&msg, "not ready: missing ");
    for (size_t i = 0; i < json_array_size(missing); i++)
        buf_printf(&msg, "%s%s", i ? ", " : "", json_string_value(json_array_get(missing, i)));
    gw_reply_error(r, API_NOT_READY, msg.data,
                   json_pack("{s:o, s:o}", "missing", missing, "checks", checks));
    buf_free(&msg);
}

static void handle_metrics(struct gw_req *r)
{
    struct buf b = BUF_INIT;
    if (gw_metrics_text(r->gw, &b) != 0) {
        buf_free(&b);
        gw_reply_error(r, API_OUT_OF_MEMORY, NULL, NULL);
        return;
    }
    gw_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    buf_free(&b);
}

/* Sum of a counter family's samples in prom_render_json() output. */
static double family_total(json_t *all, const char *name)
{
    json_t *samples = json_object_get(json_object_get(all, name), "samples");
    double total = 0;
    size_t i;
    json_t *s;
    json_array_foreach(samples, i, s) total += json_number_value(json_object_get(s, "value"));
    return total;
}

static void handle_metrics_json(struct gw_req *r)
{
    json_t *all = gw_metrics_json(r->gw);
    if (all == NULL) {
        gw_reply_error(r, API_OUT_OF_MEMORY, NULL, NULL);
        return;
    }
    json_t *missing;
    json_t *checks = dependency_checks(r->gw, &missing);
    json_decref(missing);
    json_t *j = json_object();
    json_object_set_new(j, "uptime_seconds", json_real(time_now() - r->gw->started));
    json_object_set_new(j, "requests_total",
                        json_real(family_total(all, "aiops_http_requests_total")));
    json_object_set_new(j, "errors_total", json_real(family_total(all, "aiops_http_errors_total")));
    json_object_set_new(j, "requests_in_flight", json_integer(r->gw->inflight));
    json_object_set_new(j, "checks", checks);
    json_object_set_new(j, "metrics", all);
    gw_reply_json(r, 200, j);
}

static void handle_openapi(struct gw_req *r)
{
    struct gw *gw = r->gw;
    if (gw->openapi == NULL) {
        json_t *doc = openapi_document(&gw->cfg);
        gw->openapi = doc != NULL ? jsonx_to_string(doc, &gw->openapi_len) : NULL;
        json_decref(doc);
    }
    if (gw->openapi == NULL) {
        gw_reply_error(r, API_OUT_OF_MEMORY, NULL, NULL);
        return;
    }
    gw_reply(r, 200, "application/json", gw->openapi, gw->openapi_len);
}

void gw_handle_local(struct gw_req *r)
{
    const char *n = r->route->name;
    if (strcmp(n, "health") == 0)
        handle_health(r);
    else if (strcmp(n, "healthz") == 0)
        gw_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
    else if (strcmp(n, "readyz") == 0)
        handle_readyz(r);
    else if (strcmp(n, "metrics") == 0)
        handle_metrics(r);
    else if (strcmp(n, "metrics.json") == 0)
        handle_metrics_json(r);
    else if (strcmp(n, "openapi") == 0)
        handle_openapi(r);
    else if (strcmp(n, "console") == 0)
        console_serve(r);
    else
        gw_reply_error(r, API_INTERNAL_ERROR, "no local handler for this route", NULL);
}
