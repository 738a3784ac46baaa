#include "store/datasets.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "data/colstore.h"

int datasets_find_by_hash(struct db *db, const char *project, const uint8_t hash[32],
                          const char *parse_options, char id[37], json_t **summary)
{
    *summary = NULL;
    const char *vals[3] = {project, (const char *)hash, parse_options};
    int lens[3] = {0, 32, 0}, fmts[3] = {0, 1, 0};
    PGresult *r;
    int rv = db_exec_one(db, &r,
                         "SELECT id::text, summary::text FROM datasets "
                         "WHERE project_id = $1 AND content_hash = $2 AND parse_options = $3",
                         3, vals, lens, fmts);
    if (rv != 0)
        return rv;
    snprintf(id, 37, "%s", PQgetvalue(r, 0, 0));
    *summary = json_loads(PQgetvalue(r, 0, 1), 0, NULL);
    PQclear(r);
    return *summary ? AIOPS_OK : AIOPS_ECORRUPT;
}

/* --- binary COPY of the chunks ------------------------------------------------------- */

static void put_u16(struct buf *b, uint16_t v)
{
    uint16_t be = htons(v);
    buf_append(b, &be, 2);
}

static void put_u32(struct buf *b, uint32_t v)
{
    uint32_t be = htonl(v);
    buf_append(b, &be, 4);
}

/* Parses a canonical UUID text into 16 bytes. */
static void uuid_bytes(const char *s, uint8_t out[16])
{
    int k = 0;
    for (int i = 0; s[i] && k < 32; i++) {
        char c = s[i];
        int v = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (v < 0)
            continue;
        if (k % 2 == 0)
            out[k / 2] = (uint8_t)(v << 4);
        else
            out[k / 2] |= (uint8_t)v;
        k++;
    }
}

/* Streams every chunk of t into dataset_chunks with COPY ... (FORMAT binary): one round trip
 * for the whole table instead of one per chunk. */
static int copy_chunks(struct db *db, const char *id, const struct table *t)
{
    PGconn *conn = db_conn(db);
    if (conn == NULL)
        return AIOPS_EUNAVAIL;
    PGresult *r = PQexec(conn, "COPY dataset_chunks (dataset_id, col_index, chunk_index, data) "
                               "FROM STDIN (FORMAT binary)");
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        log_error("postgres: COPY dataset_chunks: %s", PQresultErrorMessage(r));
        PQclear(r);
        return AIOPS_EDB;
    }
    PQclear(r);
    uint8_t uid[16];
    uuid_bytes(id, uid);
    struct buf b = BUF_INIT;
    static const char sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};
    buf_append(&b, sig, sizeof sig);
    put_u32(&b, 0); /* flags */
    put_u32(&b, 0); /* header extension */
    struct colstore_encoder enc;
    colstore_encoder_init(&enc, t);
    int rv = AIOPS_OK;
    for (;;) {
        struct colstore_chunk ch;
        if ((rv = colstore_encoder_next(&enc, &ch)) != 0 || ch.data == NULL)
            break;
        put_u16(&b, 4);
        put_u32(&b, 16);
        buf_append(&b, uid, 16);
        put_u32(&b, 4);
        put_u32(&b, (uint32_t)ch.col_index);
        put_u32(&b, 4);
        put_u32(&b, (uint32_t)ch.chunk_index);
        put_u32(&b, (uint32_t)ch.len);
        if (buf_append(&b, ch.data, ch.len) != 0) {
            rv = AIOPS_ENOMEM;
            break;
        }
        if (b.len >= (1u << 20)) {
            if (PQputCopyData(conn, b.data, (int)b.len) != 1) {
                rv = AIOPS_EUNAVAIL;
                break;
            }
            buf_reset(&b);
        }
    }
    colstore_encoder_free(&enc);
    if (rv == 0) {
        put_u16(&b, 0xffff); /* trailer: -1 */
        if (PQputCopyData(conn, b.data, (int)b.len) != 1)
            rv = AIOPS_EUNAVAIL;
    }
    buf_free(&b);
    if (PQputCopyEnd(conn, rv == 0 ? NULL : "aborted by the writer") != 1)
        rv = rv ? rv : AIOPS_EUNAVAIL;
    while ((r = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rv == 0) {
            log_error("postgres: COPY dataset_chunks: %s", PQresultErrorMessage(r));
            rv = AIOPS_EDB;
        }
        PQclear(r);
    }
    return rv;
}

