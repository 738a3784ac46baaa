/* svc.h -- the runtime every service is built on.
 *
 * A service is a set of handlers keyed by route name (lib/rpc/routes.c). svc_main() reads the
 * configuration from the environment, listens on its nng REP socket (RPC_LISTEN, default
 * ipc://$AIOPS_RUN_DIR/<name>.rpc: lib/rpc/addr.h) with SERVICE_WORKERS worker threads --
 * each owning its own PostgreSQL and Redis connection, so requests are served concurrently
 * without sharing them -- dials the event relay with its nng PUB socket (EVENTS_IN_URL), and
 * stops gracefully on SIGTERM/SIGINT: no new requests are taken, requests in progress finish
 * and are answered.
 *
 * A batch envelope (lib/rpc/envelope.h: many calls the gateway coalesced) is served by the
 * worker that received it, call after call in order, each with its own deadline, principal
 * and answer, and answered as one envelope.
 *
 * Only requests sealed with SERVICE_SECRET (lib/rpc/envelope.h) are served; the rest are
 * answered with a bare refusal, counted ("refused_envelopes" in the health answer) and
 * logged at most once a minute. Events and answers are sealed the same way.
 *
 * The RPC listener is probed every few seconds and made again if it stopped accepting, and
 * the dialer to the relay started again if it gave up (lib/rpc/listener.h, dialer.h: a bug
 * of Debian's nng).
 *
 * Routes of this service that have no handler yet are answered 501 not_implemented.
 * The route "health" is built in. `PROGRAM --healthcheck` asks a running instance for its
 * health over RPC_LISTEN and exits 0 when it answers within 2 s. */
#ifndef AIOPS_SVC_H
#define AIOPS_SVC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "aiops.pb-c.h"
#include "core/array.h"
#include "core/err.h"
#include "http/apierr.h"
#include "rpc/routes.h"
#include "store/db.h"
#include "store/kv.h"

struct svc;
struct svc_call;

/* A route's handler; services declare theirs with it (`svc_handler_fn handle_a, handle_b;`),
 * so that each is checked against this one signature. */
typedef void svc_handler_fn(struct svc_call *call);

struct svc_handler {
    const char *route; /* route name, e.g. "datasets.get" */
    svc_handler_fn *fn;
};

struct svc_def {
    enum svc_id id;
    const struct svc_handler *handlers;
    size_t nhandlers;
    /* optional: called once before serving; non-zero refuses to start */
    int (*start)(struct svc *s);
    /* optional: called once after the last request was answered */
    void (*stop)(struct svc *s);
};

/* Runs the service until SIGTERM/SIGINT; returns the process exit status. */
int svc_main(const struct svc_def *def, int argc, char **argv);
/* A service's main(): svc_main() with the svc_id, the handler table (an array: its length is
 * counted here) and, optionally, the members after them (`.start = f, .stop = g`). */
#define SVC_MAIN(svc_id, handler_table, ...)                                                       \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        static const struct svc_def def = {.id = (svc_id),                                         \
                                           .handlers = (handler_table),                            \
                                           .nhandlers = ARRAY_LEN(handler_table),                  \
                                           __VA_ARGS__};                                           \
        return svc_main(&def, argc, argv);                                                         \
    }

/* A request a service makes of itself (svc_call_local). */
struct svc_local_call {
    const char *project;       /* the principal's project */
    const char *method, *route; /* e.g. "GET", "drift.status" */
    const char *query;         /* raw query string without '?', or NULL */
    const char *const *params; /* path parameters in order (nparams of them) */
    size_t nparams;
    const char *body;          /* a JSON body, or NULL */
};
/* Serves lc in-process with the caller's connections, as a forwarded request would be
 * served (the same handler, checks and side effects): for a service's own background threads.
 * *status gets the HTTP status, *reply the answer when it is JSON (the caller owns it; NULL
 * otherwise). Returns 0 (a failure is an answer, in *status). */
int svc_call_local(struct svc *s, struct db *db, struct kv *kv, const struct svc_local_call *lc,
                   int *status, json_t **reply);

/* --- inside a handler -------------------------------------------------------------- */
const Aiops__Request *svc_request(const struct svc_call *c);
/* Path parameter i ({placeholders} in order), percent-decoded; "" when absent. */
const char *svc_param(const struct svc_call *c, int i);
/* Decoded query parameter into out; AIOPS_ENOTFOUND when absent, AIOPS_EPARSE/ETOOBIG. */
int svc_query(const struct svc_call *c, const char *name, char *out, size_t cap);
/* Query parameter `name` as text into out (cap bytes): 0 when present; AIOPS_ENOTFOUND when
 * absent (out is ""); otherwise -- a value that cannot be decoded (a NUL, bad escapes) or is
 * longer than cap - 1 bytes -- AIOPS_EINVAL after answering 422 invalid_parameter naming it:
 * the handler then returns. A malformed option is never taken for a missing one. */
int svc_query_text(struct svc_call *c, const char *name, char *out, size_t cap);
/* Query parameter `name` as a whole number from min to max into *out (def when absent):
 * 0, or AIOPS_EINVAL after answering 422 invalid_parameter naming it -- the handler then
 * returns. */
int svc_query_long(struct svc_call *c, const char *name, long def, long min, long max, long *out);
/* text (a path segment, a body member's text) as a whole number from min to max into *out:
 * 0, or AIOPS_EINVAL after answering 422 `e` (API_INVALID_PARAMETER for a path segment,
 * API_INVALID_REQUEST for the body) naming `name`: "NAME must be a whole number from MIN to
 * MAX", the one wording of this problem. */
int svc_parse_long(struct svc_call *c, enum api_error e, const char *name, const char *text,
                   long min, long max, long *out);
