/* calljobs.c -- the counseling pipeline's background workers: CALLYTICS_WORKERS threads
 * (default 2) take, from call_results,
 *   - queued sessions (status processing): one worker claims a row (a 60-second lease, so a
 *     worker that died leaves it to another), runs the pipeline and stores the outcome; a
 *     session still waiting 10 minutes after it was queued (seed 004's background limit)
 *     fails with deadline_exceeded;
 *   - due callbacks (callback_status pending): the result is POSTed as JSON to callback_url
 *     through the checked outbound client (lib/http/outbound.h: http/https only; loopback,
 *     private and link-local targets refused unless CALLBACK_ALLOW_PRIVATE=1 or
 *     OUTBOUND_ALLOW_NETS allows them; CALLBACK_TIMEOUT_MS, default 5000); a 2xx answer
 *     delivers it; otherwise it is retried after CALLBACK_BACKOFF_MS (default 1000) doubling
 *     each time, CALLBACK_ATTEMPTS (default 5) times in all. Every attempt is a row of
 *     call_callbacks.
 * Both queues live in PostgreSQL, so a restart loses nothing and replicas share the work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "http/apierr.h"
#include "http/outbound.h"
#include "rpc/bgthread.h"
#include "callytics.h"

#define WORKERS_MAX 8

static struct {
    struct svc *svc;
    struct bg_thread threads[WORKERS_MAX];
    long workers, attempts, backoff_ms;
    struct outbound_policy policy;
} cj;

void calljobs_wake(void)
{
    for (long i = 0; i < cj.workers; i++) {
        struct bg_thread *t = &cj.threads[i];
        if (!t->started)
            continue;
        pthread_mutex_lock(&t->mu);
        pthread_cond_signal(&t->cv);
        pthread_mutex_unlock(&t->mu);
    }
}

/* --- queued sessions ------------------------------------------------------------------------ */

/* Stores how a queued session ended (r: completed; otherwise failed with rv and err). */
static int finish_session(struct db *db, const char *id, int rv, const struct call_result *r,
                          const struct aiops_error *err)
{
    if (rv == 0) {
        struct call_result_text t;
        if (call_result_text(r, &t) != 0)
            return AIOPS_ENOMEM;
        const char *v[] = {id,         r->prediction, t.confidence,    t.version,
                           t.features, t.steps,       t.probabilities, t.ms};
        int st = db_execv(db, NULL,
                          "UPDATE call_results SET status = 'completed', prediction = $2, "
                          "confidence = $3, model_name = '" CALLYTICS_MODEL "', "
                          "model_version = $4, features = $5::json, pipeline_steps = $6::json, "
                          "probabilities = $7::json, processing_ms = $8, request = NULL, "
                          "completed_at = now(), callback_status = CASE WHEN callback_url "
                          "IS NULL THEN NULL ELSE 'pending' END, callback_next_at = now() "
                          "WHERE id = $1",
                          8, v);
        call_result_text_free(&t);
        return st;
    }
    const struct api_error_def *d =
        apierr_def(rv == AIOPS_ENOTFOUND ? API_MODEL_NOT_READY : apierr_from_err(rv));
    json_t *e = json_pack("{s:s, s:s}", "code", d->code, "message",
                          err->message[0] ? err->message : d->message);
    char *etext = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    char *steps = r->steps ? json_dumps(r->steps, JSON_COMPACT) : NULL;
    const char *v[] = {id, etext, steps};
    int st = etext ? db_execv(db, NULL,
                              "UPDATE call_results SET status = 'failed', error = $2::jsonb, "
                              "pipeline_steps = $3::json, request = NULL, completed_at = now(), "
                              "callback_status = CASE WHEN callback_url IS NULL THEN NULL ELSE "
                              "'pending' END, callback_next_at = now() WHERE id = $1",
                              3, v)
                   : AIOPS_ENOMEM;
    free(etext);
    free(steps);
    return st;
}

/* Claims and processes one queued session: 1 when there was one, 0 when none, <0 on a
 * database error. */
