/* callroutes.c -- seed 004's routes over the counseling pipeline (callytics.h):
 *   POST /api/v1/callytics/process-data   {session_id, data, processing_mode, callback_url?}
 *   POST /api/v1/callytics/batch-process  {"requests": [...]} (up to CALL_BATCH_MAX)
 *   GET  /api/v1/callytics/status/{id}    the session's latest processing
 *   GET  /api/v1/callytics/results/{id}   ... with pipeline_steps (?include_features=true)
 *   GET  /api/v1/predictions/{id}         its latest completed prediction
 *   POST /api/v1/predictions/batch        {"session_ids": [...]}: stored sessions predicted
 *   GET  /api/v1/predictions/history      pages of results (?limit, ?offset, ?prediction,
 *                                         ?status, ?since, ?until)
 * Realtime work runs on the request's worker; background work is a call_results row
 * (status processing) for the workers of calljobs.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/numparse.h"
#include "core/time.h"
#include "http/apierr.h"
#include "store/db.h"
#include "callytics.h"

#define CALL_BATCH_MAX 100
/* background sessions waiting at most, per project (then 429); the text for SQL */
#define CALL_QUEUED_MAX 1000
#define CALL_QUEUED_MAX_TEXT "1000"
#define CALLBACK_URL_MAX 2048

/* One process-data request, read and checked (borrowed from its JSON). */
struct process_request {
    struct call_session s;
    int background;
    const char *callback_url; /* NULL: none */
};

/* Reads a process-data request: 0, or AIOPS_EINVAL with err naming the field. */
static int read_process_request(const json_t *body, struct process_request *p,
                                struct aiops_error *err)
{
    memset(p, 0, sizeof *p);
    if (!json_is_object(body))
        return aiops_error_set(err, AIOPS_EINVAL, "requests", "a request must be an object");
    const json_t *jid = json_object_get(body, "session_id");
    if (jid != NULL && !json_is_string(jid))
        return aiops_error_set(err, AIOPS_EINVAL, "session_id", "session_id must be text");
    const json_t *data = json_object_get(body, "data");
    if (data == NULL)
        return aiops_error_set(err, AIOPS_EINVAL, "data",
                               "data (the session: consulting_content, instructions) is required");
    int rv = call_session_read(data, json_string_value(jid), &p->s, err);
    if (rv != 0)
        return rv;
    const json_t *mode = json_object_get(body, "processing_mode");
    const char *m = json_string_value(mode);
    if (mode != NULL && (m == NULL || (strcmp(m, "realtime") != 0 && strcmp(m, "background") != 0)))
        return aiops_error_set(err, AIOPS_EINVAL, "processing_mode",
                               "processing_mode must be \"realtime\" or \"background\"");
    p->background = m != NULL && strcmp(m, "background") == 0;
    const json_t *url = json_object_get(body, "callback_url");
    if (url != NULL && !json_is_null(url)) {
        const char *u = json_string_value(url);
        if (u == NULL || json_string_length(url) > CALLBACK_URL_MAX ||
            (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0))
            return aiops_error_set(err, AIOPS_EINVAL, "callback_url",
                                   "callback_url must be an http:// or https:// URL of at most "
                                   "%d bytes",
                                   CALLBACK_URL_MAX);
        p->callback_url = u;
    }
    return AIOPS_OK;
}

/* Runs a realtime request (counted in by the caller): *answer is seed 004's reply, or an error
 * object {session_id, status: "failed", error} for a batch; returns the failure or 0. */
static int process_realtime(struct svc_call *c, const struct process_request *p, const char *mode,
                            json_t **answer, struct aiops_error *err)
{
    struct call_result r;
    char id[24] = "";
    int rv = callytics_run(svc_db(c), svc_project(c), &p->s, &r, err);
    if (rv == 0)
        rv = callytics_store(svc_db(c), svc_project(c), p->s.session_id, mode, &r, p->callback_url,
                             id);
    if (rv == 0) {
        char when[32];
        time_iso8601(when, sizeof when, time_now());
        *answer =
            json_pack("{s:s, s:s, s:s, s:o, s:s, s:f, s:I}", "session_id", p->s.session_id,
                      "status", "completed", "message", "Processing completed", "prediction_result",
                      callytics_prediction_json(p->s.session_id, &r), "processing_time", when,
                      "processing_ms", r.total_ms, "result_id", (json_int_t)strtoll(id, NULL, 10));
        if (p->callback_url != NULL)
            calljobs_wake();
    }
    call_result_free(&r);
    return rv;
}

