/* segments.c -- svc-train's customer segments (seed 003): a k-means model's cluster for a
 * profile (POST /api/analysis, /api/analysis/batch), owners' names for clusters (PUT
 * .../clusters/{id}), and persona search over documents kept in PostgreSQL (/api/rag/...).
 *
 * svc-train serves models already, so segments live here: the same model cache, the same
 * registry. Cluster names come from the model file's "clusters" (lib/ml/segments.h) unless
 * cluster_overrides has the owner's (migration 0005). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/log.h"
#include "http/apierr.h"
#include "ml/featureset.h"
#include "ml/modelcache.h"
#include "ml/textvec.h"
#include "store/registry.h"
#include "train_svc.h"

#define BATCH_MAX 1000      /* profiles per /api/analysis/batch */
#define DOCS_PER_CALL 1000  /* documents per POST /api/rag/documents */
#define DOCS_SEARCHED 20000 /* documents a query compares with, newest first */
#define TOP_K_MAX 50
#define TITLE_MAX 500
#define DESCRIPTION_MAX 20000
#define CLUSTER_NAME_MAX 200
#define CLUSTER_DESCRIPTION_MAX 2000

/* --- the model --------------------------------------------------------------------------- */

/* The k-means model a request means: ?model=NAME (its champion), else the champion of the
 * project's most recently trained k-means model. NULL after replying. */
