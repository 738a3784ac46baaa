/* POST /api/upload (and POST /api/v1/datasets): a CSV as multipart/form-data field `file`
 * or as a raw text/csv body; parsed, validated, summarised and stored in one transaction.
 * The same bytes uploaded again (same project) give the same dataset without storing
 * anything twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/crypto.h"
#include "core/encode.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "data/ingest.h"
#include "http/apierr.h"
#include "http/multipart.h"
#include "ingest_svc.h"
#include "rpc/envelope.h"
#include "store/datasets.h"
#include "store/kv.h"

/* Content types taken as CSV text when the body is not a form. */
int ingest_csv_content_type(const char *ct)
{
    static const char *const ok[] = {"text/csv",
                                     "text/plain",
                                     "application/csv",
                                     "application/octet-stream",
                                     "text/tab-separated-values",
                                     "application/vnd.ms-excel",
                                     "text/comma-separated-values"};
    if (ct == NULL || ct[0] == '\0')
        return 1;
    size_t n = strcspn(ct, "; \t");
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strlen(ok[i]) == n && strncasecmp(ct, ok[i], n) == 0)
            return 1;
    return 0;
}

/* A display name from an untrusted filename: its last path component, at most 255 bytes
 * of valid UTF-8 without control characters; `fallback` when nothing is left. */
