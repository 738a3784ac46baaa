/* callytics.c -- seed 004's counseling pipeline (issue 10): a session's dialogue through four
 * steps -- preprocessing (the session read and checked, the outcome model found),
 * feature_extraction (lib/ml/callfeat.h with the shipped sentiment model), dataset_creation
 * (the features as the outcome model's row) and prediction (model `counseling-outcome`, the
 * champion) -- answered at once (realtime) or by the background workers (calljobs.c), and
 * kept in call_results (migrations/0009) for the status, results, predictions and history
 * routes.
 *
 * At most CALLYTICS_MAX_SESSIONS (default 20, seed 004's limit) sessions are processed at
 * once by the request workers; more is 429 (the gateway adds Retry-After). Without an outcome
 * model the answer is 503 model_not_ready, never a made-up class. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "ml/callfeat.h"
#include "ml/modelcache.h"
#include "ml/sentiment.h"
#include "callytics.h"

static struct {
    pthread_once_t once;
    struct sentiment_model *sm; /* NULL when the file could not be read (logged) */
    long max_sessions;
    atomic_long inflight;
} cy = {PTHREAD_ONCE_INIT, NULL, 20, 0};

static void load_sentiment(void)
{
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (sentiment_model_load(NULL, &cy.sm, &err) != 0)
        log_json(LOG_LEVEL_WARN, "no sentiment model: sentiment_analysis will be null",
                 json_pack("{s:s}", "reason", err.message[0] ? err.message : "not found"));
}

const struct sentiment_model *callytics_sentiment(void)
{
    pthread_once(&cy.once, load_sentiment);
    return cy.sm;
}

int callytics_config(void)
{
    return env_long("CALLYTICS_MAX_SESSIONS", 20, 1, 10000, &cy.max_sessions);
}

void callytics_free(void)
{
    sentiment_model_free(cy.sm);
    cy.sm = NULL;
}

int callytics_enter(struct svc_call *c, size_t n)
{
    long now = atomic_fetch_add(&cy.inflight, (long)n) + (long)n;
    if (now <= cy.max_sessions)
        return AIOPS_OK;
    atomic_fetch_sub(&cy.inflight, (long)n);
    svc_reply_errorf(c, API_RATE_LIMITED, json_pack("{s:i}", "max_sessions", (int)cy.max_sessions),
                     "at most %ld sessions are processed at once; try again shortly",
                     cy.max_sessions);
    return AIOPS_ETOOBIG;
}

void callytics_leave(size_t n)
{
    atomic_fetch_sub(&cy.inflight, (long)n);
}

/* --- the pipeline ------------------------------------------------------------------------- */

static double now_ms(void)
{
    return (double)time_mono_ns() / 1e6;
}

/* Records step `name` as completed since *t (then moves *t to now). */
static void step_done(json_t *steps, const char *name, double *t, json_t *extra)
{
    double now = now_ms(), ms = now - *t;
    char text[32];
    snprintf(text, sizeof text, "%.6fs", ms / 1e3);
    json_t *o =
        json_pack("{s:s, s:s, s:f}", "status", "completed", "duration", text, "duration_ms", ms);
    if (o != NULL && extra != NULL)
        json_object_update(o, extra);
    json_decref(extra);
    json_object_set_new(steps, name, o ? o : json_null());
    *t = now;
}

void call_result_free(struct call_result *r)
{
    json_decref(r->features);
    json_decref(r->steps);
    json_decref(r->probabilities);
    memset(r, 0, sizeof *r);
}

/* The outcome model's probabilities for one row of features into r. */
static int predict_outcome(const struct cached_model *cm, const json_t *features,
                           struct call_result *r, struct aiops_error *err)
{
    const struct model *m = cm->m;
    json_t *rows = json_array(), *errs = NULL;
    json_array_append_new(rows, call_feature_row(features));
    struct fmatrix x;
    int rv = features_matrix_json(&m->features, rows, &x, &errs);
    json_decref(rows);
    json_decref(errs);
    if (rv == AIOPS_EINVAL)
        return aiops_error_set(err, AIOPS_EINVAL, "model",
                               "model " CALLYTICS_MODEL " does not read the call features: "
                               "retrain it from the sessions");
    if (rv != 0)
        return rv;
    step_done(r->steps, "dataset_creation", &r->clock, NULL);
    size_t k = model_outputs(m);
    double *p = malloc(k * sizeof *p);
    rv = p ? model_predict(m, &x, p) : AIOPS_ENOMEM;
    fmatrix_free(&x);
    if (rv == 0) {
        size_t best = 0;
        r->probabilities = json_object();
        for (size_t j = 0; j < k; j++) {
            if (p[j] > p[best])
                best = j;
            json_object_set_new(r->probabilities, m->target.labels[j], json_real(p[j]));
        }
        snprintf(r->prediction, sizeof r->prediction, "%s", m->target.labels[best]);
        r->confidence = p[best];
        r->model_version = cm->version;
        step_done(r->steps, "prediction", &r->clock, NULL);
    }
    free(p);
    return rv;
}

