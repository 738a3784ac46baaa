/* GET/PUT /api/v1/datasets/{id}/descriptions: what each feature of a dataset means, in the
 * user's words (Korean text kept), shown by every report of a run on the dataset. A PUT
 * sends the whole set -- a `feature,description` CSV (text/csv, UTF-8, a header line) or a
 * JSON object {"feature": "description", ...} -- and replaces the previous one; every
 * feature must be a column of the dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/jsonx.h"
#include "data/descriptions.h"
#include "ingest_svc.h"
#include "rpc/envelope.h"
#include "store/datasets.h"

/* Answers a descriptions_* failure: 400 with the CSV error its code names, 422
 * invalid_request naming the feature, or the failure; details its place, plus `position`
 * (the member's, from 1) for a JSON object's member when position > 0. */
static void reply_descriptions_error(struct svc_call *c, int rv, const struct aiops_error *err,
                                     size_t position)
{
    enum api_error e = API_INVALID_REQUEST;
    if (rv == AIOPS_EPARSE && (err->code == NULL || apierr_find(err->code, &e) != 0))
        e = API_INVALID_CSV;
    if (rv != AIOPS_EPARSE && rv != AIOPS_EINVAL) {
        svc_reply_failure(c, rv, "reading the descriptions");
        return;
    }
    struct aiops_error place = *err;
    place.code = NULL; /* the error's own code says it */
    json_t *details = jsonx_error_details(&place);
    if (details != NULL && position > 0)
        json_object_set_new(details, "position", json_integer((json_int_t)position));
    svc_reply_error(c, e, err->message, details);
}

/* The CSV body into set: 0, or an error after answering. */
static int read_csv(struct svc_call *c, const char *data, size_t len, const json_t *columns,
                    json_t *set)
{
    struct csv_stream s;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = csv_stream_open_mem(&s, data, len, &descriptions_csv);
    if (rv == 0) {
        rv = descriptions_read_csv(&s, columns, set, &err);
        csv_stream_close(&s);
    }
    if (rv != 0)
        reply_descriptions_error(c, rv, &err, 0);
    return rv;
}

/* The JSON body into set: 0, or an error after answering. */
static int read_json(struct svc_call *c, const json_t *columns, json_t *set)
{
    json_t *body;
    int rv = svc_json_body(c, &body);
    if (rv != 0)
        return rv;
    const char *feature;
    json_t *v;
    size_t n = 0;
    struct aiops_error err = AIOPS_ERROR_INIT;
    json_object_foreach(body, feature, v)
    {
        n++;
        rv = json_is_string(v)
                 ? descriptions_add(set, columns, feature, json_string_value(v),
                                    json_string_length(v), &err)
                 : aiops_error_set(&err, AIOPS_EINVAL, feature,
                                   "the description of %.200s must be a string", feature);
        if (rv != 0) {
            reply_descriptions_error(c, rv, &err, n);
            break;
        }
    }
    json_decref(body);
    return rv;
}

/* {column name: true} of the dataset id: 0, or an error after answering 404. */
static int dataset_columns(struct svc_call *c, const char *id, json_t **columns)
{
    json_t *meta;
    int rv = datasets_get(svc_db(c), svc_project(c), id, &meta);
    if (rv != 0) {
        reply_dataset_failure(c, rv, id, "reading the dataset");
        return rv;
    }
    *columns = json_object();
    size_t i;
    json_t *col;
    json_array_foreach(json_object_get(meta, "schema"), i, col)
    {
        const char *name = json_string_value(json_object_get(col, "name"));
        if (name)
            json_object_set_new(*columns, name, json_true());
    }
    json_decref(meta);
    return AIOPS_OK;
}

static void reply_descriptions(struct svc_call *c, const char *id, json_t *set)
{
    svc_reply_json(c, 200,
                   json_pack("{s:s, s:I, s:o}", "dataset_id", id, "count",
                             (json_int_t)json_object_size(set), "descriptions", set));
}

void handle_datasets_descriptions(struct svc_call *c)
{
    const char *id = svc_param(c, 0);
    json_t *set;
    int rv = datasets_get_descriptions(svc_db(c), svc_project(c), id, &set);
    if (rv != 0) {
        reply_dataset_failure(c, rv, id, "reading the descriptions");
        return;
    }
    reply_descriptions(c, id, set);
}

/* JSON when the body says so (application/json, or no type and a body starting with '{'),
 * CSV for the CSV types uploads take. */
static int body_is_json(const char *ct, const char *data, size_t len)
{
    if (ct != NULL && ct[0] != '\0') {
        size_t n = strcspn(ct, "; \t");
        return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
               (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
    }
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
        i++;
    return i < len && data[i] == '{';
}

void handle_datasets_descriptions_put(struct svc_call *c)
{
    const char *id = svc_param(c, 0);
    const Aiops__Request *req = svc_request(c);
    const char *ct = envelope_header(req, "Content-Type");
    const char *data = (const char *)req->body.data;
    size_t len = req->body.len;
    int json = body_is_json(ct, data, len);
    if (!json && !ingest_csv_content_type(ct)) {
        svc_reply_error(c, API_UNSUPPORTED_MEDIA_TYPE,
                        "send the descriptions as text/csv (feature,description) or as a JSON "
                        "object (application/json)",
                        json_pack("{s:s}", "content_type", ct));
        return;
    }
    json_t *columns, *set = json_object();
    if (dataset_columns(c, id, &columns) != 0) {
        json_decref(set);
        return;
    }
    int rv = json ? read_json(c, columns, set) : read_csv(c, data, len, columns, set);
    json_decref(columns);
    if (rv == 0 && (rv = datasets_put_descriptions(svc_db(c), svc_project(c), id, set)) != 0)
        reply_dataset_failure(c, rv, id, "storing the descriptions");
    if (rv != 0) {
        json_decref(set);
        return;
    }
    reply_descriptions(c, id, set);
}