/* Queues a background request: *answer is the acceptance. */
static int process_background(struct svc_call *c, const struct process_request *p,
                              const json_t *data, json_t **answer)
{
    char *request = json_dumps(data, JSON_COMPACT);
    if (request == NULL)
        return AIOPS_ENOMEM;
    const char *v[] = {svc_project(c), p->s.session_id, request, p->callback_url};
    PGresult *r = NULL;
    int rv =
        db_execv_one(svc_db(c), &r,
                     "INSERT INTO call_results (project_id, session_id, mode, status, request, "
                     "callback_url) SELECT $1, $2, 'background', 'processing', $3::jsonb, $4 "
                     "WHERE (SELECT count(*) FROM call_results WHERE project_id = $1 AND "
                     "status = 'processing') < " CALL_QUEUED_MAX_TEXT " RETURNING id",
                     4, v);
    if (rv == 0) {
        *answer = json_pack("{s:s, s:s, s:s, s:I}", "session_id", p->s.session_id, "status",
                            "processing", "message", "Accepted for background processing",
                            "result_id", (json_int_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10));
        calljobs_wake();
    }
    PQclear(r);
    free(request);
    return rv == AIOPS_ENOTFOUND ? AIOPS_ETOOBIG : rv; /* no row: the queue is full */
}

static void reply_queue_full(struct svc_call *c)
{
    svc_reply_errorf(c, API_RATE_LIMITED, json_pack("{s:i}", "max_queued", CALL_QUEUED_MAX),
                     "%d sessions already wait for background processing; try again later",
                     CALL_QUEUED_MAX);
}

void handle_callytics_process(struct svc_call *c)
{
    json_t *body, *answer = NULL;
    if (svc_json_body(c, &body) != 0)
        return;
    struct process_request p;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv;
    if (read_process_request(body, &p, &err) != 0) {
        svc_reply_field(c, API_INVALID_REQUEST, err.field, "%s", err.message);
    } else if (p.background) {
        if ((rv = process_background(c, &p, json_object_get(body, "data"), &answer)) == 0)
            svc_reply_json(c, 202, answer);
        else if (rv == AIOPS_ETOOBIG)
            reply_queue_full(c);
        else
            svc_reply_failure(c, rv, "queueing the session");
    } else if (callytics_enter(c, 1) == 0) {
        if ((rv = process_realtime(c, &p, "realtime", &answer, &err)) == 0)
            svc_reply_json(c, 200, answer);
        else
            callytics_reply_failure(c, rv, &err, "processing the session");
        callytics_leave(1);
    }
    json_decref(body);
}

/* --- batch-process ------------------------------------------------------------------------ */

static int check_request(struct svc_call *c, const json_t *item, size_t i)
{
    struct process_request p;
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (read_process_request(item, &p, &err) == 0)
        return AIOPS_OK;
    svc_reply_field(c, API_INVALID_REQUEST, NULL, "requests[%zu].%s: %s", i, err.field,
                    err.message);
    return AIOPS_EINVAL;
}

static json_t *failed_json(const char *session_id, int rv, const struct aiops_error *err)
{
    const struct api_error_def *d = apierr_def(rv == AIOPS_ENOTFOUND ? API_MODEL_NOT_READY
                                               : rv == AIOPS_ETOOBIG ? API_RATE_LIMITED
                                                                     : apierr_from_err(rv));
    return json_pack("{s:s, s:s, s:{s:s, s:s}}", "session_id", session_id, "status", "failed",
                     "error", "code", d->code, "message",
                     err != NULL && err->message[0] ? err->message : d->message);
}

void handle_callytics_batch(struct svc_call *c)
{
    json_t *body, *requests;
    if (svc_json_body_array(c, "requests", CALL_BATCH_MAX, "process-data requests", check_request,
                            &body, &requests) != 0)
        return;
    size_t i, realtime = 0;
    const json_t *item;
    json_array_foreach(requests, i, item)
    {
        struct process_request p;
        read_process_request(item, &p, NULL);
        realtime += !p.background;
    }
    if (realtime > 0 && callytics_enter(c, realtime) != 0) {
        json_decref(body);
        return;
    }
    json_t *results = json_array();
    size_t done = 0, queued = 0, failed = 0;
    json_array_foreach(requests, i, item)
    {
        struct process_request p;
        struct aiops_error err = AIOPS_ERROR_INIT;
        json_t *answer = NULL;
        read_process_request(item, &p, NULL);
        int rv = p.background ? process_background(c, &p, json_object_get(item, "data"), &answer)
                              : process_realtime(c, &p, "batch", &answer, &err);
        if (rv != 0)
            answer = failed_json(p.s.session_id, rv, &err);
        done += rv == 0 && !p.background;
        queued += rv == 0 && p.background;
        failed += rv != 0;
        json_array_append_new(results, answer);
    }
    if (realtime > 0)
        callytics_leave(realtime);
    svc_reply_json(c, 200,
                   json_pack("{s:I, s:I, s:I, s:o}", "completed", (json_int_t)done, "queued",
                             (json_int_t)queued, "failed", (json_int_t)failed, "results", results));
    json_decref(body);
}

