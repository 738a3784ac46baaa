/* The model registry: named models, their versions (the model file, its checksum and
 * metrics) and aliases -- champion, challenger or any name -- with every alias change kept
 * in model_alias_history so that a promotion can be rolled back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "train_svc.h"

#define CHAMPION "champion"

/* Alias names as the schema's CHECK allows: a letter, then up to 63 of [A-Za-z0-9_.-]. */
static int alias_valid(const char *a)
{
    size_t n = strlen(a);
    if (n == 0 || n > 64 || !((a[0] >= 'A' && a[0] <= 'Z') || (a[0] >= 'a' && a[0] <= 'z')))
        return 0;
    for (size_t i = 1; i < n; i++) {
        char ch = a[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return 0;
    }
    return 1;
}

static int record_history(struct db *db, const char *project, const char *name, const char *alias,
                          int from, int to, const char *action)
{
    char f[16], t[16];
    snprintf(f, sizeof f, "%d", from);
    snprintf(t, sizeof t, "%d", to);
    const char *v[6] = {project, name, alias, from > 0 ? f : NULL, to > 0 ? t : NULL, action};
    return db_execv(db, NULL,
                    "INSERT INTO model_alias_history (project_id, name, alias, from_version,"
                    " to_version, action) VALUES ($1, $2, $3, $4::int, $5::int, $6)",
                    6, v);
}

/* Points alias at version (inside the caller's transaction), recording the change. *from
 * receives the version it pointed at before (0: none). */
static int alias_point(struct db *db, const char *project, const char *name, const char *alias,
                       int version, const char *action, int *from)
{
    char ver[16];
    snprintf(ver, sizeof ver, "%d", version);
    const char *v[4] = {project, name, alias, ver};
    PGresult *r;
    *from = 0;
    int rv = db_execv(db, &r,
                      "SELECT version FROM model_aliases WHERE project_id = $1 AND name = $2"
                      " AND alias = $3 FOR UPDATE",
                      3, v);
    if (rv != 0)
        return rv;
    if (PQntuples(r) == 1)
        *from = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    rv = db_execv(db, NULL,
                  "INSERT INTO model_aliases (project_id, name, alias, version) VALUES"
                  " ($1, $2, $3, $4::int) ON CONFLICT (project_id, name, alias) DO UPDATE"
                  " SET version = excluded.version, updated_at = now()",
                  4, v);
    if (rv == 0 && *from != version)
        rv = record_history(db, project, name, alias, *from, version, action);
    return rv;
}

int registry_add_version(struct db *db, const char *project, const char *name, const char *run_id,
                         const struct model *m, const json_t *metrics, int *version)
{
    struct buf file = {0};
    int rv = model_save(m, &file);
    if (rv != 0) {
        buf_free(&file);
        return rv;
    }
    uint8_t digest[32];
    sha256(file.data, file.len, digest);
    const char *v2[2] = {project, name};
    PGresult *r;
    rv = db_execv(db, NULL,
                  "INSERT INTO models (project_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                  2, v2);
    /* the model row's lock numbers versions one at a time */
    if (rv == 0)
        rv = db_execv(db, &r,
                      "SELECT (SELECT coalesce(max(version), 0) + 1 FROM model_versions v"
                      "  WHERE v.project_id = m.project_id AND v.name = m.name)"
                      " FROM models m WHERE project_id = $1 AND name = $2 FOR UPDATE",
                      2, v2);
    if (rv != 0) {
        buf_free(&file);
        return rv;
    }
    *version = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : 1;
    PQclear(r);
    char ver[16];
    snprintf(ver, sizeof ver, "%d", *version);
    char *metrics_s = metrics ? json_dumps(metrics, JSON_COMPACT) : NULL;
    const char *vals[9] = {project,
                           name,
                           ver,
                           run_id,
                           m->learner->name,
                           table_task_name(m->target.task),
                           file.data,
                           (const char *)digest,
                           metrics_s};
    int lens[9] = {0, 0, 0, 0, 0, 0, (int)file.len, 32, 0};
    int fmts[9] = {0, 0, 0, 0, 0, 0, 1, 1, 0};
    rv = file.len > (size_t)1 << 30
             ? AIOPS_ETOOBIG
             : db_exec(db, NULL,
                       "INSERT INTO model_versions (project_id, name, version, run_id, kind, task,"
                       " artifact, sha256, metrics) VALUES ($1, $2, $3::int, $4::uuid, $5, $6, $7,"
                       " $8, $9::jsonb)",
                       9, vals, lens, fmts);
    free(metrics_s);
    buf_free(&file);
    if (rv != 0)
        return rv;
    /* the first version of a name becomes its champion */
    rv = db_execv(db, &r,
                  "SELECT 1 FROM model_aliases WHERE project_id = $1 AND name = $2 AND alias = '"
                  CHAMPION "'",
                  2, v2);
    if (rv != 0)
        return rv;
    int has_champion = PQntuples(r) > 0;
    PQclear(r);
    if (!has_champion) {
        int from;
        rv = alias_point(db, project, name, CHAMPION, *version, "register", &from);
    }
    return rv;
}

int registry_resolve(struct db *db, const char *project, const char *name, const char *alias,
                     int *version)
{
    const char *v[3] = {project, name, alias ? alias : CHAMPION};
    PGresult *r;
    /* the alias; without one asked for, the champion and else the latest version */
    int rv = db_execv(db, &r,
                      alias ? "SELECT version FROM model_aliases WHERE project_id = $1 AND name = $2"
                              " AND alias = $3"
                            : "SELECT coalesce((SELECT version FROM model_aliases WHERE project_id"
                              " = $1 AND name = $2 AND alias = $3), (SELECT max(version) FROM"
                              " model_versions WHERE project_id = $1 AND name = $2))",
                      3, v);
    if (rv != 0)
        return rv;
    rv = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? AIOPS_OK : AIOPS_ENOTFOUND;
    if (rv == 0)
        *version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return rv;
}

/* --- handlers ---------------------------------------------------------------------------- */

static void unprocessable(struct svc_call *c, const char *field, const char *message)
{
    svc_reply_error(c, 422, "invalid_request", message, json_pack("{s:s}", "field", field));
}

static void model_not_found(struct svc_call *c, const char *name)
{
    svc_reply_error(c, 404, "model_not_found", "no model with this name",
                    json_pack("{s:s}", "name", name));
}

/* The aliases of a model as {"alias": version}. */
static int aliases_of(struct db *db, const char *project, const char *name, json_t **out)
{
    const char *v[2] = {project, name};
    PGresult *r;
    int rv = db_execv(db, &r,
                      "SELECT alias, version FROM model_aliases WHERE project_id = $1 AND name = $2"
                      " ORDER BY alias",
                      2, v);
    if (rv != 0)
        return rv;
    *out = json_object();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(*out, PQgetvalue(r, i, 0), json_integer(atoi(PQgetvalue(r, i, 1))));
    PQclear(r);
    return AIOPS_OK;
}

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

void handle_models_list(struct svc_call *c)
{
    const char *v[1] = {svc_project(c)};
    PGresult *r;
    int rv = db_execv(svc_db(c), &r,
                      "SELECT m.name, " TS("m.created_at") ", count(v.version), max(v.version),"
                      " coalesce((SELECT json_object_agg(a.alias, a.version ORDER BY a.alias)"
                      "  FROM model_aliases a WHERE a.project_id = m.project_id"
                      "  AND a.name = m.name)::text, '{}'),"
                      " (SELECT kind || ' ' || task FROM model_versions l WHERE l.project_id ="
                      "  m.project_id AND l.name = m.name ORDER BY version DESC LIMIT 1),"
                      " coalesce(" TS("max(v.created_at)") ", '')"
                      " FROM models m LEFT JOIN model_versions v ON v.project_id = m.project_id"
                      " AND v.name = m.name WHERE m.project_id = $1"
                      " GROUP BY m.project_id, m.name, m.created_at ORDER BY m.name",
                      1, v);
    if (rv != 0) {
        svc_reply_failure(c, rv, "listing models");
        return;
    }
    json_t *models = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        char kind[32] = "", task[32] = "";
        sscanf(PQgetvalue(r, i, 5), "%31s %31s", kind, task);
        json_t *aliases = json_loads(PQgetvalue(r, i, 4), 0, NULL);
        json_array_append_new(
            models, json_pack("{s:s, s:s, s:i, s:i, s:o, s:s, s:s, s:s}", "name",
                              PQgetvalue(r, i, 0), "created_at", PQgetvalue(r, i, 1), "versions",
                              atoi(PQgetvalue(r, i, 2)), "latest_version",
                              atoi(PQgetvalue(r, i, 3)), "aliases",
                              aliases ? aliases : json_object(), "model", kind, "task", task,
                              "updated_at", PQgetvalue(r, i, 6)));
    }
    PQclear(r);
    svc_reply_json(c, 200, json_pack("{s:o}", "models", models));
}

void handle_models_versions(struct svc_call *c)
{
    const char *name = svc_param(c, 0);
    const char *v[2] = {svc_project(c), name};
    PGresult *r;
    struct db *db = svc_db(c);
    int rv = db_execv(db, &r,
                      "SELECT version, coalesce(run_id::text, ''), kind, task, encode(sha256, 'hex'),"
                      " octet_length(artifact), coalesce(metrics::text, 'null'), " TS("created_at")
                      " FROM model_versions WHERE project_id = $1 AND name = $2 ORDER BY version DESC",
                      2, v);
    if (rv != 0) {
        svc_reply_failure(c, rv, "listing model versions");
        return;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        model_not_found(c, name);
        return;
    }
    json_t *aliases;
    if ((rv = aliases_of(db, svc_project(c), name, &aliases)) != 0) {
        PQclear(r);
        svc_reply_failure(c, rv, "reading aliases");
        return;
    }
    json_t *versions = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        int ver = atoi(PQgetvalue(r, i, 0));
        json_t *mine = json_array();
        const char *a;
        json_t *av;
        json_object_foreach(aliases, a, av) if (json_integer_value(av) == ver)
            json_array_append_new(mine, json_string(a));
        json_t *metrics = json_loads(PQgetvalue(r, i, 6), JSON_DECODE_ANY, NULL);
        json_array_append_new(
            versions,
            json_pack("{s:i, s:o, s:s, s:s, s:s, s:I, s:o, s:s, s:o}", "version", ver, "run_id",
                      PQgetvalue(r, i, 1)[0] ? json_string(PQgetvalue(r, i, 1)) : json_null(),
                      "model", PQgetvalue(r, i, 2), "task", PQgetvalue(r, i, 3), "sha256",
                      PQgetvalue(r, i, 4), "size_bytes",
                      (json_int_t)strtoll(PQgetvalue(r, i, 5), NULL, 10), "metrics",
                      metrics ? metrics : json_null(), "created_at", PQgetvalue(r, i, 7),
                      "aliases", mine));
    }
    PQclear(r);
    svc_reply_json(c, 200, json_pack("{s:s, s:o, s:o}", "name", name, "aliases", aliases,
                                     "versions", versions));
}

