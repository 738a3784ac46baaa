/* Drift of the served models: the window of recent served rows and scores svc-train writes
 * to Redis (svc-train/window.c), compared with the reference saved in the model at training
 * time (lib/ml/reference.h).
 *
 *   GET  /api/v1/models/{name}/drift   per-feature tests (Evidently's choice), the scores' KL
 *   GET  /api/drift/status?model=      seed 001's fields; drift_detected when the scores' KL
 *                                      is over 0.5 (seed 001) or a feature's test says drift;
 *                                      a detection is stored in drift_events (at most one per
 *                                      model a minute) and sent to /ws/performance as a
 *                                      performance_alert
 *   GET  /api/drift/summary?days=7     the stored events of the period
 *   POST /api/drift/reset?model=       empties the model's window
 * The model defaults to the one that predicted last in the caller's project. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "ml/drift.h"
#include "ml/modelcache.h"
#include "ml/reference.h"
#include "monitor_svc.h"
#include "store/registry.h"

/* seed 001: KL over 0.5 is drift, over 1.0 severe; retrain after 5 events in 7 days or a KL
 * over 1.0 */
#define KL_THRESHOLD 0.5
#define KL_SEVERE 1.0
#define RETRAIN_EVENTS 5
#define RETRAIN_DAYS 7
#define EVENT_MIN_GAP_SECONDS 60
/* A window element is a batch of rows; refuse absurd ones rather than trust Redis. */
#define WINDOW_MAX_BATCH_ROWS 1000000u
/* Window batches fetched per Redis round trip. */
#define WINDOW_CHUNK 16

static struct {
    struct model_cache *models;
    long window;
    struct svc *svc;
} mon;

int drift_start(struct svc *s)
{
    if (env_long("DRIFT_WINDOW", 1000, 10, 1000000, &mon.window) != 0)
        return AIOPS_EINVAL;
    mon.svc = s;
    int rv = alerts_start();
    if (rv == 0)
        rv = model_cache_create(8, 1000000000ull, &mon.models);
    if (rv == 0)
        rv = health_start(s);
    return rv != 0 ? rv : policy_start(s);
}

void drift_stop(struct svc *s)
{
    (void)s;
    policy_stop();
    health_stop();
    alerts_stop();
    model_cache_free(mon.models);
    mon.models = NULL;
}

/* A model's recent served rows (x, column-major for its features) and scores. */
struct served {
    struct cached_model *cm;
    struct fmatrix x;
    double *scores;
    size_t n;
    char key[300];
};

static void served_free(struct served *w)
{
    if (w->cm != NULL)
        model_cache_put(mon.models, w->cm);
    fmatrix_free(&w->x);
    free(w->scores);
}

/* The model asked for: the path's name, else ?model=, else the one that predicted last.
 * 0, or -1 after replying. */
static int model_name(struct svc_call *c, const char *path_name, char *name, size_t cap)
{
    if (path_name != NULL && path_name[0] != '\0') {
        snprintf(name, cap, "%s", path_name);
        return 0;
    }
    int rv = svc_query(c, "model", name, cap);
    if (rv == 0)
        return 0;
    if (rv != AIOPS_ENOTFOUND) {
        svc_reply_field(c, API_INVALID_PARAMETER, "model", "model must be a model's name");
        return -1;
    }
    redisReply *r = kv_command(svc_kv(c), "GET aiops:drift:%s:latest", svc_project(c));
    if (r == NULL) {
        svc_reply_failure(c, AIOPS_EUNAVAIL, "reading the drift window");
        return -1;
    }
    int ok = r->type == REDIS_REPLY_STRING && r->len > 0 && r->len < cap;
    if (ok) {
        memcpy(name, r->str, r->len);
        name[r->len] = '\0';
    }
    freeReplyObject(r);
    if (!ok) {
        svc_reply_error(c, API_NO_SERVED_ROWS,
                        "no model has served predictions yet; name one with ?model=", NULL);
        return -1;
    }
    return 0;
}