int callytics_run(struct db *db, const char *project, const struct call_session *s,
                  struct call_result *r, struct aiops_error *err)
{
    memset(r, 0, sizeof *r);
    r->clock = now_ms();
    double start = r->clock;
    r->steps = json_object();
    if (r->steps == NULL)
        return AIOPS_ENOMEM;
    struct cached_model *cm = NULL;
    int rv = serve_champion(db, project, CALLYTICS_MODEL, &cm, err);
    if (rv == 0 && (cm->m->target.task != TASK_BINARY && cm->m->target.task != TASK_MULTICLASS))
        rv = aiops_error_set(err, AIOPS_EINVAL, "model",
                             "model " CALLYTICS_MODEL " is not a classifier");
    if (rv == 0) {
        step_done(r->steps, "preprocessing", &r->clock, NULL);
        rv = call_features(s->content, s->content_len, s->instructions, callytics_sentiment(),
                           &r->features, err);
    }
    if (rv == 0) {
        const char *names[64];
        step_done(r->steps, "feature_extraction", &r->clock,
                  json_pack("{s:I}", "features_count", (json_int_t)call_row_columns(names, 64)));
        rv = predict_outcome(cm, r->features, r, err);
    }
    serve_model_put(cm);
    r->total_ms = now_ms() - start;
    return rv;
}

/* --- storing and answering ------------------------------------------------------------------ */

/* What process-data's prediction_result shows of the features (seed 004's summary). */
static json_t *feature_summary(const json_t *f)
{
    const json_t *sent = json_object_get(f, "sentiment_analysis");
    const json_t *score = json_object_get(sent, "overall_sentiment");
    return json_pack("{s:O, s:O, s:O}", "sentiment_score", score ? score : json_null(),
                     "speech_count",
                     json_object_get(json_object_get(f, "basic_stats"), "speech_count"), "category",
                     json_object_get(json_object_get(f, "categories"), "mid_category"));
}

json_t *callytics_prediction_json(const char *session_id, const struct call_result *r)
{
    char version[24];
    snprintf(version, sizeof version, "v%d", r->model_version);
    return json_pack("{s:s, s:f, s:s, s:s, s:s, s:O, s:o}", "prediction", r->prediction,
                     "confidence", r->confidence, "session_id", session_id, "model_name",
                     CALLYTICS_MODEL, "model_version", version, "probabilities", r->probabilities,
                     "features", feature_summary(r->features));
}

int call_result_text(const struct call_result *r, struct call_result_text *t)
{
    snprintf(t->confidence, sizeof t->confidence, "%.17g", r->confidence);
    snprintf(t->version, sizeof t->version, "%d", r->model_version);
    snprintf(t->ms, sizeof t->ms, "%.6f", r->total_ms);
    t->probabilities = json_dumps(r->probabilities, JSON_COMPACT);
    t->features = json_dumps(r->features, JSON_COMPACT);
    t->steps = json_dumps(r->steps, JSON_COMPACT);
    if (t->probabilities && t->features && t->steps)
        return AIOPS_OK;
    call_result_text_free(t);
    return AIOPS_ENOMEM;
}

void call_result_text_free(struct call_result_text *t)
{
    free(t->probabilities);
    free(t->features);
    free(t->steps);
    t->probabilities = t->features = t->steps = NULL;
}

int callytics_store(struct db *db, const char *project, const char *session_id, const char *mode,
                    const struct call_result *r, const char *callback_url, char id[24])
{
    struct call_result_text t;
    int rv = call_result_text(r, &t);
    if (rv != 0)
        return rv;
    const char *v[] = {project,         session_id,   mode,       r->prediction,
                       t.confidence,    t.version,    t.features, t.steps,
                       t.probabilities, callback_url, t.ms};
    PGresult *res = NULL;
    rv = db_execv_one(
        db, &res,
        "INSERT INTO call_results (project_id, session_id, mode, status, "
        "prediction, confidence, model_name, model_version, features, "
        "pipeline_steps, probabilities, callback_url, callback_status, "
        "callback_next_at, processing_ms, completed_at) VALUES ($1, $2, $3, 'completed', $4, "
        "$5, '" CALLYTICS_MODEL "', $6, $7::json, $8::json, $9::json, $10, "
        "CASE WHEN $10::text IS NULL THEN NULL ELSE 'pending' END, "
        "CASE WHEN $10::text IS NULL THEN NULL ELSE now() END, $11, now()) "
        "RETURNING id",
        11, v);
    if (rv == 0)
        snprintf(id, 24, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    call_result_text_free(&t);
    return rv;
}

void callytics_reply_failure(struct svc_call *c, int rv, const struct aiops_error *err,
                             const char *what)
{
    if (rv == AIOPS_ENOTFOUND)
        svc_reply_error(c, API_MODEL_NOT_READY, NULL, json_pack("{s:s}", "model", CALLYTICS_MODEL));
    else if (rv == AIOPS_EINVAL || rv == AIOPS_EPARSE)
        svc_reply_field(c, API_INVALID_REQUEST, err->field, "%s", err->message);
    else
        svc_reply_failure(c, rv, what);
}