/* Reads {"version": n} (and "alias" when alias_field) from the body. -1 after replying. */
static int body_version(struct svc_call *c, json_t *body, int required, int *version)
{
    json_t *v = json_object_get(body, "version");
    *version = 0;
    if (v == NULL && !required)
        return 0;
    json_int_t n = json_is_integer(v) ? json_integer_value(v)
                   : json_is_string(v) ? strtoll(json_string_value(v), NULL, 10)
                                       : 0;
    if (n < 1 || n > 1000000000) {
        unprocessable(c, "version", "version must be a version number (1, 2, ...)");
        return -1;
    }
    *version = (int)n;
    return 0;
}

/* Sets alias to version in one transaction; answers the model's aliases. */
static void set_alias(struct svc_call *c, const char *name, const char *alias, int version,
                      const char *action)
{
    struct db *db = svc_db(c);
    const char *project = svc_project(c);
    char ver[16];
    snprintf(ver, sizeof ver, "%d", version);
    const char *v[3] = {project, name, ver};
    PGresult *r;
    int from = 0;
    int rv = db_begin(db);
    if (rv == 0)
        rv = db_execv(db, &r,
                      "SELECT 1 FROM model_versions WHERE project_id = $1 AND name = $2"
                      " AND version = $3::int",
                      3, v);
    if (rv == 0) {
        int found = PQntuples(r) == 1;
        PQclear(r);
        if (!found) {
            db_rollback(db);
            svc_reply_error(c, 404, "version_not_found", "the model has no such version",
                            json_pack("{s:s, s:i}", "name", name, "version", version));
            return;
        }
        rv = alias_point(db, project, name, alias, version, action, &from);
    }
    if (rv == 0)
        rv = db_commit(db);
    else
        db_rollback(db);
    if (rv != 0) {
        svc_reply_failure(c, rv, "setting the alias");
        return;
    }
    serve_forget(project, name);
    log_json(LOG_LEVEL_INFO, "model alias changed",
             json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "project", project, "model", name,
                       "alias", alias, "from", from, "to", version, "action", action));
    json_t *aliases = NULL;
    if (aliases_of(db, project, name, &aliases) != 0)
        aliases = json_object();
    svc_reply_json(c, 200, json_pack("{s:s, s:s, s:i, s:o, s:o}", "name", name, "alias", alias,
                                     "version", version, "previous_version",
                                     from ? json_integer(from) : json_null(), "aliases", aliases));
}