struct cached_model *monitor_model(struct svc_call *c, const char *name, int version)
{
    struct cached_model *cm = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = model_cache_get(mon.models, svc_project(c), name, version, registry_cache_load,
                             svc_db(c), &cm, &err);
    if (rv == AIOPS_ENOTFOUND)
        svc_reply_error(c, API_VERSION_NOT_FOUND, NULL,
                        json_pack("{s:s, s:i}", "name", name, "version", version));
    else if (rv != 0)
        svc_reply_failure(c, rv, "loading the model");
    return rv == 0 ? cm : NULL;
}

void monitor_model_put(struct cached_model *cm)
{
    if (cm != NULL)
        model_cache_put(mon.models, cm);
}

int monitor_latest_model(struct svc_call *c, char *name, size_t cap)
{
    return model_name(c, NULL, name, cap);
}

/* Rows of one window element: 8 + rows * (ncols + 1) * 8 bytes, or 0 when it is damaged. */
static size_t batch_rows(const redisReply *e, size_t ncols)
{
    if (e->type != REDIS_REPLY_STRING || e->len < 8)
        return 0;
    uint32_t hdr[2];
    memcpy(hdr, e->str, 8);
    if (hdr[0] != ncols || hdr[1] == 0 || hdr[1] > WINDOW_MAX_BATCH_ROWS)
        return 0;
    if ((e->len - 8) != (size_t)hdr[1] * (ncols + 1) * sizeof(double))
        return 0;
    return hdr[1];
}

