#include "conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

struct conn {
    struct httpframe *frame;
    struct bufferevent *under;  /* the socket's bufferevent */
    struct bufferevent *filter; /* what evhttp uses */
    struct event *writable;     /* armed while the kernel refuses output */
    unsigned busy;              /* requests handed to evhttp and not yet answered */
    int closing;                /* conn_close_oldest_idle chose it; the close is deferred */
    int read_paused;            /* the socket is not read: a streamed body waits (httpframe.h) */
    void (*stream_notify)(void *owner, int gone); /* the taker of a streamed body */
    void *stream_owner;
    struct conn *prev, *next; /* the open connections, least recently read first */
};

/* --- the open connections ------------------------------------------------------------- */

static struct conn *oldest, *newest;
static size_t open_count;
static size_t room_max;
static void (*room_fn)(void *arg);
static void *room_arg;

static void unlink_conn(struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        oldest = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        newest = c->prev;
    c->prev = c->next = NULL;
}

static void link_newest(struct conn *c)
{
    c->prev = newest;
    c->next = NULL;
    if (newest)
        newest->next = c;
    else
        oldest = c;
    newest = c;
}

/* Bytes came in: c is now the most recently active. */
static void touch(struct conn *c)
{
    if (newest != c) {
        unlink_conn(c);
        link_newest(c);
    }
}

size_t conn_open_count(void)
{
    return open_count;
}

void conn_set_room_callback(size_t max, void (*room)(void *arg), void *arg)
{
    room_max = max;
    room_fn = room;
    room_arg = arg;
}

static void on_answered(struct evhttp_request *req, void *arg)
{
    (void)req;
    struct conn *c = arg;
    if (c->busy > 0)
        c->busy--;
}

void conn_request_begin(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    /* the connection a request just came in on was the last one read: found at once */
    for (struct conn *c = newest; c != NULL && bev != NULL; c = c->prev) {
        if (c->filter == bev) {
            c->busy++;
            evhttp_request_set_on_complete_cb(req, on_answered, c);
            return;
        }
    }
}

int conn_close_oldest_idle(const struct bufferevent *keep)
{
    for (struct conn *c = oldest; c != NULL; c = c->next) {
        if (c->busy == 0 && !c->closing && c->filter != keep) {
            /* nothing of it is with evhttp (a partial request at most, from a client that
             * has sent nothing for longest): evhttp ends a connection on end-of-file. The
             * event is deferred: evhttp may be in the middle of accepting. */
            c->closing = 1;
            bufferevent_trigger_event(c->filter, BEV_EVENT_EOF, BEV_TRIG_DEFER_CALLBACKS);
            return 1;
        }
    }
    return 0;
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    bufferevent_flush(c->filter, EV_WRITE, BEV_NORMAL);
}

/* The socket is known only once evhttp has set it: create the writability event then. */
static void conn_ready(struct conn *c)
{
    if (c->writable != NULL)
        return;
    evutil_socket_t fd = bufferevent_getfd(c->under);
    if (fd >= 0)
        c->writable = event_new(bufferevent_get_base(c->under), fd, EV_WRITE, on_writable, c);
}

/* Reads the socket only while the framer wants input (a streamed body is paused or its
 * buffer full: the client waits in TCP's flow control, not in our memory). */
static void follow_framer(struct conn *c)
{
    if (httpframe_body_read(c->frame)) {
        /* as evhttp would while it serves the request: no read timeout cuts the answer
         * short while svc-ingest reads what it got */
        bufferevent_disable(c->filter, EV_READ);
        return;
    }
    int want = httpframe_wants_input(c->frame);
    if (want && c->read_paused) {
        c->read_paused = 0;
        bufferevent_enable(c->under, EV_READ);
    } else if (!want && !c->read_paused) {
        c->read_paused = 1;
        bufferevent_disable(c->under, EV_READ);
    }
}

/* The taker of a streamed body hears of new bytes, its end or its failure. */
static void stream_news(struct conn *c, size_t before)
{
    if (c->stream_notify == NULL || !httpframe_streaming(c->frame))
        return;
    size_t now = evbuffer_get_length(httpframe_stream_buffer(c->frame));
    if (now != before || httpframe_stream_state(c->frame, NULL, NULL) != HTTPFRAME_STREAM_MORE ||
        httpframe_body_read(c->frame))
        c->stream_notify(c->stream_owner, 0);
}