void handle_models_alias_set(struct svc_call *c)
{
    json_t *body = request_json(c);
    if (body == NULL)
        return;
    const char *alias = json_string_value(json_object_get(body, "alias"));
    int version;
    if (alias == NULL || !alias_valid(alias))
        unprocessable(c, "alias", "alias: a letter then up to 63 of A-Z a-z 0-9 _ . -");
    else if (body_version(c, body, 1, &version) == 0)
        set_alias(c, svc_param(c, 0), alias, version, "set");
    json_decref(body);
}

void handle_models_promote(struct svc_call *c)
{
    json_t *body = request_json(c);
    if (body == NULL)
        return;
    const char *alias = json_string_value(json_object_get(body, "alias"));
    int version;
    if (alias != NULL && !alias_valid(alias))
        unprocessable(c, "alias", "alias: a letter then up to 63 of A-Z a-z 0-9 _ . -");
    else if (body_version(c, body, 1, &version) == 0)
        set_alias(c, svc_param(c, 0), alias ? alias : CHAMPION, version, "promote");
    json_decref(body);
}

void handle_models_rollback(struct svc_call *c)
{
    json_t *body = request_json(c);
    if (body == NULL)
        return;
    const char *alias = json_string_value(json_object_get(body, "alias"));
    if (alias == NULL)
        alias = CHAMPION;
    const char *name = svc_param(c, 0);
    char alias_copy[72];
    snprintf(alias_copy, sizeof alias_copy, "%s", alias);
    json_decref(body);
    if (!alias_valid(alias_copy)) {
        unprocessable(c, "alias", "alias: a letter then up to 63 of A-Z a-z 0-9 _ . -");
        return;
    }
    /* The version the alias pointed at before the change that made it point where it does
     * now: a stack of promotions, so successive rollbacks walk back through them. Versions
     * deleted since are skipped by the join. */
    const char *v[3] = {svc_project(c), name, alias_copy};
    PGresult *r;
    int rv = db_execv(svc_db(c), &r,
                      "SELECT a.version, (SELECT h.from_version FROM model_alias_history h"
                      "  JOIN model_versions mv ON mv.project_id = h.project_id AND mv.name ="
                      "  h.name AND mv.version = h.from_version"
                      "  WHERE h.project_id = a.project_id AND h.name = a.name AND h.alias ="
                      "  a.alias AND h.to_version = a.version AND h.action <> 'rollback'"
                      "  ORDER BY h.id DESC LIMIT 1)"
                      " FROM model_aliases a WHERE a.project_id = $1 AND a.name = $2"
                      " AND a.alias = $3",
                      3, v);
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the alias history");
        return;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        svc_reply_error(c, 404, "alias_not_found", "the model has no such alias",
                        json_pack("{s:s, s:s}", "name", name, "alias", alias_copy));
        return;
    }
    int current = atoi(PQgetvalue(r, 0, 0));
    int previous = PQgetisnull(r, 0, 1) ? 0 : atoi(PQgetvalue(r, 0, 1));
    PQclear(r);
    if (previous == 0) {
        svc_reply_error(c, 409, "nothing_to_roll_back",
                        "the alias has no earlier version to go back to",
                        json_pack("{s:s, s:s, s:i}", "name", name, "alias", alias_copy,
                                  "version", current));
        return;
    }
    set_alias(c, name, alias_copy, previous, "rollback");
}