static void clean_filename(const char *in, char *out, size_t cap, const char *fallback)
{
    const char *base = in;
    for (const char *p = in; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    size_t n = 0;
    for (const char *p = base; *p && n + 1 < cap && n < 255; p++)
        if ((unsigned char)*p >= 0x20 && *p != 0x7f)
            out[n++] = *p;
    out[n] = '\0';
    /* cut back to a whole UTF-8 sequence */
    size_t bad;
    while (n > 0 && !utf8_valid(out, n, &bad))
        out[n = bad] = '\0';
    if (n == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
        snprintf(out, cap, "%s", fallback);
}

/* {"file_id", "filename", then the summary's members} */
static json_t *upload_response(const char *id, const char *filename, json_t *summary)
{
    json_t *j = json_pack("{s:s, s:s}", "file_id", id, "filename", filename);
    json_object_update(j, summary);
    return j;
}

static void count_upload(struct svc_call *c, size_t bytes, int stored)
{
    struct kv *kv = svc_kv(c);
    redisReply *r = kv_command(kv, "HINCRBY aiops:ingest uploads_total 1");
    if (r)
        freeReplyObject(r);
    r = kv_command(kv, "HINCRBY aiops:ingest bytes_total %lld", (long long)bytes);
    if (r)
        freeReplyObject(r);
    if (!stored) {
        r = kv_command(kv, "HINCRBY aiops:ingest duplicates_total 1");
        if (r)
            freeReplyObject(r);
    }
}

/* Answers the first validation error with its own code (a row of the catalogue: 400 for a
 * CSV at fault, 422 unknown_target for a ?target= that names no column), the validation
 * object and the place in details. */
static void reply_invalid(struct svc_call *c, const struct ingest_result *res, json_t *summary)
{
    const struct ingest_issue *first = NULL;
    for (size_t i = 0; i < res->n_issues && first == NULL; i++)
        if (res->issues[i].severity == ISSUE_ERROR)
            first = &res->issues[i];
    enum api_error e = API_INVALID_CSV;
    if (first != NULL && apierr_find(first->code, &e) != 0)
        log_error("upload: the CSV error %s is not in the catalogue", first->code);
    json_t *details = json_object();
    json_t *validation = summary ? json_object_get(summary, "validation") : NULL;
    if (details != NULL && validation != NULL)
        json_object_set(details, "validation", validation);
    if (details != NULL && first != NULL) {
        json_object_set_new(details, "row", json_integer(first->row));
        json_object_set_new(details, "line", json_integer(first->line));
        json_object_set_new(details, "column", json_integer(first->column));
        if (e == API_UNKNOWN_TARGET)
            json_object_set_new(details, "field", json_string("target"));
    }
    svc_reply_error(c, e, first ? first->message : NULL, details);
}

/* An upload on its way to storage. */
struct upload {
    struct multipart_form form; /* owned: the parsed form; empty for a text/csv body */
    const char *data;           /* the CSV bytes: into the request body */
    size_t len;
    char filename[256];
    char target[256], delimiter[16], quoting[16];
    struct ingest_options opt; /* its target points into `target` */
    uint8_t hash[32];          /* SHA-256 of the CSV bytes */
    char parse_options[300];   /* how they are read, when not the default (upload_options) */
};

/* The same bytes read another way (another target, delimiter, quoting) are another
 * dataset: an upload is identified by its bytes and this text of its options, "" for the
 * default reading (the stored datasets' before options were recorded). ";quoting=none"
 * only when asked for, so that the texts recorded before it existed still match. */
static void upload_options(struct upload *up)
{
    up->parse_options[0] = '\0';
    if (up->opt.delimiter != 0 || up->opt.target != NULL || up->opt.no_quoting)
        snprintf(up->parse_options, sizeof up->parse_options, "delimiter=%d;target=%s%s",
                 (int)(unsigned char)up->opt.delimiter, up->opt.target ? up->opt.target : "",
                 up->opt.no_quoting ? ";quoting=none" : "");
}

/* ?target=, ?delimiter= and ?quoting=. 0; an error after replying. */
static int read_query_options(struct svc_call *c, struct upload *up)
{
    int rv;
    if ((rv = svc_query_text(c, "target", up->target, sizeof up->target)) == AIOPS_EINVAL)
        return rv;
    if (up->target[0] != '\0')
        up->opt.target = up->target;
    if ((rv = svc_query_text(c, "delimiter", up->delimiter, sizeof up->delimiter)) == AIOPS_EINVAL)
        return rv;
    if (rv == 0 && ingest_parse_delimiter(up->delimiter, &up->opt.delimiter) != 0) {
        svc_reply_field(c, API_INVALID_PARAMETER, "delimiter",
                        "delimiter must be one of , ; | tab");
        return AIOPS_EINVAL;
    }
    if ((rv = svc_query_text(c, "quoting", up->quoting, sizeof up->quoting)) == AIOPS_EINVAL)
        return rv;
    if (rv == 0 && ingest_parse_quoting(up->quoting, &up->opt.no_quoting) != 0) {
        svc_reply_field(c, API_INVALID_PARAMETER, "quoting", "quoting must be csv or none");
        return AIOPS_EINVAL;
    }
    return AIOPS_OK;
}

/* Where the CSV is (a form's "file" field or the whole body, `len` bytes at `body`), what it
 * is called, and the options of the query. With body NULL only what can be known before the
 * body is checked: the query and the content type (a streamed upload's first part). 0; an
 * error after replying. */
static int read_upload(struct svc_call *c, struct upload *up, const char *body, size_t len)
{
    const Aiops__Request *req = svc_request(c);
    const char *ct = envelope_header(req, "Content-Type");
    char qbuf[1024];
    up->data = body;
    up->len = len;
    int rv = svc_query_text(c, "filename", qbuf, sizeof qbuf);
    if (rv == AIOPS_EINVAL)
        return rv;
    if (rv == 0)
        clean_filename(qbuf, up->filename, sizeof up->filename, "upload.csv");
    else
        snprintf(up->filename, sizeof up->filename, "upload.csv");

    if (ct != NULL && strncasecmp(ct, "multipart/form-data", 19) == 0) {
        if (body == NULL)
            return read_query_options(c, up);
        struct aiops_error err;
        rv = multipart_parse(ct, up->data, up->len, &up->form, &err);
        if (rv == AIOPS_EPARSE || rv == AIOPS_ETOOBIG) {
            svc_reply_detail(c, API_MALFORMED_MULTIPART, NULL, &err);
            return rv;
        }
        if (rv != 0) {
            svc_reply_failure(c, rv, "reading the form");
            return rv;
        }
        const struct multipart_part *part = multipart_find(&up->form, "file");
        if (part == NULL) {
            svc_reply_error(c, API_MISSING_FILE, NULL, json_pack("{s:s}", "field", "file"));
            return AIOPS_EINVAL;
        }
        up->data = (const char *)part->data;
        up->len = part->len;
        if (part->filename != NULL)
            clean_filename(part->filename, up->filename, sizeof up->filename, up->filename);
    } else if (!ingest_csv_content_type(ct)) {
        svc_reply_error(c, API_UNSUPPORTED_MEDIA_TYPE,
                        "send the CSV as multipart/form-data (field \"file\") or as text/csv",
                        json_pack("{s:s}", "content_type", ct));
        return AIOPS_EINVAL;
    }
    if ((rv = read_query_options(c, up)) != 0 || body == NULL)
        return rv;
    sha256(up->data, up->len, up->hash);
    upload_options(up);
    return AIOPS_OK;
}

/* The same bytes read the same way were stored before in this project: the upload is
 * answered with that dataset (what was stored is what this reading gives) and *answered is
 * set. 0; an error after replying. */
static int find_duplicate(struct svc_call *c, const struct upload *up, int *answered)
{
    json_t *summary = NULL;
    char existing[37];
    *answered = 0;
    int rv = datasets_find_by_hash(svc_db(c), svc_project(c), up->hash, up->parse_options, existing,
                                   &summary);
    if (rv == AIOPS_ENOTFOUND)
        return AIOPS_OK;
    if (rv != 0) {
        svc_reply_failure(c, rv, "looking up the dataset");
        return rv;
    }
    /* the same upload again: the same dataset, nothing parsed or stored */
    json_object_set_new(summary, "deduplicated", json_true());
    count_upload(c, up->len, 0);
    svc_reply_json(c, 200, summary);
    *answered = 1;
    return AIOPS_OK;
}

/* Reads and validates the CSV into *res (the caller frees it with ingest_result_free, also
 * on failure) and its summary (*summary, the caller's). 0; an error after replying -- 400
 * (or 422 unknown_target) naming the first problem when the CSV is not valid. */
static int parse_csv(struct svc_call *c, const struct upload *up, struct ingest_result *res,
                     json_t **summary)
{
    *summary = NULL;
    int rv = ingest_csv(up->data, up->len, &up->opt, res);
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the CSV");
        return rv;
    }
    if ((rv = ingest_summary_json(res, summary)) != 0) {
        svc_reply_failure(c, rv, "summarising the CSV");
        return rv;
    }
    if (res->n_errors > 0) {
        reply_invalid(c, res, *summary);
        return AIOPS_EINVAL;
    }
    return AIOPS_OK;
}

/* Stores the parsed upload under a new id (into id), unless a concurrent upload of the same
 * won the race -- then id is that dataset's. *stored says whether this call stored it. 0;
 * an error after replying. */
static int store_upload(struct svc_call *c, const struct upload *up,
                        const struct ingest_result *res, json_t *summary, char id[37], int *stored)
{
    *stored = 0;
    uuid_v4(id);
    char winner[37] = "";
    json_t *resp = upload_response(id, up->filename, summary);
    int rv = resp != NULL ? datasets_store(svc_db(c), svc_project(c), id, up->filename, up->hash,
                                           up->parse_options, up->len, res, resp, winner)
                          : AIOPS_ENOMEM;
    json_decref(resp);
    if (rv == AIOPS_EEXIST) {
        snprintf(id, 37, "%s", winner); /* a concurrent upload won the race */
        return AIOPS_OK;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "storing the dataset");
        return rv;
    }
    *stored = 1;
    return AIOPS_OK;
}

