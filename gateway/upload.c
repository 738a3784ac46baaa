/* upload.c -- uploads: at most UPLOAD_CONCURRENCY at once, their bodies sent to svc-ingest in
 * parts.
 *
 * Admission: the framer asks upload_admit() once a request's head is read, before it takes
 * any of its body; an upload past the bound is answered 429 rate_limited with Retry-After
 * (its body read and dropped, as an over-limit one), so the bodies the gateway holds are at
 * most UPLOAD_CONCURRENCY x UPLOAD_LIMIT_BYTES. A place is held by the framer while it
 * receives the body, then by the request (upload_hold_place) until it is answered.
 *
 * Streaming: the framer hands the request's head on at once and keeps its body for us
 * (httpframe.h, streamed bodies): nothing of it is read before the caller is authenticated
 * and svc-ingest has accepted the session's first part, and reading pauses while
 * HTTPFRAME_STREAM_HIGH bytes wait, so an upload costs the gateway a few MiB whatever its
 * size and however fast its client.
 *
 * Forwarding: the body goes to svc-ingest as a session of parts (proto/aiops.proto
 * UploadPart): BEGIN (the service checks the query and content type before any byte),
 * CHUNKs of up to UPLOAD_CHUNK_BYTES, each sent once the one before was accepted, and END,
 * whose answer is the upload's. The service spools the parts to a file
 * (svc-ingest/upload_session.c). A client gone mid-way, or a body the framer refused
 * (chunked over the limit, malformed), makes the next part an ABORT: nothing is stored.
 * After a big upload the free heap goes back to the system (malloc_trim). */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "conn.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "forward.h"
#include "gw.h"
#include "httpframe.h"

/* Bytes of body per CHUNK part: big enough that a part's round trip is noise beside its
 * bytes, small enough that the gateway's copy of one is (at most half the framer's
 * buffer, so that the next part fills while one is on its way). */
#define UPLOAD_CHUNK_BYTES ((size_t)1 << 20)
/* After an upload at least this big, free heap pages go back to the system. */
#define UPLOAD_TRIM_BYTES ((size_t)1 << 20)

struct gw_upload {
    struct fwd_upload *pool; /* the pool socket carrying the session */
    struct conn *client;     /* the client's connection while its body streams, else NULL */
    int streamed;            /* the body streams from the framer (else: r's input buffer) */
    int gone;                /* the client's connection has ended */
    int waiting;             /* for more of the body: `wake` runs the next part */
    struct event *wake;
    char session[37];
    uint32_t seq; /* of the part in flight */
    Aiops__UploadPart__Kind kind;
    size_t sent;            /* body bytes sent */
    enum api_error failure; /* why an ABORT was sent (API_ERROR_COUNT: the client left) */
    json_t *failure_detail;
    struct evbuffer *deferred; /* an answer waiting for the rest of the body to be dropped */
    int deferred_status;
};

/* 1 when method + target (raw, with any query) name an upload route. */
static int is_upload_route(const char *method, size_t mlen, const char *target, size_t tlen)
{
    const struct route *rt = route_of_request(method, mlen, target, tlen);
    return rt != NULL && rt->body == BODY_UPLOAD;
}

int upload_admit(void *arg, const char *method, size_t method_len, const char *target,
                 size_t target_len)
{
    struct gw *gw = arg;
    if (!is_upload_route(method, method_len, target, target_len))
        return 0;
    if (gw->uploads_active >= gw->cfg.upload_concurrency)
        return -1;
    gw->uploads_active++;
    return 1;
}

void upload_release(void *arg)
{
    struct gw *gw = arg;
    if (gw->uploads_active > 0)
        gw->uploads_active--;
}

void upload_hold_place(struct gw_req *r)
{
    if (!r->upload_place) {
        r->upload_place = 1;
        r->gw->uploads_active++;
    }
}

static int send_part(struct gw_req *r, Aiops__Request *m, int timeout_ms)
{
    return fwd_upload_send(r->upload->pool, m, timeout_ms);
}

/* Sends the part `kind` with `len` bytes at `body` (CHUNK) or none. */
static int send_next(struct gw_req *r, Aiops__UploadPart__Kind kind, const void *body, size_t len)
{
    struct gw_upload *u = r->upload;
    Aiops__UploadPart part = AIOPS__UPLOAD_PART__INIT;
    part.session = u->session;
    part.seq = kind == AIOPS__UPLOAD_PART__KIND__BEGIN ? 0 : ++u->seq;
    part.kind = kind;
    u->kind = kind;
    /* the route's time is for serving the upload, not for its client to send it: each part
     * gets it afresh (the framer's read timeout bounds a client that stops sending) */
    r->deadline_ms =
        time_now_ms() + (int64_t)r->route->timeout_ms * r->gw->cfg.timeout_scale_pct / 100;
    return gw_send_call(r, body, len, &part, send_part);
}