static struct cached_model *segment_model(struct svc_call *c, const json_t *body)
{
    char name[136];
    int rv = svc_query(c, "model", name, sizeof name);
    const char *from_body = json_string_value(json_object_get(body, "model"));
    if (rv == AIOPS_ENOTFOUND && from_body != NULL) {
        snprintf(name, sizeof name, "%s", from_body);
        rv = AIOPS_OK;
    }
    if (rv != 0 && rv != AIOPS_ENOTFOUND) {
        svc_reply_field(c, API_INVALID_PARAMETER, "model", "model must be a model's name");
        return NULL;
    }
    if (rv == AIOPS_ENOTFOUND) {
        const char *pv[1] = {svc_project(c)};
        PGresult *r = NULL;
        rv = db_execv_one(svc_db(c), &r,
                          "SELECT name FROM model_versions WHERE project_id = $1 AND kind = "
                          "'kmeans' ORDER BY created_at DESC, version DESC LIMIT 1",
                          1, pv);
        if (rv == AIOPS_ENOTFOUND) {
            svc_reply_error(c, API_NO_SEGMENT_MODEL, NULL, NULL);
            return NULL;
        }
        if (rv != 0) {
            svc_reply_failure(c, rv, "finding the k-means model");
            return NULL;
        }
        snprintf(name, sizeof name, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    struct cached_model *s = serve_model_get(c, name, NULL);
    if (s != NULL && !model_is_clustering(s->m)) {
        svc_reply_error(c, API_NOT_A_CLUSTERING_MODEL, NULL,
                        json_pack("{s:s, s:s}", "field", "model", "model", name));
        serve_model_put(s);
        return NULL;
    }
    return s;
}

/* The clusters of s's model as {"name", "description"} by id: the model file's, with the
 * owner's overrides. The caller owns the array; NULL after replying. */
static json_t *cluster_texts(struct svc_call *c, const struct cached_model *s)
{
    const json_t *clusters = json_object_get(s->m->meta, "clusters");
    json_t *out = json_array();
    size_t i;
    const json_t *cl;
    json_array_foreach(clusters, i, cl)
    {
        json_array_append_new(out, json_pack("{s:O, s:O}", "name", json_object_get(cl, "name"),
                                             "description", json_object_get(cl, "description")));
    }
    char ver[16];
    snprintf(ver, sizeof ver, "%d", s->version);
    const char *pv[3] = {svc_project(c), s->name, ver};
    PGresult *r = NULL;
    int rv = svc_execv(c, &r, "reading the cluster names",
                       "SELECT cluster_id, cluster_name, description FROM cluster_overrides"
                       " WHERE project_id = $1 AND name = $2 AND version = $3::int",
                       3, pv);
    if (rv != 0) {
        json_decref(out);
        return NULL;
    }
    for (int row = 0; row < PQntuples(r); row++) {
        json_t *o = json_array_get(out, (size_t)atol(PQgetvalue(r, row, 0)));
        if (o == NULL)
            continue;
        if (!PQgetisnull(r, row, 1))
            json_object_set_new(o, "name", json_string(PQgetvalue(r, row, 1)));
        if (!PQgetisnull(r, row, 2))
            json_object_set_new(o, "description", json_string(PQgetvalue(r, row, 2)));
    }
    PQclear(r);
    return out;
}

/* The clusters of profiles (a JSON array of objects) into labels[n]. A value of the wrong
 * type is 422 naming the field (prefix, e.g. "profiles[3]." for a batch); 0, or an error
 * after replying. */
static int assign_profiles(struct svc_call *c, const struct model *m, const json_t *profiles,
                           int batch, int32_t *labels)
{
    struct fmatrix x;
    json_t *errs = NULL;
    int rv = features_matrix_json(&m->features, profiles, &x, &errs);
    if (rv == AIOPS_EINVAL) {
        const json_t *e = json_array_get(errs, 0);
        const char *col = json_string_value(json_object_get(e, "column"));
        const char *why = json_string_value(json_object_get(e, "reason"));
        char field[300];
        if (batch)
            snprintf(field, sizeof field, "profiles[%lld].%s",
                     (long long)json_integer_value(json_object_get(e, "row")), col ? col : "");
        else
            snprintf(field, sizeof field, "%s", col ? col : "");
        svc_reply_error(c, API_INVALID_REQUEST, NULL,
                        json_pack("{s:s, s:s, s:O}", "field", field, "reason",
                                  why ? why : "wrong type", "errors", errs ? errs : json_null()));
        json_decref(errs);
        return rv;
    }
    json_decref(errs);
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the profiles");
        return rv;
    }
    double *out = malloc((x.nrows ? x.nrows : 1) * sizeof *out);
    rv = out ? model_predict(m, &x, out) : AIOPS_ENOMEM;
    for (size_t i = 0; rv == 0 && i < x.nrows; i++)
        labels[i] = (int32_t)out[i];
    free(out);
    fmatrix_free(&x);
    if (rv != 0)
        svc_reply_failure(c, rv, "assigning the clusters");
    return rv;
}

static json_t *analysis_json(const json_t *texts, int32_t label)
{
    const json_t *t = json_array_get(texts, (size_t)label);
    return json_pack("{s:i, s:O, s:O}", "predicted_cluster", (int)label, "cluster_name",
                     t ? json_object_get(t, "name") : json_null(), "cluster_description",
                     t ? json_object_get(t, "description") : json_null());
}

/* One profile's cluster with its name and description into *out (the caller owns it); the
 * model s. 0, or an error after replying. */
static int analyse_one(struct svc_call *c, const struct cached_model *s, const json_t *profile,
                       json_t **out)
{
    int32_t label = 0;
    json_t *rows = json_pack("[O]", profile);
    int rv = assign_profiles(c, s->m, rows, 0, &label);
    json_decref(rows);
    if (rv != 0)
        return rv;
    json_t *texts = cluster_texts(c, s);
    if (texts == NULL)
        return AIOPS_EDB;
    *out = analysis_json(texts, label);
    json_decref(texts);
    return AIOPS_OK;
}

void handle_analysis_one(struct svc_call *c)
{
    json_t *body, *reply = NULL;
    if (svc_json_body(c, &body) != 0)
        return;
    struct cached_model *s = segment_model(c, NULL);
    if (s != NULL && analyse_one(c, s, body, &reply) == 0)
        svc_reply_json(c, 200, reply);
    serve_model_put(s);
    json_decref(body);
}

static int check_profile(struct svc_call *c, const json_t *profile, size_t i)
{
    if (json_is_object(profile))
        return AIOPS_OK;
    svc_reply_field(c, API_INVALID_REQUEST, "profiles",
                    "profiles[%zu] must be an object of column: value", i);
    return AIOPS_EINVAL;
}

void handle_analysis_batch(struct svc_call *c)
{
    json_t *body, *profiles;
    if (svc_json_body_array(c, "profiles", BATCH_MAX, "profile objects", check_profile, &body,
                            &profiles) != 0)
        return;
    size_t n = json_array_size(profiles);
    struct cached_model *s = segment_model(c, body);
    int32_t *labels = malloc(n * sizeof *labels);
    json_t *texts = NULL;
    if (s != NULL && labels == NULL)
        svc_reply_failure(c, AIOPS_ENOMEM, "analysing");
    else if (s != NULL && assign_profiles(c, s->m, profiles, 1, labels) == 0 &&
             (texts = cluster_texts(c, s)) != NULL) {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, analysis_json(texts, labels[i]));
        svc_reply_json(c, 200, list);
    }
    json_decref(texts);
    free(labels);
    serve_model_put(s);
    json_decref(body);
}

