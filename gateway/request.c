/* request.c -- the request core of the gateway: the completion queue that hands requests
 * and events back to the loop thread, and the one way out of every request (gw_reply*,
 * gw_request_done): common headers, metrics, the access log line, freeing the request. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core/encode.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/time.h"
#include "forward.h"
#include "gw.h"
#include "gwmetrics.h"
#include "rpc/envelope.h"
#include "wshub.h"

/* --- completion queue ---------------------------------------------------------------- */

void gw_req_queue_push(struct gw_req_queue *q, struct gw_req *r)
{
    r->next = NULL;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
}

struct gw_req *gw_req_queue_pop(struct gw_req_queue *q)
{
    struct gw_req *r = q->head;
    if (r == NULL)
        return NULL;
    q->head = r->next;
    if (q->head == NULL)
        q->tail = NULL;
    r->next = NULL;
    return r;
}

void gw_post(struct gw *gw, struct gw_req *r)
{
    pthread_mutex_lock(&gw->q_lock);
    gw_req_queue_push(&gw->q, r);
    pthread_mutex_unlock(&gw->q_lock);
    event_active(gw->q_event, EV_READ, 0);
}

void gw_post_queue(struct gw *gw, struct gw_req_queue *q)
{
    if (q->head == NULL)
        return;
    pthread_mutex_lock(&gw->q_lock);
    if (gw->q.tail)
        gw->q.tail->next = q->head;
    else
        gw->q.head = q->head;
    gw->q.tail = q->tail;
    pthread_mutex_unlock(&gw->q_lock);
    q->head = q->tail = NULL;
    event_active(gw->q_event, EV_READ, 0);
}

void gw_post_event(struct gw *gw, Aiops__Event *ev)
{
    struct gw_event *e = malloc(sizeof *e);
    if (e == NULL) {
        aiops__event__free_unpacked(ev, NULL);
        return;
    }
    e->ev = ev;
    e->next = NULL;
    pthread_mutex_lock(&gw->q_lock);
    if (gw->ev_tail)
        gw->ev_tail->next = e;
    else
        gw->ev_head = e;
    gw->ev_tail = e;
    pthread_mutex_unlock(&gw->q_lock);
    event_active(gw->q_event, EV_READ, 0);
}

static void on_queue(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw *gw = arg;
    pthread_mutex_lock(&gw->q_lock);
    struct gw_req_queue done = gw->q;
    struct gw_event *e = gw->ev_head;
    gw->q.head = gw->q.tail = NULL;
    gw->ev_head = gw->ev_tail = NULL;
    pthread_mutex_unlock(&gw->q_lock);
    struct gw_req *r;
    while ((r = gw_req_queue_pop(&done)) != NULL) {
        if (r->stage == STAGE_AUTH_WAIT) {
            r->stage = STAGE_AUTH_DONE;
            gw_after_auth(r);
        } else {
            r->stage = STAGE_FORWARD_DONE;
            gw_after_forward(r);
        }
    }
    while (e != NULL) {
        struct gw_event *next = e->next;
        ws_hub_publish(gw, e->ev);
        aiops__event__free_unpacked(e->ev, NULL);
        free(e);
        e = next;
    }
}

int gw_queue_init(struct gw *gw)
{
    pthread_mutex_init(&gw->q_lock, NULL);
    gw->q_event = event_new(gw->base, -1, 0, on_queue, gw);
    return gw->q_event != NULL ? AIOPS_OK : AIOPS_ENOMEM;
}

void gw_queue_free(struct gw *gw)
{
    if (gw->q_event) {
        /* drain what is left so that nothing leaks */
        on_queue(-1, 0, gw);
        event_free(gw->q_event);
        gw->q_event = NULL;
    }
    pthread_mutex_destroy(&gw->q_lock);
}

/* --- replies ------------------------------------------------------------------------- */

static void req_free(struct gw_req *r)
{
    fwd_release(r);
    upload_free(r);
    free(r->path);
    free(r->query);
    free(r);
}