/* Loads the model and its window for the request. 0, or -1 after replying. */
static int served_load(struct svc_call *c, const char *path_name, struct served *w)
{
    memset(w, 0, sizeof *w);
    char name[136];
    if (model_name(c, path_name, name, sizeof name) != 0)
        return -1;
    if (!registry_name_valid(name)) {
        svc_reply_error(c, API_MODEL_NOT_FOUND, NULL, json_pack("{s:s}", "name", name));
        return -1;
    }
    long v;
    if (svc_query_long(c, "version", 0, 1, REGISTRY_MAX_VERSION, &v) != 0)
        return -1;
    int version = (int)v, rv = AIOPS_OK;
    if (version == 0)
        rv = model_cache_resolve(mon.models, svc_project(c), name, NULL, registry_cache_resolve,
                                 svc_db(c), &version);
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (rv == 0)
        rv = model_cache_get(mon.models, svc_project(c), name, version, registry_cache_load,
                             svc_db(c), &w->cm, &err);
    if (rv == AIOPS_ENOTFOUND) {
        svc_reply_error(c, v > 0 ? API_VERSION_NOT_FOUND : API_MODEL_NOT_FOUND, NULL,
                        json_pack("{s:s, s:i}", "name", name, "version", version));
        return -1;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "loading the model");
        return -1;
    }
    const struct model *m = w->cm->m;
    if (m->reference == NULL) {
        svc_reply_error(c, API_NO_DRIFT_REFERENCE, NULL,
                        json_pack("{s:s, s:i}", "name", name, "version", version));
        return -1;
    }
    snprintf(w->key, sizeof w->key, "aiops:drift:%.71s:%.135s:v%d", svc_project(c), name, version);
    /* Batches are read from the newest back, WINDOW_CHUNK at a time, until they hold the
     * window: a busy second's batch can be large, so the list is never fetched whole. */
    size_t ncols = m->features.n, total = 0, damaged = 0, nchunks = 0, capchunks = 0;
    redisReply **chunks = NULL;
    long fetched = 0;
    int down = 0, nomem = 0;
    while (total < (size_t)mon.window) {
        redisReply *r = kv_command(svc_kv(c), "LRANGE %s %ld %ld", w->key,
                                   -(fetched + WINDOW_CHUNK), -(fetched + 1));
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            down = 1;
            break;
        }
        if (r->elements == 0) {
            freeReplyObject(r);
            break;
        }
        if (nchunks == capchunks) {
            size_t cap = capchunks ? capchunks * 2 : 8;
            redisReply **grown = realloc(chunks, cap * sizeof *grown);
            if (grown == NULL) {
                freeReplyObject(r);
                nomem = 1;
                break;
            }
            chunks = grown;
            capchunks = cap;
        }
        chunks[nchunks++] = r;
        for (size_t i = 0; i < r->elements; i++) {
            size_t k = batch_rows(r->element[i], ncols);
            total += k;
            damaged += k == 0;
        }
        fetched += (long)r->elements;
        if (r->elements < WINDOW_CHUNK)
            break; /* reached the oldest batch */
    }
    if (damaged > 0)
        log_warn("%s: %zu damaged drift window batches skipped", w->key, damaged);
    size_t n = total < (size_t)mon.window ? total : (size_t)mon.window;
    if (!down && !nomem && n > 0 &&
        (fmatrix_alloc(n, ncols, &w->x) != 0 ||
         (w->scores = malloc(n * sizeof *w->scores)) == NULL))
        nomem = 1;
    /* the newest n rows: chunks from the newest, batches and rows from the end */
    size_t filled = 0;
    for (size_t ch = 0; ch < nchunks && !down && !nomem && filled < n; ch++) {
        const redisReply *r = chunks[ch];
        for (size_t i = r->elements; i-- > 0 && filled < n;) {
            size_t k = batch_rows(r->element[i], ncols);
            const char *rows = r->element[i]->str + 8;
            for (size_t t = k; t-- > 0 && filled < n;) {
                size_t dst = n - 1 - filled++;
                for (size_t j = 0; j <= ncols; j++) {
                    double val;
                    memcpy(&val, rows + (t * (ncols + 1) + j) * sizeof(double), sizeof val);
                    if (j < ncols)
                        w->x.x[j * n + dst] = val;
                    else
                        w->scores[dst] = val;
                }
            }
        }
    }
    for (size_t ch = 0; ch < nchunks; ch++)
        freeReplyObject(chunks[ch]);
    free(chunks);
    if (down || nomem) {
        svc_reply_failure(c, down ? AIOPS_EUNAVAIL : AIOPS_ENOMEM, "reading the drift window");
        return -1;
    }
    if (n == 0) {
        svc_reply_error(c, API_NO_SERVED_ROWS, NULL,
                        json_pack("{s:s, s:i}", "name", name, "version", version));
        return -1;
    }
    for (size_t j = 0; j < ncols; j++) {
        w->x.is_cat[j] = m->features.f[j].kind == FEAT_CATEGORICAL;
        w->x.ncat[j] = w->x.is_cat[j] ? m->features.f[j].cats.count : 0;
    }
    w->n = n;
    return 0;
}

/* Answers 200 with body (taken) once it names the window's model and size; 503
 * out_of_memory when that or an earlier member (failed) could not be set. */
static void reply_drift(struct svc_call *c, const struct served *w, json_t *body, int failed)
{
    jsonx_set_or_fail(body, "model_name", json_string(w->cm->name), &failed);
    jsonx_set_or_fail(body, "model_version", json_integer(w->cm->version), &failed);
    jsonx_set_or_fail(body, "window_size", json_integer(mon.window), &failed);
    if (failed) {
        json_decref(body);
        svc_reply_failure(c, AIOPS_ENOMEM, "computing drift");
    } else {
        svc_reply_json(c, 200, body);
    }
}

void handle_models_drift(struct svc_call *c)
{
    struct served w;
    if (served_load(c, svc_param(c, 0), &w) != 0) {
        served_free(&w);
        return;
    }
    json_t *doc = NULL;
    int rv = reference_drift(w.cm->m->reference, &w.cm->m->features, &w.x, w.scores, w.n, &doc);
    if (rv != 0)
        svc_reply_failure(c, rv, "computing drift");
    else
        reply_drift(c, &w, doc, 0);
    served_free(&w);
}