/* --- PUT /api/v1/models/{name}/versions/{version}/clusters/{id} ------------------------- */

/* body[key] (or its alias) as text of 1..max bytes into *out (NULL when absent): 0, or
 * AIOPS_EINVAL after a 422 naming it. */
static int optional_text(struct svc_call *c, const json_t *body, const char *key, const char *alias,
                         size_t max, const char **out)
{
    const json_t *v = json_object_get(body, key);
    const char *name = key;
    if (v == NULL && alias != NULL && (v = json_object_get(body, alias)) != NULL)
        name = alias;
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return AIOPS_OK;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max) {
        svc_reply_field(c, API_INVALID_REQUEST, name, "%s must be text of 1 to %zu bytes", name,
                        max);
        return AIOPS_EINVAL;
    }
    *out = json_string_value(v);
    return AIOPS_OK;
}

void handle_models_clusters_put(struct svc_call *c)
{
    const char *name = svc_param(c, 0);
    json_t *body;
    if (svc_json_body(c, &body) != 0)
        return;
    struct cached_model *s = serve_model_get(c, name, svc_param(c, 1));
    long id;
    const char *cname = NULL, *cdesc = NULL;
    if (s == NULL)
        goto done;
    if (!model_is_clustering(s->m)) {
        svc_reply_error(c, API_NOT_A_CLUSTERING_MODEL, NULL,
                        json_pack("{s:s, s:s}", "field", "name", "model", name));
        goto done;
    }
    size_t k = json_array_size(json_object_get(s->m->meta, "clusters"));
    if (svc_parse_long(c, API_INVALID_PARAMETER, "id", svc_param(c, 2), 0, 1000000, &id) != 0)
        goto done;
    if ((size_t)id >= k) {
        svc_reply_error(c, API_CLUSTER_NOT_FOUND, NULL,
                        json_pack("{s:s, s:i, s:I, s:I}", "name", name, "version", s->version, "id",
                                  (json_int_t)id, "clusters", (json_int_t)k));
        goto done;
    }
    if (optional_text(c, body, "name", "cluster_name", CLUSTER_NAME_MAX, &cname) != 0 ||
        optional_text(c, body, "description", "cluster_description", CLUSTER_DESCRIPTION_MAX,
                      &cdesc) != 0)
        goto done;
    if (cname == NULL && cdesc == NULL) {
        svc_reply_field(c, API_INVALID_REQUEST, "name", "give name, description or both");
        goto done;
    }
    char ver[16], idt[24];
    snprintf(ver, sizeof ver, "%d", s->version);
    snprintf(idt, sizeof idt, "%ld", id);
    const char *pv[6] = {svc_project(c), s->name, ver, idt, cname, cdesc};
    int rv = svc_execv(c, NULL, "storing the cluster's name",
                       "INSERT INTO cluster_overrides (project_id, name, version, cluster_id,"
                       " cluster_name, description) VALUES ($1, $2, $3::int, $4::int, $5, $6)"
                       " ON CONFLICT (project_id, name, version, cluster_id) DO UPDATE SET"
                       " cluster_name = COALESCE(EXCLUDED.cluster_name,"
                       " cluster_overrides.cluster_name), description ="
                       " COALESCE(EXCLUDED.description, cluster_overrides.description),"
                       " updated_at = now()",
                       6, pv);
    if (rv != 0)
        goto done;
    json_t *texts = cluster_texts(c, s);
    if (texts != NULL) {
        const json_t *t = json_array_get(texts, (size_t)id);
        svc_reply_json(c, 200,
                       json_pack("{s:s, s:i, s:I, s:O, s:O}", "model", s->name, "version",
                                 s->version, "id", (json_int_t)id, "name",
                                 json_object_get(t, "name"), "description",
                                 json_object_get(t, "description")));
        json_decref(texts);
    }
done:
    serve_model_put(s);
    json_decref(body);
}