int datasets_store(struct db *db, const char *project, const char *id, const char *filename,
                   const uint8_t hash[32], const char *parse_options, size_t size_bytes,
                   const struct ingest_result *r, json_t *summary, char existing_id[37])
{
    const struct table *t = &r->table;
    json_t *schema;
    int rv;
    if ((rv = colstore_schema_json(t, &schema)) != 0)
        return rv;
    char *schema_s = jsonx_to_string(schema, NULL);
    char *summary_s = jsonx_to_string(summary, NULL);
    json_decref(schema);
    char size_s[24], rows_s[24], cols_s[16], delim_s[2] = {r->delimiter, 0};
    snprintf(size_s, sizeof size_s, "%zu", size_bytes);
    snprintf(rows_s, sizeof rows_s, "%zu", t->nrows);
    snprintf(cols_s, sizeof cols_s, "%zu", t->ncols);
    const char *target = r->target >= 0 ? t->cols[r->target].name : NULL;
    if (schema_s == NULL || summary_s == NULL) {
        rv = AIOPS_ENOMEM;
        goto out;
    }
    if ((rv = db_begin(db)) != 0)
        goto out;
    const char *vals[12] = {
        id,     project, (const char *)hash, filename,  size_s,       rows_s, cols_s,
        target, delim_s, schema_s,           summary_s, parse_options};
    int lens[12] = {0, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    int fmts[12] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    PGresult *res;
    rv = db_exec(db, &res,
                 "INSERT INTO datasets (id, project_id, content_hash, filename, size_bytes, "
                 "n_rows, n_cols, target, delimiter, schema, summary, parse_options) VALUES ($1, "
                 "$2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::json, $12) "
                 "ON CONFLICT (project_id, content_hash, parse_options) DO NOTHING RETURNING id",
                 12, vals, lens, fmts);
    if (rv != 0)
        goto fail;
    int inserted = PQntuples(res) == 1;
    PQclear(res);
    if (!inserted) {
        db_rollback(db);
        json_t *s;
        rv = datasets_find_by_hash(db, project, hash, parse_options, existing_id, &s);
        json_decref(s);
        rv = rv == 0 ? AIOPS_EEXIST : rv;
        goto out;
    }
    if ((rv = copy_chunks(db, id, t)) != 0 || (rv = db_commit(db)) != 0)
        goto fail;
    goto out;
fail:
    db_rollback(db);
out:
    free(schema_s);
    free(summary_s);
    return rv;
}

/* Runs sql (parameters $1 = project, $2 = id) and expects exactly one row: AIOPS_ENOTFOUND
 * when id is not a UUID or no dataset of the project has it. *res is the caller's. */
static int select_one(struct db *db, const char *project, const char *id, const char *sql,
                      PGresult **res)
{
    *res = NULL;
    if (!uuid_valid(id))
        return AIOPS_ENOTFOUND;
    const char *vals[2] = {project, id};
    return db_execv_one(db, res, sql, 2, vals);
}

int datasets_get(struct db *db, const char *project, const char *id, json_t **out)
{
    *out = NULL;
    PGresult *r;
    int rv =
        select_one(db, project, id,
                   "SELECT id::text, filename, n_rows, n_cols, target, size_bytes, delimiter, "
                   "encode(content_hash, 'hex'), "
                   DB_TS("created_at") ", "
                   "schema::text FROM datasets WHERE project_id = $1 AND id = $2",
                   &r);
    if (rv != 0)
        return rv;
    json_t *schema = json_loads(PQgetvalue(r, 0, 9), 0, NULL);
    const char *delim = PQgetvalue(r, 0, 6);
    *out = json_pack(
        "{s:s, s:s, s:I, s:I, s:o, s:I, s:s, s:s, s:s, s:o}", "id", PQgetvalue(r, 0, 0), "filename",
        PQgetvalue(r, 0, 1), "rows", (json_int_t)strtoll(PQgetvalue(r, 0, 2), NULL, 10), "columns",
        (json_int_t)strtoll(PQgetvalue(r, 0, 3), NULL, 10), "target",
        PQgetisnull(r, 0, 4) ? json_null() : json_string(PQgetvalue(r, 0, 4)), "size_bytes",
        (json_int_t)strtoll(PQgetvalue(r, 0, 5), NULL, 10), "delimiter",
        strcmp(delim, "\t") == 0 ? "tab" : delim, "content_sha256", PQgetvalue(r, 0, 7),
        "created_at", PQgetvalue(r, 0, 8), "schema", schema ? schema : json_array());
    PQclear(r);
    return *out ? AIOPS_OK : AIOPS_ENOMEM;
}

static int32_t be_i32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return (int32_t)ntohl(v);
}

