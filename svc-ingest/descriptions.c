/* GET/PUT /api/v1/datasets/{id}/descriptions: what each feature of a dataset means, in the
 * user's words (Korean text kept), shown by every report of a run on the dataset. A PUT
 * sends the whole set -- a `feature,description` CSV (text/csv, UTF-8, a header line) or a
 * JSON object {"feature": "description", ...} -- and replaces the previous one; every
 * feature must be a column of the dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/encode.h"
#include "core/err.h"
#include "data/csv.h"
#include "ingest_svc.h"
#include "rpc/envelope.h"
#include "store/datasets.h"

#define DESCRIPTIONS_MAX 10000
#define DESCRIPTION_MAX_BYTES 2000

/* Where a description was given: line `n` of the CSV (record `record`), or the n-th member
 * of the JSON object (record 0). */
struct place {
    uint64_t n, record;
};

static json_t *place_details(const char *field, struct place at)
{
    json_t *d = field ? json_pack("{s:s}", "field", field) : json_object();
    json_object_set_new(d, at.record ? "line" : "position", json_integer((json_int_t)at.n));
    if (at.record)
        json_object_set_new(d, "record", json_integer((json_int_t)at.record));
    return d;
}

static const char *place_word(struct place at)
{
    return at.record ? "line" : "member";
}

/* Checks one (feature, description) and adds it to set: 0, or AIOPS_EINVAL after answering
 * 422 invalid_request naming the feature and its place. columns: {column name: true}. */
static int add_description(struct svc_call *c, const json_t *columns, json_t *set,
                           const char *feature, const char *text, size_t text_len, struct place at)
{
    const char *w = place_word(at);
    unsigned long long n = (unsigned long long)at.n;
    if (feature[0] == '\0') {
        svc_reply_errorf(c, API_INVALID_REQUEST, place_details("feature", at),
                         "the feature name on %s %llu is empty", w, n);
        return AIOPS_EINVAL;
    }
    if (json_object_get(columns, feature) == NULL) {
        svc_reply_errorf(c, API_INVALID_REQUEST, place_details(feature, at),
                         "the dataset has no column named %.200s (%s %llu)", feature, w, n);
        return AIOPS_EINVAL;
    }
    if (json_object_get(set, feature) != NULL) {
        svc_reply_errorf(c, API_INVALID_REQUEST, place_details(feature, at),
                         "%.200s is described twice (again on %s %llu)", feature, w, n);
        return AIOPS_EINVAL;
    }
    if (json_object_size(set) >= DESCRIPTIONS_MAX) {
        svc_reply_errorf(c, API_INVALID_REQUEST, place_details(feature, at),
                         "at most %d features can be described (%s %llu is one more)",
                         DESCRIPTIONS_MAX, w, n);
        return AIOPS_EINVAL;
    }
    if (text_len == 0 || text_len > DESCRIPTION_MAX_BYTES) {
        svc_reply_errorf(c, API_INVALID_REQUEST, place_details(feature, at),
                         "the description of %.200s must be 1 to %d bytes, not %zu (%s %llu)",
                         feature, DESCRIPTION_MAX_BYTES, text_len, w, n);
        return AIOPS_EINVAL;
    }
    json_t *s = json_stringn(text, text_len);
    if (s == NULL || json_object_set_new(set, feature, s) != 0) {
        svc_reply_failure(c, AIOPS_ENOMEM, "reading the descriptions");
        return AIOPS_ENOMEM;
    }
    return AIOPS_OK;
}

/* A CSV field with the spaces and tabs around it taken away. */
static void trimmed(const struct csv_field *f, const char **p, size_t *len)
{
    const char *s = f->p, *e = f->p + f->len;
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *p = s;
    *len = (size_t)(e - s);
}

/* Checks a record's shape and encoding (400 ragged_row / invalid_csv after answering) and
 * whether it is the header `feature,description`. */