/* --- reading results ------------------------------------------------------------------------ */

/* The columns every result answer reads, $1 the project. */
#define RESULT_COLUMNS                                                                             \
    "id, session_id, mode, status, prediction, confidence, model_version, " DB_TS(                 \
        "created_at") ", " DB_TS("completed_at") ", error::text, callback_status, "                \
                                                 "callback_attempts, pipeline_steps::text, "       \
                                                 "features::text, probabilities::text"
enum {
    R_ID,
    R_SESSION,
    R_MODE,
    R_STATUS,
    R_PREDICTION,
    R_CONFIDENCE,
    R_VERSION,
    R_CREATED,
    R_COMPLETED,
    R_ERROR,
    R_CALLBACK,
    R_ATTEMPTS,
    R_STEPS,
    R_FEATURES,
    R_PROBS
};

static json_t *text_at(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

static json_t *json_at(const PGresult *r, int row, int col)
{
    json_t *v = PQgetisnull(r, row, col) ? NULL : json_loads(PQgetvalue(r, row, col), 0, NULL);
    return v ? v : json_null();
}

/* One result row as the status and history answers show it. */
static json_t *result_json(const PGresult *r, int row)
{
    json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:o}", "result_id",
                          (json_int_t)strtoll(PQgetvalue(r, row, R_ID), NULL, 10), "session_id",
                          text_at(r, row, R_SESSION), "mode", text_at(r, row, R_MODE), "status",
                          text_at(r, row, R_STATUS), "prediction", text_at(r, row, R_PREDICTION));
    json_object_set_new(o, "confidence",
                        PQgetisnull(r, row, R_CONFIDENCE)
                            ? json_null()
                            : json_real(strtod(PQgetvalue(r, row, R_CONFIDENCE), NULL)));
    char version[24];
    snprintf(version, sizeof version, "v%s", PQgetvalue(r, row, R_VERSION));
    json_object_set_new(o, "model_version",
                        PQgetisnull(r, row, R_VERSION) ? json_null() : json_string(version));
    json_object_set_new(o, "created_at", text_at(r, row, R_CREATED));
    json_object_set_new(o, "completed_at", text_at(r, row, R_COMPLETED));
    json_object_set_new(o, "error", json_at(r, row, R_ERROR));
    json_object_set_new(o, "callback",
                        PQgetisnull(r, row, R_CALLBACK)
                            ? json_null()
                            : json_pack("{s:s, s:i}", "status", PQgetvalue(r, row, R_CALLBACK),
                                        "attempts", atoi(PQgetvalue(r, row, R_ATTEMPTS))));
    return o;
}

/* The path's session id: 0, or AIOPS_EINVAL after a 422. */
static int path_session(struct svc_call *c, const char **id)
{
    *id = svc_param(c, 0);
    if (call_session_id_valid(*id))
        return AIOPS_OK;
    svc_reply_field(c, API_INVALID_PARAMETER, "session_id",
                    "session_id must be 1 to %d characters of A-Z a-z 0-9 - _",
                    CALL_SESSION_ID_MAX);
    return AIOPS_EINVAL;
}

/* The latest result of the path's session (completed ones only when completed): 0 with *r
 * (PQclear it), or an error after replying (404 session_not_found). */
static int latest_result(struct svc_call *c, int completed, const char **id, PGresult **r)
{
    *r = NULL;
    if (path_session(c, id) != 0)
        return AIOPS_EINVAL;
    const char *v[] = {svc_project(c), *id};
    int rv = svc_execv(c, r, "reading the session's results",
                       completed ? "SELECT " RESULT_COLUMNS " FROM call_results WHERE project_id = "
                                   "$1 AND session_id = $2 AND status = 'completed' ORDER BY id "
                                   "DESC LIMIT 1"
                                 : "SELECT " RESULT_COLUMNS " FROM call_results WHERE project_id = "
                                   "$1 AND session_id = $2 ORDER BY id DESC LIMIT 1",
                       2, v);
    if (rv == 0 && PQntuples(*r) == 0) {
        svc_reply_errorf(c, API_SESSION_NOT_FOUND, json_pack("{s:s}", "session_id", *id),
                         completed ? "session %s has no completed prediction"
                                   : "session %s was never processed",
                         *id);
        PQclear(*r);
        *r = NULL;
        rv = AIOPS_ENOTFOUND;
    }
    return rv;
}