/* Count and largest KL of the model's events of the last `days` days. */
static int recent_events(struct svc_call *c, const char *name, long days, long *count,
                         double *max_kl, double *avg_kl)
{
    char d[24];
    snprintf(d, sizeof d, "%ld", days);
    const char *params[3] = {svc_project(c), name, d};
    PGresult *res = NULL;
    int rv = db_execv_one(svc_db(c), &res,
                          "SELECT count(*), max(kl_divergence), avg(kl_divergence) FROM "
                          "drift_events WHERE project_id = $1 AND ($2 = '' OR model_name = $2) "
                          "AND detected_at > now() - make_interval(days => $3::int)",
                          3, params);
    if (rv != 0)
        return rv;
    *count = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    *max_kl = PQgetisnull(res, 0, 1) ? NAN : strtod(PQgetvalue(res, 0, 1), NULL);
    *avg_kl = PQgetisnull(res, 0, 2) ? NAN : strtod(PQgetvalue(res, 0, 2), NULL);
    PQclear(res);
    return AIOPS_OK;
}

/* Stores a detection unless one of this model was stored within the last minute; *stored
 * says whether it was. */
static int record_event(struct svc_call *c, const struct served *w, double kl, const char *level,
                        double share, const json_t *drifted, int *stored)
{
    char version[16], klbuf[40], sharebuf[40], rows[24], gap[16];
    snprintf(version, sizeof version, "%d", w->cm->version);
    snprintf(klbuf, sizeof klbuf, "%.17g", kl);
    snprintf(sharebuf, sizeof sharebuf, "%.17g", share);
    snprintf(rows, sizeof rows, "%zu", w->n);
    snprintf(gap, sizeof gap, "%d", EVENT_MIN_GAP_SECONDS);
    char *feats = jsonx_to_string(drifted, NULL);
    if (feats == NULL)
        return AIOPS_ENOMEM;
    const char *params[9] = {
        svc_project(c), w->cm->name, version, isnan(kl) ? NULL : klbuf, level, sharebuf,
        feats,          rows,        gap};
    PGresult *res = NULL;
    int rv = db_execv(svc_db(c), &res,
                      "INSERT INTO drift_events (project_id, model_name, model_version, "
                      "kl_divergence, level, share_drifted, drifted_features, window_rows) "
                      "SELECT $1, $2, $3::int, $4::float8, $5, $6::float8, $7::jsonb, $8::int "
                      "WHERE NOT EXISTS (SELECT 1 FROM drift_events WHERE project_id = $1 AND "
                      "model_name = $2 AND detected_at > now() - make_interval(secs => $9::int))",
                      9, params);
    free(feats);
    if (rv == 0)
        *stored = atoi(PQcmdTuples(res)) > 0;
    PQclear(res);
    return rv;
}

