/* apierr.c -- the catalogue of API errors (see apierr.h). */
#include "http/apierr.h"

#include <string.h>

#include "core/err.h"
#include "core/jsonx.h"

static const struct api_error_def table[API_ERROR_COUNT] = {
    [API_BAD_REQUEST] = {"bad_request", 400, "the request is malformed"},
    [API_INVALID_JSON] = {"invalid_json", 400, "the request body is not a JSON object"},
    [API_BAD_PATH] = {"bad_path", 400, "a path segment is not valid percent-encoding"},
    [API_BAD_ENVELOPE] = {"bad_envelope", 400, "the request envelope is malformed"},
    [API_UNSUPPORTED_TRANSFER_ENCODING] = {"unsupported_transfer_encoding", 400,
                                           "Transfer-Encoding other than chunked is not "
                                           "supported"},
    [API_BAD_WEBSOCKET_HANDSHAKE] = {"bad_websocket_handshake", 400,
                                     "the WebSocket handshake is not valid"},
    [API_MALFORMED_MULTIPART] = {"malformed_multipart", 400,
                                 "the multipart/form-data body is malformed"},
    [API_MISSING_FILE] = {"missing_file", 400, "the form has no field named \"file\""},
    [API_INVALID_CSV] = {"invalid_csv", 400, "the CSV is not valid"},
    [API_EMPTY_FILE] = {"empty_file", 400, "the file has no data rows"},
    [API_INVALID_UTF8] = {"invalid_utf8", 400, "the CSV is not valid UTF-8"},
    [API_RAGGED_ROW] = {"ragged_row", 400, "a row has another number of fields than the header"},
    [API_UNTERMINATED_QUOTE] = {"unterminated_quote", 400, "a quoted field is not closed"},
    [API_DUPLICATE_HEADER] = {"duplicate_header", 400, "two columns have the same name"},
    [API_TOO_MANY_COLUMNS] = {"too_many_columns", 400, "the CSV has more columns than allowed"},
    [API_FIELD_TOO_LONG] = {"field_too_long", 400, "a field is longer than allowed"},
    [API_MISSING_CREDENTIALS] = {"missing_credentials", 401,
                                 "this route needs an X-API-Key header or an Authorization: "
                                 "Bearer token"},
    [API_INVALID_API_KEY] = {"invalid_api_key", 401, "the API key is not valid"},
    [API_INVALID_TOKEN] = {"invalid_token", 401, "the bearer token was refused"},
    [API_UNAUTHORIZED] = {"unauthorized", 401, "the credentials are missing or not valid"},
    [API_FORBIDDEN] = {"forbidden", 403, "the credentials do not carry the scope this route needs"},
    [API_CORS_ORIGIN_NOT_ALLOWED] = {"cors_origin_not_allowed", 403,
                                     "this Origin is not in CORS_ORIGINS"},
    [API_HOST_NOT_ALLOWED] = {"host_not_allowed", 403,
                              "without authentication only loopback host names and ALLOWED_HOSTS "
                              "are served"},
    [API_NOT_FOUND] = {"not_found", 404, "not found"},
    [API_UNKNOWN_ROUTE] = {"unknown_route", 404, "the service has no route by this name"},
    [API_DATASET_NOT_FOUND] = {"dataset_not_found", 404, "no dataset with this id"},
    [API_RUN_NOT_FOUND] = {"run_not_found", 404, "no run with this id"},
    [API_MODEL_NOT_FOUND] = {"model_not_found", 404, "no model with this name"},
    [API_VERSION_NOT_FOUND] = {"version_not_found", 404, "the model has no such version"},
    [API_ALIAS_NOT_FOUND] = {"alias_not_found", 404, "the model has no such alias"},
    [API_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405, "the path does not take this method"},
    [API_ALREADY_EXISTS] = {"already_exists", 409, "it exists already"},
    [API_RUN_FINISHED] = {"run_finished", 409, "the run has already finished"},
    [API_RUN_NOT_COMPLETED] = {"run_not_completed", 409, "the run has not completed"},
    [API_NOTHING_TO_ROLL_BACK] = {"nothing_to_roll_back", 409,
                                  "the alias has no earlier version to go back to"},
    [API_RATE_LIMITED] = {"rate_limited", 429, "too many requests: wait for Retry-After seconds"},
    [API_PAYLOAD_TOO_LARGE] = {"payload_too_large", 413,
                               "the request body is over this route's limit"},
    [API_UNSUPPORTED_MEDIA_TYPE] = {"unsupported_media_type", 415,
                                    "this route does not take a body of this Content-Type"},
    [API_EXPECTATION_FAILED] = {"expectation_failed", 417,
                                "only Expect: 100-continue is supported"},
    [API_INVALID_REQUEST] = {"invalid_request", 422, "the request body is not valid"},
    [API_INVALID_PARAMETER] = {"invalid_parameter", 422, "a query or path parameter is not valid"},
    [API_UNKNOWN_TARGET] = {"unknown_target", 422, "the dataset has no column named as the target"},
    [API_INVALID_INSTANCES] = {"invalid_instances", 422,
                               "some instances do not fit the model's features"},
    [API_UPGRADE_REQUIRED] = {"upgrade_required", 426, "this path is a WebSocket endpoint"},
    [API_UNSUPPORTED_WEBSOCKET_VERSION] = {"unsupported_websocket_version", 426,
                                           "only WebSocket version 13 (RFC 6455) is supported"},
    [API_HEADER_TOO_LARGE] = {"header_too_large", 431, "the request headers are too large"},
    [API_INTERNAL_ERROR] = {"internal_error", 500, "internal error"},
    [API_CORRUPT_DATA] = {"corrupt_data", 500, "stored data failed its check"},
    [API_MODEL_UNREADABLE] = {"model_unreadable", 500, "the stored model cannot be read"},
    [API_NOT_IMPLEMENTED] = {"not_implemented", 501, "this route is not implemented yet"},
    [API_METHOD_NOT_IMPLEMENTED] = {"method_not_implemented", 501,
                                    "the method is not one this server implements"},
    [API_SERVICE_AUTH_FAILED] = {"service_auth_failed", 502,
                                 "the service refused the gateway's credentials"},
    [API_BAD_SERVICE_RESPONSE] = {"bad_service_response", 502,
                                  "the service's answer could not be read"},
    [API_SERVICE_UNAVAILABLE] = {"service_unavailable", 503, "the service is not available"},
    [API_DEPENDENCY_UNAVAILABLE] = {"dependency_unavailable", 503,
                                    "a dependency (PostgreSQL or Redis) is down"},
    [API_AUTH_UNAVAILABLE] = {"auth_unavailable", 503,
                              "API keys cannot be checked: the database is down"},
    [API_NOT_READY] = {"not_ready", 503, "not ready"},
    [API_TOO_MANY_WEBSOCKET_CLIENTS] = {"too_many_websocket_clients", 503,
                                        "the gateway holds its maximum of WebSocket clients"},
    [API_OUT_OF_MEMORY] = {"out_of_memory", 503, "out of memory"},
    [API_SERVICE_TIMEOUT] = {"service_timeout", 504, "the service did not answer in time"},
    [API_DEADLINE_EXCEEDED] = {"deadline_exceeded", 504, "the request's deadline passed"},
    [API_HTTP_VERSION_NOT_SUPPORTED] = {"http_version_not_supported", 505,
                                        "only HTTP/1.0 and HTTP/1.1 are supported"},
    /* issue 9: monitor */
    [API_NO_DRIFT_REFERENCE] = {"no_drift_reference", 409,
                                "the model has no drift reference: it was trained before "
                                "references were kept; retrain it"},
    [API_NO_SERVED_ROWS] = {"no_served_rows", 409,
                            "no served predictions to compare with the reference yet"},
    [API_AB_TEST_NOT_FOUND] = {"ab_test_not_found", 404, "the model has no A/B test with this id"},
    [API_AB_TEST_RUNNING] = {"ab_test_running", 409,
                             "the model has a running A/B test: stop it first"},
    [API_AB_TEST_STOPPED] = {"ab_test_stopped", 409, "the A/B test was stopped already"},
    /* end issue 9 */
    /* issue 7: segments */
    [API_NO_SEGMENT_MODEL] = {"no_segment_model", 404,
                              "the project has no trained k-means model (train one, or ?model=)"},
    [API_NOT_A_CLUSTERING_MODEL] = {"not_a_clustering_model", 422,
                                    "the model is not a clustering (k-means) model"},
    [API_CLUSTER_NOT_FOUND] = {"cluster_not_found", 404, "the model has no cluster with this id"},
    [API_DOCUMENT_NOT_FOUND] = {"document_not_found", 404, "no persona document with this id"},
    /* issue 10: counseling sessions */
    [API_MODEL_NOT_READY] = {"model_not_ready", 503,
                             "no outcome model is trained yet: POST /api/v1/models/retrain with "
                             "{\"training_data_source\": \"database\"} once labeled sessions are "
                             "stored"},
    [API_SESSION_NOT_FOUND] = {"session_not_found", 404, "no session with this id"},
};