/* Tells the project's WebSocket clients about a stored dataset, and the log about every
 * upload. */
static void announce_upload(struct svc_call *c, const struct upload *up,
                            const struct ingest_result *res, const char *id, int stored)
{
    const struct table *t = &res->table;
    if (stored) {
        json_t *schema = json_array();
        for (size_t k = 0; k < t->ncols; k++)
            json_array_append_new(schema, json_pack("{s:s, s:s}", "name", t->cols[k].name, "type",
                                                    col_type_name(t->cols[k].type)));
        svc_publish(svc_of(c), svc_project(c), "/ws/datasets", "dataset_uploaded",
                    json_pack("{s:s, s:s, s:I, s:I, s:o}", "file_id", id, "filename", up->filename,
                              "rows", (json_int_t)t->nrows, "columns", (json_int_t)t->ncols,
                              "schema", schema));
    }
    log_json(LOG_LEVEL_INFO, "dataset uploaded",
             json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:b}", "request_id",
                       svc_request(c)->request_id, "file_id", id, "project", svc_project(c), "rows",
                       (json_int_t)t->nrows, "columns", (json_int_t)t->ncols, "bytes",
                       (json_int_t)up->len, "stored", stored));
}

int upload_check(struct svc_call *c)
{
    struct upload up;
    memset(&up, 0, sizeof up);
    return read_upload(c, &up, NULL, 0);
}

void upload_serve(struct svc_call *c, const char *body, size_t len)
{
    struct upload up;
    memset(&up, 0, sizeof up);
    struct ingest_result res;
    memset(&res, 0, sizeof res);
    json_t *summary = NULL;
    char id[37];
    int answered = 0, stored = 0;
    if (read_upload(c, &up, body ? body : "", len) == 0 && find_duplicate(c, &up, &answered) == 0 &&
        !answered && parse_csv(c, &up, &res, &summary) == 0 &&
        store_upload(c, &up, &res, summary, id, &stored) == 0) {
        json_t *resp = upload_response(id, up.filename, summary);
        if (resp != NULL && !stored)
            json_object_set_new(resp, "deduplicated", json_true());
        count_upload(c, up.len, stored);
        announce_upload(c, &up, &res, id, stored);
        svc_reply_json(c, 200, resp);
    }
    json_decref(summary);
    ingest_result_free(&res);
    multipart_form_free(&up.form);
}

void handle_upload(struct svc_call *c)
{
    const Aiops__Request *req = svc_request(c);
    if (req->upload != NULL)
        upload_part(c);
    else
        upload_serve(c, (const char *)req->body.data, req->body.len);
}