static int csv_record_ok(struct svc_call *c, const struct csv_record *rec, int *is_header)
{
    struct place at = {rec->line, rec->number};
    if (rec->nfields != 2) {
        svc_reply_errorf(c, API_RAGGED_ROW, place_details(NULL, at),
                         "line %llu has %zu fields; each line is feature,description",
                         (unsigned long long)rec->line, rec->nfields);
        return AIOPS_EINVAL;
    }
    for (size_t k = 0; rec->maybe_high && k < 2; k++) {
        size_t bad;
        if (!utf8_valid(rec->fields[k].p, rec->fields[k].len, &bad)) {
            json_t *d = place_details(NULL, at);
            json_object_set_new(d, "offset", json_integer((json_int_t)(rec->offset + bad)));
            svc_reply_errorf(c, API_INVALID_CSV, d,
                             "line %llu is not valid UTF-8 (save the file as UTF-8)",
                             (unsigned long long)rec->line);
            return AIOPS_EINVAL;
        }
    }
    const char *f, *d;
    size_t flen, dlen;
    trimmed(&rec->fields[0], &f, &flen);
    trimmed(&rec->fields[1], &d, &dlen);
    *is_header = flen == 7 && strncasecmp(f, "feature", 7) == 0 && dlen == 11 &&
                 strncasecmp(d, "description", 11) == 0;
    return AIOPS_OK;
}

/* One record of the CSV into set (the first must be the header): 0, or an error after
 * answering. */
static int csv_record_add(struct svc_call *c, const struct csv_record *rec, const json_t *columns,
                          json_t *set)
{
    int is_header;
    int rv = csv_record_ok(c, rec, &is_header);
    if (rv != 0 || rec->number > 1) {
        if (rv != 0)
            return rv;
    } else if (!is_header) {
        svc_reply_errorf(c, API_INVALID_CSV, place_details(NULL, (struct place){rec->line, 1}),
                         "the first line must be the header feature,description");
        return AIOPS_EINVAL;
    } else {
        return AIOPS_OK;
    }
    const char *f, *d;
    size_t flen, dlen;
    trimmed(&rec->fields[0], &f, &flen);
    trimmed(&rec->fields[1], &d, &dlen);
    char *feature = strndup(f, flen);
    if (feature == NULL) {
        svc_reply_failure(c, AIOPS_ENOMEM, "reading the CSV");
        return AIOPS_ENOMEM;
    }
    rv = add_description(c, columns, set, feature, d, dlen, (struct place){rec->line, rec->number});
    free(feature);
    return rv;
}

/* The CSV body into set: 0, or an error after answering. */
static int read_csv(struct svc_call *c, const char *data, size_t len, const json_t *columns,
                    json_t *set)
{
    struct csv_config cfg = {.delimiter = ',', .max_fields = 3};
    struct csv_stream s;
    int rv = csv_stream_open_mem(&s, data, len, &cfg);
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the CSV");
        return rv;
    }
    struct csv_record rec;
    int got = 0, answered = 0;
    while ((rv = csv_stream_next(&s, &rec, &got)) == 0 && got)
        if ((rv = csv_record_add(c, &rec, columns, set)) != 0) {
            answered = 1;
            break;
        }
    if (answered) {
        /* csv_record_add said what is wrong */
    } else if (rv == AIOPS_EPARSE) {
        json_t *d = json_pack("{s:I, s:I, s:I}", "line", (json_int_t)s.rd.err_line, "record",
                              (json_int_t)s.rd.err_record, "offset", (json_int_t)s.rd.err_pos);
        svc_reply_error(c,
                        s.rd.err == CSV_ERR_UNTERMINATED_QUOTE ? API_UNTERMINATED_QUOTE
                                                               : API_FIELD_TOO_LONG,
                        NULL, d);
    } else if (rv != 0) {
        svc_reply_failure(c, rv, "reading the CSV");
    } else if (s.rd.records == 0) {
        svc_reply_error(c, API_INVALID_CSV,
                        "the CSV is empty: send the header feature,description and a line per "
                        "feature",
                        NULL);
        rv = AIOPS_EINVAL;
    }
    csv_stream_close(&s);
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
    uint64_t n = 0;
    json_object_foreach(body, feature, v)
    {
        struct place at = {++n, 0};
        if (!json_is_string(v)) {
            svc_reply_errorf(c, API_INVALID_REQUEST, place_details(feature, at),
                             "the description of %.200s must be a string (member %llu)", feature,
                             (unsigned long long)n);
            rv = AIOPS_EINVAL;
        } else {
            rv = add_description(c, columns, set, feature, json_string_value(v),
                                 json_string_length(v), at);
        }
        if (rv != 0)
            break;
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