void handle_callytics_status(struct svc_call *c)
{
    const char *id;
    PGresult *r;
    if (latest_result(c, 0, &id, &r) == 0)
        svc_reply_json(c, 200, result_json(r, 0));
    PQclear(r);
}

void handle_callytics_results(struct svc_call *c)
{
    char flag[8];
    int rv = svc_query_text(c, "include_features", flag, sizeof flag);
    if (rv == AIOPS_EINVAL)
        return;
    int include = rv == 0 && (strcmp(flag, "true") == 0 || strcmp(flag, "1") == 0);
    if (rv == 0 && !include && strcmp(flag, "false") != 0 && strcmp(flag, "0") != 0) {
        svc_reply_field(c, API_INVALID_PARAMETER, "include_features",
                        "include_features must be true or false");
        return;
    }
    const char *id;
    PGresult *r;
    if (latest_result(c, 0, &id, &r) != 0)
        return;
    json_t *o = result_json(r, 0);
    json_object_set_new(o, "pipeline_steps", json_at(r, 0, R_STEPS));
    json_object_set_new(o, "probabilities", json_at(r, 0, R_PROBS));
    if (include)
        json_object_set_new(o, "extracted_features", json_at(r, 0, R_FEATURES));
    svc_reply_json(c, 200, o);
    PQclear(r);
}

void handle_predictions_get(struct svc_call *c)
{
    const char *id;
    PGresult *r;
    if (latest_result(c, 1, &id, &r) != 0)
        return;
    json_t *o = result_json(r, 0);
    json_object_set_new(o, "processing_time", json_incref(json_object_get(o, "completed_at")));
    json_object_set_new(o, "probabilities", json_at(r, 0, R_PROBS));
    svc_reply_json(c, 200, o);
    PQclear(r);
}

/* --- POST /api/v1/predictions/batch: stored sessions predicted --------------------------- */

static int check_session_id(struct svc_call *c, const json_t *item, size_t i)
{
    if (json_is_string(item) && call_session_id_valid(json_string_value(item)))
        return AIOPS_OK;
    svc_reply_field(c, API_INVALID_REQUEST, "session_ids",
                    "session_ids[%zu] must be a session id (1 to %d of A-Z a-z 0-9 - _)", i,
                    CALL_SESSION_ID_MAX);
    return AIOPS_EINVAL;
}

/* Predicts stored session `id` (mode batch) into *answer. */
static int predict_stored(struct svc_call *c, const char *id, json_t **answer,
                          struct aiops_error *err)
{
    const char *v[] = {svc_project(c), id};
    PGresult *r = NULL;
    int rv = db_execv(svc_db(c), &r,
                      "SELECT consulting_content, instructions::text FROM call_sessions "
                      "WHERE project_id = $1 AND session_id = $2",
                      2, v);
    if (rv == 0 && PQntuples(r) == 0) {
        PQclear(r);
        *answer =
            json_pack("{s:s, s:s, s:{s:s, s:s}}", "session_id", id, "status", "failed", "error",
                      "code", "session_not_found", "message", "no stored session with this id");
        return AIOPS_OK;
    }
    json_t *session = rv == 0 ? json_pack("{s:s, s:s, s:o}", "session_id", id, "consulting_content",
                                          PQgetvalue(r, 0, 0), "instructions", json_at(r, 0, 1))
                              : NULL;
    PQclear(r);
    if (rv != 0)
        return rv;
    struct process_request p;
    memset(&p, 0, sizeof p);
    rv = call_session_read(session, NULL, &p.s, err);
    if (rv == 0)
        rv = process_realtime(c, &p, "batch", answer, err);
    json_decref(session);
    return rv;
}

