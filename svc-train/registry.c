/* The model registry's routes: named models, their versions and aliases, on top of the
 * registry's storage (lib/store/registry.h). */
#include "store/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "train_svc.h"

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

void handle_models_list(struct svc_call *c)
{
    json_t *models;
    int rv = registry_list(svc_db(c), svc_project(c), &models);
    if (rv != 0)
        svc_reply_failure(c, rv, "listing models");
    else
        svc_reply_json(c, 200, json_pack("{s:o}", "models", models));
}

void handle_models_versions(struct svc_call *c)
{
    const char *name = svc_param(c, 0);
    json_t *versions, *aliases;
    int rv = registry_versions(svc_db(c), svc_project(c), name, &versions, &aliases);
    if (rv == AIOPS_ENOTFOUND)
        model_not_found(c, name);
    else if (rv != 0)
        svc_reply_failure(c, rv, "listing model versions");
    else
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
    int from = 0;
    int rv = db_begin(db);
    if (rv == 0)
        rv = registry_version_exists(db, project, name, version);
    if (rv == 0)
        rv = registry_point_alias(db, project, name, alias, version, action, &from);
    if (rv == 0)
        rv = db_commit(db);
    else
        db_rollback(db);
    if (rv == AIOPS_ENOTFOUND) {
        svc_reply_error(c, 404, "version_not_found", "the model has no such version",
                        json_pack("{s:s, s:i}", "name", name, "version", version));
        return;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "setting the alias");
        return;
    }
    serve_forget(project, name);
    log_json(LOG_LEVEL_INFO, "model alias changed",
             json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "project", project, "model", name,
                       "alias", alias, "from", from, "to", version, "action", action));
    json_t *aliases = NULL;
    if (registry_aliases(db, project, name, &aliases) != 0)
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
    if (alias == NULL || !registry_alias_valid(alias))
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
    if (alias != NULL && !registry_alias_valid(alias))
        unprocessable(c, "alias", "alias: a letter then up to 63 of A-Z a-z 0-9 _ . -");
    else if (body_version(c, body, 1, &version) == 0)
        set_alias(c, svc_param(c, 0), alias ? alias : REGISTRY_CHAMPION, version, "promote");
    json_decref(body);
}

void handle_models_rollback(struct svc_call *c)
{
    json_t *body = request_json(c);
    if (body == NULL)
        return;
    const char *alias = json_string_value(json_object_get(body, "alias"));
    if (alias == NULL)
        alias = REGISTRY_CHAMPION;
    const char *name = svc_param(c, 0);
    char alias_copy[72];
    snprintf(alias_copy, sizeof alias_copy, "%s", alias);
    json_decref(body);
    if (!registry_alias_valid(alias_copy)) {
        unprocessable(c, "alias", "alias: a letter then up to 63 of A-Z a-z 0-9 _ . -");
        return;
    }
    int current, previous;
    int rv = registry_rollback_target(svc_db(c), svc_project(c), name, alias_copy, &current,
                                      &previous);
    if (rv == AIOPS_ENOTFOUND) {
        svc_reply_error(c, 404, "alias_not_found", "the model has no such alias",
                        json_pack("{s:s, s:s}", "name", name, "alias", alias_copy));
        return;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the alias history");
        return;
    }
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
    struct db *db = svc_db(c);
    int from = 0;
    int rv = db_begin(db);
    if (rv == 0)
        rv = registry_delete_alias(db, project, name, alias, &from);
    if (rv == 0)
        rv = db_commit(db);
    else
        db_rollback(db);
    if (rv == AIOPS_ENOTFOUND) {
        svc_reply_error(c, 404, "alias_not_found", "the model has no such alias",
                        json_pack("{s:s, s:s}", "name", name, "alias", alias));
        return;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "removing the alias");
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
    unsigned char *file;
    size_t n;
    int rv = registry_artifact(svc_db(c), svc_project(c), name, (int)v, 0, &file, &n);
    if (rv == AIOPS_ENOTFOUND) {
        svc_reply_error(c, 404, "version_not_found", "the model has no such version",
                        json_pack("{s:s, s:s}", "name", name, "version", ver));
        return;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the model file");
        return;
    }
    svc_reply_raw(c, 200, "application/octet-stream", file, n);
    PQfreemem(file);
}
