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
static int csv_content_type(const char *ct)
{
    static const char *const ok[] = {"text/csv", "text/plain", "application/csv",
                                     "application/octet-stream", "text/tab-separated-values",
                                     "application/vnd.ms-excel", "text/comma-separated-values"};
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

void handle_upload(struct svc_call *c)
{
    const Aiops__Request *req = svc_request(c);
    const char *ct = envelope_header(req, "Content-Type");
    const char *data = (const char *)req->body.data;
    size_t len = req->body.len;
    char filename[256], qbuf[1024];
    struct multipart_form form;
    memset(&form, 0, sizeof form);

    if (svc_query(c, "filename", qbuf, sizeof qbuf) == 0)
        clean_filename(qbuf, filename, sizeof filename, "upload.csv");
    else
        snprintf(filename, sizeof filename, "upload.csv");

    if (ct != NULL && strncasecmp(ct, "multipart/form-data", 19) == 0) {
        struct aiops_error err;
        int rv = multipart_parse(ct, data, len, &form, &err);
        if (rv == AIOPS_EPARSE || rv == AIOPS_ETOOBIG) {
            svc_reply_detail(c, API_MALFORMED_MULTIPART, NULL, &err);
            return;
        }
        if (rv != 0) {
            svc_reply_failure(c, rv, "reading the form");
            return;
        }
        const struct multipart_part *part = multipart_find(&form, "file");
        if (part == NULL) {
            multipart_form_free(&form);
            svc_reply_error(c, API_MISSING_FILE, NULL, json_pack("{s:s}", "field", "file"));
            return;
        }
        data = (const char *)part->data;
        len = part->len;
        if (part->filename != NULL)
            clean_filename(part->filename, filename, sizeof filename, filename);
    } else if (!csv_content_type(ct)) {
        svc_reply_error(c, API_UNSUPPORTED_MEDIA_TYPE,
                        "send the CSV as multipart/form-data (field \"file\") or as text/csv",
                        json_pack("{s:s}", "content_type", ct));
        return;
    }

    struct ingest_options opt;
    memset(&opt, 0, sizeof opt);
    char target[256], delim[16];
    if (svc_query(c, "target", target, sizeof target) == 0 && target[0] != '\0')
        opt.target = target;
    if (svc_query(c, "delimiter", delim, sizeof delim) == 0 &&
        ingest_parse_delimiter(delim, &opt.delimiter) != 0) {
        multipart_form_free(&form);
        svc_reply_field(c, API_INVALID_PARAMETER, "delimiter",
                        "delimiter must be one of , ; | tab");
        return;
    }

    const char *project = svc_project(c);
    uint8_t hash[32];
    sha256(data, len, hash);
    char existing[37] = "";
    json_t *stored_summary = NULL;
    char *stored_target = NULL;
    int rv = datasets_find_by_hash(svc_db(c), project, hash, existing, &stored_summary,
                                   &stored_target);
    if (rv != 0 && rv != AIOPS_ENOTFOUND) {
        multipart_form_free(&form);
        svc_reply_failure(c, rv, "looking up the dataset");
        return;
    }
    int same_target = opt.target == NULL ||
                      (stored_target != NULL && strcmp(stored_target, opt.target) == 0);
    free(stored_target);
    if (rv == 0 && same_target) {
        /* the same bytes again: the same dataset, nothing parsed or stored */
        multipart_form_free(&form);
        json_object_set_new(stored_summary, "deduplicated", json_true());
        count_upload(c, len, 0);
        svc_reply_json(c, 200, stored_summary);
        return;
    }
    json_decref(stored_summary);

    struct ingest_result res;
    rv = ingest_csv(data, len, &opt, &res);
    if (rv != 0) {
        ingest_result_free(&res);
        multipart_form_free(&form);
        svc_reply_failure(c, rv, "reading the CSV");
        return;
    }
    json_t *summary = NULL;
    if (ingest_summary_json(&res, &summary) != 0) {
        ingest_result_free(&res);
        multipart_form_free(&form);
        svc_reply_failure(c, AIOPS_ENOMEM, "summarising the CSV");
        return;
    }
    if (res.n_errors > 0) {
        reply_invalid(c, &res, summary);
        json_decref(summary);
        ingest_result_free(&res);
        multipart_form_free(&form);
        return;
    }

    int stored = 0;
    char id[37];
    if (existing[0] != '\0') {
        /* same bytes, another target: answer for this target, keep the stored dataset */
        snprintf(id, sizeof id, "%s", existing);
    } else {
        uuid_v4(id);
        json_t *resp = upload_response(id, filename, summary);
        rv = datasets_store(svc_db(c), project, id, filename, hash, len, &res, resp, existing);
        json_decref(resp);
        if (rv == AIOPS_EEXIST) {
            snprintf(id, sizeof id, "%s", existing); /* a concurrent upload won the race */
        } else if (rv != 0) {
            json_decref(summary);
            ingest_result_free(&res);
            multipart_form_free(&form);
            svc_reply_failure(c, rv, "storing the dataset");
            return;
        } else {
            stored = 1;
        }
    }
    json_t *resp = upload_response(id, filename, summary);
    json_decref(summary);
    if (!stored)
        json_object_set_new(resp, "deduplicated", json_true());
    count_upload(c, len, stored);
    if (stored) {
        json_t *schema = json_array();
        for (size_t k = 0; k < res.table.ncols; k++)
            json_array_append_new(schema, json_pack("{s:s, s:s}", "name", res.table.cols[k].name,
                                                    "type", col_type_name(res.table.cols[k].type)));
        svc_publish(svc_of(c), project, "/ws/datasets", "dataset_uploaded",
                    json_pack("{s:s, s:s, s:I, s:I, s:o}", "file_id", id, "filename", filename,
                              "rows", (json_int_t)res.table.nrows, "columns",
                              (json_int_t)res.table.ncols, "schema", schema));
    }
    log_json(LOG_LEVEL_INFO, "dataset uploaded",
             json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:b}", "request_id", req->request_id,
                       "file_id", id, "project", project, "rows", (json_int_t)res.table.nrows,
                       "columns", (json_int_t)res.table.ncols, "bytes", (json_int_t)len,
                       "stored", stored));
    ingest_result_free(&res);
    multipart_form_free(&form);
    svc_reply_json(c, 200, resp);
}