void handle_predictions_batch(struct svc_call *c)
{
    json_t *body, *ids;
    if (svc_json_body_array(c, "session_ids", CALL_BATCH_MAX, "session ids", check_session_id,
                            &body, &ids) != 0)
        return;
    size_t n = json_array_size(ids), i;
    if (callytics_enter(c, n) != 0) {
        json_decref(body);
        return;
    }
    json_t *results = json_array();
    const json_t *item;
    size_t done = 0;
    int rv = 0;
    json_array_foreach(ids, i, item)
    {
        struct aiops_error err = AIOPS_ERROR_INIT;
        json_t *answer = NULL;
        const char *id = json_string_value(item);
        rv = predict_stored(c, id, &answer, &err);
        if (rv == AIOPS_ENOTFOUND) { /* no model: nothing else will do better */
            callytics_reply_failure(c, rv, &err, "predicting");
            break;
        }
        if (rv != 0)
            answer = failed_json(id, rv, &err);
        done += strcmp(json_string_value(json_object_get(answer, "status")), "completed") == 0;
        json_array_append_new(results, answer);
        rv = 0;
    }
    callytics_leave(n);
    if (rv == 0)
        svc_reply_json(c, 200,
                       json_pack("{s:I, s:I, s:O}", "completed", (json_int_t)done, "failed",
                                 (json_int_t)(n - done), "predictions", results));
    json_decref(results);
    json_decref(body);
}

/* --- GET /api/v1/predictions/history -----------------------------------------------------------
 */

/* An ISO-8601 time query parameter into out (kept as text for PostgreSQL): 0 (present or
 * not: out "" when absent), or AIOPS_EINVAL after a 422. */
static int query_time(struct svc_call *c, const char *name, char *out, size_t cap)
{
    int rv = svc_query_text(c, name, out, cap);
    if (rv == AIOPS_ENOTFOUND)
        return AIOPS_OK;
    if (rv != 0)
        return rv;
    double t;
    if (!numparse_datetime(out, strlen(out), &t)) {
        svc_reply_field(c, API_INVALID_PARAMETER, name,
                        "%s must be an ISO-8601 time, e.g. 2026-01-15T10:30:45Z", name);
        return AIOPS_EINVAL;
    }
    time_iso8601(out, cap, t);
    return AIOPS_OK;
}

/* The history's rows: $1 the project, $2 a prediction, $3 a status, $4 since, $5 until (NULL:
 * any). */
#define HISTORY_FILTER                                                                             \
    "WHERE project_id = $1 AND ($2::text IS NULL OR prediction = $2) "                             \
    "AND ($3::text IS NULL OR status = $3) AND ($4::timestamptz IS NULL OR created_at >= $4) "     \
    "AND ($5::timestamptz IS NULL OR created_at < $5)"

void handle_predictions_history(struct svc_call *c)
{
    long limit, offset;
    char prediction[256], status[16], since[40], until[40];
    if (svc_query_long(c, "limit", 50, 1, 500, &limit) != 0 ||
        svc_query_long(c, "offset", 0, 0, 1000000000L, &offset) != 0)
        return;
    int rv = svc_query_text(c, "prediction", prediction, sizeof prediction);
    if (rv == AIOPS_EINVAL ||
        (rv = svc_query_text(c, "status", status, sizeof status)) == AIOPS_EINVAL)
        return;
    if (status[0] && strcmp(status, "processing") != 0 && strcmp(status, "completed") != 0 &&
        strcmp(status, "failed") != 0) {
        svc_reply_field(c, API_INVALID_PARAMETER, "status",
                        "status must be processing, completed or failed");
        return;
    }
    if (query_time(c, "since", since, sizeof since) != 0 ||
        query_time(c, "until", until, sizeof until) != 0)
        return;
    char lim[24], off[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    snprintf(off, sizeof off, "%ld", offset);
    const char *v[] = {svc_project(c),
                       prediction[0] ? prediction : NULL,
                       status[0] ? status : NULL,
                       since[0] ? since : NULL,
                       until[0] ? until : NULL,
                       lim,
                       off};
    PGresult *r;
    if (svc_execv(c, &r, "reading the history",
                  "SELECT " RESULT_COLUMNS ", count(*) OVER () FROM call_results " HISTORY_FILTER
                  " ORDER BY id DESC LIMIT $6 OFFSET $7",
                  7, v) != 0)
        return;
    json_int_t total = PQntuples(r) > 0 ? strtoll(PQgetvalue(r, 0, R_PROBS + 1), NULL, 10) : 0;
    PGresult *n;
    /* a page past the end has no row to carry the count */
    if (PQntuples(r) == 0 && offset > 0) {
        if (svc_execv(c, &n, "counting the history",
                      "SELECT count(*) FROM call_results " HISTORY_FILTER, 5, v) != 0) {
            PQclear(r);
            return;
        }
        total = strtoll(PQgetvalue(n, 0, 0), NULL, 10);
        PQclear(n);
    }
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(list, result_json(r, i));
    svc_reply_json(c, 200,
                   json_pack("{s:o, s:I, s:i, s:i}", "predictions", list, "total", total, "limit",
                             (int)limit, "offset", (int)offset));
    PQclear(r);
}
