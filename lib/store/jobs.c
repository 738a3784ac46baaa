#include "store/jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

int jobs_enqueue(struct db *db, const char *kind, const char *run_id, const char *project,
                 int max_attempts)
{
    char ma[16];
    snprintf(ma, sizeof ma, "%d", max_attempts > 0 ? max_attempts : 3);
    const char *v[4] = {kind, run_id, project, ma};
    int rv = db_execv(db, NULL,
                      "INSERT INTO jobs (kind, run_id, project_id, status, max_attempts) "
                      "VALUES ($1, $2, $3, 'queued', $4::int)",
                      4, v);
    if (rv == 0) /* wake idle workers at once instead of at their next poll */
        rv = db_execv(db, NULL, "SELECT pg_notify('aiops_jobs', $1)", 1, v);
    return rv;
}

int jobs_reap(struct db *db, const char *kind, int *failed)
{
    const char *v[1] = {kind};
    PGresult *r;
    int rv = db_execv(db, &r,
                      "WITH dead AS ("
                      " UPDATE jobs SET status = 'failed', finished_at = now(),"
                      "  error = 'its worker stopped on each of ' || attempts || ' attempts'"
                      "  || ' (the lease expired without a heartbeat)'"
                      " WHERE kind = $1 AND status = 'running' AND lease_until < now()"
                      "  AND attempts >= max_attempts"
                      " RETURNING run_id, error) "
                      "UPDATE runs SET status = 'failed', error = dead.error, finished_at = now()"
                      " FROM dead WHERE runs.id = dead.run_id RETURNING runs.id",
                      1, v);
    if (rv != 0)
        return rv;
    if (failed)
        *failed = PQntuples(r);
    PQclear(r);
    return AIOPS_OK;
}

int jobs_claim(struct db *db, const char *kind, const char *worker, int lease_seconds,
               struct job *out)
{
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    const char *v[3] = {kind, worker, lease};
    PGresult *r;
    int rv =
        db_execv_one(db, &r,
                     "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker = $2,"
                     " lease_until = now() + make_interval(secs => $3::int), heartbeat_at = now(),"
                     " started_at = coalesce(started_at, now()) "
                     "WHERE id = (SELECT id FROM jobs WHERE kind = $1 AND (status = 'queued' OR"
                     "  (status = 'running' AND lease_until < now() AND attempts < max_attempts))"
                     "  ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1) "
                     "RETURNING id, run_id::text, project_id, attempts, max_attempts",
                     3, v);
    if (rv != 0)
        return rv;
    memset(out, 0, sizeof *out);
    out->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    snprintf(out->run_id, sizeof out->run_id, "%s", PQgetvalue(r, 0, 1));
    snprintf(out->project, sizeof out->project, "%s", PQgetvalue(r, 0, 2));
    out->attempts = atoi(PQgetvalue(r, 0, 3));
    out->max_attempts = atoi(PQgetvalue(r, 0, 4));
    PQclear(r);
    return AIOPS_OK;
}

int jobs_heartbeat(struct db *db, const struct job *j, const char *worker, int lease_seconds,
                   int *cancel)
{
    char id[24], lease[16];
    snprintf(id, sizeof id, "%lld", (long long)j->id);
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    const char *v[3] = {id, worker, lease};
    PGresult *r;
    int rv = db_execv_one(db, &r,
                          "UPDATE jobs SET lease_until = now() + make_interval(secs => $3::int),"
                          " heartbeat_at = now() WHERE id = $1::bigint AND worker = $2"
                          " AND status = 'running'"
                          " RETURNING (SELECT cancel_requested FROM runs"
                          "  WHERE runs.id = jobs.run_id)",
                          3, v);
    if (rv != 0)
        return rv;
    if (cancel)
        *cancel = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return AIOPS_OK;
}

int jobs_finish(struct db *db, const struct job *j, const char *worker, const char *status,
                const char *error)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)j->id);
    const char *v[4] = {id, worker, status, error};
    return db_execv_one(db, NULL,
                        "UPDATE jobs SET status = $3, error = $4, finished_at = now()"
                        " WHERE id = $1::bigint AND worker = $2 AND status = 'running'"
                        " RETURNING id",
                        4, v);
}

int jobs_release(struct db *db, const struct job *j, const char *worker)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)j->id);
    const char *v[2] = {id, worker};
    int rv = db_execv_one(db, NULL,
                          "WITH back AS (UPDATE jobs SET status = 'queued',"
                          " attempts = greatest(attempts - 1, 0), worker = NULL,"
                          " lease_until = NULL"
                          " WHERE id = $1::bigint AND worker = $2 AND status = 'running'"
                          " RETURNING run_id) "
                          "UPDATE runs SET status = 'queued' FROM back"
                          " WHERE runs.id = back.run_id RETURNING runs.id",
                          2, v);
    if (rv == 0)
        db_execv(db, NULL, "SELECT pg_notify('aiops_jobs', 'released')", 0, NULL);
    return rv;
}
