/* Performance of a run and the two dashboards of seed 000: the operators' (runs, queue,
 * workers, prediction errors and latency) and the customers' (model quality, lift, the
 * trend of runs). Prediction counts and latencies are svc-train's, in Redis
 * (aiops:predictions:{project}:{model}, svc-train/serve.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "report/inputs.h"
#include "report_svc.h"

/* The latency histogram's bounds in seconds, as svc-train writes them (le_<bound>). */
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBOUNDS (sizeof bounds / sizeof bounds[0])

/* A model's served predictions from Redis: {"requests", "rows", "errors", "error_rate",
 * "mean_ms", "p50_ms", "p95_ms", "p99_ms"} (percentiles: the upper bound of the bucket
 * holding them), or null before any prediction. */
static json_t *served(struct svc_call *c, const char *name)
{
    char key[300];
    snprintf(key, sizeof key, "aiops:predictions:%.71s:%.135s", svc_project(c), name);
    redisReply *h = kv_command(svc_kv(c), "HMGET %s requests rows errors latency_us", key);
    double v[4] = {0, 0, 0, 0};
    for (size_t i = 0; h != NULL && h->type == REDIS_REPLY_ARRAY && i < 4 && i < h->elements; i++)
        if (h->element[i]->type == REDIS_REPLY_STRING)
            v[i] = atof(h->element[i]->str);
    freeReplyObject(h);
    if (v[0] <= 0)
        return json_null();
    double cum[NBOUNDS + 1];
    char lkey[320];
    snprintf(lkey, sizeof lkey, "%s:latency", key);
    for (size_t b = 0; b <= NBOUNDS; b++) {
        char field[32];
        if (b < NBOUNDS)
            snprintf(field, sizeof field, "le_%g", bounds[b]);
        else
            snprintf(field, sizeof field, "le_+Inf");
        redisReply *r = kv_command(svc_kv(c), "HGET %s %s", lkey, field);
        cum[b] = r != NULL && r->type == REDIS_REPLY_STRING ? atof(r->str) : 0;
        freeReplyObject(r);
    }
    json_t *o = json_pack("{s:f, s:f, s:f, s:o, s:o}", "requests", v[0], "rows", v[1], "errors",
                          v[2], "error_rate", jsonx_num(v[2] / v[0], 0), "mean_ms",
                          jsonx_num(v[3] / v[0] / 1000.0, 0));
    static const double qs[] = {0.5, 0.95, 0.99};
    static const char *const names[] = {"p50_ms", "p95_ms", "p99_ms"};
    for (size_t q = 0; q < 3; q++) {
        double want = qs[q] * cum[NBOUNDS], ms = NAN;
        for (size_t b = 0; b < NBOUNDS && isnan(ms); b++)
            if (cum[b] >= want && cum[NBOUNDS] > 0)
                ms = bounds[b] * 1000;
        json_object_set_new(o, names[q], jsonx_num(ms, 0));
    }
    return o;
}

void handle_performance(struct svc_call *c)
{
    json_t *run, *inputs;
    if (run_inputs(c, svc_param(c, 0), &run, &inputs) != 0)
        return;
    const json_t *m = json_object_get(inputs, "metrics");
    int binary = json_is_number(json_object_get(m, "f1"));
    json_t *srv = served(c, json_string_value(json_object_get(run, "model_name")));
    json_t *o = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:O, s:O, s:O, s:O, s:o}", "accuracy",
        jsonx_num(report_num(m, "accuracy", NULL), 0), "precision",
        jsonx_num(report_num(m, binary ? "precision" : "weighted_precision", NULL), 0), "recall",
        jsonx_num(report_num(m, binary ? "recall" : "weighted_recall", NULL), 0), "f1_score",
        jsonx_num(report_num(m, binary ? "f1" : "weighted_f1", NULL), 0), "response_time",
        jsonx_num(report_num(srv, "mean_ms", NULL), 0), "run_id", json_object_get(run, "run_id"),
        "model_name", json_object_get(run, "model_name"), "model_version",
        json_object_get(run, "model_version"), "evaluated_rows",
        json_object_get(json_object_get(inputs, "data"), "evaluated_rows"), "serving", srv);
    json_object_set(o, "auc", json_object_get(m, "auc") ? json_object_get(m, "auc") : json_null());
    json_object_set(o, "rmse", json_object_get(m, "rmse") ? json_object_get(m, "rmse") : json_null());
    json_decref(run);
    json_decref(inputs);
    svc_reply_json(c, 200, o);
}

/* Rows of a query as {first column: second column as a number}. */
static int count_by(struct svc_call *c, const char *sql, json_t **out)
{
    PGresult *r;
    const char *v[1] = {svc_project(c)};
    int rv = db_execv(svc_db(c), &r, sql, 1, v);
    if (rv != 0)
        return rv;
    *out = json_object();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(*out, PQgetvalue(r, i, 0), json_integer(atoll(PQgetvalue(r, i, 1))));
    PQclear(r);
    return AIOPS_OK;
}