/* --- persona documents ---------------------------------------------------------------- */

/* The text a document is embedded from: its title, description and cluster name. */
static int embed_document(const char *title, const char *desc, const char *cluster,
                          struct buf *bytes)
{
    struct buf text = {0};
    int rv = buf_printf(&text, "%s\n%s\n%s", title, desc, cluster) ? AIOPS_ENOMEM : AIOPS_OK;
    struct textvec v;
    if (rv == 0)
        rv = textvec_embed(text.data, text.len, &v);
    if (rv == 0) {
        rv = textvec_save(&v, bytes);
        textvec_free(&v);
    }
    buf_free(&text);
    return rv;
}

/* Inserts one document; *id (may be NULL) its id. model_name NULL: added by a client. */
static int insert_document(struct db *db, const char *project, const char *title, const char *desc,
                           const char *cluster, const char *metadata, const char *model_name,
                           const char *version, const char *cluster_id, long long *id)
{
    struct buf emb = {0};
    int rv = embed_document(title, desc, cluster, &emb);
    const char *pv[9] = {project,    title,   desc,       cluster, metadata,
                         model_name, version, cluster_id, emb.data};
    int lengths[9] = {0, 0, 0, 0, 0, 0, 0, 0, (int)emb.len};
    int formats[9] = {0, 0, 0, 0, 0, 0, 0, 0, 1};
    PGresult *r = NULL;
    if (rv == 0)
        rv = db_exec_one(db, &r,
                         "INSERT INTO rag_documents (project_id, title, description, cluster_name,"
                         " metadata, model_name, model_version, cluster_id, embedding) VALUES"
                         " ($1, $2, $3, $4, $5::jsonb, $6, $7::int, $8::int, $9) RETURNING id",
                         9, pv, lengths, formats);
    if (rv == 0 && id != NULL)
        *id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    buf_free(&emb);
    return rv;
}

int segments_add_documents(struct db *db, const char *project, const char *model_name, int version,
                           const struct model *m)
{
    if (!model_is_clustering(m))
        return AIOPS_OK;
    const json_t *clusters = json_object_get(m->meta, "clusters");
    char ver[16];
    snprintf(ver, sizeof ver, "%d", version);
    size_t i;
    const json_t *cl;
    json_array_foreach(clusters, i, cl)
    {
        char idt[24], seg[48];
        snprintf(idt, sizeof idt, "%zu", i);
        snprintf(seg, sizeof seg, "segment_%zu", i);
        json_t *meta =
            json_pack("{s:s, s:i, s:I, s:O, s:O, s:O}", "model", model_name, "version", version,
                      "cluster_id", (json_int_t)i, "size", json_object_get(cl, "size"), "name_en",
                      json_object_get(cl, "name_en"), "centroid", json_object_get(cl, "centroid"));
        char *mt = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
        json_decref(meta);
        /* a generated name may be longer than a title may be (long column names): cut at
         * a character boundary */
        char title_buf[TITLE_MAX + 1];
        const char *name = json_string_value(json_object_get(cl, "name"));
        snprintf(title_buf, sizeof title_buf, "%s", name ? name : "");
        size_t tl = strlen(title_buf);
        if (name != NULL && tl < strlen(name))
            while (tl > 0 && ((unsigned char)name[tl] & 0xC0) == 0x80)
                title_buf[--tl] = '\0';
        const char *title = name ? title_buf : NULL;
        const char *desc = json_string_value(json_object_get(cl, "description"));
        int rv = mt && title && desc ? insert_document(db, project, title, desc, seg, mt,
                                                       model_name, ver, idt, NULL)
                                     : AIOPS_ENOMEM;
        free(mt);
        if (rv != 0)
            return rv;
    }
    return AIOPS_OK;
}

