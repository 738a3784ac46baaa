#include "rpc/routes.h"

#include <string.h>

#define G SVC_GATEWAY
#define I SVC_INGEST
#define T SVC_TRAIN
#define E SVC_EXPLAIN
#define R SVC_REPORT
#define M SVC_MONITOR

/* Timeouts: short calls 10 s; uploads and profiling read or write whole datasets. */
#define SHORT 10000
#define LONG 120000
#define REALTIME_SESSION 30000 /* seed 004: a realtime counseling session's limit */

const struct route routes[] = {
    /* the gateway's own */
    {"GET", "/api/health", "health", G, SCOPE_PUBLIC, BODY_NONE, SHORT, "Service status"},
    {"GET", "/healthz", "healthz", G, SCOPE_PUBLIC, BODY_NONE, SHORT, "Liveness"},
    {"GET", "/readyz", "readyz", G, SCOPE_PUBLIC, BODY_NONE, SHORT,
     "Readiness: 503 naming what is missing"},
    {"GET", "/api/metrics", "metrics", G, SCOPE_PUBLIC, BODY_NONE, SHORT, "Prometheus metrics"},
    {"GET", "/api/metrics/json", "metrics.json", G, SCOPE_PUBLIC, BODY_NONE, SHORT,
     "Metrics as JSON"},
    {"GET", "/openapi.json", "openapi", G, SCOPE_PUBLIC, BODY_NONE, SHORT,
     "This API's description"},
    {"GET", "/v2/health/live", "healthz", G, SCOPE_PUBLIC, BODY_NONE, SHORT,
     "Open Inference Protocol (V2) liveness"},
    {"GET", "/v2/health/ready", "readyz", G, SCOPE_PUBLIC, BODY_NONE, SHORT,
     "Open Inference Protocol (V2) readiness"},
    {"WS", "/ws/training/{run_id}", "ws.training", G, SCOPE_READ, BODY_NONE, SHORT,
     "Live training progress of one run"},
    {"WS", "/ws/performance", "ws.performance", G, SCOPE_READ, BODY_NONE, SHORT,
     "Live performance metrics and alerts"},
    {"WS", "/ws/datasets", "ws.datasets", G, SCOPE_READ, BODY_NONE, SHORT,
     "Datasets as they are uploaded and deleted"},

    /* issue 14: console -- the web console's static files (gateway/console.c), public: the
     * page asks for an API key itself and sends it with its API calls */
    {"GET", "/", "console", G, SCOPE_PUBLIC, BODY_NONE, SHORT, "The web console"},
    {"GET", "/console/{file}", "console", G, SCOPE_PUBLIC, BODY_NONE, SHORT,
     "A file of the web console"},
    {"GET", "/console/{dir}/{file}", "console", G, SCOPE_PUBLIC, BODY_NONE, SHORT,
     "A file of the web console (vendored libraries)"},

    /* each service's health, through the gateway (a round trip to the service) */
    {"GET", "/api/v1/ingest/health", "health", I, SCOPE_PUBLIC, BODY_NONE, SHORT,
     "svc-ingest health"},
    {"GET", "/api/v1/train/health", "health", T, SCOPE_PUBLIC, BODY_NONE, SHORT,
     "svc-train health"},
    {"GET", "/api/v1/explain/health", "health", E, SCOPE_PUBLIC, BODY_NONE, SHORT,
     "svc-explain health"},
    {"GET", "/api/v1/report/health", "health", R, SCOPE_PUBLIC, BODY_NONE, SHORT,
     "svc-report health"},
    {"GET", "/api/v1/monitor/health", "health", M, SCOPE_PUBLIC, BODY_NONE, SHORT,
     "svc-monitor health"},

    /* svc-ingest */
    {"POST", "/api/upload", "upload", I, SCOPE_WRITE, BODY_UPLOAD, LONG,
     "Upload a CSV (multipart field `file` or a text/csv body) [seed 000]"},
    {"POST", "/api/v1/datasets", "upload", I, SCOPE_WRITE, BODY_UPLOAD, LONG, "Upload a CSV"},
    {"GET", "/api/v1/datasets", "datasets.list", I, SCOPE_READ, BODY_NONE, SHORT, "List datasets"},
    {"GET", "/api/v1/datasets/{id}", "datasets.get", I, SCOPE_READ, BODY_NONE, SHORT,
     "One dataset's metadata"},
    {"GET", "/api/v1/datasets/{id}/preview", "datasets.preview", I, SCOPE_READ, BODY_NONE, SHORT,
     "First rows of a dataset"},
    {"GET", "/api/v1/datasets/{id}/profile", "datasets.profile", I, SCOPE_READ, BODY_NONE, LONG,
     "Profile (EDA) of a dataset"},
    {"DELETE", "/api/v1/datasets/{id}", "datasets.delete", I, SCOPE_WRITE, BODY_NONE, SHORT,
     "Delete a dataset"},
    {"GET", "/api/v1/datasets/{id}/descriptions", "datasets.descriptions", I, SCOPE_READ, BODY_NONE,
     SHORT, "A dataset's feature descriptions"},
    {"PUT", "/api/v1/datasets/{id}/descriptions", "datasets.descriptions_put", I, SCOPE_WRITE,
     BODY_JSON, SHORT,
     "Replace a dataset's feature descriptions (text/csv feature,description or a JSON object)"},
    {"POST", "/api/v1/data/upload", "data.upload", I, SCOPE_WRITE, BODY_JSON, SHORT,
     "Upload one JSON record or session [seed 004]"},
    {"POST", "/api/v1/data/batch-upload", "data.batch_upload", I, SCOPE_WRITE, BODY_JSON, LONG,
     "Upload JSON records in a batch [seed 004]"},
    {"GET", "/api/v1/data/{session_id}", "data.get", I, SCOPE_READ, BODY_NONE, SHORT,
     "One uploaded session [seed 004]"},
    {"DELETE", "/api/v1/data/{session_id}", "data.delete", I, SCOPE_WRITE, BODY_NONE, SHORT,
     "Delete an uploaded session [seed 004]"},

    /* svc-train: training, runs, registry, serving */
    {"POST", "/api/train", "train.start", T, SCOPE_WRITE, BODY_JSON, SHORT,
     "Start training [seed 000]"},
    {"GET", "/api/train/status/{run_id}", "train.status", T, SCOPE_READ, BODY_NONE, SHORT,
     "Training status [seed 000]"},
    {"GET", "/api/train/runs", "runs.list", T, SCOPE_READ, BODY_NONE, SHORT, "All runs [seed 000]"},
    {"GET", "/api/v1/runs", "runs.list", T, SCOPE_READ, BODY_NONE, SHORT, "List runs"},
    {"GET", "/api/v1/runs/compare", "runs.compare", T, SCOPE_READ, BODY_NONE, SHORT,
     "Compare runs side by side (?ids=a,b,...)"},
    {"GET", "/api/v1/runs/{id}", "runs.get", T, SCOPE_READ, BODY_NONE, SHORT, "One run"},
    {"GET", "/api/v1/runs/{id}/metrics", "runs.metrics", T, SCOPE_READ, BODY_NONE, SHORT,
     "A run's metric history (?key=, paginated)"},
    {"POST", "/api/v1/runs/{id}/tags", "runs.tags", T, SCOPE_WRITE, BODY_JSON, SHORT,
     "Set tags on a run"},
    {"POST", "/api/v1/runs/{id}/cancel", "runs.cancel", T, SCOPE_WRITE, BODY_JSON, SHORT,
     "Cancel a run"},
    /* issue 13: automl -- a time-budgeted search run on svc-train's queue (model "automl");
     * its trials are trial_complete events on /ws/training/{run_id}, its leaderboard is in
     * GET /api/v1/runs/{id}, cancel keeps the best so far */
    {"POST", "/api/v1/automl", "automl.start", T, SCOPE_WRITE, BODY_JSON, SHORT,
     "Start an AutoML search (file_id, target, budget_seconds, metric, models, model_name)"},
    {"GET", "/api/v1/models", "models.list", T, SCOPE_READ, BODY_NONE, SHORT, "Registered models"},
    {"GET", "/api/v1/models/{name}/versions", "models.versions", T, SCOPE_READ, BODY_NONE, SHORT,
     "Versions of a model"},
    {"GET", "/api/v1/models/{name}/versions/{version}/artifact", "models.artifact", T, SCOPE_READ,
     BODY_NONE, SHORT, "Download a version's model file (for aiops predict/eval)"},
    {"POST", "/api/v1/models/{name}/aliases", "models.alias_set", T, SCOPE_WRITE, BODY_JSON, SHORT,
     "Point an alias (champion, challenger, ...) at a version"},
    {"DELETE", "/api/v1/models/{name}/aliases/{alias}", "models.alias_delete", T, SCOPE_WRITE,
     BODY_NONE, SHORT, "Remove an alias"},
    {"POST", "/api/v1/models/{name}/promote", "models.promote", T, SCOPE_WRITE, BODY_JSON, SHORT,
     "Make a version the champion"},
    {"POST", "/api/v1/models/{name}/rollback", "models.rollback", T, SCOPE_WRITE, BODY_JSON, SHORT,
     "Make the champion's predecessor the champion again"},
    {"POST", "/api/v1/models/{name}/predict", "models.predict", T, SCOPE_PREDICT, BODY_JSON, SHORT,
     "Predict with a model (?version= or ?alias=; default the champion)"},
    {"GET", "/v2/models/{name}", "v2.metadata", T, SCOPE_PREDICT, BODY_NONE, SHORT,
     "Open Inference Protocol (V2) model metadata"},
    {"POST", "/v2/models/{name}/infer", "v2.infer", T, SCOPE_PREDICT, BODY_JSON, SHORT,
     "Open Inference Protocol (V2) inference"},
    {"POST", "/v2/models/{name}/versions/{version}/infer", "v2.infer", T, SCOPE_PREDICT, BODY_JSON,
     SHORT, "Open Inference Protocol (V2) inference with one version"},
    {"GET", "/v2/models/{name}/ready", "v2.ready", T, SCOPE_PREDICT, BODY_NONE, SHORT,
     "Open Inference Protocol (V2) model readiness"},
    /* issue 9: retraining (svc-train/retrain.c) */
    {"GET", "/api/v1/models/info", "models.info", T, SCOPE_READ, BODY_NONE, SHORT,
     "A model's champion, versions and last retrain decision (?model=NAME; default the model"
     " with the newest version) [seed 004]"},
    {"POST", "/api/v1/models/retrain", "models.retrain", T, SCOPE_WRITE, BODY_JSON, SHORT,
     "Retrain a model's champion on the newest upload of its dataset ({\"model_name\"}; 202"
     " with the run id); the challenger is promoted only if significantly better [seed 004]"},
    /* issue 9: live A/B tests (svc-train/abtest.c) */
    {"POST", "/api/v1/models/{name}/ab-tests", "models.ab_create", T, SCOPE_WRITE, BODY_JSON,
     SHORT,
     "Start an A/B test: a challenger version answers a share of the predict traffic"
     " ({\"challenger_version\", \"traffic_share\"}; 201; one running test per model)"},
    {"GET", "/api/v1/models/{name}/ab-tests", "models.ab_list", T, SCOPE_READ, BODY_NONE, SHORT,
     "Every A/B test of a model, newest first, each as GET .../ab-tests/{id} shows it"
     " (?status=running|stopped)"},
    {"GET", "/api/v1/models/{name}/ab-tests/{id}", "models.ab_get", T, SCOPE_READ, BODY_NONE,
     SHORT, "An A/B test: traffic and label-feedback metrics per arm, p-value and verdict"},
    {"POST", "/api/v1/models/{name}/ab-tests/{id}/stop", "models.ab_stop", T, SCOPE_WRITE,
     BODY_NONE, SHORT,
     "Stop an A/B test: the challenger becomes the champion only if significantly better"},
    /* issue 9: monitor -- rolling metrics from label feedback (svc-monitor, not svc-train) */
    {"GET", "/api/v1/models/metrics", "models.metrics", M, SCOPE_READ, BODY_NONE, SHORT,
     "Current model's metrics [seed 004]: rolling accuracy/precision/recall/F1 or RMSE"},
    /* issue 7: k-means segments and persona search (svc-train/segments.c) */
    {"POST", "/api/analysis", "analysis.one", T, SCOPE_PREDICT, BODY_JSON, SHORT,
     "Segment one customer profile (?model=NAME; default the latest k-means model) [seed 003]"},
    {"POST", "/api/analysis/batch", "analysis.batch", T, SCOPE_PREDICT, BODY_JSON, SHORT,
     "Segment customer profiles ({\"profiles\": [...]}) [seed 003]"},
    {"PUT", "/api/v1/models/{name}/versions/{version}/clusters/{id}", "models.clusters_put", T,
     SCOPE_WRITE, BODY_JSON, SHORT, "Name and describe one cluster of a k-means model"},
    {"POST", "/api/rag/query", "rag.query", T, SCOPE_PREDICT, BODY_JSON, SHORT,
     "Most similar persona documents (text or profile, top_k 1-50) [seed 003]"},
    {"POST", "/api/rag/documents", "rag.documents_add", T, SCOPE_WRITE, BODY_JSON, SHORT,
     "Add persona documents ({\"documents\": [...]})"},
    {"GET", "/api/rag/documents", "rag.documents_list", T, SCOPE_READ, BODY_NONE, SHORT,
     "List persona documents (?limit=, ?offset=)"},
    {"DELETE", "/api/rag/documents/{id}", "rag.documents_delete", T, SCOPE_WRITE, BODY_NONE, SHORT,
     "Delete a persona document"},
    {"POST", "/api/v1/callytics/process-data", "callytics.process", T, SCOPE_PREDICT, BODY_JSON,
     REALTIME_SESSION,
     "Classify a counseling session [seed 004]"},
    {"GET", "/api/v1/callytics/status/{id}", "callytics.status", T, SCOPE_READ, BODY_NONE, SHORT,
     "Processing status of a session [seed 004]"},
    {"POST", "/api/v1/callytics/batch-process", "callytics.batch", T, SCOPE_PREDICT, BODY_JSON,
     LONG, "Classify sessions in a batch [seed 004]"},
    {"GET", "/api/v1/callytics/results/{id}", "callytics.results", T, SCOPE_READ, BODY_NONE, SHORT,
     "Result of a session [seed 004]"},
    {"GET", "/api/v1/predictions/history", "predictions.history", T, SCOPE_READ, BODY_NONE, SHORT,
     "Prediction history [seed 004]"},
    {"POST", "/api/v1/predictions/batch", "predictions.batch", T, SCOPE_PREDICT, BODY_JSON, LONG,
     "Batch prediction [seed 004]"},
    {"GET", "/api/v1/predictions/{session_id}", "predictions.get", T, SCOPE_READ, BODY_NONE, SHORT,
     "Prediction of a session [seed 004]"},

    /* svc-explain */
    {"GET", "/api/report/feature-importance/{run_id}", "explain.importance", E, SCOPE_READ,
     BODY_NONE, LONG, "Feature importance with significance [seed 000]"},
    {"GET", "/api/report/correlation/{run_id}", "explain.correlation", E, SCOPE_READ, BODY_NONE,
     LONG, "Correlation matrix [seed 000]"},
    {"GET", "/api/v1/runs/{id}/importance", "explain.run_importance", E, SCOPE_READ, BODY_NONE,
     LONG, "A run's feature importance by method (gain, permutation, shap)"},
    {"POST", "/api/v1/explain/{model}/shap", "explain.shap", E, SCOPE_PREDICT, BODY_JSON, LONG,
     "SHAP values of given rows [seed 002]"},
    {"POST", "/api/v1/explain/{model}/lime", "explain.lime", E, SCOPE_PREDICT, BODY_JSON, LONG,
     "LIME explanations of given rows [seed 002]"},
    {"POST", "/api/v1/models/{name}/import", "explain.import", E, SCOPE_WRITE, BODY_JSON, LONG,
     "Import an XGBoost JSON model as the next version"},

    /* svc-report */
    {"GET", "/api/report/ai/{run_id}", "report.ai", R, SCOPE_READ, BODY_NONE, LONG,
     "AI report [seed 000]"},
    {"POST", "/api/report/generate-pdf/{run_id}", "report.generate_pdf", R, SCOPE_WRITE, BODY_JSON,
     LONG, "Generate the PDF report [seed 000]"},
    {"GET", "/api/report/pdf/{run_id}", "report.pdf", R, SCOPE_READ, BODY_NONE, LONG,
     "Download the PDF report [seed 000]"},
    {"GET", "/api/dashboard/si", "dashboard.si", R, SCOPE_READ, BODY_NONE, SHORT,
     "Operator dashboard [seed 000]"},
    {"GET", "/api/dashboard/client", "dashboard.client", R, SCOPE_READ, BODY_NONE, SHORT,
     "Customer dashboard [seed 000]"},
    /* svc-report: its numbers are the run's evaluation (the report's inputs) and the served
     * predictions' latency; svc-monitor keeps live rolling metrics on /ws/performance */
    {"GET", "/api/performance/{run_id}", "performance.get", R, SCOPE_READ, BODY_NONE, LONG,
     "Model performance [seed 000]"},
    {"GET", "/api/v1/models/{name}/versions/{version}/card", "models.card", R, SCOPE_READ,
     BODY_NONE, LONG, "Model card (JSON, or Markdown with Accept: text/markdown; ?slice=COLUMN)"},
    {"PUT", "/api/v1/models/{name}/card", "models.card_put", R, SCOPE_WRITE, BODY_JSON, SHORT,
     "Set a model card's intended use"},

    /* svc-monitor */
    {"GET", "/api/drift/status", "drift.status", M, SCOPE_READ, BODY_NONE, SHORT,
     "Current drift state [seed 001]"},
    {"GET", "/api/drift/summary", "drift.summary", M, SCOPE_READ, BODY_NONE, SHORT,
     "Drift over the last days [seed 001]"},
    {"POST", "/api/drift/reset", "drift.reset", M, SCOPE_WRITE, BODY_JSON, SHORT,
     "Reset the drift window [seed 001]"},
    /* issue 9: monitor -- per-feature drift of a model's served window against its reference */
    {"GET", "/api/v1/models/{name}/drift", "models.drift", M, SCOPE_READ, BODY_NONE, SHORT,
     "Per-feature data drift and prediction KL of a model's recent served rows"},
    {"POST", "/api/v1/models/{name}/feedback", "models.feedback", M, SCOPE_PREDICT, BODY_JSON,
     SHORT, "Label feedback for served predictions (by their id)"},
    {"GET", "/api/v1/models/{name}/retrain-policy", "models.retrain_policy_get", M, SCOPE_READ,
     BODY_NONE, SHORT, "A model's retraining policy and what it last did"},
    {"PUT", "/api/v1/models/{name}/retrain-policy", "models.retrain_policy_put", M, SCOPE_WRITE,
     BODY_JSON, SHORT,
     "Set a model's retraining policy (drift events, KL, accuracy, schedule, cooldown): svc-monitor"
     " then retrains it when a rule holds"},
    /* end issue 9 */
    {"GET", "/api/v1/stats", "stats", M, SCOPE_READ, BODY_NONE, SHORT, "System statistics [seed 004]"},
};