static void add_common_headers(struct gw_req *r, struct evkeyvalq *out)
{
    evhttp_add_header(out, "X-Request-Id", r->request_id);
    if (r->origin[0]) {
        evhttp_add_header(out, "Access-Control-Allow-Origin", r->origin);
        evhttp_add_header(out, "Access-Control-Allow-Credentials", "true");
        evhttp_add_header(out, "Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
    }
    /* one Vary: a handler may have named what else the answer varies by */
    const char *vary = evhttp_find_header(out, "Vary");
    if (vary == NULL) {
        evhttp_add_header(out, "Vary", "Origin");
    } else {
        char both[128];
        snprintf(both, sizeof both, "Origin, %s", vary);
        evhttp_remove_header(out, "Vary");
        evhttp_add_header(out, "Vary", both);
    }
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
    /* API answers are never cached; the console's files say otherwise (console.c) */
    if (evhttp_find_header(out, "Cache-Control") == NULL)
        evhttp_add_header(out, "Cache-Control", "no-store");
}

/* One structured line per request (the access log), formatted directly: it runs for every
 * request, and building a jansson object for it costs more than the rest of the line. */
static void log_request(struct gw_req *r, int status, size_t bytes_out)
{
    /* r->req may already be gone (a reply that closed the connection): use r only */
    uint64_t us = (time_mono_ns() - r->t0) / 1000;
    enum log_level level = status >= 500 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO;
    if (!log_enabled(level))
        return;
    /* no printf: the line is written for every request (request ids, the method and the
     * remote address are ours or evhttp's, with nothing to escape) */
    struct buf b = BUF_INIT;
    const char *path = r->path ? r->path : "?";
    buf_puts(&b, "\"request_id\":\"");
    buf_puts(&b, r->request_id);
    buf_puts(&b, "\",\"method\":\"");
    buf_puts(&b, r->method ? r->method : "?");
    buf_puts(&b, "\",\"path\":");
    /* a path that is not UTF-8 still gets its line */
    if (utf8_valid(path, strlen(path), NULL))
        buf_json_str(&b, path, strlen(path));
    else
        buf_puts(&b, "\"(not UTF-8)\"");
    buf_puts(&b, ",\"route\":");
    buf_json_str(&b, r->route ? r->route->pattern : "", r->route ? strlen(r->route->pattern) : 0);
    buf_puts(&b, ",\"status\":");
    buf_put_uint(&b, (unsigned)status);
    buf_puts(&b, ",\"duration_ms\":");
    buf_put_fixed(&b, us, 3);
    buf_puts(&b, ",\"bytes_in\":");
    buf_put_uint(&b, r->bytes_in);
    buf_puts(&b, ",\"bytes_out\":");
    buf_put_uint(&b, bytes_out);
    buf_puts(&b, ",\"remote\":\"");
    buf_puts(&b, r->remote);
    buf_putc(&b, '"');
    if (r->error_code != NULL) { /* a catalogue code: [a-z_], nothing to escape */
        buf_puts(&b, ",\"error\":\"");
        buf_puts(&b, r->error_code);
        buf_putc(&b, '"');
    }
    if (r->principal.subject[0]) {
        buf_puts(&b, ",\"principal\":");
        buf_json_str(&b, r->principal.subject, strlen(r->principal.subject));
        buf_puts(&b, ",\"project\":");
        buf_json_str(&b, r->principal.project, strlen(r->principal.project));
    }
    if (b.data != NULL)
        log_fields(level, "request", b.data, b.len);
    buf_free(&b);
}

void gw_request_done(struct gw_req *r, int status, size_t bytes_out)
{
    struct gw *gw = r->gw;
    gw_metrics_observe(gw, r->route, r->method, status, (double)(time_mono_ns() - r->t0) / 1e9);
    log_request(r, status, bytes_out);
    gw->inflight--;
    req_free(r);
}

void gw_reply(struct gw_req *r, int status, const char *content_type, const void *body, size_t len)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    add_common_headers(r, out);
    /* after an Upgrade request the framer no longer frames this connection: an answer
     * that is not a 101 must end it */
    if (evhttp_find_header(evhttp_request_get_input_headers(r->req), "Upgrade") != NULL)
        evhttp_add_header(out, "Connection", "close");
    upload_reply_hook(r);
    if (content_type)
        evhttp_add_header(out, "Content-Type", content_type);
    /* a 503 is temporary by definition, and a service's 429 (a limit of its own) too: say
     * when to come back (a service that knows better has set it already) */
    if ((status == 503 || status == 429) && evhttp_find_header(out, "Retry-After") == NULL)
        evhttp_add_header(out, "Retry-After", GW_RETRY_AFTER_SECONDS);
    if (upload_defer_reply(r, status, body, len))
        return; /* sent once the rest of the body is read (gw_reply_send) */
    gw_reply_send(r, status, body, len);
}

void gw_reply_send(struct gw_req *r, int status, const void *body, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    if (b != NULL && len > 0)
        evbuffer_add(b, body, len);
    struct evhttp_connection *con = evhttp_request_get_connection(r->req);
    evhttp_send_reply(r->req, status, http_reason_phrase(status), b);
    if (b)
        evbuffer_free(b);
    /* libevent 2.1's filter bufferevent does not pass on output that was queued while
     * writing was disabled when writing is enabled again, which is what evhttp does when it
     * sends a reply: push it through explicitly. */
    if (con != NULL)
        bufferevent_flush(evhttp_connection_get_bufferevent(con), EV_WRITE, BEV_NORMAL);
    gw_request_done(r, status, len);
}

void gw_reply_json(struct gw_req *r, int status, json_t *body)
{
    size_t len = 0;
    char *s = body ? jsonx_to_string(body, &len) : NULL;
    json_decref(body);
    if (s == NULL) {
        char oom[256];
        len = apierr_body_static(API_OUT_OF_MEMORY, oom, sizeof oom);
        r->error_code = apierr_def(API_OUT_OF_MEMORY)->code;
        gw_reply(r, apierr_def(API_OUT_OF_MEMORY)->status, "application/json", oom, len);
        return;
    }
    gw_reply(r, status, "application/json", s, len);
    free(s);
}

/* Allow: the methods path takes (for a 405). */
static void add_allow(struct gw_req *r)
{
    struct buf allow = BUF_INIT;
    for (size_t i = 0; i < routes_count; i++) {
        int other;
        struct route_params p;
        if (strcmp(routes[i].method, "WS") != 0 &&
            route_match(routes[i].method, r->path, strlen(r->path), &p, &other) == &routes[i])
            buf_printf(&allow, "%s%s", allow.len ? ", " : "", routes[i].method);
    }
    if (allow.len)
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow", allow.data);
    buf_free(&allow);
}

void gw_reply_error(struct gw_req *r, enum api_error e, const char *message, json_t *details)
{
    const struct api_error_def *d = apierr_def(e);
    if (d->status == 405 && r->path != NULL)
        add_allow(r);
    r->error_code = d->code;
    gw_reply_json(r, d->status, apierr_body(e, message, details));
}
