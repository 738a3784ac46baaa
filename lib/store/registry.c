/* registry.c -- the model registry's storage (see registry.h). */
#include "store/registry.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/err.h"
#include "core/jsonx.h"


int registry_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)name[i]) || name[i] == '.' || name[i] == '_' ||
              name[i] == '-'))
            return 0;
    return name[0] != '.';
}

int registry_alias_valid(const char *a)
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

int registry_point_alias(struct db *db, const char *project, const char *name, const char *alias,
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
                  "INSERT INTO models (project_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", 2,
                  v2);
    /* The model row's lock numbers versions one at a time. The next number is read by a
     * statement of its own, after the lock is held: a subquery of the locking statement
     * would see the snapshot taken before it waited, without the version the holder of the
     * lock just added (two runs of one model finishing together got the same number). */
    if (rv == 0)
        rv = db_execv(db, NULL,
                      "SELECT 1 FROM models WHERE project_id = $1 AND name = $2 FOR UPDATE", 2, v2);
    if (rv == 0)
        rv = db_execv(db, &r,
                      "SELECT coalesce(max(version), 0) + 1 FROM model_versions"
                      " WHERE project_id = $1 AND name = $2",
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
                           model_task_name(m),
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
                  "SELECT 1 FROM model_aliases WHERE project_id = $1 AND name = $2 AND alias = "
                  "'" REGISTRY_CHAMPION "'",
                  2, v2);
    if (rv != 0)
        return rv;
    int has_champion = PQntuples(r) > 0;
    PQclear(r);
    if (!has_champion) {
        int from;
        rv =
            registry_point_alias(db, project, name, REGISTRY_CHAMPION, *version, "register", &from);
    }
    return rv;
}

int registry_resolve(struct db *db, const char *project, const char *name, const char *alias,
                     int *version)
{
    const char *v[3] = {project, name, alias ? alias : REGISTRY_CHAMPION};
    PGresult *r;
    /* the alias; without one asked for, the champion and else the latest version */
    int rv = db_execv_one(db, &r,
                          alias ? "SELECT version FROM model_aliases WHERE project_id = $1"
                                  " AND name = $2 AND alias = $3"
                                : "SELECT coalesce((SELECT version FROM model_aliases WHERE"
                                  " project_id = $1 AND name = $2 AND alias = $3), (SELECT"
                                  " max(version) FROM model_versions WHERE project_id = $1"
                                  " AND name = $2))",
                          3, v);
    if (rv != 0)
        return rv;
    rv = !PQgetisnull(r, 0, 0) ? AIOPS_OK : AIOPS_ENOTFOUND;
    if (rv == 0)
        *version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return rv;
}

int registry_version_exists(struct db *db, const char *project, const char *name, int version)
{
    char ver[16];
    snprintf(ver, sizeof ver, "%d", version);
    const char *v[3] = {project, name, ver};
    return db_execv_one(db, NULL,
                        "SELECT 1 FROM model_versions WHERE project_id = $1 AND name = $2"
                        " AND version = $3::int",
                        3, v);
}

int registry_model_exists(struct db *db, const char *project, const char *name)
{
    const char *v[2] = {project, name};
    return db_execv_one(db, NULL,
                        "SELECT 1 FROM model_versions WHERE project_id = $1 AND name = $2 LIMIT 1",
                        2, v);
}

int registry_delete_alias(struct db *db, const char *project, const char *name, const char *alias,
                          int *from)
{
    const char *v[3] = {project, name, alias};
    PGresult *r;
    *from = 0;
    int rv = db_execv_one(db, &r,
                          "DELETE FROM model_aliases WHERE project_id = $1 AND name = $2"
                          " AND alias = $3 RETURNING version",
                          3, v);
    if (rv != 0)
        return rv;
    *from = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return record_history(db, project, name, alias, *from, 0, "delete");
}