void handle_drift_status(struct svc_call *c)
{
    struct served w;
    if (served_load(c, NULL, &w) != 0) {
        served_free(&w);
        return;
    }
    const struct model *m = w.cm->m;
    json_t *doc = NULL;
    int rv = reference_drift(m->reference, &m->features, &w.x, w.scores, w.n, &doc);
    if (rv != 0) {
        svc_reply_failure(c, rv, "computing drift");
        served_free(&w);
        return;
    }
    double kl = reference_score_kl(m->reference, w.scores, w.n);
    struct stats_acc {
        double sum, sq;
        size_t n;
    } acc = {0, 0, 0};
    for (size_t i = 0; i < w.n; i++)
        if (isfinite(w.scores[i])) {
            acc.sum += w.scores[i];
            acc.n++;
        }
    double mean = acc.n ? acc.sum / (double)acc.n : NAN;
    for (size_t i = 0; i < w.n; i++)
        if (isfinite(w.scores[i]))
            acc.sq += (w.scores[i] - mean) * (w.scores[i] - mean);
    double sd = acc.n ? sqrt(acc.sq / (double)acc.n) : NAN; /* np.std, as seed 001 */
    json_t *drifted = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(doc, "features"), i, f)
    {
        if (json_is_true(json_object_get(f, "drift")))
            json_array_append_new(drifted, json_pack("{s:O, s:O, s:O}", "feature",
                                                     json_object_get(f, "feature"), "method",
                                                     json_object_get(f, "method"), "statistic",
                                                     json_object_get(f, "statistic")));
    }
    double share = json_number_value(json_object_get(doc, "share_drifted"));
    int kl_drift = kl > KL_THRESHOLD;
    int detected = kl_drift || json_array_size(drifted) > 0;
    if (isfinite(kl)) /* for the aiops_model_drift_kl series (modelmetrics.c) */
        freeReplyObject(kv_command(svc_kv(c), "SET aiops:drift:%s:%s:kl %.17g EX %d",
                                   svc_project(c), w.cm->name, kl, MODEL_KL_TTL_SECONDS));
    const char *level = drift_kl_level(kl);
    int stored = 0;
    if (detected && (rv = record_event(c, &w, kl, level, share, drifted, &stored)) != 0)
        log_warn("drift event of %s not stored: %s", w.cm->name, aiops_strerror(rv));
    long count = 0;
    double max_kl = NAN, avg_kl = NAN;
    rv = recent_events(c, w.cm->name, RETRAIN_DAYS, &count, &max_kl, &avg_kl);
    if (rv != 0) {
        json_decref(doc);
        json_decref(drifted);
        svc_reply_failure(c, rv, "reading drift events");
        served_free(&w);
        return;
    }
    int retrain = count >= RETRAIN_EVENTS || max_kl > KL_SEVERE;
    if (stored) {
        /* operators see it live; a KL over 1.0 is severe (seed 001: retrain at once) */
        json_t *alert = json_pack(
            "{s:s, s:s, s:{s:s, s:i, s:o, s:f, s:O}}", "severity",
            kl > KL_SEVERE ? "critical" : "warning", "message",
            kl_drift ? "prediction drift: the scores' KL divergence is over the threshold"
                     : "data drift: feature distributions moved away from the training data",
            "metrics", "model_name", w.cm->name, "model_version", w.cm->version, "kl_divergence",
            jsonx_num(kl, 0), "share_drifted", share, "drifted_features", drifted);
        alerts_raise(svc_of(c), svc_project(c), alert);
    }
    json_t *body = json_object();
    int failed = body == NULL;
    jsonx_set_or_fail(body, "drift_detected", json_boolean(detected), &failed);
    jsonx_set_or_fail(body, "kl_divergence", jsonx_num(kl, 0), &failed);
    jsonx_set_or_fail(body, "threshold", json_real(KL_THRESHOLD), &failed);
    jsonx_set_or_fail(body, "buffer_size", json_integer((json_int_t)w.n), &failed);
    jsonx_set_or_fail(body, "buffer_mean", jsonx_num(mean, 0), &failed);
    jsonx_set_or_fail(body, "buffer_std", jsonx_num(sd, 0), &failed);
    jsonx_set_or_fail(body, "should_retrain", json_boolean(retrain), &failed);
    jsonx_set_or_fail(body, "level", json_string(level), &failed);
    jsonx_set_or_fail(body, "drifted_features", drifted, &failed);
    jsonx_set_or_fail(body, "share_drifted", json_real(share), &failed);
    jsonx_set_or_fail(body, "event_recorded", json_boolean(stored), &failed);
    json_decref(doc);
    reply_drift(c, &w, body, failed);
    served_free(&w);
}

