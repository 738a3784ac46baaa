/* registry.h -- the model registry's storage: named models of a project, their versions (the
 * model file, its SHA-256 and metrics) and aliases -- the champion, a challenger or any name
 * -- with every alias change kept in model_alias_history so that a promotion can be rolled
 * back.
 *
 * Every function runs on the caller's connection and answers AIOPS_E* from lib/store/db.h
 * (AIOPS_EUNAVAIL when PostgreSQL is down); those that change several rows say that they
 * expect the caller's transaction. Names and aliases are checked by the caller first
 * (registry_name_valid, registry_alias_valid): the schema's CHECKs refuse the rest. */
#ifndef AIOPS_REGISTRY_H
#define AIOPS_REGISTRY_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"
#include "ml/model.h"
#include "store/db.h"

#define REGISTRY_CHAMPION "champion"
/* Versions are numbered from 1 to this. */
#define REGISTRY_MAX_VERSION 1000000000

/* Model names: 1..128 characters of [A-Za-z0-9._-], not starting with '.' (they appear in
 * URLs). */
int registry_name_valid(const char *name);
/* Alias names: a letter, then up to 63 of [A-Za-z0-9_.-]. */
int registry_alias_valid(const char *alias);

/* Stores m as the next version of `name` (the caller's transaction: the model row's lock
 * numbers versions one at a time); the first version of a name becomes its champion.
 * *version receives the number. AIOPS_ETOOBIG for a model file over 1 GiB. */
int registry_add_version(struct db *db, const char *project, const char *name, const char *run_id,
                         const struct model *m, const json_t *metrics, int *version);
/* The version an alias points at or, with alias NULL, the champion -- else the latest.
 * AIOPS_ENOTFOUND when the model or alias does not exist. */
int registry_resolve(struct db *db, const char *project, const char *name, const char *alias,
                     int *version);
/* AIOPS_OK when the model has that version, AIOPS_ENOTFOUND when not. */
int registry_version_exists(struct db *db, const char *project, const char *name, int version);
/* 0 when project has a model called name (any version), AIOPS_ENOTFOUND when not. */
int registry_model_exists(struct db *db, const char *project, const char *name);

/* Points alias at version (the caller's transaction, after registry_version_exists),
 * recording the change with `action` ("set", "promote", "rollback", "register"). *from
 * receives the version it pointed at before (0: none). */
int registry_point_alias(struct db *db, const char *project, const char *name, const char *alias,
                         int version, const char *action, int *from);
/* Removes an alias (the caller's transaction), recording it. *from receives the version it
 * pointed at. AIOPS_ENOTFOUND when there was no such alias. */
int registry_delete_alias(struct db *db, const char *project, const char *name, const char *alias,
                          int *from);
/* Where a rollback of alias goes: *current is the version it points at, *previous the one it
 * pointed at before the change that made it point there (0: none; versions deleted since are
 * skipped), so successive rollbacks walk back through a stack of promotions. AIOPS_ENOTFOUND
 * when the alias does not exist. */
int registry_rollback_target(struct db *db, const char *project, const char *name,
                             const char *alias, int *current, int *previous);

/* The aliases of a model as {"alias": version} (caller owns *out). */
int registry_aliases(struct db *db, const char *project, const char *name, json_t **out);
/* The project's models, by name: [{"name", "created_at", "versions", "latest_version",
 * "aliases", "model", "task", "updated_at"}] (caller owns *out). */
int registry_list(struct db *db, const char *project, json_t **out);
/* A model's versions, newest first: [{"version", "run_id", "model", "task", "sha256",
 * "size_bytes", "metrics", "created_at", "aliases": [...]}] and its aliases (caller owns
 * both). AIOPS_ENOTFOUND when the model has no version. */
int registry_versions(struct db *db, const char *project, const char *name, json_t **versions,
                      json_t **aliases);

/* A version's model file (caller frees *file with PQfreemem). With `verify`, its SHA-256 is
 * checked against the stored one: AIOPS_ECORRUPT when they differ. AIOPS_ENOTFOUND. */
int registry_artifact(struct db *db, const char *project, const char *name, int version,
                      int verify, unsigned char **file, size_t *n);
/* A version's model, read and checked (caller owns *out: model_free). AIOPS_ECORRUPT (or
 * AIOPS_EUNSUPPORTED for a file of another format) with the reason in err->message (err may
 * be NULL); AIOPS_ENOTFOUND. */
int registry_load_model(struct db *db, const char *project, const char *name, int version,
                        struct model **out, struct aiops_error *err);
/* registry_resolve and registry_load_model as a model cache's callbacks (model_resolve_fn,
 * model_load_fn in lib/ml/modelcache.h): arg is the struct db * to read from. */
int registry_cache_resolve(void *db, const char *project, const char *name, const char *alias,
                           int *version);
int registry_cache_load(void *db, const char *project, const char *name, int version,
                        struct model **out, struct aiops_error *err);

#endif