const size_t routes_count = sizeof routes / sizeof routes[0];

/* The query parameters each route's handler reads (tests/static/test_openapi_query.py checks
 * this against the services' svc_query calls), for the OpenAPI document. */
static const struct {
    const char *method, *pattern, *query;
} route_queries[] = {
#define ASSUMPTIONS "contacts:number,cost_per_contact:number,value_per_conversion:number,target_pct:number"
#define RUN_FILTERS                                                                                \
    "status:string,model_name:string,model:string,dataset_id:string,limit:integer,offset:integer"
    {"POST", "/api/upload", "filename:string,target:string,delimiter:string,quoting:string"},
    {"POST", "/api/v1/datasets", "filename:string,target:string,delimiter:string,quoting:string"},
    {"GET", "/api/v1/datasets", "limit:integer,offset:integer"},
    {"GET", "/api/v1/datasets/{id}/preview", "rows:integer"},
    {"GET", "/api/v1/datasets/{id}/profile", "target:string"},
    {"GET", "/api/train/runs", RUN_FILTERS},
    {"GET", "/api/v1/runs", RUN_FILTERS},
    {"GET", "/api/v1/runs/compare", "ids:string"},
    {"GET", "/api/v1/runs/{id}/metrics", "key:string,limit:integer,offset:integer"},
    {"GET", "/api/v1/runs/{id}/importance", "method:string"},
    {"POST", "/api/v1/models/{name}/predict", "version:integer,alias:string"},
    {"GET", "/v2/models/{name}", "version:integer,alias:string"},
    {"POST", "/v2/models/{name}/infer", "version:integer,alias:string"},
    {"GET", "/v2/models/{name}/ready", "version:integer,alias:string"},
    {"GET", "/api/v1/models/info", "model:string"},
    {"GET", "/api/v1/callytics/results/{id}", "include_features:boolean"},
#define HISTORY_FILTERS "prediction:string,status:string,since:string,until:string"
    {"GET", "/api/v1/predictions/history", "limit:integer,offset:integer," HISTORY_FILTERS},
    {"GET", "/api/v1/models/metrics", "model:string"},
    {"POST", "/api/analysis", "model:string"},
    {"POST", "/api/analysis/batch", "model:string"},
    {"POST", "/api/rag/query", "model:string"},
    {"GET", "/api/rag/documents", "limit:integer,offset:integer"},
    {"GET", "/api/report/correlation/{run_id}", "method:string"},
    {"GET", "/api/report/ai/{run_id}", "lang:string,currency:string," ASSUMPTIONS ",rewrite:boolean"},
    {"POST", "/api/report/generate-pdf/{run_id}", "lang:string,currency:string," ASSUMPTIONS},
    {"GET", "/api/report/pdf/{run_id}", "lang:string,currency:string," ASSUMPTIONS},
    {"GET", "/api/v1/models/{name}/versions/{version}/card", "lang:string,slice:string"},
    {"GET", "/api/drift/status", "model:string,version:integer"},
    {"GET", "/api/drift/summary", "days:integer,model:string"},
    {"POST", "/api/drift/reset", "model:string"},
    {"GET", "/api/v1/models/{name}/drift", "version:integer"},
    {"GET", "/api/v1/models/{name}/ab-tests", "status:string"},
#undef ASSUMPTIONS
#undef RUN_FILTERS
};

