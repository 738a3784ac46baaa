#include "store/db.h"

#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/encode.h"
#include "core/err.h"
#include "core/log.h"
#include "store/embed.h"

struct db {
    char *url;
    PGconn *conn;
    int in_tx;
    int up;
};

int db_open(const char *url, struct db **out)
{
    struct db *db = calloc(1, sizeof *db);
    if (db == NULL || (db->url = strdup(url)) == NULL) {
        free(db);
        return AIOPS_ENOMEM;
    }
    *out = db;
    return AIOPS_OK;
}

void db_close(struct db *db)
{
    if (db == NULL)
        return;
    if (db->conn)
        PQfinish(db->conn);
    free(db->url);
    free(db);
}

static void db_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* NOTICEs (e.g. "relation already exists, skipping") are not errors */
}

int db_connect(struct db *db)
{
    if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
        return AIOPS_OK;
    if (db->conn != NULL) {
        PQfinish(db->conn);
        db->conn = NULL;
    }
    db->in_tx = 0;
    PGconn *c = PQconnectdb(db->url);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        if (db->up || c == NULL)
            log_warn("postgres: cannot connect: %s",
                     c ? PQerrorMessage(c) : "out of memory");
        if (c)
            PQfinish(c);
        db->up = 0;
        return AIOPS_EUNAVAIL;
    }
    PQsetNoticeProcessor(c, db_notice, NULL);
    if (!db->up)
        log_info("postgres: connected");
    db->conn = c;
    db->up = 1;
    return AIOPS_OK;
}

int db_is_up(const struct db *db)
{
    return db->conn != NULL && db->up && PQstatus(db->conn) == CONNECTION_OK;
}

PGconn *db_conn(struct db *db)
{
    return db_connect(db) == AIOPS_OK ? db->conn : NULL;
}

static int sqlstate_err(const PGresult *r)
{
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (st == NULL)
        return AIOPS_EDB;
    if (strcmp(st, "23505") == 0)
        return AIOPS_EEXIST;
    if (strncmp(st, "22", 2) == 0 || strcmp(st, "23514") == 0) /* bad data, CHECK */
        return AIOPS_EINVAL;
    if (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0) /* connection / shutdown */
        return AIOPS_EUNAVAIL;
    return AIOPS_EDB;
}

int db_exec(struct db *db, PGresult **res, const char *sql, int nparams,
            const char *const *values, const int *lengths, const int *formats)
{
    if (res)
        *res = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        int rv;
        if ((rv = db_connect(db)) != 0)
            return rv;
        PGresult *r = PQexecParams(db->conn, sql, nparams, NULL, values, lengths, formats, 0);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            if (res)
                *res = r;
            else
                PQclear(r);
            return AIOPS_OK;
        }
        int broken = PQstatus(db->conn) != CONNECTION_OK;
        rv = r ? sqlstate_err(r) : AIOPS_ENOMEM;
        if (broken || rv == AIOPS_EUNAVAIL) {
            PQclear(r);
            db->up = 0;
            log_warn("postgres: connection lost");
            int was_in_tx = db->in_tx;
            PQfinish(db->conn);
            db->conn = NULL;
            db->in_tx = 0;
            if (was_in_tx)
                return AIOPS_EUNAVAIL; /* the transaction is gone; the caller restarts */
            continue;
        }
        if (rv == AIOPS_EDB)
            log_error("postgres: %.60s: %s", sql, r ? PQresultErrorMessage(r) : "no result");
        PQclear(r);
        return rv;
    }
    return AIOPS_EUNAVAIL;
}

int db_execv(struct db *db, PGresult **res, const char *sql, int nparams, const char *const *values)
{
    return db_exec(db, res, sql, nparams, values, NULL, NULL);
}

int db_exec_one(struct db *db, PGresult **res, const char *sql, int nparams,
                const char *const *values, const int *lengths, const int *formats)
{
    PGresult *r;
    if (res != NULL)
        *res = NULL;
    int rv = db_exec(db, &r, sql, nparams, values, lengths, formats);
    if (rv != 0)
        return rv;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return AIOPS_ENOTFOUND;
    }
    if (res != NULL)
        *res = r;
    else
        PQclear(r);
    return AIOPS_OK;
}

int db_execv_one(struct db *db, PGresult **res, const char *sql, int nparams,
                 const char *const *values)
{
    return db_exec_one(db, res, sql, nparams, values, NULL, NULL);
}

int db_begin(struct db *db)
{
    int rv = db_exec(db, NULL, "BEGIN", 0, NULL, NULL, NULL);
    if (rv == 0)
        db->in_tx = 1;
    return rv;
}

int db_commit(struct db *db)
{
    int rv = db_exec(db, NULL, "COMMIT", 0, NULL, NULL, NULL);
    db->in_tx = 0;
    return rv;
}

void db_rollback(struct db *db)
{
    if (db->conn != NULL && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(db->conn, "ROLLBACK");
        PQclear(r);
    }
    db->in_tx = 0;
}

int db_finish(struct db *db, int rv)
{
    if (rv == 0)
        rv = db_commit(db);
    if (rv != 0)
        db_rollback(db);
    return rv;
}

/* --- migrations ---------------------------------------------------------------------- */

/* Any constant shared by every process that migrates: serialises concurrent migrators. */
#define MIGRATE_LOCK_KEY "7243917"

static int migrate_one(struct db *db, const struct embedded_file *f, const char *sum)
{
    int rv;
    if ((rv = db_begin(db)) != 0)
        return rv;
    /* simple-query protocol: the file may hold several statements */
    PGresult *r = PQexec(db->conn, f->data);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_error("migrate: %s failed: %s", f->name, PQresultErrorMessage(r));
        PQclear(r);
        db_rollback(db);
        return AIOPS_EDB;
    }
    PQclear(r);
    const char *params[2] = {f->name, sum};
    if ((rv = db_execv(db, NULL,
                       "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", 2,
                       params)) != 0 ||
        (rv = db_commit(db)) != 0) {
        db_rollback(db);
        return rv;
    }
    log_info("migrate: applied %s", f->name);
    return AIOPS_OK;
}

int db_migrate(struct db *db, int *applied)
{
    int rv;
    *applied = 0;
    if ((rv = db_exec(db, NULL, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL, NULL,
                      NULL)) != 0)
        return rv;
    rv = db_exec(db, NULL,
                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " name text PRIMARY KEY, checksum text NOT NULL,"
                 " applied_at timestamptz NOT NULL DEFAULT now())",
                 0, NULL, NULL, NULL);
    for (unsigned long i = 0; rv == 0 && i < migrations_count; i++) {
        const struct embedded_file *f = &migrations[i];
        uint8_t digest[32];
        char sum[65];
        sha256(f->data, f->len, digest);
        hex_encode(sum, digest, 32);
        PGresult *r;
        const char *params[1] = {f->name};
        if ((rv = db_execv(db, &r, "SELECT checksum FROM schema_migrations WHERE name = $1", 1,
                           params)) != 0)
            break;
        if (PQntuples(r) == 1) {
            if (strcmp(PQgetvalue(r, 0, 0), sum) != 0) {
                log_error("migrate: %s was changed after it was applied", f->name);
                rv = AIOPS_ECORRUPT;
            }
            PQclear(r);
            continue;
        }
        PQclear(r);
        if ((rv = migrate_one(db, f, sum)) == 0)
            (*applied)++;
    }
    if (db_conn(db) != NULL) {
        PGresult *r = PQexec(db->conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");
        PQclear(r);
    }
    return rv;
}
