#include "rpc/svc.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/env.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/time.h"
#include "http/url.h"
#include "rpc/addr.h"
#include "rpc/dialer.h"
#include "rpc/envelope.h"
#include "rpc/listener.h"
#include "rpc/publisher.h"

/* How often an idle worker wakes up to notice a shutdown. */
#define WORKER_POLL_MS 200
/* How often the dependency monitor checks PostgreSQL and Redis. */
#define MONITOR_PERIOD_MS 2000

struct svc_worker {
    struct svc *svc;
    pthread_t thread;
    nng_ctx ctx;
    nng_aio *aio;
    struct db *db;
    struct kv *kv;
};

struct svc {
    const struct svc_def *def;
    const char *name;
    nng_socket rep;
    nng_socket pub;
    struct publisher events; /* pub's sender, coalescing events under load */
    struct listener rpc;  /* rep's listener, watched by the monitor thread */
    struct dialset relay; /* pub's dialer to the event relay, likewise */
    struct svc_worker *workers;
    int nworkers;
    atomic_int stopping;
    atomic_int busy;
    atomic_int db_up;
    atomic_int redis_up;
    atomic_long served;
    atomic_long refused; /* envelopes that failed their seal */
    atomic_llong refused_logged_ms;
    struct envelope_key key;
    double started;
    const char *db_url;
    const char *redis_url;
    pthread_t monitor;
    pthread_mutex_t monitor_lock;
    pthread_cond_t monitor_cond;
    void *userdata;
};

struct svc_call {
    struct svc_worker *w;
    Aiops__Request *req;
    Aiops__Request *owned; /* req when it was unpacked for this call (freed with it) */
    char *params[ROUTE_MAX_PARAMS];
    int replied;
    int status;
    const char *content_type;
    struct buf body;
};

/* --- replies ------------------------------------------------------------------------- */

/* The answer when the answer itself cannot be built. */
static void reply_out_of_memory(struct svc_call *c)
{
    char text[256];
    size_t n = apierr_body_static(API_OUT_OF_MEMORY, text, sizeof text);
    c->status = apierr_def(API_OUT_OF_MEMORY)->status;
    c->content_type = "application/json";
    buf_reset(&c->body);
    buf_append(&c->body, text, n);
}

void svc_reply_raw(struct svc_call *c, int status, const char *content_type, const void *body,
                   size_t len)
{
    if (c->replied) {
        log_error("%s: second reply to one request ignored", c->req->route);
        return;
    }
    c->replied = 1;
    c->status = status;
    c->content_type = content_type;
    buf_reset(&c->body);
    if (buf_append(&c->body, body, len) != 0)
        reply_out_of_memory(c);
}

void svc_reply_json(struct svc_call *c, int status, json_t *body)
{
    if (c->replied) {
        log_error("%s: second reply to one request ignored", c->req->route);
        json_decref(body);
        return;
    }
    struct buf b = BUF_INIT;
    int rv = body != NULL ? jsonx_write(body, &b) : AIOPS_ENOMEM;
    json_decref(body);
    c->replied = 1;
    if (rv != 0) {
        buf_free(&b);
        reply_out_of_memory(c);
        return;
    }
    c->status = status;
    c->content_type = "application/json";
    buf_free(&c->body);
    c->body = b;
}

void svc_reply_error(struct svc_call *c, enum api_error e, const char *message, json_t *details)
{
    const struct api_error_def *d = apierr_def(e);
    const char *msg = message != NULL ? message : d->message;
    enum log_level level = d->status >= 500 ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG;
    if (log_enabled(level) && !c->replied)
        log_json(level, "error reply",
                 json_pack("{s:s?, s:s?, s:i, s:s, s:s%}", "request_id", c->req->request_id,
                           "route", c->req->route, "status", d->status, "code", d->code, "message",
                           msg, strnlen(msg, 512)));
    svc_reply_json(c, d->status, apierr_body(e, msg, details));
}