int registry_rollback_target(struct db *db, const char *project, const char *name,
                             const char *alias, int *current, int *previous)
{
    const char *v[3] = {project, name, alias};
    PGresult *r;
    int rv = db_execv_one(db, &r,
                          "SELECT a.version, (SELECT h.from_version FROM model_alias_history h"
                          "  JOIN model_versions mv ON mv.project_id = h.project_id AND mv.name ="
                          "  h.name AND mv.version = h.from_version"
                          "  WHERE h.project_id = a.project_id AND h.name = a.name AND h.alias ="
                          "  a.alias AND h.to_version = a.version AND h.action <> 'rollback'"
                          "  ORDER BY h.id DESC LIMIT 1)"
                          " FROM model_aliases a WHERE a.project_id = $1 AND a.name = $2"
                          " AND a.alias = $3",
                          3, v);
    if (rv != 0)
        return rv;
    *current = atoi(PQgetvalue(r, 0, 0));
    *previous = PQgetisnull(r, 0, 1) ? 0 : atoi(PQgetvalue(r, 0, 1));
    PQclear(r);
    return AIOPS_OK;
}

int registry_aliases(struct db *db, const char *project, const char *name, json_t **out)
{
    const char *v[2] = {project, name};
    PGresult *r;
    *out = NULL;
    int rv = db_execv(db, &r,
                      "SELECT alias, version FROM model_aliases WHERE project_id = $1 AND name = $2"
                      " ORDER BY alias",
                      2, v);
    if (rv != 0)
        return rv;
    json_t *o = json_object();
    int failed = o == NULL;
    for (int i = 0; i < PQntuples(r) && !failed; i++)
        jsonx_set_or_fail(o, PQgetvalue(r, i, 0), json_integer(atoi(PQgetvalue(r, i, 1))), &failed);
    PQclear(r);
    if (failed) {
        json_decref(o);
        return AIOPS_ENOMEM;
    }
    *out = o;
    return AIOPS_OK;
}

int registry_list(struct db *db, const char *project, json_t **out)
{
    const char *v[1] = {project};
    PGresult *r;
    *out = NULL;
    int rv = db_execv(
        db, &r,
        "SELECT m.name, " DB_TS(
            "m.created_at") ", count(v.version), max(v.version),"
                            " coalesce((SELECT json_object_agg(a.alias, a.version ORDER BY a.alias)"
                            "  FROM model_aliases a WHERE a.project_id = m.project_id"
                            "  AND a.name = m.name)::text, '{}'),"
                            " (SELECT kind || ' ' || task FROM model_versions l WHERE l.project_id "
                            "="
                            "  m.project_id AND l.name = m.name ORDER BY version DESC LIMIT 1),"
                            " coalesce(" DB_TS(
                                "max(v.created_at)") ", '')"
                                                     " FROM models m LEFT JOIN model_versions v ON "
                                                     "v.project_id = m.project_id"
                                                     " AND v.name = m.name WHERE m.project_id = $1"
                                                     " GROUP BY m.project_id, m.name, m.created_at "
                                                     "ORDER BY m.name",
        1, v);
    if (rv != 0)
        return rv;
    json_t *models = json_array();
    int failed = models == NULL;
    for (int i = 0; i < PQntuples(r) && !failed; i++) {
        char kind[32] = "", task[32] = "";
        sscanf(PQgetvalue(r, i, 5), "%31s %31s", kind, task);
        json_t *aliases = json_loads(PQgetvalue(r, i, 4), 0, NULL);
        jsonx_push_or_fail(models,
                           json_pack("{s:s, s:s, s:i, s:i, s:o, s:s, s:s, s:s}", "name",
                                     PQgetvalue(r, i, 0), "created_at", PQgetvalue(r, i, 1),
                                     "versions", atoi(PQgetvalue(r, i, 2)), "latest_version",
                                     atoi(PQgetvalue(r, i, 3)), "aliases",
                                     aliases ? aliases : json_object(), "model", kind, "task", task,
                                     "updated_at", PQgetvalue(r, i, 6)),
                           &failed);
    }
    PQclear(r);
    if (failed) {
        json_decref(models);
        return AIOPS_ENOMEM;
    }
    *out = models;
    return AIOPS_OK;
}

