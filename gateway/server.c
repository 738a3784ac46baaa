/* server.c -- the HTTP side of the gateway: accept, route, authenticate, forward.
 *
 * A request goes: on_request() -> (CORS preflight | WebSocket upgrade | route match) ->
 * auth_request() [-> key lookup on the auth thread -> gw_after_auth()] -> a local handler
 * or forward() -> the service's answer -> gw_after_forward() -> gw_reply() (request.c).
 * Everything here runs on the loop thread. */

#include "server.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "auth.h"
#include "conn.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/time.h"
#include "forward.h"
#include "gw.h"
#include "gwmetrics.h"
#include "httpframe.h"
#include "http/url.h"
#include "ratelimit.h"
#include "rpc/envelope.h"
#include "wshub.h"

/* --- CORS ---------------------------------------------------------------------------- */

/* Copies the request's Origin into r->origin when it is on the allow-list. Returns 1 when
 * the request carries an Origin that is not allowed. */
/* 1 when origin ("http://host:port") names the host the request was sent to: a browser
 * sends Origin with a page's own module scripts and POSTs too, and the console (served
 * here) is its own origin, not a cross-origin client. */
static int same_origin(const char *origin, const char *host)
{
    if (host == NULL)
        return 0;
    const char *rest = strncmp(origin, "http://", 7) == 0    ? origin + 7
                       : strncmp(origin, "https://", 8) == 0 ? origin + 8
                                                             : NULL;
    return rest != NULL && strcasecmp(rest, host) == 0;
}

static int cors_check(struct gw_req *r)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
    const char *origin = evhttp_find_header(in, "Origin");
    if (origin == NULL || same_origin(origin, evhttp_find_header(in, "Host")))
        return 0;
    for (size_t i = 0; i < r->gw->cfg.n_cors_origins; i++) {
        const char *o = r->gw->cfg.cors_origins[i];
        if (strcmp(o, "*") == 0 || strcmp(o, origin) == 0) {
            snprintf(r->origin, sizeof r->origin, "%s", origin);
            return 0;
        }
    }
    return 1;
}

static void cors_preflight(struct gw_req *r)
{
    if (r->origin[0] == '\0') {
        gw_reply_error(r, API_CORS_ORIGIN_NOT_ALLOWED, NULL, NULL);
        return;
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(out, "Access-Control-Allow-Methods",
                      "GET, POST, PUT, PATCH, DELETE, OPTIONS");
    const char *req_h = evhttp_find_header(evhttp_request_get_input_headers(r->req),
                                           "Access-Control-Request-Headers");
    evhttp_add_header(out, "Access-Control-Allow-Headers",
                      req_h ? req_h : "Content-Type, Authorization, X-API-Key, X-Request-Id");
    evhttp_add_header(out, "Access-Control-Max-Age", "600");
    gw_reply(r, 204, NULL, NULL, 0);
}

/* --- forwarding ---------------------------------------------------------------------- */

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "UNKNOWN";
    }
}

/* Headers a service never needs: credentials stay in the gateway. */
static int header_forwarded(const char *name)
{
    return strcasecmp(name, "Authorization") != 0 && strcasecmp(name, "X-API-Key") != 0 &&
           strcasecmp(name, "Cookie") != 0 && strcasecmp(name, "X-Aiops-Frame-Error") != 0 &&
           strcasecmp(name, "X-Aiops-Frame-Detail") != 0 &&
           strcasecmp(name, "X-Aiops-Frame-Stream") != 0;
}

/* 503 service_unavailable or 504 service_timeout for r's service, named in details. */
static void reply_service_down(struct gw_req *r, enum api_error e)
{
    const char *svc = svc_name(r->route->service);
    char msg[160];
    if (e == API_SERVICE_TIMEOUT)
        snprintf(msg, sizeof msg, "svc-%s did not answer within %d ms", svc,
                 (int)(r->deadline_ms > 0 ? r->route->timeout_ms : 0));
    else
        snprintf(msg, sizeof msg, "svc-%s is not available", svc);
    gw_reply_error(r, e, msg, json_pack("{s:s}", "service", svc));
}