const struct route *route_of_request(const char *method, size_t mlen, const char *target,
                                     size_t tlen)
{
    char m[16];
    if (mlen >= sizeof m)
        return NULL;
    memcpy(m, method, mlen);
    m[mlen] = '\0';
    size_t plen = 0;
    while (plen < tlen && target[plen] != '?' && target[plen] != '#')
        plen++;
    int exists;
    struct route_params p;
    return route_match(m, target, plen, &p, &exists);
}

const char *route_query(const struct route *r)
{
    for (size_t i = 0; i < sizeof route_queries / sizeof route_queries[0]; i++)
        if (strcmp(route_queries[i].method, r->method) == 0 &&
            strcmp(route_queries[i].pattern, r->pattern) == 0)
            return route_queries[i].query;
    return NULL;
}

/* Matches pattern against path segment by segment; {x} takes one non-empty segment. */
static int pattern_match(const char *pat, const char *path, size_t pathlen,
                         struct route_params *params)
{
    const char *p = path, *end = path + pathlen;
    int n = 0;
    while (*pat != '\0') {
        if (*pat == '{') {
            const char *close = strchr(pat, '}');
            const char *seg = p;
            while (p < end && *p != '/')
                p++;
            if (p == seg || n >= ROUTE_MAX_PARAMS)
                return 0;
            if (params != NULL) {
                params->value[n] = seg;
                params->len[n] = (size_t)(p - seg);
            }
            n++;
            pat = close + 1;
        } else {
            if (p >= end || *p != *pat)
                return 0;
            p++;
            pat++;
        }
    }
    if (p != end)
        return 0;
    if (params != NULL)
        params->n = n;
    return 1;
}

const struct route *route_match(const char *method, const char *path, size_t pathlen,
                                struct route_params *params, int *path_exists)
{
    *path_exists = 0;
    /* A literal route wins over a pattern route for the same path (e.g. /api/v1/models/info
     * versus /api/v1/models/{name}/...): try routes without placeholders first. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < routes_count; i++) {
            const struct route *r = &routes[i];
            int has_param = strchr(r->pattern, '{') != NULL;
            if (has_param != pass)
                continue;
            if (!pattern_match(r->pattern, path, pathlen, params))
                continue;
            if (strcmp(r->method, method) == 0)
                return r;
            *path_exists = 1;
        }
    }
    return NULL;
}

const char *svc_name(enum svc_id id)
{
    static const char *const names[SVC_COUNT] = {"gateway", "ingest", "train",
                                                 "explain", "report", "monitor"};
    return (unsigned)id < SVC_COUNT ? names[id] : "unknown";
}

const char *scope_name(enum route_scope s)
{
    static const char *const names[SCOPE_COUNT] = {"public", "read", "write", "predict", "admin"};
    return (unsigned)s < SCOPE_COUNT ? names[s] : "unknown";
}