void handle_dashboard_si(struct svc_call *c)
{
    json_t *runs = NULL, *queue = NULL, *workers = NULL;
    int rv = count_by(c, "SELECT status, count(*) FROM runs WHERE project_id = $1 GROUP BY 1", &runs);
    if (rv == 0)
        rv = count_by(c, "SELECT status, count(*) FROM jobs WHERE project_id = $1"
                         " AND status IN ('queued', 'running') GROUP BY 1", &queue);
    if (rv == 0)
        rv = count_by(c, "SELECT 'active', count(DISTINCT worker) FROM jobs WHERE project_id = $1"
                         " AND status = 'running' AND heartbeat_at > now() - interval '60 seconds'",
                      &workers);
    PGresult *r = NULL;
    const char *v[1] = {svc_project(c)};
    if (rv == 0)
        rv = db_execv(svc_db(c), &r, "SELECT name FROM models WHERE project_id = $1 ORDER BY name"
                                     " LIMIT 100", 1, v);
    if (rv != 0) {
        json_decref(runs);
        json_decref(queue);
        json_decref(workers);
        svc_reply_failure(c, rv, "reading the dashboard");
        return;
    }
    json_t *models = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(models, json_pack("{s:s, s:o}", "model", PQgetvalue(r, i, 0),
                                                "predictions", served(c, PQgetvalue(r, i, 0))));
    PQclear(r);
    svc_reply_json(c, 200, json_pack("{s:o, s:o, s:o, s:o, s:s}", "runs_by_status", runs,
                                     "queue", queue, "training_workers", workers, "models", models,
                                     "services", "/api/health lists every service's state"));
}

void handle_dashboard_client(struct svc_call *c)
{
    PGresult *r, *t;
    const char *v[1] = {svc_project(c)};
    /* each model's champion (else latest) version with its metrics */
    int rv = db_execv(svc_db(c), &r,
                      "SELECT DISTINCT ON (v.name) v.name, v.version, v.task,"
                      " coalesce(v.metrics::text, 'null') FROM model_versions v"
                      " LEFT JOIN model_aliases a ON a.project_id = v.project_id AND a.name = v.name"
                      "  AND a.alias = 'champion' WHERE v.project_id = $1"
                      " ORDER BY v.name, (a.version = v.version) DESC NULLS LAST, v.version DESC"
                      " LIMIT 100",
                      1, v);
    if (rv == 0)
        rv = db_execv(svc_db(c), &t,
                      "SELECT to_char(date_trunc('day', created_at), 'YYYY-MM-DD'), count(*),"
                      " count(*) FILTER (WHERE status = 'completed'),"
                      " avg((metrics->>'accuracy')::float8) FILTER (WHERE status = 'completed')"
                      " FROM runs WHERE project_id = $1 AND created_at > now() - interval '30 days'"
                      " GROUP BY 1 ORDER BY 1",
                      1, v);
    else
        t = NULL;
    if (rv != 0) {
        PQclear(r);
        svc_reply_failure(c, rv, "reading the dashboard");
        return;
    }
    json_t *models = json_array(), *trend = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *m = json_loads(PQgetvalue(r, i, 3), JSON_DECODE_ANY, NULL);
        const json_t *lift = json_array_get(json_object_get(m, "lift"), 0);
        json_array_append_new(
            models, json_pack("{s:s, s:i, s:s, s:o, s:o, s:o, s:o}", "model", PQgetvalue(r, i, 0),
                              "version", atoi(PQgetvalue(r, i, 1)), "task", PQgetvalue(r, i, 2),
                              "accuracy", jsonx_num(report_num(m, "accuracy", NULL), 0), "auc",
                              jsonx_num(report_num(m, "auc", NULL), 0), "r2",
                              jsonx_num(report_num(m, "r2", NULL), 0), "top_decile_lift",
                              jsonx_num(report_num(lift, "lift", NULL), 0)));
        json_decref(m);
    }
    for (int i = 0; i < PQntuples(t); i++)
        json_array_append_new(trend, json_pack("{s:s, s:i, s:i, s:o}", "day", PQgetvalue(t, i, 0),
                                               "runs", atoi(PQgetvalue(t, i, 1)), "completed",
                                               atoi(PQgetvalue(t, i, 2)), "mean_accuracy",
                                               PQgetisnull(t, i, 3)
                                                   ? json_null()
                                                   : jsonx_num(atof(PQgetvalue(t, i, 3)), 0)));
    PQclear(r);
    PQclear(t);
    svc_reply_json(c, 200, json_pack("{s:o, s:o}", "models", models, "trend", trend));
}