int gw_send_call(struct gw_req *r, const void *body, size_t len, Aiops__UploadPart *part,
                 gw_send_fn *send)
{
    Aiops__Request m = AIOPS__REQUEST__INIT;
    Aiops__Principal p = AIOPS__PRINCIPAL__INIT;
    char *scope_list[SCOPE_COUNT];
    size_t nscopes = 0;
    for (int s = 1; s < SCOPE_COUNT; s++)
        if (r->principal.scopes & (1u << s))
            scope_list[nscopes++] = (char *)scope_name((enum route_scope)s);
    p.subject = r->principal.subject;
    p.project = r->principal.project;
    p.method = r->principal.method;
    p.scopes = scope_list;
    p.n_scopes = nscopes;
    m.request_id = r->request_id;
    m.principal = &p;
    m.deadline_ms = r->deadline_ms;
    /* HEAD is answered like GET; a WebSocket's existence check is a GET of its route */
    m.method = (char *)(strcmp(r->method, "HEAD") == 0 || r->ws_route ? "GET" : r->method);
    m.path = r->path;
    m.query = r->query ? r->query : "";
    m.route = (char *)r->route->name;

    /* path parameters, as raw (still percent-encoded) segments */
    char *params[ROUTE_MAX_PARAMS];
    for (int i = 0; i < r->params.n; i++) {
        params[i] = strndup(r->params.value[i], r->params.len[i]);
        if (params[i] == NULL) {
            for (int k = 0; k < i; k++)
                free(params[k]);
            return AIOPS_ENOMEM;
        }
    }
    m.path_params = params;
    m.n_path_params = (size_t)r->params.n;

    struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
    size_t nh = 0;
    for (struct evkeyval *kv = in->tqh_first; kv; kv = kv->next.tqe_next)
        nh++;
    Aiops__Header *hdr = calloc(nh ? nh : 1, sizeof *hdr);
    Aiops__Header **hp = calloc(nh ? nh : 1, sizeof *hp);
    size_t k = 0;
    if (hdr != NULL && hp != NULL) {
        for (struct evkeyval *kv = in->tqh_first; kv; kv = kv->next.tqe_next) {
            if (!header_forwarded(kv->key))
                continue;
            aiops__header__init(&hdr[k]);
            hdr[k].name = kv->key;
            hdr[k].value = kv->value;
            hp[k] = &hdr[k];
            k++;
        }
    }
    m.headers = hp;
    m.n_headers = k;

    m.body.len = len;
    m.body.data = (uint8_t *)body;
    m.upload = part;

    int64_t left = r->deadline_ms - time_now_ms();
    int rv = (hdr && hp) ? send(r, &m, (int)(left > 0 ? left : 1)) : AIOPS_ENOMEM;
    free(hdr);
    free(hp);
    for (int i = 0; i < r->params.n; i++)
        free(params[i]);
    return rv;
}

void gw_reply_send_failure(struct gw_req *r, int rv)
{
    if (rv == AIOPS_EUNAVAIL)
        reply_service_down(r, API_SERVICE_UNAVAILABLE);
    else if (rv == AIOPS_ENOMEM)
        gw_reply_error(r, API_OUT_OF_MEMORY, NULL, NULL);
    else
        gw_reply_error(r, API_INTERNAL_ERROR, "cannot forward the request", NULL);
}

static void forward(struct gw_req *r)
{
    struct evbuffer *body = evhttp_request_get_input_buffer(r->req);
    size_t blen = evbuffer_get_length(body);
    int rv = gw_send_call(r, blen ? evbuffer_pullup(body, (ev_ssize_t)blen) : NULL, blen, NULL,
                          fwd_call);
    if (rv != 0)
        gw_reply_send_failure(r, rv);
}

/* A WebSocket topic that names a thing (/ws/training/{run_id}) is opened only when the
 * thing exists and the caller may see it: the route whose answer says so, asked with the
 * same path parameters before the upgrade; NULL for topics that name nothing. */
static const struct route *ws_existence_check(const struct route *ws)
{
    static const struct {
        const char *ws, *check;
    } checks[] = {{"ws.training", "runs.get"}};
    for (size_t i = 0; i < sizeof checks / sizeof *checks; i++) {
        if (strcmp(ws->name, checks[i].ws) != 0)
            continue;
        for (size_t k = 0; k < routes_count; k++)
            if (strcmp(routes[k].name, checks[i].check) == 0)
                return &routes[k];
    }
    return NULL;
}

/* The service's answer to r, taken from r: 0 with *out; AIOPS_EAUTH when the service
 * refused our envelope, AIOPS_ECORRUPT when the answer's seal failed, AIOPS_EPARSE or
 * AIOPS_EUNSUPPORTED when it is malformed or missing. */