static int process_one(struct db *db)
{
    PGresult *r = NULL;
    int rv = db_execv(db, &r,
                      "UPDATE call_results SET claimed_at = now() WHERE id = (SELECT id FROM "
                      "call_results WHERE status = 'processing' AND (claimed_at IS NULL OR "
                      "claimed_at < now() - interval '60 seconds') ORDER BY id FOR UPDATE SKIP "
                      "LOCKED LIMIT 1) RETURNING id, project_id, request::text, "
                      "(created_at < now() - interval '10 minutes')::int",
                      0, NULL);
    if (rv != 0 || PQntuples(r) == 0) {
        PQclear(r);
        return rv != 0 ? -1 : 0;
    }
    const char *id = PQgetvalue(r, 0, 0), *project = PQgetvalue(r, 0, 1);
    struct aiops_error err = AIOPS_ERROR_INIT;
    struct call_result res;
    memset(&res, 0, sizeof res);
    json_t *session = json_loads(PQgetvalue(r, 0, 2), 0, NULL);
    struct call_session s;
    if (atoi(PQgetvalue(r, 0, 3)))
        rv = aiops_error_set(&err, AIOPS_ETIMEDOUT, NULL,
                             "the session waited over 10 minutes for a background worker");
    else if ((rv = call_session_read(session, NULL, &s, &err)) == 0)
        rv = callytics_run(db, project, &s, &res, &err);
    if (finish_session(db, id, rv, &res, &err) != 0)
        log_json(LOG_LEVEL_WARN, "a background session's outcome was not stored",
                 json_pack("{s:s}", "result_id", id));
    call_result_free(&res);
    json_decref(session);
    PQclear(r);
    return 1;
}

/* --- callbacks ------------------------------------------------------------------------------- */

/* The body POSTed to a callback: what process-data would have answered. */
static json_t *callback_body(const PGresult *r)
{
    const char *session = PQgetvalue(r, 0, 1);
    if (strcmp(PQgetvalue(r, 0, 4), "completed") != 0)
        return json_pack("{s:s, s:s, s:s, s:o, s:s}", "session_id", session, "status", "failed",
                         "message", "Processing failed", "error",
                         json_loads(PQgetvalue(r, 0, 9), 0, NULL), "processing_time",
                         PQgetvalue(r, 0, 10));
    struct call_result res;
    memset(&res, 0, sizeof res);
    snprintf(res.prediction, sizeof res.prediction, "%s", PQgetvalue(r, 0, 5));
    res.confidence = strtod(PQgetvalue(r, 0, 6), NULL);
    res.model_version = atoi(PQgetvalue(r, 0, 7));
    res.probabilities = json_loads(PQgetvalue(r, 0, 11), 0, NULL);
    res.features = json_loads(PQgetvalue(r, 0, 8), 0, NULL);
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:o, s:s, s:I}", "session_id", session, "status", "completed",
                  "message", "Processing completed", "prediction_result",
                  callytics_prediction_json(session, &res), "processing_time", PQgetvalue(r, 0, 10),
                  "result_id", (json_int_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10));
    call_result_free(&res);
    return body;
}

/* Records attempt `attempt` of callback `id` and what follows from it. */
static void record_attempt(struct db *db, const char *id, int attempt, long status,
                           const char *error, int delivered)
{
    char n[16], code[24], delay[48];
    snprintf(n, sizeof n, "%d", attempt);
    snprintf(code, sizeof code, "%ld", status);
    long backoff = cj.backoff_ms;
    for (int i = 1; i < attempt && backoff < 60000; i++)
        backoff *= 2;
    snprintf(delay, sizeof delay, "%ld milliseconds", backoff < 60000 ? backoff : 60000);
    const char *next = delivered ? "delivered" : attempt >= cj.attempts ? "failed" : "pending";
    const char *v[] = {id, n, status > 0 ? code : NULL, error, delivered ? "t" : "f"};
    int rv = db_begin(db);
    if (rv == 0)
        rv = db_execv(db, NULL,
                      "INSERT INTO call_callbacks (result_id, attempt, status_code, error, "
                      "delivered) VALUES ($1, $2, $3, $4, $5)",
                      5, v);
    const char *u[] = {id, n, next, delay};
    if (rv == 0)
        rv = db_execv(db, NULL,
                      "UPDATE call_results SET callback_attempts = $2, callback_status = $3, "
                      "callback_next_at = CASE WHEN $3 = 'pending' THEN now() + $4::interval "
                      "END WHERE id = $1",
                      4, u);
    if (db_finish(db, rv) != 0)
        log_json(LOG_LEVEL_WARN, "a callback attempt was not recorded",
                 json_pack("{s:s, s:i}", "result_id", id, "attempt", attempt));
}