/* The request body, which must be a JSON object: 0 with *out (the caller owns it); on
 * failure *out is NULL and the call is answered -- AIOPS_EPARSE: 400 invalid_json with the
 * parser's reason, offset, line and column in details; AIOPS_ENOMEM: 503 out_of_memory. */
int svc_json_body(struct svc_call *c, json_t **out);
/* The body's member `field`, an array of 1 to max items: 0 with *out (borrowed from body);
 * otherwise AIOPS_EINVAL after answering 422 invalid_request naming the field, "FIELD must
 * be an array of 1 to MAX ITEMS" (`items` says what they are), the one wording of it. */
int svc_body_array(struct svc_call *c, const json_t *body, const char *field, size_t max,
                   const char *items, json_t **out);
/* Checks item i of a request's array: 0, or non-zero after answering (422 naming it). */
typedef int svc_item_check_fn(struct svc_call *c, const json_t *item, size_t i);
/* A batch request: svc_json_body, then its member `field` as svc_body_array checks it, then
 * every item by check, in order, before the caller uses any (a bad one refuses the batch).
 * 0 with *body (the caller owns it) and *array (borrowed from it); otherwise both are NULL
 * and the call was answered. */
int svc_json_body_array(struct svc_call *c, const char *field, size_t max, const char *items,
                        svc_item_check_fn *check, json_t **body, json_t **array);
/* The calling principal's project (never NULL). */
const char *svc_project(const struct svc_call *c);
/* The worker's connections (connect lazily; calls report AIOPS_EUNAVAIL when down). */
struct db *svc_db(struct svc_call *c);
struct kv *svc_kv(struct svc_call *c);
struct svc *svc_of(struct svc_call *c);
/* 1 once the request's deadline has passed: long handlers check it between steps. */
int svc_expired(const struct svc_call *c);

/* Replies. Exactly one per call (a second is logged and dropped); a handler that replies
 * nothing gets a 500. Each takes ownership of the json_t it is given, whatever happens. */
void svc_reply_json(struct svc_call *c, int status, json_t *body);
void svc_reply_raw(struct svc_call *c, int status, const char *content_type, const void *body,
                   size_t len);

/* Error replies: every error a service sends leaves through svc_reply_error, which writes
 * {"error": {"code", "message", "details"}} with the status of e's row in the catalogue
 * (lib/http/apierr.h) and logs it with the request id (5xx at warn level, 4xx at debug;
 * the gateway counts it in its metrics). message NULL: the row's message. details may be
 * NULL ({}). Which to use:
 *   - a request field or parameter at fault: svc_reply_field -- the message says what is
 *     wrong, details {"field"};
 *   - input that cannot be read, with a place (JSON, multipart): svc_reply_detail -- the
 *     row's message, details from a struct aiops_error ({"reason", "offset", ...});
 *   - an operation that failed with an AIOPS_E* code: svc_reply_failure. */
void svc_reply_error(struct svc_call *c, enum api_error e, const char *message, json_t *details);
/* svc_reply_error with a printf-style message (truncated at 512 bytes). */
void svc_reply_errorf(struct svc_call *c, enum api_error e, json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* e (API_INVALID_REQUEST, API_INVALID_PARAMETER, ...) with the printf-style message and
 * details {"field": field}. */
void svc_reply_field(struct svc_call *c, enum api_error e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* e with message (NULL: the row's) and details jsonx_error_details(detail) (borrowed). */
void svc_reply_detail(struct svc_call *c, enum api_error e, const char *message,
                      const struct aiops_error *detail);
/* A failed operation: the row apierr_from_err(err) gives (404 not_found, 503
 * dependency_unavailable, 422 invalid_request, ...) with the message "WHAT: <what
 * aiops_strerror says>". */
void svc_reply_failure(struct svc_call *c, int err, const char *what);

/* db_execv on the worker's connection (svc_db) that answers its own failure: 0 with *res as
 * db_execv gives it; otherwise the error, after svc_reply_failure(c, error, what) -- the
 * handler then returns. */
int svc_execv(struct svc_call *c, PGresult **res, const char *what, const char *sql, int nparams,
              const char *const *values);

/* The completed run run_id of the caller's project, as the one row `select` reads ($1 the
 * project, $2 the run id, $3 `arg` unless NULL; its first column the run's status): 0 with
 * *row (the caller PQclear()s it); otherwise *row is NULL and the call is answered -- 404
 * run_not_found (also when run_id is not a UUID), 409 run_not_completed with the status,
 * or the failure. */
int svc_completed_run(struct svc_call *c, const char *run_id, const char *select, const char *arg,
                      PGresult **row);

/* --- outside a handler --------------------------------------------------------------- */
/* Publishes an event to the WebSocket subscribers of topic (e.g. "/ws/training/<id>") who
 * belong to project (NULL: to everyone). The payload object is sent as the message, with
 * "type" set to type. Never blocks; a message that cannot be queued is dropped.
 * Thread-safe. Takes payload. */
int svc_publish(struct svc *s, const char *project, const char *topic, const char *type,
                json_t *payload);
/* Name of the service ("ingest", ...). */
const char *svc_service_name(const struct svc *s);
/* The connection settings, for threads of the service's own that need connections. */
const char *svc_database_url(const struct svc *s);
const char *svc_redis_url(const struct svc *s);
/* 1 once SIGTERM/SIGINT arrived: long work of the service's own threads should wind down. */
int svc_stopping(const struct svc *s);
/* Per-service state for the service's own code (set in start()). */
void svc_set_userdata(struct svc *s, void *p);
void *svc_userdata(const struct svc *s);

#endif