void svc_reply_errorf(struct svc_call *c, enum api_error e, json_t *details, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    svc_reply_error(c, e, msg, details);
}

void svc_reply_field(struct svc_call *c, enum api_error e, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    svc_reply_error(c, e, msg, json_pack("{s:s%}", "field", field, strnlen(field, 256)));
}

void svc_reply_detail(struct svc_call *c, enum api_error e, const char *message,
                      const struct aiops_error *detail)
{
    json_t *details = jsonx_error_details(detail);
    if (details == NULL)
        svc_reply_error(c, API_OUT_OF_MEMORY, NULL, NULL);
    else
        svc_reply_error(c, e, message, details);
}

void svc_reply_failure(struct svc_call *c, int err, const char *what)
{
    svc_reply_errorf(c, apierr_from_err(err), NULL, "%s: %s", what, aiops_strerror(err));
}

int svc_execv(struct svc_call *c, PGresult **res, const char *what, const char *sql, int nparams,
              const char *const *values)
{
    int rv = db_execv(svc_db(c), res, sql, nparams, values);
    if (rv != 0)
        svc_reply_failure(c, rv, what);
    return rv;
}

int svc_completed_run(struct svc_call *c, const char *run_id, const char *select, const char *arg,
                      PGresult **row)
{
    *row = NULL;
    PGresult *r = NULL;
    const char *v[3] = {svc_project(c), run_id, arg};
    int rv =
        uuid_valid(run_id) ? db_execv_one(svc_db(c), &r, select, arg ? 3 : 2, v) : AIOPS_ENOTFOUND;
    if (rv == AIOPS_ENOTFOUND) {
        svc_reply_error(c, API_RUN_NOT_FOUND, NULL, json_pack("{s:s}", "run_id", run_id));
        return rv;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the run");
        return rv;
    }
    const char *status = PQgetvalue(r, 0, 0);
    if (strcmp(status, "completed") != 0) {
        svc_reply_error(c, API_RUN_NOT_COMPLETED, NULL,
                        json_pack("{s:s, s:s}", "run_id", run_id, "status", status));
        PQclear(r);
        return AIOPS_EINVAL;
    }
    *row = r;
    return AIOPS_OK;
}

/* --- accessors ----------------------------------------------------------------------- */

const Aiops__Request *svc_request(const struct svc_call *c)
{
    return c->req;
}

const char *svc_param(const struct svc_call *c, int i)
{
    return (i >= 0 && i < ROUTE_MAX_PARAMS && c->params[i]) ? c->params[i] : "";
}

int svc_query(const struct svc_call *c, const char *name, char *out, size_t cap)
{
    return url_query_get(c->req->query, name, out, cap);
}

int svc_query_text(struct svc_call *c, const char *name, char *out, size_t cap)
{
    int rv = svc_query(c, name, out, cap);
    if (rv == 0)
        return AIOPS_OK;
    out[0] = '\0';
    if (rv == AIOPS_ENOTFOUND)
        return rv;
    svc_reply_field(c, API_INVALID_PARAMETER, name,
                    "%s must be percent-encoded text of at most %zu bytes, without NUL", name,
                    cap - 1);
    return AIOPS_EINVAL;
}

