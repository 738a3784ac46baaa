/* Counseling sessions (issue 10, seed 004): POST /api/v1/data/upload stores one session,
 * POST /api/v1/data/batch-upload ({"sessions": [...]}) many in one transaction (a bad one
 * refuses the batch), GET and DELETE /api/v1/data/{session_id}. A session is
 * {session_id, consulting_content, instructions?} (lib/ml/callfeat.h checks it); one whose
 * instructions carry a "상담 결과" is a labeled example for the outcome model. Storing an id
 * again replaces the session (its last upload is what training reads). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "ml/callfeat.h"
#include "ingest_svc.h"

#define BATCH_SESSIONS_MAX 1000

static const char upsert_sql[] =
    "INSERT INTO call_sessions (project_id, session_id, consulting_content, instructions, outcome) "
    "VALUES ($1, $2, $3, $4::json, $5) "
    "ON CONFLICT (project_id, session_id) DO UPDATE SET consulting_content = "
    "EXCLUDED.consulting_content, "
    "instructions = EXCLUDED.instructions, outcome = EXCLUDED.outcome, updated_at = now() "
    "RETURNING (xmax = 0)::int";

/* What storing session s answered. */
static json_t *stored_json(const struct call_session *s, int created)
{
    return json_pack("{s:s, s:s, s:b, s:b, s:s?}", "session_id", s->session_id, "status", "stored",
                     "created", created, "labeled", s->outcome != NULL, "outcome", s->outcome);
}

/* Stores s (the caller's transaction, if any): 0 with *created, or a database error. */
static int store_session(struct db *db, const char *project, const struct call_session *s,
                         int *created)
{
    char *ins = s->instructions ? json_dumps(s->instructions, JSON_COMPACT) : NULL;
    if (s->instructions != NULL && ins == NULL)
        return AIOPS_ENOMEM;
    const char *v[] = {project, s->session_id, s->content, ins, s->outcome};
    PGresult *r = NULL;
    int rv = db_execv_one(db, &r, upsert_sql, 5, v);
    if (rv == 0)
        *created = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    free(ins);
    return rv;
}

/* Answers a session that call_session_read refused: 422 naming the field (prefix, e.g.
 * "sessions[3].", for a batch). */
static void reply_bad_session(struct svc_call *c, const char *prefix, const struct aiops_error *err)
{
    char field[sizeof err->field + 48];
    snprintf(field, sizeof field, "%s%s", prefix, err->field);
    svc_reply_field(c, API_INVALID_REQUEST, field, "%s", err->message);
}

void handle_data_upload(struct svc_call *c)
{
    json_t *body;
    if (svc_json_body(c, &body) != 0)
        return;
    struct call_session s;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int created = 0, rv;
    if (call_session_read(body, NULL, &s, &err) != 0)
        reply_bad_session(c, "", &err);
    else if ((rv = store_session(svc_db(c), svc_project(c), &s, &created)) != 0)
        svc_reply_failure(c, rv, "storing the session");
    else
        svc_reply_json(c, created ? 201 : 200, stored_json(&s, created));
    json_decref(body);
}

static int check_session(struct svc_call *c, const json_t *item, size_t i)
{
    struct call_session s;
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (call_session_read(item, NULL, &s, &err) == 0)
        return AIOPS_OK;
    char prefix[40];
    snprintf(prefix, sizeof prefix, "sessions[%zu].", i);
    reply_bad_session(c, prefix, &err);
    return AIOPS_EINVAL;
}