/* Where the body's bytes are and whether more will come: *state is HTTPFRAME_STREAM_*. */
static struct evbuffer *body_source(struct gw_req *r, enum httpframe_stream *state)
{
    struct gw_upload *u = r->upload;
    if (!u->streamed) {
        *state = HTTPFRAME_STREAM_DONE;
        return evhttp_request_get_input_buffer(r->req);
    }
    if (u->client == NULL) { /* gone */
        *state = HTTPFRAME_STREAM_MORE;
        return NULL;
    }
    struct httpframe *f = conn_frame(u->client);
    if (u->failure_detail == NULL)
        *state = httpframe_stream_state(f, &u->failure, &u->failure_detail);
    else
        *state = httpframe_stream_state(f, &u->failure, NULL);
    return httpframe_stream_buffer(f);
}

/* With no part in flight: sends the next one, or waits for more of the body. 0, or what
 * gw_send_call failed with. */
static int pump(struct gw_req *r)
{
    struct gw_upload *u = r->upload;
    if (u->gone)
        return send_next(r, AIOPS__UPLOAD_PART__KIND__ABORT, NULL, 0);
    enum httpframe_stream state;
    struct evbuffer *body = body_source(r, &state);
    if (state == HTTPFRAME_STREAM_FAILED)
        return send_next(r, AIOPS__UPLOAD_PART__KIND__ABORT, NULL, 0);
    size_t n = evbuffer_get_length(body);
    if (n == 0 && state == HTTPFRAME_STREAM_DONE)
        return send_next(r, AIOPS__UPLOAD_PART__KIND__END, NULL, 0);
    if (n < UPLOAD_CHUNK_BYTES && state == HTTPFRAME_STREAM_MORE) {
        u->waiting = 1; /* the framer reads on; its news wakes us */
        conn_stream_kick(u->client);
        return AIOPS_OK;
    }
    if (n > UPLOAD_CHUNK_BYTES)
        n = UPLOAD_CHUNK_BYTES;
    unsigned char *p = evbuffer_pullup(body, (ev_ssize_t)n);
    if (p == NULL)
        return AIOPS_ENOMEM;
    int rv = send_next(r, AIOPS__UPLOAD_PART__KIND__CHUNK, p, n);
    if (rv == 0) { /* packed into the message: these bytes are done with here */
        evbuffer_drain(body, n);
        u->sent += n;
        if (u->client != NULL)
            conn_stream_kick(u->client); /* room again: the framer reads on */
    }
    return rv;
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw_req *r = arg;
    struct gw_upload *u = r->upload;
    if (u->deferred != NULL) {
        if (u->client != NULL)
            conn_stream_detach(u->client);
        u->client = NULL;
        size_t len = evbuffer_get_length(u->deferred);
        unsigned char *p = evbuffer_pullup(u->deferred, (ev_ssize_t)len);
        /* r and u are freed by the send: the answer is copied out first */
        char *copy = len > 0 ? malloc(len) : NULL;
        if (copy != NULL)
            memcpy(copy, p, len);
        gw_reply_send(r, u->deferred_status, copy, copy != NULL ? len : 0);
        free(copy);
        return;
    }
    int rv = pump(r);
    if (rv != 0)
        gw_reply_send_failure(r, rv);
}

/* The framer's news of the body (conn_stream_attach): only noted here. */
static void on_body_news(void *owner, int gone)
{
    struct gw_req *r = owner;
    struct gw_upload *u = r->upload;
    if (gone) {
        u->gone = 1;
        u->client = NULL;
    }
    if (u->deferred != NULL) {
        if (gone || httpframe_body_read(conn_frame(u->client)))
            event_active(u->wake, EV_TIMEOUT, 0);
        return;
    }
    if (u->waiting) {
        u->waiting = 0;
        event_active(u->wake, EV_TIMEOUT, 0);
    }
}

/* r's upload state, made on first use: NULL when out of memory. */
static struct gw_upload *upload_state(struct gw_req *r)
{
    if (r->upload != NULL)
        return r->upload;
    struct gw_upload *u = calloc(1, sizeof *u);
    if (u == NULL)
        return NULL;
    u->failure = API_ERROR_COUNT;
    u->wake = evtimer_new(r->gw->base, on_wake, r);
    if (u->wake == NULL) {
        free(u);
        return NULL;
    }
    r->upload = u;
    return u;
}