int svc_parse_long(struct svc_call *c, enum api_error e, const char *name, const char *text,
                   long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (text[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
        svc_reply_field(c, e, name, "%s must be a whole number from %ld to %ld", name, min, max);
        return AIOPS_EINVAL;
    }
    *out = v;
    return AIOPS_OK;
}

int svc_query_long(struct svc_call *c, const char *name, long def, long min, long max, long *out)
{
    char text[32];
    *out = def;
    int rv = svc_query(c, name, text, sizeof text);
    if (rv == AIOPS_ENOTFOUND)
        return AIOPS_OK;
    /* too long or not decodable: not a number in range either */
    return svc_parse_long(c, API_INVALID_PARAMETER, name, rv == 0 ? text : "", min, max, out);
}

int svc_json_body(struct svc_call *c, json_t **out)
{
    struct aiops_error err;
    int rv = jsonx_parse_body(c->req->body.data, c->req->body.len, 0, out, &err);
    if (rv == AIOPS_EPARSE)
        svc_reply_detail(c, API_INVALID_JSON, NULL, &err);
    else if (rv != 0)
        svc_reply_failure(c, rv, "reading the request body");
    return rv;
}

int svc_body_array(struct svc_call *c, const json_t *body, const char *field, size_t max,
                   const char *items, json_t **out)
{
    *out = json_object_get(body, field);
    size_t n = json_array_size(*out);
    if (json_is_array(*out) && n >= 1 && n <= max)
        return AIOPS_OK;
    svc_reply_field(c, API_INVALID_REQUEST, field, "%s must be an array of 1 to %zu %s", field, max,
                    items);
    *out = NULL;
    return AIOPS_EINVAL;
}

int svc_json_body_array(struct svc_call *c, const char *field, size_t max, const char *items,
                        svc_item_check_fn *check, json_t **body, json_t **array)
{
    *array = NULL;
    int rv = svc_json_body(c, body);
    if (rv != 0)
        return rv;
    rv = svc_body_array(c, *body, field, max, items, array);
    for (size_t i = 0; rv == 0 && i < json_array_size(*array); i++)
        rv = check(c, json_array_get(*array, i), i) != 0 ? AIOPS_EINVAL : AIOPS_OK;
    if (rv != 0) {
        json_decref(*body);
        *body = NULL;
        *array = NULL;
    }
    return rv;
}

const char *svc_project(const struct svc_call *c)
{
    const Aiops__Principal *p = c->req->principal;
    return (p && p->project && p->project[0]) ? p->project : "default";
}

struct db *svc_db(struct svc_call *c)
{
    return c->w->db;
}

struct kv *svc_kv(struct svc_call *c)
{
    return c->w->kv;
}

struct svc *svc_of(struct svc_call *c)
{
    return c->w->svc;
}

int svc_expired(const struct svc_call *c)
{
    return c->req->deadline_ms > 0 && time_now_ms() > c->req->deadline_ms;
}

const char *svc_service_name(const struct svc *s)
{
    return s->name;
}

const char *svc_database_url(const struct svc *s)
{
    return s->db_url;
}

const char *svc_redis_url(const struct svc *s)
{
    return s->redis_url;
}

int svc_stopping(const struct svc *s)
{
    return atomic_load(&s->stopping);
}

void svc_set_userdata(struct svc *s, void *p)
{
    s->userdata = p;
}

void *svc_userdata(const struct svc *s)
{
    return s->userdata;
}

int svc_publish(struct svc *s, const char *project, const char *topic, const char *type,
                json_t *payload)
{
    if (payload == NULL)
        payload = json_object();
    /* "type" first, as the users' frontends read it */
    json_t *full = json_pack("{s:s}", "type", type);
    json_object_update_missing(full, payload);
    json_decref(payload);
    char *text = jsonx_to_string(full, NULL);
    json_decref(full);
    if (text == NULL)
        return AIOPS_ENOMEM;
    Aiops__Event ev = AIOPS__EVENT__INIT;
    ev.topic = (char *)topic;
    ev.type = (char *)type;
    ev.payload.data = (uint8_t *)text;
    ev.payload.len = strlen(text);
    ev.timestamp_ms = time_now_ms();
    ev.source = (char *)s->name;
    ev.project = (char *)(project ? project : "");
    int rv = publisher_send(&s->events, &ev);
    free(text);
    return rv;
}

/* --- the built-in health route ------------------------------------------------------- */

static void handle_health(struct svc_call *c)
{
    struct svc *s = c->w->svc;
    int db_up = atomic_load(&s->db_up), redis_up = atomic_load(&s->redis_up);
    json_t *j = json_object();
    json_object_set_new(j, "service", json_string(s->name));
    json_object_set_new(j, "status", json_string(db_up && redis_up ? "ok" : "degraded"));
    json_object_set_new(j, "version", json_string(AIOPS_VERSION));
    json_object_set_new(j, "uptime_seconds", json_real(time_now() - s->started));
    json_object_set_new(j, "database", json_string(db_up ? "up" : "down"));
    json_object_set_new(j, "redis", json_string(redis_up ? "up" : "down"));
    /* best effort, as at the gateway: reported, not counted against the status */
    json_object_set_new(j, "event_relay", json_string(dialset_up(&s->relay) ? "up" : "down"));
    json_object_set_new(j, "workers", json_integer(s->nworkers));
    json_object_set_new(j, "busy", json_integer(atomic_load(&s->busy)));
    json_object_set_new(j, "served", json_integer(atomic_load(&s->served)));
    json_object_set_new(j, "refused_envelopes", json_integer(atomic_load(&s->refused)));
    svc_reply_json(c, 200, j);
}

/* --- request dispatch ---------------------------------------------------------------- */

static const struct svc_handler *find_handler(const struct svc_def *def, const char *route)
{
    for (size_t i = 0; i < def->nhandlers; i++)
        if (strcmp(def->handlers[i].route, route) == 0)
            return &def->handlers[i];
    return NULL;
}

static int route_belongs(enum svc_id id, const char *route)
{
    for (size_t i = 0; i < routes_count; i++)
        if (routes[i].service == id && strcmp(routes[i].name, route) == 0)
            return 1;
    return 0;
}

static void dispatch(struct svc_call *c)
{
    struct svc *s = c->w->svc;
    const char *route = c->req->route;
    for (size_t i = 0; i < c->req->n_path_params && i < ROUTE_MAX_PARAMS; i++) {
        const char *v = c->req->path_params[i];
        size_t n = strlen(v);
        c->params[i] = malloc(n + 1);
        if (c->params[i] == NULL || url_decode(v, n, 0, c->params[i], n + 1, NULL) != 0) {
            svc_reply_error(c, c->params[i] == NULL ? API_OUT_OF_MEMORY : API_BAD_PATH, NULL,
                            json_pack("{s:s}", "segment", v));
            return;
        }
    }
    if (strcmp(route, "health") == 0) {
        handle_health(c);
        return;
    }
    const struct svc_handler *h = find_handler(s->def, route);
    if (h != NULL) {
        h->fn(c);
        if (!c->replied) {
            log_error("%s: handler returned without replying", route);
            svc_reply_error(c, API_INTERNAL_ERROR, "the handler did not answer", NULL);
        }
        return;
    }
    if (route_belongs(s->def->id, route))
        svc_reply_errorf(c, API_NOT_IMPLEMENTED, json_pack("{s:s}", "route", route),
                         "%s %s is not implemented yet", c->req->method, c->req->path);
    else
        svc_reply_errorf(c, API_UNKNOWN_ROUTE, NULL, "svc-%s has no route named %s", s->name,
                         route);
}

/* Counts a request whose seal failed and says so in the log at most once a minute. */
static void refused(struct svc *s)
{
    long n = atomic_fetch_add(&s->refused, 1) + 1;
    long long now = (long long)time_now_ms(), last = atomic_load(&s->refused_logged_ms);
    if (now - last >= 60000 && atomic_compare_exchange_strong(&s->refused_logged_ms, &last, now))
        log_warn("rpc: refused a request that is not sealed with SERVICE_SECRET (%ld so far)", n);
}

/* A bare refusal: nothing in a message whose seal failed is believed, not even its ids. */
static nng_msg *refusal(struct svc *s)
{
    refused(s);
    nng_msg *out = NULL;
    if (nng_msg_alloc(&out, 0) == 0 && nng_msg_append(out, ENVELOPE_REFUSAL, 4) != 0) {
        nng_msg_free(out);
        out = NULL;
    }
    return out;
}

/* Serves one call into c (zeroed, c->w set): req as unpacked, or NULL when unpacking failed
 * with rv. Takes req (call_free frees it). */
static void call_serve(struct svc_call *c, Aiops__Request *req, int rv)
{
    if (rv != 0) {
        /* no request id to echo: the gateway matches replies by context or position */
        static Aiops__Request empty = AIOPS__REQUEST__INIT;
        c->req = &empty;
        svc_reply_error(c, API_BAD_ENVELOPE,
                        rv == AIOPS_EUNSUPPORTED ? "protocol version not supported" : NULL, NULL);
        return;
    }
    c->req = req;
    c->owned = req;
    if (svc_expired(c)) {
        svc_reply_error(c, API_DEADLINE_EXCEEDED,
                        "the request's deadline passed before it was served", NULL);
        return;
    }
    uint64_t t0 = time_mono_ns();
    dispatch(c);
    if (log_enabled(LOG_LEVEL_DEBUG))
        log_json(LOG_LEVEL_DEBUG, "served",
                 json_pack("{s:s, s:s, s:i, s:f}", "request_id", req->request_id, "route",
                           req->route, "status", c->status, "duration_ms",
                           (double)(time_mono_ns() - t0) / 1e6));
}

/* c's answer as a Response pointing into c (valid until call_free). */
static void call_response(const struct svc_call *c, Aiops__Response *resp)
{
    aiops__response__init(resp);
    resp->request_id = c->req->request_id;
    resp->status = c->status;
    resp->content_type = (char *)(c->content_type ? c->content_type : "application/json");
    resp->body.data = (uint8_t *)c->body.data;
    resp->body.len = c->body.len;
}

static void call_free(struct svc_call *c)
{
    for (int i = 0; i < ROUTE_MAX_PARAMS; i++)
        free(c->params[i]);
    buf_free(&c->body);
    if (c->owned)
        aiops__request__free_unpacked(c->owned, NULL);
}

int svc_call_local(struct svc *s, struct db *db, struct kv *kv, const struct svc_local_call *lc,
                   int *status, json_t **reply)
{
    struct svc_worker w = {.svc = s, .db = db, .kv = kv};
    Aiops__Principal principal = AIOPS__PRINCIPAL__INIT;
    principal.subject = (char *)"svc-local";
    principal.project = (char *)lc->project;
    principal.method = (char *)"none";
    Aiops__Request req = AIOPS__REQUEST__INIT;
    req.request_id = (char *)"local";
    req.principal = &principal;
    req.method = (char *)lc->method;
    req.path = (char *)lc->route;
    req.query = (char *)(lc->query ? lc->query : "");
    req.route = (char *)lc->route;
    req.path_params = (char **)lc->params;
    req.n_path_params = lc->nparams;
    if (lc->body != NULL) {
        req.body.data = (uint8_t *)lc->body;
        req.body.len = strlen(lc->body);
    }
    struct svc_call c;
    memset(&c, 0, sizeof c);
    c.w = &w;
    c.req = &req;
    dispatch(&c);
    *status = c.status;
    *reply = c.body.len > 0 ? json_loadb(c.body.data, c.body.len, 0, NULL) : NULL;
    call_free(&c); /* c.owned is NULL: req is the caller's */
    return AIOPS_OK;
}

static nng_msg *serve_single(struct svc_worker *w, nng_msg *in)
{
    Aiops__Request *req = NULL;
    int rv = envelope_unpack_request(&w->svc->key, nng_msg_body(in), nng_msg_len(in), &req);
    if (rv == AIOPS_EAUTH)
        return refusal(w->svc);
    struct svc_call c;
    memset(&c, 0, sizeof c);
    c.w = w;
    call_serve(&c, req, rv);
    Aiops__Response resp;
    call_response(&c, &resp);
    nng_msg *out = NULL;
    if (envelope_pack_response(&w->svc->key, &resp, &out) != 0)
        out = NULL;
    call_free(&c);
    atomic_fetch_add(&w->svc->served, 1);
    return out;
}

/* A batch is served call after call on this worker, in order: the gateway batches only
 * cheap calls (lib/rpc/routes.h), so none holds up the rest for long. An element that
 * cannot be answered (out of memory) is left empty: the gateway answers that call itself. */
static nng_msg *serve_batch(struct svc_worker *w, nng_msg *in)
{
    Aiops__Batch *b = NULL;
    int rv = envelope_unpack_batch(&w->svc->key, nng_msg_body(in), nng_msg_len(in), &b);
    if (rv == AIOPS_EAUTH)
        return refusal(w->svc);
    size_t n = rv == 0 ? b->n_requests : 0;
    ProtobufCBinaryData *answers = calloc(n ? n : 1, sizeof *answers);
    for (size_t i = 0; i < n && answers != NULL; i++) {
        struct svc_call c;
        memset(&c, 0, sizeof c);
        c.w = w;
        Aiops__Request *req = NULL;
        int rv1 = envelope_request_from_bytes(b->requests[i].data, b->requests[i].len, &req);
        call_serve(&c, req, rv1);
        Aiops__Response resp;
        call_response(&c, &resp);
        if (envelope_response_to_bytes(&resp, &answers[i]) != 0)
            answers[i].len = 0;
        call_free(&c);
        atomic_fetch_add(&w->svc->served, 1);
    }
    nng_msg *out = NULL;
    /* a malformed batch gets an empty reply: the gateway answers each of its calls */
    if (envelope_pack_batch_reply(&w->svc->key, answers, answers ? n : 0, &out) != 0)
        out = NULL;
    for (size_t i = 0; answers != NULL && i < n; i++)
        free(answers[i].data);
    free(answers);
    if (b != NULL)
        aiops__batch__free_unpacked(b, NULL);
    return out;
}

static void *worker_main(void *arg)
{
    struct svc_worker *w = arg;
    struct svc *s = w->svc;
    while (!atomic_load(&s->stopping)) {
        nng_aio_set_timeout(w->aio, WORKER_POLL_MS);
        nng_ctx_recv(w->ctx, w->aio);
        nng_aio_wait(w->aio);
        int rv = nng_aio_result(w->aio);
        if (rv == NNG_ETIMEDOUT)
            continue;
        if (rv == NNG_ECLOSED)
            break;
        if (rv != 0) {
            log_warn("rpc: receive failed: %s", nng_strerror(rv));
            continue;
        }
        nng_msg *in = nng_aio_get_msg(w->aio);
        atomic_fetch_add(&s->busy, 1);
        nng_msg *out = envelope_is_batch(nng_msg_body(in), nng_msg_len(in)) ? serve_batch(w, in)
                                                                             : serve_single(w, in);
        nng_msg_free(in);
        atomic_fetch_sub(&s->busy, 1);
        if (out == NULL)
            continue;
        nng_aio_set_msg(w->aio, out);
        nng_aio_set_timeout(w->aio, 5000);
        nng_ctx_send(w->ctx, w->aio);
        nng_aio_wait(w->aio);
        if (nng_aio_result(w->aio) != 0)
            nng_msg_free(out); /* the gateway went away; nobody waits for this answer */
    }
    return NULL;
}

/* --- dependency monitor -------------------------------------------------------------- */

static void *monitor_main(void *arg)
{
    struct svc *s = arg;
    struct db *db = NULL;
    struct kv *kv = NULL;
    db_open(s->db_url, &db);
    kv_open(s->redis_url, &kv);
    pthread_mutex_lock(&s->monitor_lock);
    while (!atomic_load(&s->stopping)) {
        pthread_mutex_unlock(&s->monitor_lock);
        int dbok = db != NULL && db_exec(db, NULL, "SELECT 1", 0, NULL, NULL, NULL) == 0;
        int kvok = kv != NULL && kv_ping(kv) == 0;
        if (dbok != atomic_load(&s->db_up))
            log_json(dbok ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "dependency",
                     json_pack("{s:s,s:s}", "postgres", dbok ? "up" : "down", "service", s->name));
        if (kvok != atomic_load(&s->redis_up))
            log_json(kvok ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "dependency",
                     json_pack("{s:s,s:s}", "redis", kvok ? "up" : "down", "service", s->name));
        atomic_store(&s->db_up, dbok);
        atomic_store(&s->redis_up, kvok);
        listener_check(&s->rpc);
        dialset_check(&s->relay);
        pthread_mutex_lock(&s->monitor_lock);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += MONITOR_PERIOD_MS / 1000;
        if (!atomic_load(&s->stopping))
            pthread_cond_timedwait(&s->monitor_cond, &s->monitor_lock, &ts);
    }
    pthread_mutex_unlock(&s->monitor_lock);
    db_close(db);
    kv_close(kv);
    return NULL;
}

/* --- health check client ------------------------------------------------------------- */

static int healthcheck(const char *listen, const struct envelope_key *key)
{
    char url[ADDR_MAX];
    addr_dialable(listen, url, sizeof url);
    nng_socket sock;
    if (nng_req0_open(&sock) != 0)
        return 1;
    nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 2000);
    nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, 2000);
    int status = 1;
    nng_msg *msg = NULL;
    Aiops__Request req = AIOPS__REQUEST__INIT;
    char rid[37];
    uuid_v4(rid);
    req.request_id = rid;
    req.method = "GET";
    req.path = "/healthcheck";
    req.route = "health";
    req.deadline_ms = time_now_ms() + 2000;
    if (nng_dial(sock, url, NULL, 0) != 0) {
        fprintf(stderr, "healthcheck: cannot connect to %s\n", url);
        goto done;
    }
    if (envelope_pack_request(key, &req, &msg) != 0 || nng_sendmsg(sock, msg, 0) != 0) {
        nng_msg_free(msg);
        goto done;
    }
    if (nng_recvmsg(sock, &msg, 0) != 0) {
        fprintf(stderr, "healthcheck: no answer from %s within 2 s\n", url);
        goto done;
    }
    Aiops__Response *resp;
    if (envelope_is_refusal(nng_msg_body(msg), nng_msg_len(msg)))
        fprintf(stderr, "healthcheck: %s refused our SERVICE_SECRET\n", url);
    else if (envelope_unpack_response(key, nng_msg_body(msg), nng_msg_len(msg), &resp) == 0) {
        printf("%.*s\n", (int)resp->body.len, (const char *)resp->body.data);
        status = resp->status == 200 ? 0 : 1;
        aiops__response__free_unpacked(resp, NULL);
    }
    nng_msg_free(msg);
