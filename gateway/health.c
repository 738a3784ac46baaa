/* health.c -- the routes the gateway answers itself: health, liveness, readiness,
 * metrics and the OpenAPI document. */
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
#include "ml/learner.h"

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

/* Appends a route's query parameters ("name:type,...", route_query) to params. */
static void query_parameters(const char *spec, json_t *params)
{
    for (const char *p = spec; p != NULL && *p != '\0';) {
        const char *colon = strchr(p, ':'), *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        if (colon == NULL || colon > end)
            break; /* the table is ours: a malformed entry is caught by the static test */
        json_array_append_new(params, json_pack("{s:s%, s:s, s:b, s:{s:s%}}", "name", p,
                                                (size_t)(colon - p), "in", "query", "required", 0,
                                                "schema", "type", colon + 1,
                                                (size_t)(end - colon - 1)));
        p = comma ? comma + 1 : end;
    }
}

/* The errors of the API in an OpenAPI document: components.schemas.Error (the error body,
 * its code an enum of the catalogue's codes), x-error-codes (the catalogue: code, status,
 * message, lib/http/apierr.h), and every operation's default response pointing at the
 * schema. AIOPS_ENOMEM (doc is then incomplete; the caller drops it). */
static int openapi_add_errors(json_t *doc)
{
    json_t *codes = json_array(), *catalogue = apierr_catalogue_json();
    int failed = codes == NULL || catalogue == NULL;
    for (int i = 0; i < API_ERROR_COUNT && !failed; i++)
        jsonx_push_or_fail(codes, json_string(apierr_def((enum api_error)i)->code), &failed);
    json_t *schema = failed
                         ? NULL
                         : json_pack("{s:s, s:[s], s:{s:{s:s, s:[s, s, s], s:{s:{s:s, s:O},"
                                     " s:{s:s}, s:{s:s}}}}}",
                                     "type", "object", "required", "error", "properties", "error",
                                     "type", "object", "required", "code", "message", "details",
                                     "properties", "code", "type", "string", "enum", codes,
                                     "message", "type", "string", "details", "type", "object");
    json_t *components = json_object_get(doc, "components");
    json_t *schemas = json_object_get(components, "schemas");
    if (schemas == NULL && !failed) {
        schemas = json_object();
        jsonx_set_or_fail(components, "schemas", schemas, &failed);
    }
    if (!failed)
        jsonx_set_or_fail(schemas, "Error", schema, &failed);
    else
        json_decref(schema);
    json_decref(codes);
    jsonx_set_or_fail(doc, "x-error-codes", catalogue, &failed);
    const char *path, *method;
    json_t *item, *op;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        json_object_foreach(item, method, op)
        {
            if (failed)
                break;
            jsonx_set_or_fail(json_object_get(op, "responses"), "default",
                              json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
                                        "an error: code in x-error-codes", "content",
                                        "application/json", "schema", "$ref",
                                        "#/components/schemas/Error"),
                              &failed);
        }
    }
    return failed ? AIOPS_ENOMEM : AIOPS_OK;
}

/* OpenAPI 3 from the route table: one source of truth for what exists; the training
 * parameters from the learners' tables (lib/ml/learner.h). */
/* What a route with a body takes, from the route table's body kind and the gateway's
 * limits (x-max-bytes: larger bodies are answered 413). */
static json_t *request_body(const struct gw_config *cfg, enum route_body kind)
{
    if (kind == BODY_UPLOAD)
        return json_pack("{s:b, s:I, s:{s:{s:{s:s, s:{s:{s:s, s:s}}}}, s:{s:{s:s}}}}", "required",
                         1, "x-max-bytes", (json_int_t)cfg->upload_limit, "content",
                         "multipart/form-data", "schema", "type", "object", "properties", "file",
                         "type", "string", "format", "binary", "text/csv", "schema", "type",
                         "string");
    return json_pack("{s:b, s:I, s:{s:{s:{s:s}}}}", "required", 1, "x-max-bytes",
                     (json_int_t)cfg->body_limit, "content", "application/json", "schema", "type",
                     "object");
}

static void handle_openapi(struct gw_req *r)
{
    json_t *paths = json_object();
    for (size_t i = 0; i < routes_count; i++) {
        const struct route *rt = &routes[i];
        int ws = strcmp(rt->method, "WS") == 0;
        char method[16];
        snprintf(method, sizeof method, "%s", ws ? "get" : rt->method);
        for (char *p = method; *p; p++)
            *p = (char)(*p | 0x20);
        json_t *item = json_object_get(paths, rt->pattern);
        if (item == NULL) {
            item = json_object();
            json_object_set_new(paths, rt->pattern, item);
        }
        json_t *op = json_object();
        json_object_set_new(op, "summary", json_string(rt->summary));
        json_object_set_new(op, "operationId", json_string(rt->name));
        json_object_set_new(op, "tags", json_pack("[s]", svc_name(rt->service)));
        json_object_set_new(op, "x-scope", json_string(scope_name(rt->scope)));
        if (ws)
            json_object_set_new(op, "x-websocket", json_true());
        if (rt->scope != SCOPE_PUBLIC)
            json_object_set_new(op, "security", json_pack("[{s:[]},{s:[]}]", "apiKey", "bearer"));
        json_t *params = json_array();
        for (const char *p = strchr(rt->pattern, '{'); p; p = strchr(p + 1, '{')) {
            const char *e = strchr(p, '}');
            json_array_append_new(params, json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name", p + 1,
                                                    (size_t)(e - p - 1), "in", "path", "required",
                                                    1, "schema", "type", "string"));
        }
        query_parameters(route_query(rt), params);
        json_object_set_new(op, "parameters", params);
        if (strcmp(rt->name, "train.start") == 0) /* the learners' parameters */
            json_object_set_new(op, "requestBody", learner_openapi_train_body());
        else if (rt->body != BODY_NONE)
            json_object_set_new(op, "requestBody", request_body(&r->gw->cfg, rt->body));
        json_object_set_new(op, "responses",
                            json_pack("{s:{s:s}, s:{s:s}}", "200", "description", "OK", "default",
                                      "description",
                                      "{\"error\": {\"code\", \"message\", \"details\"}}"));
        json_object_set_new(item, method, op);
    }
    json_t *doc =
        json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:{s:{s:s, s:s, s:s}, s:{s:s, s:s}}}}", "openapi",
                  "3.0.3", "info", "title", "AIOps suite", "version", AIOPS_VERSION, "paths", paths,
                  "components", "securitySchemes", "apiKey", "type", "apiKey", "in", "header",
                  "name", "X-API-Key", "bearer", "type", "http", "scheme", "bearer");
    json_object_set_new(json_object_get(doc, "components"), "schemas", learner_openapi_schemas());
    if (doc == NULL || openapi_add_errors(doc) != 0) {
        json_decref(doc);
        gw_reply_error(r, API_OUT_OF_MEMORY, NULL, NULL);
        return;
    }
    gw_reply_json(r, 200, doc);
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