void handle_drift_summary(struct svc_call *c)
{
    long days;
    if (svc_query_long(c, "days", 7, 1, 3650, &days) != 0)
        return;
    char name[136] = "";
    int rv = svc_query(c, "model", name, sizeof name);
    if (rv != 0 && rv != AIOPS_ENOTFOUND) {
        svc_reply_field(c, API_INVALID_PARAMETER, "model", "model must be a model's name");
        return;
    }
    long count = 0;
    double max_kl = NAN, avg_kl = NAN;
    if ((rv = recent_events(c, name, days, &count, &max_kl, &avg_kl)) != 0) {
        svc_reply_failure(c, rv, "reading drift events");
        return;
    }
    char d[24];
    snprintf(d, sizeof d, "%ld", days);
    const char *params[3] = {svc_project(c), name, d};
    PGresult *res = NULL;
    rv = svc_execv(c, &res, "reading drift events",
                   "SELECT id, model_name, model_version, to_char(detected_at AT TIME ZONE 'UTC', "
                   "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), kl_divergence, level, share_drifted, "
                   "drifted_features::text, window_rows FROM drift_events WHERE project_id = $1 "
                   "AND ($2 = '' OR model_name = $2) AND detected_at > now() - "
                   "make_interval(days => $3::int) ORDER BY detected_at DESC LIMIT 100",
                   3, params);
    if (rv != 0)
        return;
    json_t *events = json_array();
    for (int r = 0; r < PQntuples(res); r++) {
        json_t *feats = json_loads(PQgetvalue(res, r, 7), 0, NULL);
        json_array_append_new(
            events,
            json_pack("{s:I, s:s, s:i, s:s, s:o, s:s, s:f, s:o, s:i}", "id",
                      (json_int_t)strtoll(PQgetvalue(res, r, 0), NULL, 10), "model_name",
                      PQgetvalue(res, r, 1), "model_version", atoi(PQgetvalue(res, r, 2)),
                      "timestamp", PQgetvalue(res, r, 3), "kl_divergence",
                      PQgetisnull(res, r, 4) ? json_null()
                                             : jsonx_num(strtod(PQgetvalue(res, r, 4), NULL), 0),
                      "level", PQgetvalue(res, r, 5), "share_drifted",
                      strtod(PQgetvalue(res, r, 6), NULL), "drifted_features",
                      feats ? feats : json_array(), "window_rows", atoi(PQgetvalue(res, r, 8))));
    }
    PQclear(res);
    json_t *body =
        json_pack("{s:I, s:I, s:o, s:o, s:b, s:o}", "period_days", (json_int_t)days, "drift_count",
                  (json_int_t)count, "max_kl_divergence", jsonx_num(max_kl, 0), "avg_kl_divergence",
                  jsonx_num(avg_kl, 0), "should_retrain",
                  count >= RETRAIN_EVENTS || max_kl > KL_SEVERE, "events", events);
    if (body == NULL)
        svc_reply_failure(c, AIOPS_ENOMEM, "reading drift events");
    else
        svc_reply_json(c, 200, body);
}

void handle_drift_reset(struct svc_call *c)
{
    char name[136];
    if (model_name(c, NULL, name, sizeof name) != 0)
        return;
    if (!registry_name_valid(name)) {
        svc_reply_error(c, API_MODEL_NOT_FOUND, NULL, json_pack("{s:s}", "name", name));
        return;
    }
    int version;
    int rv = model_cache_resolve(mon.models, svc_project(c), name, NULL, registry_cache_resolve,
                                 svc_db(c), &version);
    if (rv == AIOPS_ENOTFOUND) {
        svc_reply_error(c, API_MODEL_NOT_FOUND, NULL, json_pack("{s:s}", "name", name));
        return;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "finding the model");
        return;
    }
    redisReply *r =
        kv_command(svc_kv(c), "DEL aiops:drift:%s:%s:v%d", svc_project(c), name, version);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        freeReplyObject(r);
        svc_reply_failure(c, AIOPS_EUNAVAIL, "resetting the drift window");
        return;
    }
    freeReplyObject(r);
    svc_reply_json(c, 200,
                   json_pack("{s:s, s:s, s:i}", "message",
                             "Drift detector buffer reset successfully", "model_name", name,
                             "model_version", version));
}