/* Delivers one due callback: 1 when there was one, 0 when none, <0 on a database error. */
static int deliver_one(struct db *db)
{
    PGresult *r = NULL;
    /* the lease: a worker that dies mid-delivery leaves it due again a minute later */
    int rv = db_execv(db, &r,
                      "UPDATE call_results SET callback_next_at = now() + interval '60 seconds' "
                      "WHERE id = (SELECT id FROM call_results WHERE callback_status = 'pending' "
                      "AND callback_next_at <= now() ORDER BY callback_next_at FOR UPDATE SKIP "
                      "LOCKED LIMIT 1) RETURNING id, session_id, callback_url, callback_attempts, "
                      "status, prediction, confidence, model_version, features::text, "
                      "error::text, " DB_TS("completed_at") ", probabilities::text",
                      0, NULL);
    if (rv != 0 || PQntuples(r) == 0) {
        PQclear(r);
        return rv != 0 ? -1 : 0;
    }
    json_t *body = callback_body(r);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    struct outbound_response resp = {0, BUF_INIT};
    struct aiops_error err = AIOPS_ERROR_INIT;
    static const char *const headers[] = {"User-Agent: aiops-callytics", NULL};
    rv = text ? outbound_post(&cj.policy, PQgetvalue(r, 0, 2), headers, "application/json", text,
                              strlen(text), &resp, &err)
              : AIOPS_ENOMEM;
    int delivered = rv == 0 && resp.status >= 200 && resp.status < 300;
    char why[300];
    if (rv != 0)
        snprintf(why, sizeof why, "%s", err.message[0] ? err.message : aiops_strerror(rv));
    else
        snprintf(why, sizeof why, "the receiver answered %ld", resp.status);
    record_attempt(db, PQgetvalue(r, 0, 0), atoi(PQgetvalue(r, 0, 3)) + 1,
                   rv == 0 ? resp.status : 0, delivered ? NULL : why, delivered);
    outbound_response_free(&resp);
    free(text);
    PQclear(r);
    return 1;
}

/* --- the workers ---------------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    struct bg_thread *t = arg;
    struct db *db = NULL;
    for (;;) {
        int did = 0;
        if (db != NULL || db_open(svc_database_url(cj.svc), &db) == 0) {
            int a = process_one(db), b = deliver_one(db);
            did = a > 0 || b > 0;
        }
        pthread_mutex_lock(&t->mu);
        if (!did && !t->stop) { /* nothing due: wait for a wake-up, or poll once a second */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&t->cv, &t->mu, &until);
        }
        int stop = t->stop;
        pthread_mutex_unlock(&t->mu);
        if (stop)
            break;
    }
    db_close(db);
    return NULL;
}

/* The callback policy: CALLBACK_ALLOW_PRIVATE=1 allows every network, else OUTBOUND_ALLOW_NETS. */
static int callback_policy(void)
{
    int allow_private;
    long timeout;
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (env_bool("CALLBACK_ALLOW_PRIVATE", 0, &allow_private) != 0 ||
        env_long("CALLBACK_TIMEOUT_MS", 5000, 100, 120000, &timeout) != 0)
        return AIOPS_EINVAL;
    if (outbound_policy_init(&cj.policy,
                             allow_private ? "0.0.0.0/0,::/0" : getenv("OUTBOUND_ALLOW_NETS"),
                             &err) != 0) {
        log_error("OUTBOUND_ALLOW_NETS: %s", err.message);
        return AIOPS_EINVAL;
    }
    cj.policy.timeout_ms = timeout;
    cj.policy.connect_timeout_ms = timeout < 3000 ? timeout : 3000;
    cj.policy.max_response = 64 << 10;
    return AIOPS_OK;
}

int calljobs_start(struct svc *s)
{
    if (env_long("CALLYTICS_WORKERS", 2, 1, WORKERS_MAX, &cj.workers) != 0 ||
        env_long("CALLBACK_ATTEMPTS", 5, 1, 20, &cj.attempts) != 0 ||
        env_long("CALLBACK_BACKOFF_MS", 1000, 10, 600000, &cj.backoff_ms) != 0 ||
        callback_policy() != 0)
        return AIOPS_EINVAL;
    cj.svc = s;
    for (long i = 0; i < cj.workers; i++)
        if (bg_thread_start(&cj.threads[i], worker_main, &cj.threads[i]) != 0) {
            calljobs_stop();
            return AIOPS_ENOMEM;
        }
    return AIOPS_OK;
}

void calljobs_stop(void)
{
    for (long i = 0; i < cj.workers; i++)
        bg_thread_stop(&cj.threads[i]);
}