const struct api_error_def *apierr_def(enum api_error e)
{
    if ((unsigned)e >= API_ERROR_COUNT || table[e].code == NULL)
        return &table[API_INTERNAL_ERROR];
    return &table[e];
}

int apierr_find(const char *code, enum api_error *out)
{
    for (int i = 0; i < API_ERROR_COUNT; i++)
        if (table[i].code != NULL && strcmp(table[i].code, code) == 0) {
            *out = (enum api_error)i;
            return AIOPS_OK;
        }
    return AIOPS_ENOTFOUND;
}

enum api_error apierr_from_err(int err)
{
    switch (err) {
    case AIOPS_ENOTFOUND:
        return API_NOT_FOUND;
    case AIOPS_EUNAVAIL:
        return API_DEPENDENCY_UNAVAILABLE;
    case AIOPS_ETIMEDOUT:
        return API_DEADLINE_EXCEEDED;
    case AIOPS_ETOOBIG:
        return API_PAYLOAD_TOO_LARGE;
    case AIOPS_EINVAL:
        return API_INVALID_REQUEST;
    case AIOPS_EPARSE:
        return API_BAD_REQUEST;
    case AIOPS_EEXIST:
        return API_ALREADY_EXISTS;
    case AIOPS_ENOMEM:
        return API_OUT_OF_MEMORY;
    case AIOPS_ECORRUPT:
        return API_CORRUPT_DATA;
    case AIOPS_EAUTH:
        return API_UNAUTHORIZED;
    case AIOPS_EUNSUPPORTED:
        return API_NOT_IMPLEMENTED;
    default:
        return API_INTERNAL_ERROR;
    }
}