int registry_versions(struct db *db, const char *project, const char *name, json_t **versions,
                      json_t **aliases)
{
    const char *v[2] = {project, name};
    PGresult *r;
    *versions = *aliases = NULL;
    int rv =
        db_execv(db, &r,
                 "SELECT version, coalesce(run_id::text, ''), kind, task, encode(sha256, 'hex'),"
                 " octet_length(artifact), coalesce(metrics::text, 'null'), " DB_TS(
                     "created_at") " FROM model_versions WHERE project_id = $1 AND name = $2 ORDER "
                                   "BY version DESC",
                 2, v);
    if (rv != 0)
        return rv;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return AIOPS_ENOTFOUND;
    }
    json_t *al;
    if ((rv = registry_aliases(db, project, name, &al)) != 0) {
        PQclear(r);
        return rv;
    }
    json_t *list = json_array();
    int failed = list == NULL;
    for (int i = 0; i < PQntuples(r) && !failed; i++) {
        int ver = atoi(PQgetvalue(r, i, 0));
        json_t *mine = json_array();
        const char *a;
        json_t *av;
        json_object_foreach(al, a, av) if (json_integer_value(av) == ver)
            jsonx_push_or_fail(mine, json_string(a), &failed);
        json_t *metrics = json_loads(PQgetvalue(r, i, 6), JSON_DECODE_ANY, NULL);
        jsonx_push_or_fail(
            list,
            json_pack("{s:i, s:o, s:s, s:s, s:s, s:I, s:o, s:s, s:o}", "version", ver, "run_id",
                      PQgetvalue(r, i, 1)[0] ? json_string(PQgetvalue(r, i, 1)) : json_null(),
                      "model", PQgetvalue(r, i, 2), "task", PQgetvalue(r, i, 3), "sha256",
                      PQgetvalue(r, i, 4), "size_bytes",
                      (json_int_t)strtoll(PQgetvalue(r, i, 5), NULL, 10), "metrics",
                      metrics ? metrics : json_null(), "created_at", PQgetvalue(r, i, 7), "aliases",
                      mine),
            &failed);
    }
    PQclear(r);
    if (failed) {
        json_decref(list);
        json_decref(al);
        return AIOPS_ENOMEM;
    }
    *versions = list;
    *aliases = al;
    return AIOPS_OK;
}

int registry_artifact(struct db *db, const char *project, const char *name, int version, int verify,
                      unsigned char **file, size_t *n)
{
    char ver[16];
    snprintf(ver, sizeof ver, "%d", version);
    const char *v[3] = {project, name, ver};
    PGresult *r;
    *file = NULL;
    *n = 0;
    int rv = db_execv_one(db, &r,
                          verify ? "SELECT artifact, sha256 FROM model_versions WHERE"
                                   " project_id = $1 AND name = $2 AND version = $3::int"
                                 : "SELECT artifact FROM model_versions WHERE project_id = $1"
                                   " AND name = $2 AND version = $3::int",
                          3, v);
    if (rv != 0)
        return rv;
    size_t hn = 0;
    unsigned char *f = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 0), n);
    unsigned char *digest =
        verify ? PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 1), &hn) : NULL;
    PQclear(r);
    rv = f == NULL || (verify && digest == NULL) ? AIOPS_ENOMEM : AIOPS_OK;
    if (rv == 0 && verify) {
        uint8_t mine[32];
        sha256(f, *n, mine);
        if (hn != 32 || memcmp(mine, digest, 32) != 0)
            rv = AIOPS_ECORRUPT;
    }
    if (digest != NULL)
        PQfreemem(digest);
    if (rv != 0) {
        if (f != NULL)
            PQfreemem(f);
        *n = 0;
        return rv;
    }
    *file = f;
    return AIOPS_OK;
}

int registry_load_model(struct db *db, const char *project, const char *name, int version,
                        struct model **out, struct aiops_error *err)
{
    unsigned char *file;
    size_t n;
    *out = NULL;
    aiops_error_clear(err);
    int rv = registry_artifact(db, project, name, version, 1, &file, &n);
    if (rv == AIOPS_ECORRUPT)
        return aiops_error_set(err, rv, NULL, "the stored model file does not match its checksum");
    if (rv != 0)
        return rv;
    rv = model_load(file, n, out, err);
    PQfreemem(file);
    return rv;
}

int registry_cache_resolve(void *db, const char *project, const char *name, const char *alias,
                           int *version)
{
    return registry_resolve(db, project, name, alias, version);
}

int registry_cache_load(void *db, const char *project, const char *name, int version,
                        struct model **out, struct aiops_error *err)
{
    return registry_load_model(db, project, name, version, out, err);
}