int datasets_load(struct db *db, const char *project, const char *id, size_t rows_limit,
                  struct table *t)
{
    memset(t, 0, sizeof *t);
    PGresult *r;
    int rv = select_one(
        db, project, id,
        "SELECT n_rows, schema::text FROM datasets WHERE project_id = $1 AND id = $2", &r);
    if (rv != 0)
        return rv;
    size_t nrows = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    json_t *schema = json_loads(PQgetvalue(r, 0, 1), 0, NULL);
    PQclear(r);
    /* a partial read takes whole chunks from the start: the skeleton says how many rows */
    size_t nchunks = (nrows + COLSTORE_CHUNK_ROWS - 1) / COLSTORE_CHUNK_ROWS;
    if (rows_limit > 0) {
        size_t want = (rows_limit + COLSTORE_CHUNK_ROWS - 1) / COLSTORE_CHUNK_ROWS;
        if (want < nchunks) {
            nchunks = want;
            nrows = nchunks * COLSTORE_CHUNK_ROWS;
        }
    }
    if (schema == NULL || colstore_schema_parse(schema, nrows, t) != 0) {
        json_decref(schema);
        return AIOPS_ECORRUPT;
    }
    json_decref(schema);

    struct colstore_decoder dec;
    if ((rv = colstore_decode_begin(&dec, t)) != 0) {
        table_free(t);
        return rv;
    }
    /* stream the chunks row by row instead of holding the whole result */
    PGconn *conn = db_conn(db);
    char limit_s[24];
    snprintf(limit_s, sizeof limit_s, "%zu", nchunks);
    const char *cvals[2] = {id, limit_s};
    if (conn == NULL ||
        !PQsendQueryParams(conn,
                           "SELECT col_index, chunk_index, data FROM dataset_chunks "
                           "WHERE dataset_id = $1 AND chunk_index < $2::int "
                           "ORDER BY col_index, chunk_index",
                           2, NULL, cvals, NULL, NULL, 1) ||
        !PQsetSingleRowMode(conn)) {
        colstore_decoder_free(&dec);
        table_free(t);
        return AIOPS_EUNAVAIL;
    }
    rv = AIOPS_OK;
    while ((r = PQgetResult(conn)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE && rv == 0) {
            if (PQgetlength(r, 0, 0) != 4 || PQgetlength(r, 0, 1) != 4)
                rv = AIOPS_ECORRUPT;
            else
                rv = colstore_decode_chunk(&dec, be_i32(PQgetvalue(r, 0, 0)),
                                           be_i32(PQgetvalue(r, 0, 1)), PQgetvalue(r, 0, 2),
                                           (size_t)PQgetlength(r, 0, 2));
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && rv == 0) {
            log_error("postgres: reading chunks: %s", PQresultErrorMessage(r));
            rv = AIOPS_EDB;
        }
        PQclear(r);
    }
    if (rv == 0)
        rv = colstore_decode_end(&dec);
    else
        colstore_decoder_free(&dec);
    if (rv != 0) {
        if (rv == AIOPS_ECORRUPT)
            log_error("dataset %s: stored chunks failed their checks", id);
        table_free(t);
        return rv;
    }
    return AIOPS_OK;
}

