/* apierr.h -- the catalogue of the errors the API answers: one row per code, with its HTTP
 * status and default message.
 *
 * Every error the suite sends is {"error": {"code", "message", "details"}} and every code
 * is a row here, once: the gateway (gw_reply_error) and the services (svc_reply_error,
 * lib/rpc/svc.h) take an enum api_error, never a status and a code of their own, and
 * /openapi.json lists the table (apierr_catalogue_json). A failed operation's AIOPS_E* code
 * becomes a row through apierr_from_err().
 *
 * Invariants (tests/unit/test_apierr.c): codes are unique lower_snake_case words, statuses
 * are 4xx or 5xx, messages are non-empty. The table is static and read-only: every
 * function here is thread-safe. */
#ifndef AIOPS_APIERR_H
#define AIOPS_APIERR_H

#include <jansson.h>
#include <stddef.h>

enum api_error {
    /* 400: the request cannot be read */
    API_BAD_REQUEST,
    API_INVALID_JSON,
    API_BAD_PATH,
    API_BAD_ENVELOPE,
    API_UNSUPPORTED_TRANSFER_ENCODING,
    API_BAD_WEBSOCKET_HANDSHAKE,
    API_MALFORMED_MULTIPART,
    API_MISSING_FILE,
    /* 400: a CSV upload that cannot be stored (the codes of lib/data/ingest.h's errors) */
    API_INVALID_CSV,
    API_EMPTY_FILE,
    API_INVALID_UTF8,
    API_RAGGED_ROW,
    API_UNTERMINATED_QUOTE,
    API_DUPLICATE_HEADER,
    API_TOO_MANY_COLUMNS,
    API_FIELD_TOO_LONG,
    /* 401, 403: who is calling */
    API_MISSING_CREDENTIALS,
    API_INVALID_API_KEY,
    API_INVALID_TOKEN,
    API_UNAUTHORIZED,
    API_FORBIDDEN,
    API_CORS_ORIGIN_NOT_ALLOWED,
    API_HOST_NOT_ALLOWED,
    /* 404, 405: what is asked for does not exist */
    API_NOT_FOUND,
    API_UNKNOWN_ROUTE,
    API_DATASET_NOT_FOUND,
    API_RUN_NOT_FOUND,
    API_MODEL_NOT_FOUND,
    API_VERSION_NOT_FOUND,
    API_ALIAS_NOT_FOUND,
    API_METHOD_NOT_ALLOWED,
    /* 409: the state does not allow it */
    API_ALREADY_EXISTS,
    API_RUN_FINISHED,
    API_RUN_NOT_COMPLETED,
    API_NOTHING_TO_ROLL_BACK,
    /* 413, 415, 417: what the request carries */
    API_PAYLOAD_TOO_LARGE,
    API_RATE_LIMITED,
    API_UNSUPPORTED_MEDIA_TYPE,
    API_EXPECTATION_FAILED,
    /* 422: well-formed, but not acceptable */
    API_INVALID_REQUEST,
    API_INVALID_PARAMETER,
    API_UNKNOWN_TARGET,
    API_INVALID_INSTANCES,
    /* 426, 431 */
    API_UPGRADE_REQUIRED,
    API_UNSUPPORTED_WEBSOCKET_VERSION,
    API_HEADER_TOO_LARGE,
    /* 5xx: ours */
    API_INTERNAL_ERROR,
    API_CORRUPT_DATA,
    API_MODEL_UNREADABLE,
    API_NOT_IMPLEMENTED,
    API_METHOD_NOT_IMPLEMENTED,
    API_BAD_SERVICE_RESPONSE,
    API_SERVICE_AUTH_FAILED,
    API_SERVICE_UNAVAILABLE,
    API_DEPENDENCY_UNAVAILABLE,
    API_AUTH_UNAVAILABLE,
    API_NOT_READY,
    API_TOO_MANY_WEBSOCKET_CLIENTS,
    API_OUT_OF_MEMORY,
    API_SERVICE_TIMEOUT,
    API_DEADLINE_EXCEEDED,
    API_HTTP_VERSION_NOT_SUPPORTED,
    /* issue 9: monitor */
    API_NO_DRIFT_REFERENCE, /* 409: the model was trained before references were kept */
    API_NO_SERVED_ROWS,     /* 409: nothing served yet to compare with the reference */
    API_AB_TEST_NOT_FOUND,  /* 404 */
    API_AB_TEST_RUNNING,    /* 409: one running A/B test per model */
    API_AB_TEST_STOPPED,    /* 409: a stopped test cannot be stopped again */
    /* end issue 9 */
    /* issue 7: segments */
    API_NO_SEGMENT_MODEL,
    API_NOT_A_CLUSTERING_MODEL,
    API_CLUSTER_NOT_FOUND,
    API_DOCUMENT_NOT_FOUND,
    /* issue 10: counseling sessions */
    API_MODEL_NOT_READY,   /* 503: the outcome model is not trained yet */
    API_SESSION_NOT_FOUND, /* 404 */
    API_ERROR_COUNT
};

/* One row of the catalogue; static strings. */
struct api_error_def {
    const char *code;    /* the "code" of the error body: lower_snake_case */
    int status;          /* the HTTP status */
    const char *message; /* the message when the reply gives none */
};

/* The row of e; a value outside the enum gives API_INTERNAL_ERROR's row (never NULL). */
const struct api_error_def *apierr_def(enum api_error e);
/* The row whose code is `code`: AIOPS_OK with *out, AIOPS_ENOTFOUND when none is. */
int apierr_find(const char *code, enum api_error *out);
/* The answer to a failed operation's AIOPS_E* code: ENOTFOUND 404 not_found, EUNAVAIL 503
 * dependency_unavailable, ETIMEDOUT 504 deadline_exceeded, ETOOBIG 413 payload_too_large,
 * EINVAL 422 invalid_request, EPARSE 400 bad_request, EEXIST 409 already_exists, ENOMEM 503
 * out_of_memory, ECORRUPT 500 corrupt_data, EAUTH 401 unauthorized, EUNSUPPORTED 501
 * not_implemented; anything else (EDB, EIO, ERPC, ECANCELED, AIOPS_OK, unknown values) 500
 * internal_error. */
enum api_error apierr_from_err(int err);

/* {"error": {"code", "message", "details"}} for e: message NULL means the row's message;
 * details (taken, may be NULL: {}) is the caller's. A new object the caller owns; NULL only
 * when out of memory (details is released then too). */
json_t *apierr_body(enum api_error e, const char *message, json_t *details);
/* The same body for e with its default message and empty details, written as JSON text
 * into out[cap] without allocating -- for the answer to an allocation that failed. Returns
 * the length (out is NUL-terminated); 0 when cap is too small. */
size_t apierr_body_static(enum api_error e, char *out, size_t cap);

/* The standard reason phrase of an HTTP status (RFC 9110 and the registry: 422
 * "Unprocessable Content", 429 "Too Many Requests"); the class's name ("Client Error") for
 * a status without one. Static, never NULL. */
const char *http_reason_phrase(int status);

/* The catalogue for /openapi.json: [{"code", "status", "message"}] in table order. A new
 * array the caller owns; NULL when out of memory. */
json_t *apierr_catalogue_json(void);

#endif