/* One document of a POST body, checked: 0, or AIOPS_EINVAL after a 422 naming the field. */
static int check_document(struct svc_call *c, const json_t *d, size_t i)
{
    if (!json_is_object(d)) {
        svc_reply_field(c, API_INVALID_REQUEST, "documents", "documents[%zu] must be an object", i);
        return AIOPS_EINVAL;
    }
    static const struct {
        const char *key;
        size_t min, max;
        int required;
    } fields[] = {{"title", 1, TITLE_MAX, 1},
                  {"description", 0, DESCRIPTION_MAX, 1},
                  {"cluster_name", 0, CLUSTER_NAME_MAX, 0}};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        const json_t *v = json_object_get(d, fields[f].key);
        if (v == NULL && !fields[f].required)
            continue;
        if (!json_is_string(v) || json_string_length(v) < fields[f].min ||
            json_string_length(v) > fields[f].max) {
            char field[64];
            snprintf(field, sizeof field, "documents[%zu].%s", i, fields[f].key);
            svc_reply_field(c, API_INVALID_REQUEST, field, "%s must be text of %zu to %zu bytes",
                            field, fields[f].min, fields[f].max);
            return AIOPS_EINVAL;
        }
    }
    const json_t *meta = json_object_get(d, "metadata");
    if (meta != NULL && !json_is_object(meta) && !json_is_null(meta)) {
        char field[64];
        snprintf(field, sizeof field, "documents[%zu].metadata", i);
        svc_reply_field(c, API_INVALID_REQUEST, field, "%s must be an object", field);
        return AIOPS_EINVAL;
    }
    return AIOPS_OK;
}

static json_t *document_json(PGresult *r, int row)
{
    json_t *meta = json_loads(PQgetvalue(r, row, 4), 0, NULL);
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:s, s:o, s:s}", "id", (json_int_t)atoll(PQgetvalue(r, row, 0)),
                  "title", PQgetvalue(r, row, 1), "description", PQgetvalue(r, row, 2),
                  "cluster_name", PQgetvalue(r, row, 3), "metadata", meta ? meta : json_object(),
                  "created_at", PQgetvalue(r, row, 5));
    if (o != NULL && !PQgetisnull(r, row, 6)) {
        json_object_set_new(o, "model", json_string(PQgetvalue(r, row, 6)));
        json_object_set_new(o, "model_version", json_integer(atoi(PQgetvalue(r, row, 7))));
    }
    return o;
}

#define DOC_COLUMNS                                                                                \
    "id, title, description, cluster_name, metadata::text,"                                        \
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), model_name,"       \
    " model_version"

void handle_rag_documents_add(struct svc_call *c)
{
    json_t *body, *docs;
    if (svc_json_body_array(c, "documents", DOCS_PER_CALL, "documents", check_document, &body,
                            &docs) != 0)
        return;
    size_t n = json_array_size(docs);
    struct db *db = svc_db(c);
    json_t *ids = json_array();
    int rv = db_begin(db);
    for (size_t i = 0; rv == 0 && i < n; i++) {
        const json_t *d = json_array_get(docs, i), *meta = json_object_get(d, "metadata");
        const char *cl = json_string_value(json_object_get(d, "cluster_name"));
        char *mt = json_is_object(meta) ? json_dumps(meta, JSON_COMPACT) : NULL;
        long long id = 0;
        rv = insert_document(db, svc_project(c), json_string_value(json_object_get(d, "title")),
                             json_string_value(json_object_get(d, "description")), cl ? cl : "",
                             mt ? mt : "{}", NULL, NULL, NULL, &id);
        free(mt);
        json_array_append_new(ids, json_integer((json_int_t)id));
    }
    if (rv == 0)
        rv = db_commit(db);
    else
        db_rollback(db);
    if (rv != 0)
        svc_reply_failure(c, rv, "storing the documents");
    else
        svc_reply_json(c, 201, json_pack("{s:o, s:I}", "ids", ids, "added", (json_int_t)n));
    if (rv != 0)
        json_decref(ids);
    json_decref(body);
}