void handle_data_batch_upload(struct svc_call *c)
{
    json_t *body, *sessions;
    if (svc_json_body_array(c, "sessions", BATCH_SESSIONS_MAX, "session objects", check_session,
                            &body, &sessions) != 0)
        return;
    struct db *db = svc_db(c);
    json_t *results = json_array();
    size_t i, labeled = 0, created_n = 0;
    const json_t *item;
    int rv = results ? db_begin(db) : AIOPS_ENOMEM;
    json_array_foreach(sessions, i, item)
    {
        struct call_session s;
        int created = 0;
        if (rv != 0)
            break;
        call_session_read(item, NULL, &s, NULL); /* checked above */
        if ((rv = store_session(db, svc_project(c), &s, &created)) == 0) {
            json_array_append_new(results, stored_json(&s, created));
            labeled += s.outcome != NULL;
            created_n += (size_t)created;
        }
    }
    if (results != NULL && db_finish(db, rv) != 0 && rv == 0)
        rv = AIOPS_EDB;
    if (rv != 0)
        svc_reply_failure(c, rv, "storing the sessions");
    else
        svc_reply_json(c, 200,
                       json_pack("{s:I, s:I, s:I, s:O}", "stored", (json_int_t)i, "created",
                                 (json_int_t)created_n, "labeled", (json_int_t)labeled, "sessions",
                                 results));
    json_decref(results);
    json_decref(body);
}

/* The path's session id: 0, or AIOPS_EINVAL after a 422. */
static int path_session_id(struct svc_call *c, const char **id)
{
    *id = svc_param(c, 0);
    if (*id != NULL && call_session_id_valid(*id))
        return AIOPS_OK;
    svc_reply_field(c, API_INVALID_PARAMETER, "session_id",
                    "session_id must be 1 to %d characters of A-Z a-z 0-9 - _",
                    CALL_SESSION_ID_MAX);
    return AIOPS_EINVAL;
}

static void reply_session_not_found(struct svc_call *c, const char *id)
{
    svc_reply_errorf(c, API_SESSION_NOT_FOUND, json_pack("{s:s}", "session_id", id),
                     "no session %s in this project", id);
}

void handle_data_get(struct svc_call *c)
{
    const char *id;
    if (path_session_id(c, &id) != 0)
        return;
    const char *v[] = {svc_project(c), id};
    PGresult *r = NULL;
    int rv = db_execv_one(
        svc_db(c), &r,
        "SELECT consulting_content, instructions::text, outcome, " DB_TS("created_at") ", " DB_TS(
            "updated_at") " "
                          "FROM call_sessions WHERE project_id = $1 AND session_id = $2",
        2, v);
    if (rv == AIOPS_ENOTFOUND) {
        reply_session_not_found(c, id);
    } else if (rv != 0) {
        svc_reply_failure(c, rv, "reading the session");
    } else {
        json_t *ins = PQgetisnull(r, 0, 1) ? json_null() : json_loads(PQgetvalue(r, 0, 1), 0, NULL);
        svc_reply_json(c, 200,
                       json_pack("{s:s, s:s, s:o, s:s?, s:b, s:s, s:s}", "session_id", id,
                                 "consulting_content", PQgetvalue(r, 0, 0), "instructions",
                                 ins ? ins : json_null(), "outcome",
                                 PQgetisnull(r, 0, 2) ? NULL : PQgetvalue(r, 0, 2), "labeled",
                                 !PQgetisnull(r, 0, 2), "created_at", PQgetvalue(r, 0, 3),
                                 "updated_at", PQgetvalue(r, 0, 4)));
    }
    PQclear(r);
}

void handle_data_delete(struct svc_call *c)
{
    const char *id;
    if (path_session_id(c, &id) != 0)
        return;
    const char *v[] = {svc_project(c), id};
    int rv = db_execv_one(svc_db(c), NULL,
                          "DELETE FROM call_sessions WHERE project_id = $1 AND session_id = $2 "
                          "RETURNING 1",
                          2, v);
    if (rv == AIOPS_ENOTFOUND)
        reply_session_not_found(c, id);
    else if (rv != 0)
        svc_reply_failure(c, rv, "deleting the session");
    else
        svc_reply_json(c, 200, json_pack("{s:s, s:b}", "session_id", id, "deleted", 1));
}