static enum bufferevent_filter_result in_filter(struct evbuffer *src, struct evbuffer *dst,
                                                ev_ssize_t lim, enum bufferevent_flush_mode mode,
                                                void *ctx)
{
    (void)lim;
    (void)mode;
    struct conn *c = ctx;
    conn_ready(c);
    touch(c);
    size_t before = evbuffer_get_length(httpframe_stream_buffer(c->frame));
    enum httpframe_status st =
        httpframe_process(c->frame, src, dst, bufferevent_get_output(c->under));
    if (st != HTTPFRAME_CLOSE) {
        follow_framer(c);
        stream_news(c, before);
    }
    switch (st) {
    case HTTPFRAME_OK:
        return BEV_OK;
    case HTTPFRAME_NEED_MORE:
        return BEV_NEED_MORE;
    default:
        /* out of memory: the 2.1 filter ignores BEV_ERROR, so end the connection through
         * evhttp's error path (deferred: we are inside the filter) */
        bufferevent_trigger_event(c->filter, BEV_EVENT_ERROR, BEV_TRIG_DEFER_CALLBACKS);
        return BEV_ERROR;
    }
}

static enum bufferevent_filter_result out_filter(struct evbuffer *src, struct evbuffer *dst,
                                                 ev_ssize_t lim, enum bufferevent_flush_mode mode,
                                                 void *ctx)
{
    (void)lim;
    (void)mode;
    struct conn *c = ctx;
    /* the framer's "100 Continue" (in the socket bufferevent) goes out first; its write
     * callback brings us back here */
    if (evbuffer_get_length(dst) > 0)
        return BEV_NEED_MORE;
    evutil_socket_t fd = bufferevent_getfd(c->under);
    size_t before = evbuffer_get_length(src);
    int n = fd < 0 ? -1 : evbuffer_write(src, fd);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        /* the peer is gone: drop the output; the read side or evhttp's timeout ends the
         * connection */
        evbuffer_drain(src, evbuffer_get_length(src));
        return BEV_OK;
    }
    if (evbuffer_get_length(src) > 0 && c->writable != NULL)
        event_add(c->writable, NULL);
    return evbuffer_get_length(src) < before ? BEV_OK : BEV_NEED_MORE;
}

static void conn_free(void *ctx)
{
    struct conn *c = ctx;
    if (c->stream_notify != NULL)
        c->stream_notify(c->stream_owner, 1);
    unlink_conn(c);
    int was_full = open_count >= room_max;
    open_count--;
    if (was_full && room_fn != NULL)
        room_fn(room_arg);
    if (c->writable)
        event_free(c->writable);
    httpframe_free(c->frame);
    free(c);
}

struct bufferevent *conn_bev_new(struct event_base *base, httpframe_limit_fn body_limit,
                                 httpframe_admit_fn admit, void (*release)(void *arg), void *arg,
                                 const char *secret)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    struct httpframe_config fc;
    memset(&fc, 0, sizeof fc);
    fc.body_limit = body_limit;
    fc.admit = admit;
    fc.release = release;
    fc.arg = arg;
    fc.secret = secret;
    c->frame = httpframe_new(&fc);
    c->under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->frame != NULL && c->under != NULL)
        c->filter = bufferevent_filter_new(c->under, in_filter, out_filter, BEV_OPT_CLOSE_ON_FREE,
                                           conn_free, c);
    if (c->filter == NULL) {
        if (c->under)
            bufferevent_free(c->under);
        httpframe_free(c->frame);
        free(c);
        return NULL;
    }
    link_newest(c);
    open_count++;
    return c->filter;
}

/* ---- streamed bodies ------------------------------------------------------------------ */

struct conn *conn_streamed(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    for (struct conn *c = newest; c != NULL && bev != NULL; c = c->prev)
        if (c->filter == bev)
            return httpframe_streaming(c->frame) ? c : NULL;
    return NULL;
}

struct httpframe *conn_frame(struct conn *c)
{
    return c->frame;
}

void conn_stream_attach(struct conn *c, void (*notify)(void *owner, int gone), void *owner)
{
    c->stream_notify = notify;
    c->stream_owner = owner;
}

void conn_stream_detach(struct conn *c)
{
    c->stream_notify = NULL;
    c->stream_owner = NULL;
}

void conn_stream_kick(struct conn *c)
{
    /* evhttp stops reading a connection while its request is served: the framer reads on
     * (it hands evhttp nothing more until the answer has closed the connection) */
    if (!httpframe_body_read(c->frame))
        bufferevent_enable(c->filter, EV_READ);
    size_t before = evbuffer_get_length(httpframe_stream_buffer(c->frame));
    if (httpframe_process(c->frame, bufferevent_get_input(c->under),
                          bufferevent_get_input(c->filter),
                          bufferevent_get_output(c->under)) == HTTPFRAME_CLOSE) {
        bufferevent_trigger_event(c->filter, BEV_EVENT_ERROR, BEV_TRIG_DEFER_CALLBACKS);
        return;
    }
    follow_framer(c);
    stream_news(c, before);
}

void conn_stream_resume(struct conn *c)
{
    if (httpframe_stream_resume(c->frame))
        bufferevent_write(c->under, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    conn_stream_kick(c);
}

void conn_stream_discard(struct conn *c)
{
    httpframe_stream_discard(c->frame);
    conn_stream_detach(c);
    conn_stream_kick(c);
}