void handle_rag_documents_list(struct svc_call *c)
{
    long limit, offset;
    if (svc_query_long(c, "limit", 100, 1, 1000, &limit) != 0 ||
        svc_query_long(c, "offset", 0, 0, 100000000, &offset) != 0)
        return;
    char lim[24], off[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    snprintf(off, sizeof off, "%ld", offset);
    const char *pv[3] = {svc_project(c), lim, off};
    PGresult *r = NULL, *t = NULL;
    int rv = db_execv(svc_db(c), &r,
                      "SELECT " DOC_COLUMNS " FROM rag_documents WHERE project_id = $1"
                      " ORDER BY id LIMIT $2::int OFFSET $3::int",
                      3, pv);
    if (rv == 0)
        rv = db_execv_one(svc_db(c), &t, "SELECT count(*) FROM rag_documents WHERE project_id = $1",
                          1, pv);
    if (rv != 0) {
        PQclear(r);
        svc_reply_failure(c, rv, "listing the documents");
        return;
    }
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(list, document_json(r, i));
    svc_reply_json(c, 200,
                   json_pack("{s:o, s:I, s:i, s:i}", "documents", list, "total",
                             (json_int_t)atoll(PQgetvalue(t, 0, 0)), "limit", (int)limit, "offset",
                             (int)offset));
    PQclear(r);
    PQclear(t);
}

void handle_rag_documents_delete(struct svc_call *c)
{
    long id;
    if (svc_parse_long(c, API_INVALID_PARAMETER, "id", svc_param(c, 0), 1, 9000000000000000000L,
                       &id) != 0)
        return;
    char idt[24];
    snprintf(idt, sizeof idt, "%ld", id);
    const char *pv[2] = {svc_project(c), idt};
    int rv = db_execv_one(svc_db(c), NULL,
                          "DELETE FROM rag_documents WHERE project_id = $1 AND id = $2::bigint"
                          " RETURNING id",
                          2, pv);
    if (rv == AIOPS_ENOTFOUND)
        svc_reply_error(c, API_DOCUMENT_NOT_FOUND, NULL, json_pack("{s:I}", "id", (json_int_t)id));
    else if (rv != 0)
        svc_reply_failure(c, rv, "deleting the document");
    else
        svc_reply_json(c, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "deleted", 1));
}

/* --- POST /api/rag/query ----------------------------------------------------------------- */

/* A profile as text: its cluster's name and description, then "column: value" pairs. */
static int profile_text(struct svc_call *c, const json_t *profile, struct buf *text,
                        json_t **cluster)
{
    struct cached_model *s = segment_model(c, NULL);
    if (s == NULL)
        return AIOPS_EINVAL;
    json_t *a = NULL;
    int rv = analyse_one(c, s, profile, &a);
    serve_model_put(s);
    if (rv != 0)
        return rv;
    buf_printf(text, "%s\n%s\n", json_string_value(json_object_get(a, "cluster_name")),
               json_string_value(json_object_get(a, "cluster_description")));
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)profile, key, v)
    {
        char *val = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
        buf_printf(text, "%s: %s\n", key, json_is_string(v) ? json_string_value(v) : val);
        free(val);
    }
    *cluster = a;
    return AIOPS_OK;
}

struct scored {
    double score;
    int row;
};

static int by_score(const void *a, const void *b)
{
    const struct scored *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return (x->row > y->row) - (x->row < y->row); /* newest first on ties (rows are newest first) */
}