static int reply_open(struct gw_req *r, Aiops__Response **out)
{
    if (r->resp != NULL) { /* a batched call's, unpacked by forward.c */
        *out = r->resp;
        r->resp = NULL;
        return AIOPS_OK;
    }
    if (r->reply == NULL)
        return r->reply_err != 0 ? r->reply_err : AIOPS_EPARSE;
    const void *reply = nng_msg_body(r->reply);
    size_t reply_len = nng_msg_len(r->reply);
    if (envelope_is_refusal(reply, reply_len))
        return AIOPS_EAUTH;
    int rv = envelope_unpack_response(&r->gw->cfg.key, reply, reply_len, out);
    return rv == AIOPS_EAUTH ? AIOPS_ECORRUPT : rv;
}

void gw_after_forward(struct gw_req *r)
{
    const char *svc = svc_name(r->route->service);
    if (r->rpc_err != 0) {
        int timed_out = r->rpc_err == NNG_ETIMEDOUT && fwd_service_up(r->gw, r->route->service);
        reply_service_down(r, timed_out ? API_SERVICE_TIMEOUT : API_SERVICE_UNAVAILABLE);
        return;
    }
    Aiops__Response *resp;
    int rv = reply_open(r, &resp);
    if (rv == AIOPS_EAUTH) {
        log_error("rpc: svc-%s refused the gateway's envelope: SERVICE_SECRET differs", svc);
        gw_reply_error(r, API_SERVICE_AUTH_FAILED, NULL, json_pack("{s:s}", "service", svc));
        return;
    }
    if (rv == AIOPS_ECORRUPT)
        gw_metrics_envelope_refused(r->gw, "reply");
    if (rv != 0) {
        gw_reply_error(r, API_BAD_SERVICE_RESPONSE, NULL, json_pack("{s:s}", "service", svc));
        return;
    }
    if (r->upload != NULL && upload_continue(r, resp->status)) {
        aiops__response__free_unpacked(resp, NULL);
        return;
    }
    /* 1xx are a service's word to the gateway, never an answer */
    int status = resp->status >= 200 && resp->status <= 599 ? resp->status : 502;
    if (r->ws_route != NULL) {
        /* the existence check answered: upgrade after a 200, else its answer (404 for an
         * unknown run or another project's) is the handshake's */
        r->route = r->ws_route;
        if (status == 200) {
            aiops__response__free_unpacked(resp, NULL);
            ws_accept(r);
            return;
        }
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    for (size_t i = 0; i < resp->n_headers; i++) {
        const char *n = resp->headers[i]->name;
        /* framing headers are ours to set */
        if (strcasecmp(n, "Content-Length") != 0 && strcasecmp(n, "Transfer-Encoding") != 0 &&
            strcasecmp(n, "Connection") != 0 && strcasecmp(n, "Content-Type") != 0)
            evhttp_add_header(out, n, resp->headers[i]->value);
    }
    gw_reply(r, status, resp->content_type[0] ? resp->content_type : "application/json",
             resp->body.data, resp->body.len);
    aiops__response__free_unpacked(resp, NULL);
}

/* --- the pipeline -------------------------------------------------------------------- */

/* A 401 counts against the client address's failed-authentication bucket (guessing keys
 * is slowed down); a 403 (a valid principal without the scope) does not. */
static void reply_auth_failed(struct gw_req *r, enum api_error err, const char *message)
{
    if (apierr_def(err)->status == 401) {
        ratelimit_auth_failed(r);
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "WWW-Authenticate",
                          "Bearer, ApiKey");
    }
    gw_reply_error(r, err, message, NULL);
}

void gw_after_auth(struct gw_req *r)
{
    enum api_error err;
    const char *message;
    if (r->stage == STAGE_AUTH_DONE) {
        if (auth_lookup_done(r, &err, &message) != AUTH_OK) {
            reply_auth_failed(r, err, message);
            return;
        }
    }
    if (ratelimit_request(r))
        return;
    if (strcmp(r->route->method, "WS") == 0) {
        const struct route *check = ws_existence_check(r->route);
        if (check == NULL) {
            ws_accept(r);
            return;
        }
        r->ws_route = r->route;
        r->route = check;
        forward(r);
        return;
    }
    if (r->route->service == SVC_GATEWAY)
        gw_handle_local(r);
    else if (r->route->body == BODY_UPLOAD && r->route->service == SVC_INGEST)
        upload_forward(r);
    else
        forward(r);
}