int datasets_list(struct db *db, const char *project, long limit, long offset, json_t **out)
{
    char lim[24], off[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    snprintf(off, sizeof off, "%ld", offset);
    const char *vals[3] = {project, lim, off};
    PGresult *r;
    int rv =
        db_execv(db, &r,
                 "SELECT id::text, filename, n_rows, n_cols, target, size_bytes, "
                 DB_TS("created_at") ", "
                 "count(*) OVER () FROM datasets WHERE project_id = $1 "
                 "ORDER BY created_at DESC, id LIMIT $2::bigint OFFSET $3::bigint",
                 3, vals);
    if (rv != 0)
        return rv;
    json_t *arr = json_array();
    long long total = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:I, s:I, s:o, s:I, s:s}", "id", PQgetvalue(r, i, 0),
                           "filename", PQgetvalue(r, i, 1), "rows",
                           (json_int_t)strtoll(PQgetvalue(r, i, 2), NULL, 10), "columns",
                           (json_int_t)strtoll(PQgetvalue(r, i, 3), NULL, 10), "target",
                           PQgetisnull(r, i, 4) ? json_null() : json_string(PQgetvalue(r, i, 4)),
                           "size_bytes", (json_int_t)strtoll(PQgetvalue(r, i, 5), NULL, 10),
                           "created_at", PQgetvalue(r, i, 6)));
        total = strtoll(PQgetvalue(r, i, 7), NULL, 10);
    }
    PQclear(r);
    if (json_array_size(arr) == 0 && offset > 0) {
        /* past the end: still say how many there are */
        const char *v1[1] = {project};
        if (db_execv(db, &r, "SELECT count(*) FROM datasets WHERE project_id = $1", 1, v1) == 0) {
            total = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            PQclear(r);
        }
    }
    *out = json_pack("{s:o, s:I, s:I, s:I}", "datasets", arr, "total", (json_int_t)total, "limit",
                     (json_int_t)limit, "offset", (json_int_t)offset);
    return AIOPS_OK;
}

int datasets_delete(struct db *db, const char *project, const char *id)
{
    PGresult *r;
    int rv = select_one(db, project, id,
                        "DELETE FROM datasets WHERE project_id = $1 AND id = $2 RETURNING id", &r);
    PQclear(r);
    return rv;
}

int datasets_get_profile(struct db *db, const char *project, const char *id, json_t **profile)
{
    *profile = NULL;
    PGresult *r;
    int rv = select_one(db, project, id,
                        "SELECT profile::text FROM datasets WHERE project_id = $1 AND id = $2", &r);
    if (rv != 0)
        return rv;
    if (!PQgetisnull(r, 0, 0))
        *profile = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return AIOPS_OK;
}

int datasets_put_profile(struct db *db, const char *project, const char *id, json_t *profile)
{
    char *s = jsonx_to_string(profile, NULL);
    if (s == NULL)
        return AIOPS_ENOMEM;
    const char *vals[3] = {project, id, s};
    int rv = db_execv(db, NULL,
                      "UPDATE datasets SET profile = $3::json WHERE project_id = $1 AND id = $2", 3,
                      vals);
    free(s);
    return rv;
}

int datasets_get_descriptions(struct db *db, const char *project, const char *id, json_t **out)
{
    *out = NULL;
    PGresult *r;
    /* one row: the dataset, with its descriptions as one object in their given order */
    int rv = select_one(db, project, id,
                        "SELECT coalesce((SELECT json_object_agg(feature, description"
                        "   ORDER BY position)::text FROM dataset_descriptions d"
                        "   WHERE d.dataset_id = datasets.id), '{}')"
                        " FROM datasets WHERE project_id = $1 AND id = $2",
                        &r);
    if (rv != 0)
        return rv;
    *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return *out ? AIOPS_OK : AIOPS_ENOMEM;
}

int datasets_put_descriptions(struct db *db, const char *project, const char *id,
                              const json_t *descriptions)
{
    char *text = jsonx_to_string(descriptions, NULL);
    if (text == NULL)
        return AIOPS_ENOMEM;
    int rv = db_begin(db);
    if (rv == 0) {
        PGresult *r;
        /* the dataset's row locked: a concurrent delete waits for the new set (or it for
         * the delete), and two PUTs replace the set one after the other */
        rv = select_one(db, project, id,
                        "SELECT id FROM datasets WHERE project_id = $1 AND id = $2 FOR UPDATE", &r);
        PQclear(r);
        const char *vals[2] = {id, text};
        if (rv == 0)
            rv = db_execv(db, NULL, "DELETE FROM dataset_descriptions WHERE dataset_id = $1", 1,
                          vals);
        /* json, not jsonb: json_each_text keeps the members' order */
        if (rv == 0)
            rv = db_execv(db, NULL,
                          "INSERT INTO dataset_descriptions (dataset_id, position, feature,"
                          " description) SELECT $1::uuid, ordinality, key, value"
                          " FROM json_each_text($2::json) WITH ORDINALITY",
                          2, vals);
        rv = db_finish(db, rv);
    }
    free(text);
    return rv;
}

void datasets_describe(json_t *list, const json_t *descriptions)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *f = json_string_value(json_object_get(e, "feature"));
        json_t *d = f ? json_object_get(descriptions, f) : NULL;
        json_object_set(e, "description", json_is_string(d) ? d : json_null());
    }
}
