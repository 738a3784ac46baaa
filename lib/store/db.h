/* db.h -- one PostgreSQL connection that survives server restarts.
 *
 * A struct db is used by one thread at a time (each service worker owns one). It connects
 * lazily, and when the server went away it reconnects on the next call; a statement that
 * failed because the connection broke is retried once on a fresh connection, unless a
 * transaction was open (then the caller sees AIOPS_EUNAVAIL and starts over). */
#ifndef AIOPS_DB_H
#define AIOPS_DB_H

#include <libpq-fe.h>

struct db;

/* Creates a handle for url (a libpq URI or key=value string); does not connect yet.
 * The caller owns *out (db_close). */
int db_open(const char *url, struct db **out);
void db_close(struct db *db);
/* Connects now if needed. AIOPS_OK, or AIOPS_EUNAVAIL when the server cannot be reached. */
int db_connect(struct db *db);
/* 1 when the last known state of the connection is good (no round trip). */
int db_is_up(const struct db *db);

/* Runs one statement with text (formats NULL) or binary parameters. On success *res, when
 * res is not NULL, receives the result (caller PQclear()s it). Errors: AIOPS_EUNAVAIL
 * (connection lost or server down, SQLSTATE class 08 or 57P01), AIOPS_EEXIST (unique
 * violation, 23505), AIOPS_EINVAL (bad data, class 22, and CHECK violations, 23514),
 * AIOPS_ENOMEM (no result at all), AIOPS_EDB (anything else, logged with the statement's
 * first words). */
int db_exec(struct db *db, PGresult **res, const char *sql, int nparams,
            const char *const *values, const int *lengths, const int *formats);
/* Shorthand for text parameters only. */
int db_execv(struct db *db, PGresult **res, const char *sql, int nparams, const char *const *values);
/* db_exec for a statement that must give exactly one row (a SELECT of one thing, an UPDATE
 * or DELETE ... RETURNING of one row): AIOPS_OK with the result in *res (when res is not
 * NULL; the caller PQclear()s it), AIOPS_ENOTFOUND when no row (or more than one) came
 * back, or db_exec's errors; *res is NULL on every failure. */
int db_exec_one(struct db *db, PGresult **res, const char *sql, int nparams,
                const char *const *values, const int *lengths, const int *formats);
/* db_exec_one for text parameters only. */
int db_execv_one(struct db *db, PGresult **res, const char *sql, int nparams,
                 const char *const *values);

/* A timestamptz column as every answer writes times: ISO 8601, UTC, milliseconds. */
#define DB_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

int db_begin(struct db *db);
int db_commit(struct db *db);
/* Rolls back if a transaction is open; harmless otherwise. */
void db_rollback(struct db *db);
/* Ends the open transaction by the outcome of its statements: commits when rv is 0 and
 * returns the commit's result; otherwise (or when the commit fails) rolls back and returns
 * rv (the commit's error). So that `rv = db_finish(db, rv);` closes every transaction. */
int db_finish(struct db *db, int rv);

/* The connection (connecting if needed), or NULL when unavailable -- for COPY and other
 * direct libpq use; the caller must not close it. */
PGconn *db_conn(struct db *db);

/* Applies the embedded migrations (the SQL files of migrations/, see lib/store/embed.h) that are not yet
 * recorded in schema_migrations, each in its own transaction, in name order, under an
 * advisory lock so that concurrent callers wait for each other. A recorded migration whose
 * checksum differs from the embedded file is an error (AIOPS_ECORRUPT). *applied receives
 * the number applied now. */
int db_migrate(struct db *db, int *applied);

#endif