void handle_models_alias_delete(struct svc_call *c)
{
    const char *name = svc_param(c, 0), *alias = svc_param(c, 1);
    const char *project = svc_project(c);
    const char *v[3] = {project, name, alias};
    struct db *db = svc_db(c);
    PGresult *r;
    int rv = db_begin(db);
    if (rv == 0)
        rv = db_execv(db, &r,
                      "DELETE FROM model_aliases WHERE project_id = $1 AND name = $2"
                      " AND alias = $3 RETURNING version",
                      3, v);
    int from = 0, found = 0;
    if (rv == 0) {
        found = PQntuples(r) == 1;
        from = found ? atoi(PQgetvalue(r, 0, 0)) : 0;
        PQclear(r);
        if (found)
            rv = record_history(db, project, name, alias, from, 0, "delete");
    }
    if (rv == 0 && found)
        rv = db_commit(db);
    else
        db_rollback(db);
    if (rv != 0) {
        svc_reply_failure(c, rv, "removing the alias");
        return;
    }
    if (!found) {
        svc_reply_error(c, 404, "alias_not_found", "the model has no such alias",
                        json_pack("{s:s, s:s}", "name", name, "alias", alias));
        return;
    }
    serve_forget(project, name);
    svc_reply_json(c, 200, json_pack("{s:s, s:s, s:i, s:b}", "name", name, "alias", alias,
                                     "version", from, "deleted", 1));
}

void handle_models_artifact(struct svc_call *c)
{
    const char *name = svc_param(c, 0), *ver = svc_param(c, 1);
    char *end;
    long v = strtol(ver, &end, 10);
    if (ver[0] == '\0' || *end != '\0' || v < 1 || v > 1000000000) {
        unprocessable(c, "version", "version must be a version number (1, 2, ...)");
        return;
    }
    const char *p[3] = {svc_project(c), name, ver};
    PGresult *r;
    int rv = db_execv(svc_db(c), &r,
                      "SELECT artifact FROM model_versions WHERE project_id = $1 AND name = $2"
                      " AND version = $3::int",
                      3, p);
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the model file");
        return;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        svc_reply_error(c, 404, "version_not_found", "the model has no such version",
                        json_pack("{s:s, s:s}", "name", name, "version", ver));
        return;
    }
    size_t n = 0;
    unsigned char *file = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 0), &n);
    PQclear(r);
    if (file == NULL) {
        svc_reply_failure(c, AIOPS_ENOMEM, "reading the model file");
        return;
    }
    svc_reply_raw(c, 200, "application/octet-stream", file, n);
    PQfreemem(file);
}