json_t *apierr_body(enum api_error e, const char *message, json_t *details)
{
    const struct api_error_def *d = apierr_def(e);
    const char *msg = message != NULL ? message : d->message;
    json_t *err = json_object(), *body = json_object();
    int failed = err == NULL || body == NULL;
    if (!failed) {
        jsonx_set_or_fail(err, "code", json_string(d->code), &failed);
        /* a caller's message may quote input that is not UTF-8 */
        jsonx_set_or_fail(err, "message", jsonx_string_lossy(msg, strlen(msg)), &failed);
        jsonx_set_or_fail(err, "details", details != NULL ? details : json_object(), &failed);
        details = NULL;
        if (!failed) {
            failed = json_object_set(body, "error", err) != 0;
        }
    }
    json_decref(details);
    json_decref(err);
    if (failed) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* Appends s to out[*n..cap) as the inside of a JSON string (the table's messages need only
 * '"' and '\\' escaped). 0, or -1 when it does not fit. */
static int put_escaped(char *out, size_t cap, size_t *n, const char *s)
{
    for (; *s; s++) {
        size_t need = (*s == '"' || *s == '\\') ? 2 : 1;
        if (*n + need >= cap)
            return -1;
        if (need == 2)
            out[(*n)++] = '\\';
        out[(*n)++] = *s;
    }
    return 0;
}

size_t apierr_body_static(enum api_error e, char *out, size_t cap)
{
    const struct api_error_def *d = apierr_def(e);
    const char *parts[5] = {"{\"error\":{\"code\":\"", d->code, "\",\"message\":\"", d->message,
                            "\",\"details\":{}}}"};
    size_t n = 0;
    if (cap == 0)
        return 0;
    for (int i = 0; i < 5; i++) {
        if (i % 2 == 1) {
            if (put_escaped(out, cap, &n, parts[i]) != 0)
                goto too_small;
        } else {
            size_t len = strlen(parts[i]);
            if (n + len >= cap)
                goto too_small;
            memcpy(out + n, parts[i], len);
            n += len;
        }
    }
    out[n] = '\0';
    return n;
too_small:
    out[0] = '\0';
    return 0;
}

json_t *apierr_catalogue_json(void)
{
    json_t *a = json_array();
    int failed = a == NULL;
    for (int i = 0; i < API_ERROR_COUNT && !failed; i++)
        jsonx_push_or_fail(a,
                           json_pack("{s:s, s:i, s:s}", "code", table[i].code, "status",
                                     table[i].status, "message", table[i].message),
                           &failed);
    if (failed) {
        json_decref(a);
        return NULL;
    }
    return a;
}

const char *http_reason_phrase(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Content";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        break;
    }
    if (status >= 500)
        return "Server Error";
    if (status >= 400)
        return "Client Error";
    if (status >= 300)
        return "Redirection";
    if (status >= 200)
        return "Success";
    return "Informational";
}