void upload_forward(struct gw_req *r)
{
    struct gw_upload *u = upload_state(r);
    if (u == NULL) {
        gw_reply_error(r, API_OUT_OF_MEMORY, NULL, NULL);
        return;
    }
    r->stage = STAGE_FORWARD_WAIT;
    u->client = conn_streamed(r->req);
    u->streamed = u->client != NULL;
    if (u->client != NULL)
        conn_stream_attach(u->client, on_body_news, r);
    u->pool = fwd_upload_take(r);
    if (u->pool == NULL) {
        gw_reply_send_failure(r, AIOPS_EUNAVAIL);
        return;
    }
    uuid_v4(u->session);
    int rv = send_next(r, AIOPS__UPLOAD_PART__KIND__BEGIN, NULL, 0);
    if (rv != 0)
        gw_reply_send_failure(r, rv);
}

/* svc-ingest has dropped the session after an ABORT: r is answered with why it was sent. */
static void answer_aborted(struct gw_req *r)
{
    struct gw_upload *u = r->upload;
    if (u->failure == API_ERROR_COUNT) {
        /* the client has gone: the answer goes nowhere, it only frees the request */
        gw_reply_error(r, API_BAD_REQUEST, "the client closed the connection mid-upload", NULL);
        return;
    }
    json_t *detail = u->failure_detail;
    u->failure_detail = NULL;
    gw_reply_error(r, u->failure, NULL, detail);
}

int upload_continue(struct gw_req *r, int status)
{
    struct gw_upload *u = r->upload;
    if (u->kind == AIOPS__UPLOAD_PART__KIND__ABORT) {
        answer_aborted(r);
        return 1;
    }
    if (status != 100 || u->kind == AIOPS__UPLOAD_PART__KIND__END)
        return 0;
    nng_msg_free(r->reply);
    r->reply = NULL;
    if (u->kind == AIOPS__UPLOAD_PART__KIND__BEGIN && u->client != NULL)
        conn_stream_resume(u->client); /* svc-ingest took the session: read the body */
    int rv = pump(r);
    if (rv != 0)
        gw_reply_send_failure(r, rv);
    return 1;
}

void upload_reply_hook(struct gw_req *r)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
    if (evhttp_find_header(in, "X-Aiops-Frame-Stream") == NULL)
        return;
    /* whatever came after the body was dropped: the connection ends after this answer */
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Connection", "close");
    struct gw_upload *u = r->upload;
    struct conn *c = u != NULL ? u->client : conn_streamed(r->req);
    if (c != NULL)
        conn_stream_discard(c); /* the rest of a body not taken is read and dropped */
    if (u != NULL) {
        u->client = NULL;
        r->bytes_in = u->sent;
    }
}

int upload_defer_reply(struct gw_req *r, int status, const void *body, size_t len)
{
    if (evhttp_find_header(evhttp_request_get_input_headers(r->req), "X-Aiops-Frame-Stream") ==
        NULL)
        return 0;
    struct conn *c = conn_streamed(r->req); /* NULL: gone */
    if (c == NULL || httpframe_body_read(conn_frame(c)))
        return 0;
    struct gw_upload *u = upload_state(r);
    if (u == NULL || (u->deferred = evbuffer_new()) == NULL)
        return 0;
    if (len > 0 && evbuffer_add(u->deferred, body, len) != 0) {
        evbuffer_free(u->deferred);
        u->deferred = NULL;
        return 0;
    }
    u->deferred_status = status;
    u->client = c;
    conn_stream_attach(c, on_body_news, r); /* the framer drops the rest meanwhile */
    return 1;
}

void upload_free(struct gw_req *r)
{
    struct gw_upload *u = r->upload;
    if (u != NULL) {
        if (u->client != NULL)
            conn_stream_detach(u->client);
        if (u->pool != NULL)
            fwd_upload_put(u->pool, r->rpc_err);
        if (u->wake != NULL)
            event_free(u->wake);
        json_decref(u->failure_detail);
        if (u->deferred != NULL)
            evbuffer_free(u->deferred);
        if (u->sent >= UPLOAD_TRIM_BYTES)
            malloc_trim(0);
        free(u);
        r->upload = NULL;
    }
    if (r->upload_place) {
        r->upload_place = 0;
        upload_release(r->gw);
    }
}
