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

void reply_model_not_found(struct svc_call *c, const char *name)
{
    svc_reply_error(c, API_MODEL_NOT_FOUND, NULL, json_pack("{s:s}", "name", name));
}

void reply_version_not_found(struct svc_call *c, const char *name, int version)
{
    svc_reply_error(c, API_VERSION_NOT_FOUND, NULL,
                    json_pack("{s:s, s:i}", "name", name, "version", version));
}

/* An alias that is not there: the model's absence is what to say when the model itself
 * is not there either. */
void reply_alias_not_found(struct svc_call *c, const char *name, const char *alias)
{
    if (registry_model_exists(svc_db(c), svc_project(c), name) == AIOPS_ENOTFOUND) {
        reply_model_not_found(c, name);
        return;
    }
    svc_reply_error(c, API_ALIAS_NOT_FOUND, NULL,
                    json_pack("{s:s, s:s}", "name", name, "alias", alias));
}

/* 422 invalid_request for an alias that is not a valid alias name. */
static void reply_bad_alias(struct svc_call *c)
{
    svc_reply_field(c, API_INVALID_REQUEST, "alias",
                    "alias must be a letter then up to 63 of A-Z a-z 0-9 _ . -");
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
        reply_model_not_found(c, name);
    else if (rv != 0)
        svc_reply_failure(c, rv, "listing model versions");
    else
        svc_reply_json(c, 200, json_pack("{s:s, s:o, s:o}", "name", name, "aliases", aliases,
                                         "versions", versions));
}

/* The body's "version" (a number, or a string of one): 0 with *version; AIOPS_EINVAL after
 * answering 422 naming it. */
static int body_version(struct svc_call *c, json_t *body, int *version)
{
    json_t *v = json_object_get(body, "version");
    char text[32] = "";
    if (json_is_integer(v))
        snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_string(v))
        snprintf(text, sizeof text, "%s", json_string_value(v));
    long n;
    int rv = svc_parse_long(c, API_INVALID_REQUEST, "version", text, 1, REGISTRY_MAX_VERSION, &n);
    *version = (int)(rv == 0 ? n : 0);
    return rv;
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
    rv = db_finish(db, rv);
    if (rv == AIOPS_ENOTFOUND) {
        reply_version_not_found(c, name, version);
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

/* {"alias", "version"} points alias (default_alias when the body has none; NULL: it must
 * have one) at version. */
static void alias_from_body(struct svc_call *c, const char *default_alias, const char *action)
{
    json_t *body;
    if (svc_json_body(c, &body) != 0)
        return;
    const char *alias = json_string_value(json_object_get(body, "alias"));
    if (alias == NULL)
        alias = default_alias;
    int version;
    if (alias == NULL || !registry_alias_valid(alias))
        reply_bad_alias(c);
    else if (body_version(c, body, &version) == 0)
        set_alias(c, svc_param(c, 0), alias, version, action);
    json_decref(body);
}

void handle_models_alias_set(struct svc_call *c)
{
    alias_from_body(c, NULL, "set");
}

void handle_models_promote(struct svc_call *c)
{
    alias_from_body(c, REGISTRY_CHAMPION, "promote");
}

void handle_models_rollback(struct svc_call *c)
{
    json_t *body;
    if (svc_json_body(c, &body) != 0)
        return;
    const char *alias = json_string_value(json_object_get(body, "alias"));
    if (alias == NULL)
        alias = REGISTRY_CHAMPION;
    const char *name = svc_param(c, 0);
    char alias_copy[72];
    snprintf(alias_copy, sizeof alias_copy, "%s", alias);
    json_decref(body);
    if (!registry_alias_valid(alias_copy)) {
        reply_bad_alias(c);
        return;
    }
    int current, previous;
    int rv = registry_rollback_target(svc_db(c), svc_project(c), name, alias_copy, &current,
                                      &previous);
    if (rv == AIOPS_ENOTFOUND) {
        reply_alias_not_found(c, name, alias_copy);
        return;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the alias history");
        return;
    }
    if (previous == 0) {
        svc_reply_error(
            c, API_NOTHING_TO_ROLL_BACK, NULL,
            json_pack("{s:s, s:s, s:i}", "name", name, "alias", alias_copy, "version", current));
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
    rv = db_finish(db, rv);
    if (rv == AIOPS_ENOTFOUND) {
        reply_alias_not_found(c, name, alias);
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
    const char *name = svc_param(c, 0);
    long v;
    if (svc_parse_long(c, API_INVALID_PARAMETER, "version", svc_param(c, 1), 1,
                       REGISTRY_MAX_VERSION, &v) != 0)
        return;
    unsigned char *file;
    size_t n;
    int rv = registry_artifact(svc_db(c), svc_project(c), name, (int)v, 0, &file, &n);
    if (rv == AIOPS_ENOTFOUND) {
        reply_version_not_found(c, name, (int)v);
        return;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the model file");
        return;
    }
    svc_reply_raw(c, 200, "application/octet-stream", file, n);
    PQfreemem(file);
}