/* The matches of query among r's documents (embedding in column 4), best first. */
static json_t *rank(PGresult *r, const struct textvec *query, long top_k)
{
    int n = PQntuples(r);
    struct textvec *docs = calloc((size_t)(n ? n : 1), sizeof *docs);
    struct scored *sc = malloc((size_t)(n ? n : 1) * sizeof *sc);
    double *idf = malloc(TEXTVEC_DIM * sizeof *idf);
    if (docs == NULL || sc == NULL || idf == NULL) {
        free(docs), free(sc), free(idf);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        size_t len = 0;
        unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 4), &len);
        if (raw == NULL || textvec_load(raw, len, &docs[i]) != 0)
            memset(&docs[i], 0, sizeof docs[i]); /* unreadable: matches nothing */
        PQfreemem(raw);
    }
    textvec_idf(docs, (size_t)n, idf);
    for (int i = 0; i < n; i++) {
        sc[i].score = textvec_cosine(query, &docs[i], idf);
        sc[i].row = i;
    }
    qsort(sc, (size_t)n, sizeof *sc, by_score);
    json_t *matches = json_array();
    for (int i = 0; i < n && i < top_k; i++) {
        int row = sc[i].row;
        json_array_append_new(matches,
                              json_pack("{s:I, s:s, s:s, s:s, s:o}", "id",
                                        (json_int_t)atoll(PQgetvalue(r, row, 0)), "title",
                                        PQgetvalue(r, row, 1), "description", PQgetvalue(r, row, 2),
                                        "cluster_name", PQgetvalue(r, row, 3), "score",
                                        jsonx_num(round(sc[i].score * 1e6) / 1e6, 0)));
    }
    for (int i = 0; i < n; i++)
        textvec_free(&docs[i]);
    free(docs), free(sc), free(idf);
    return matches;
}

void handle_rag_query(struct svc_call *c)
{
    json_t *body, *cluster = NULL;
    if (svc_json_body(c, &body) != 0)
        return;
    const json_t *text = json_object_get(body, "text"), *profile = json_object_get(body, "profile");
    const json_t *topk = json_object_get(body, "top_k");
    struct buf q = {0};
    struct textvec qv = {0};
    PGresult *r = NULL;
    long top_k = 5;
    if (topk != NULL && (!json_is_integer(topk) || json_integer_value(topk) < 1 ||
                         json_integer_value(topk) > TOP_K_MAX)) {
        svc_reply_field(c, API_INVALID_REQUEST, "top_k",
                        "top_k must be a whole number from 1 to %d", TOP_K_MAX);
        goto done;
    }
    if (topk != NULL)
        top_k = (long)json_integer_value(topk);
    if (text != NULL && !json_is_null(text) &&
        (!json_is_string(text) || json_string_length(text) == 0 ||
         json_string_length(text) > DESCRIPTION_MAX)) {
        svc_reply_field(c, API_INVALID_REQUEST, "text", "text must be text of 1 to %d bytes",
                        DESCRIPTION_MAX);
        goto done;
    }
    if (profile != NULL && !json_is_null(profile) && !json_is_object(profile)) {
        svc_reply_field(c, API_INVALID_REQUEST, "profile",
                        "profile must be an object of column: value");
        goto done;
    }
    if (!json_is_string(text) && !json_is_object(profile)) {
        svc_reply_field(c, API_INVALID_REQUEST, "text", "give text or profile");
        goto done;
    }
    if (json_is_object(profile) && profile_text(c, profile, &q, &cluster) != 0)
        goto done;
    if (json_is_string(text))
        buf_append(&q, json_string_value(text), json_string_length(text));
    int rv = textvec_embed(q.data ? q.data : "", q.len, &qv);
    const char *pv[2] = {svc_project(c), NULL};
    char lim[24];
    snprintf(lim, sizeof lim, "%d", DOCS_SEARCHED);
    pv[1] = lim;
    if (rv == 0)
        rv = db_execv(svc_db(c), &r,
                      "SELECT id, title, description, cluster_name, embedding FROM rag_documents"
                      " WHERE project_id = $1 ORDER BY id DESC LIMIT $2::int",
                      2, pv);
    json_t *matches = rv == 0 ? rank(r, &qv, top_k) : NULL;
    if (rv == 0 && matches == NULL)
        rv = AIOPS_ENOMEM;
    if (rv != 0) {
        svc_reply_failure(c, rv, "searching the documents");
        goto done;
    }
    json_t *reply = json_pack("{s:o}", "matches", matches);
    if (cluster != NULL)
        json_object_set(reply, "profile_cluster", cluster);
    svc_reply_json(c, 200, reply);
done:
    PQclear(r);
    textvec_free(&qv);
    buf_free(&q);
    json_decref(cluster);
    json_decref(body);
}