/* Without authentication anyone who can make a browser send a request is a client: a page
 * on attacker.example that rebinds its name to 127.0.0.1 would be one. Serve only the
 * names this machine answers to on loopback and the configured ALLOWED_HOSTS ("*": any). A
 * request without Host (HTTP/1.0) cannot have been rebound. */
static int host_allowed(const struct gw_config *cfg, const char *host)
{
    char name[256];
    if (host == NULL)
        return 1;
    if (url_host_name(host, name, sizeof name) != 0)
        return 0;
    if (url_host_is_loopback(name))
        return 1;
    for (size_t i = 0; i < cfg->n_allowed_hosts; i++)
        if (strcmp(cfg->allowed_hosts[i], "*") == 0 || strcasecmp(cfg->allowed_hosts[i], name) == 0)
            return 1;
    return 0;
}

/* A path whose percent-escapes are broken, hide a NUL, or decode to bytes that are not
 * UTF-8 names nothing: 400 bad_path saying where, before any service sees it. 0 when the
 * path is fine, else replied (r freed). */
static int path_refused(struct gw_req *r)
{
    size_t n = strlen(r->path), len = 0, bad = 0;
    char *d = malloc(n + 1);
    if (d == NULL) {
        gw_reply_error(r, API_OUT_OF_MEMORY, NULL, NULL);
        return 1;
    }
    const char *why = NULL;
    if (url_decode(r->path, n, 0, d, n + 1, &len) != 0)
        why = "the path has a malformed percent-escape or an escaped NUL";
    else if (!utf8_valid(d, len, &bad))
        why = "the path does not decode to UTF-8";
    free(d);
    if (why == NULL)
        return 0;
    gw_reply_error(r, API_BAD_PATH, why,
                   len ? json_pack("{s:I}", "decoded_offset", (json_int_t)bad) : NULL);
    return 1;
}

static int request_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return 0;
    return 1;
}