done:
    nng_close(sock);
    return status;
}

/* --- main ---------------------------------------------------------------------------- */

int svc_main(const struct svc_def *def, int argc, char **argv)
{
    static struct svc svc_state;
    struct svc *s = &svc_state;
    const char *name = svc_name(def->id);
    char logname[32];
    snprintf(logname, sizeof logname, "svc-%s", name);
    log_init(strdup(logname));

    char rpc[ADDR_MAX], events[ADDR_MAX], rpc_name[32];
    snprintf(rpc_name, sizeof rpc_name, "%s.rpc", name);
    addr_from_env("RPC_LISTEN", rpc_name, rpc, sizeof rpc);
    addr_from_env("EVENTS_IN_URL", "events.in", events, sizeof events);
    if (envelope_key_from_env(&s->key) != 0)
        return 2;
    if (argc > 1 && strcmp(argv[1], "--healthcheck") == 0)
        return healthcheck(rpc, &s->key);
    if (argc > 1) {
        fprintf(
            stderr,
            "usage: %s [--healthcheck]\n(configuration is read from the environment; see README)\n",
            argv[0]);
        return 2;
    }

    struct envelope_key key = s->key;
    memset(s, 0, sizeof *s);
    s->key = key;
    s->def = def;
    s->name = name;
    s->started = time_now();
    s->db_url = getenv("DATABASE_URL");
    s->redis_url = getenv("REDIS_URL");
    long workers, upload_limit;
    if (env_long("SERVICE_WORKERS", 4, 1, 256, &workers) != 0 ||
        env_long("UPLOAD_LIMIT_BYTES", 64L << 20, 1024, 4L << 30, &upload_limit) != 0)
        return 2;
    if (s->db_url == NULL || s->redis_url == NULL) {
        log_error("DATABASE_URL and REDIS_URL must be set");
        return 2;
    }
    struct kv *probe;
    if (kv_open(s->redis_url, &probe) != 0)
        return 2;
    kv_close(probe);

    /* Signals are taken by sigwait() in this thread only: block them before any thread
     * (ours or nng's) starts, so that every thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rv;
    if ((rv = nng_rep0_open(&s->rep)) != 0 || (rv = nng_pub0_open(&s->pub)) != 0) {
        log_error("rpc: cannot open sockets: %s", nng_strerror(rv));
        return 1;
    }
    nng_socket_set_size(s->rep, NNG_OPT_RECVMAXSZ, (size_t)upload_limit + (1u << 20));
    if ((rv = listener_start(&s->rpc, s->rep, rpc, SP_PROTO_REQ, SP_PROTO_REP)) != 0) {
        log_error("rpc: cannot listen on %s: %s", rpc, nng_strerror(rv));
        return 1;
    }
    /* events go to the relay, which every gateway hears: dialled, so that replicas of any
     * service come and go without anyone listing them (nng redials while it is away) */
    nng_socket_set_ms(s->pub, NNG_OPT_RECONNMINT, 50);
    nng_socket_set_ms(s->pub, NNG_OPT_RECONNMAXT, 1000);
    if ((rv = dialset_start(&s->relay, s->pub, events, 1)) != 0) {
        log_error("events: cannot dial the relay at %s: %s", events, nng_strerror(rv));
        return 1;
    }
    if (publisher_init(&s->events, s->pub, &s->key) != 0)
        return 1;

    pthread_mutex_init(&s->monitor_lock, NULL);
    pthread_cond_init(&s->monitor_cond, NULL);
    if (def->start != NULL && def->start(s) != 0) {
        log_error("start failed");
        return 1;
    }
    pthread_create(&s->monitor, NULL, monitor_main, s);

    s->nworkers = (int)workers;
    s->workers = calloc((size_t)workers, sizeof *s->workers);
    for (int i = 0; i < s->nworkers; i++) {
        struct svc_worker *w = &s->workers[i];
        w->svc = s;
        if ((rv = nng_ctx_open(&w->ctx, s->rep)) != 0 ||
            (rv = nng_aio_alloc(&w->aio, NULL, NULL)) != 0 || db_open(s->db_url, &w->db) != 0 ||
            kv_open(s->redis_url, &w->kv) != 0) {
            log_error("worker %d: setup failed", i);
            return 1;
        }
        pthread_create(&w->thread, NULL, worker_main, w);
    }
    log_json(LOG_LEVEL_INFO, "started",
             json_pack("{s:s, s:s, s:i, s:s}", "rpc", rpc, "events", events, "workers",
                       (int)workers, "version", AIOPS_VERSION));

    int sig = 0;
    sigwait(&sigs, &sig);
    log_info("signal %d: stopping (finishing %d requests in progress)", sig, atomic_load(&s->busy));
    atomic_store(&s->stopping, 1);
    pthread_mutex_lock(&s->monitor_lock);
    pthread_cond_signal(&s->monitor_cond);
    pthread_mutex_unlock(&s->monitor_lock);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i].thread, NULL);
    pthread_join(s->monitor, NULL);
    if (def->stop != NULL)
        def->stop(s);
    for (int i = 0; i < s->nworkers; i++) {
        struct svc_worker *w = &s->workers[i];
        nng_aio_free(w->aio);
        nng_ctx_close(w->ctx);
        db_close(w->db);
        kv_close(w->kv);
    }
    free(s->workers);
    nng_close(s->rep);
    nng_close(s->pub);
    publisher_fini(&s->events);
    log_info("stopped");
    nng_fini();
    return 0;
}