static size_t body_limit(const struct gw *gw, const struct route *rt)
{
    return (rt && rt->body == BODY_UPLOAD) ? gw->cfg.upload_limit : gw->cfg.body_limit;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct gw *gw = arg;
    struct gw_req *r = calloc(1, sizeof *r);
    if (r == NULL) {
        evhttp_send_error(req, 503, "Out Of Memory");
        return;
    }
    conn_request_begin(req);
    r->gw = gw;
    r->req = req;
    r->t0 = time_mono_ns();
    gw->inflight++;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *rid = evhttp_find_header(in, "X-Request-Id");
    if (rid != NULL && request_id_ok(rid)) /* at most 64 bytes: it fits */
        memcpy(r->request_id, rid, strlen(rid) + 1);
    else
        uuid_v4_fast(r->request_id);
    r->method = method_name(evhttp_request_get_command(req));
    r->bytes_in = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    struct evhttp_connection *con = evhttp_request_get_connection(req);
    char *peer = NULL;
    ev_uint16_t peer_port = 0;
    if (con != NULL)
        evhttp_connection_get_peer(con, &peer, &peer_port);
    size_t peer_len = peer ? strnlen(peer, sizeof r->remote - 1) : 0; /* an address: it fits */
    memcpy(r->remote, peer ? peer : "", peer_len);
    r->remote[peer_len] = '\0';

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    r->path = strdup(path && path[0] ? path : "/");
    r->query = query ? strdup(query) : NULL;
    if (r->path == NULL || (query && r->query == NULL)) {
        gw_reply_error(r, API_OUT_OF_MEMORY, NULL, NULL);
        return;
    }
    int bad_origin = cors_check(r);

    /* A request the framer replaced: answer the error it found. */
    const char *frame = evhttp_find_header(in, "X-Aiops-Frame-Error");
    if (frame != NULL) {
        int status;
        char code[64];
        if (httpframe_parse_error_header(frame, gw->frame_secret, &status, code, sizeof code) ==
            0) {
            const char *detail = evhttp_find_header(in, "X-Aiops-Frame-Detail");
            json_t *details = detail ? httpframe_decode_detail(detail) : NULL;
            enum api_error e;
            if (apierr_find(code, &e) != 0)
                e = API_BAD_REQUEST;   /* the framer names only catalogue codes */
            if (e == API_RATE_LIMITED) /* an upload past UPLOAD_CONCURRENCY */
                evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
                                  GW_RETRY_AFTER_SECONDS);
            gw_reply_error(r, e, NULL, details);
            return;
        }
    }

    if (evhttp_request_get_command(req) == EVHTTP_REQ_OPTIONS &&
        evhttp_find_header(in, "Access-Control-Request-Method") != NULL) {
        cors_preflight(r);
        return;
    }
    if (bad_origin) {
        gw_reply_error(r, API_CORS_ORIGIN_NOT_ALLOWED, NULL, NULL);
        return;
    }

    if (path_refused(r))
        return;
    if (gw->cfg.disable_auth && !host_allowed(&gw->cfg, evhttp_find_header(in, "Host"))) {
        gw_reply_error(r, API_HOST_NOT_ALLOWED, NULL, NULL);
        return;
    }

    int path_exists = 0;
    const char *upgrade = evhttp_find_header(in, "Upgrade");
    int is_ws = upgrade != NULL && strcasecmp(upgrade, "websocket") == 0;
    /* HEAD is GET without the body: evhttp leaves the body out of a HEAD's answer */
    const char *as = is_ws ? "WS" : strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    r->route = route_match(as, r->path, strlen(r->path), &r->params, &path_exists);
    if (r->route == NULL) {
        int ws_path = 0;
        struct route_params tmp;
        const struct route *wsr = route_match("WS", r->path, strlen(r->path), &tmp, &ws_path);
        if (!is_ws && wsr != NULL) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Upgrade", "websocket");
            gw_reply_error(r, API_UPGRADE_REQUIRED, NULL, NULL);
        } else if (path_exists) {
            gw_reply_error(r, API_METHOD_NOT_ALLOWED, NULL, NULL);
        } else {
            gw_reply_error(r, API_NOT_FOUND, "no route for this path", NULL);
        }
        return;
    }
    /* The framer enforces limits before the body is read; this is the second line. */
    if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > body_limit(gw, r->route)) {
        gw_reply_error(r, API_PAYLOAD_TOO_LARGE, NULL,
                       json_pack("{s:I}", "limit", (json_int_t)body_limit(gw, r->route)));
        return;
    }
    if (r->route->body == BODY_UPLOAD)
        upload_hold_place(r);
    if (gw->stopping && !is_ws) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    }
    long scale = gw->cfg.timeout_scale_pct;
    r->deadline_ms = time_now_ms() + (int64_t)r->route->timeout_ms * scale / 100;

    if (ratelimit_auth_blocked(r))
        return;
    enum api_error err;
    const char *message;
    switch (auth_request(r, &err, &message)) {
    case AUTH_OK:
        gw_after_auth(r);
        break;
    case AUTH_PENDING:
        break; /* gw_after_auth follows from the queue */
    case AUTH_FAILED:
        reply_auth_failed(r, err, message);
        break;
    }
}

/* --- connections: every client socket gets the request framer ------------------------ */

static size_t frame_limit(void *arg, const char *method, size_t mlen, const char *target,
                          size_t tlen)
{
    return body_limit(arg, route_of_request(method, mlen, target, tlen));
}

/* --- the connection cap ------------------------------------------------------------------
 * Past MAX_CONNECTIONS the connection idle longest makes room for the new one, and the
 * listener pauses until a connection has closed (when none is idle, new connections wait in
 * the kernel's backlog, holding none of our descriptors). accept() failing for want of descriptors
 * pauses it for ACCEPT_RETRY_MS instead of being retried in a loop. */
#define ACCEPT_RETRY_MS 100
/* Connections accepted past MAX_CONNECTIONS in one turn of the loop (their descriptors come
 * out of FD_HEADROOM, gateway/main.c) before accepting pauses. */
#define ACCEPT_SLACK 16
/* The listen backlog: a flood of connections waits in the kernel (holding none of our
 * descriptors) instead of having its SYNs dropped, which would make a client that arrives
 * behind it wait a second for its retransmission. The kernel caps it at somaxconn. */
#define LISTEN_BACKLOG 4096

static struct evhttp_bound_socket *bound;
static struct event *accept_retry;
static int accept_paused;

static void accept_pause(int paused)
{
    struct evconnlistener *l = bound ? evhttp_bound_socket_get_listener(bound) : NULL;
    if (l == NULL || paused == accept_paused)
        return;
    accept_paused = paused;
    if (paused)
        evconnlistener_disable(l);
    else
        evconnlistener_enable(l);
}

static void on_room(void *arg)
{
    struct gw *gw = arg;
    if (!gw->stopping && !evtimer_pending(accept_retry, NULL))
        accept_pause(0);
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    on_room(arg);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    struct gw *gw = arg;
    int e = EVUTIL_SOCKET_ERROR();
    log_warn("http: accept() failed: %s (%zu connections open); pausing %d ms",
             evutil_socket_error_to_string(e), conn_open_count(), ACCEPT_RETRY_MS);
    conn_close_oldest_idle(NULL);
    accept_pause(1);
    struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
    evtimer_add(accept_retry, &tv);
    (void)gw;
}

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    struct gw *gw = arg;
    struct bufferevent *bev =
        conn_bev_new(base, frame_limit, upload_admit, upload_release, gw, gw->frame_secret);
    /* Over the cap: the longest idle connection goes. Its descriptor is released on the
     * loop's next turn, so past ACCEPT_SLACK more accepting pauses until then (on_room) --
     * libevent would otherwise accept on in the same callback, up to the descriptor limit;
     * the slack lets a flood of new connections be taken a batch per turn, not one. */
    if (conn_open_count() > gw->cfg.max_connections) {
        conn_close_oldest_idle(bev);
        if (conn_open_count() > gw->cfg.max_connections + ACCEPT_SLACK)
            accept_pause(1);
    }
    return bev;
}

/* cfg.bind:cfg.port with our backlog, handed to evhttp. NULL when it cannot listen. */
static struct evhttp_bound_socket *bind_listener(struct gw *gw)
{
    char addr[ADDR_MAX];
    struct sockaddr_storage ss;
    int sslen = (int)sizeof ss;
    snprintf(addr, sizeof addr, strchr(gw->cfg.bind, ':') ? "[%s]:%d" : "%s:%d", gw->cfg.bind,
             gw->cfg.port);
    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen) != 0)
        return NULL;
    struct evconnlistener *l = evconnlistener_new_bind(
        gw->base, NULL, NULL, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_CLOSE_ON_FREE,
        LISTEN_BACKLOG, (struct sockaddr *)&ss, sslen);
    if (l == NULL)
        return NULL;
    struct evhttp_bound_socket *b = evhttp_bind_listener(gw->http, l);
    if (b == NULL)
        evconnlistener_free(l);
    return b;
}

int server_start(struct gw *gw)
{
    int rv = gw_queue_init(gw);
    if (rv != 0)
        return rv;
    gw->http = evhttp_new(gw->base);
    if (gw->http == NULL)
        return AIOPS_ENOMEM;
    evhttp_set_allowed_methods(gw->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                             EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                             EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    /* the framer enforces the real limits first and answers with JSON; these only keep
     * evhttp from ever producing its own HTML errors for them */
    evhttp_set_max_headers_size(gw->http, 1u << 20);
    evhttp_set_max_body_size(gw->http, (ev_ssize_t)(gw->cfg.upload_limit + (1u << 20)));
    evhttp_set_timeout(gw->http, 120);
    evhttp_set_gencb(gw->http, on_request, gw);
    evhttp_set_bevcb(gw->http, make_bev, gw);
    bound = bind_listener(gw);
    if (bound == NULL) {
        log_error("http: cannot listen on %s:%d", gw->cfg.bind, gw->cfg.port);
        return AIOPS_EIO;
    }
    accept_retry = evtimer_new(gw->base, on_accept_retry, gw);
    if (accept_retry == NULL)
        return AIOPS_ENOMEM;
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(bound), on_accept_error);
    conn_set_room_callback(gw->cfg.max_connections, on_room, gw);
    return AIOPS_OK;
}

void server_stop_accepting(struct gw *gw)
{
    conn_set_room_callback(0, NULL, NULL);
    if (accept_retry != NULL)
        evtimer_del(accept_retry);
    if (bound != NULL)
        evhttp_del_accept_socket(gw->http, bound);
    bound = NULL;
}

void server_stop(struct gw *gw)
{
    conn_set_room_callback(0, NULL, NULL);
    if (gw->http)
        evhttp_free(gw->http);
    gw->http = NULL;
    if (accept_retry != NULL)
        event_free(accept_retry);
    accept_retry = NULL;
    gw_queue_free(gw);
}
