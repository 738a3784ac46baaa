/* conn.h -- the bufferevent of one client connection, as evhttp gets it (evhttp_set_bevcb).
 *
 * It is a filter bufferevent over the socket's bufferevent:
 *  - input goes through the request framer (httpframe.h) before evhttp sees it, so that
 *    per-route body limits and malformed requests are answered as JSON by the gateway;
 *  - output is written to the socket directly. evhttp 2.1 frees a connection (after a
 *    "Connection: close" answer, an error) as soon as the filter's output buffer is empty;
 *    had the bytes merely moved on to the socket's bufferevent, they would be freed with it,
 *    unsent. Writing them to the kernel first makes "empty" mean "sent".
 * Two quirks of libevent 2.1's filter to keep in mind: output queued while writing was
 * disabled is not passed on when writing is enabled again (evhttp does exactly that when it
 * replies: call bufferevent_flush(bev, EV_WRITE, BEV_NORMAL) after evhttp_send_reply), and
 * adding output may run the bufferevent's write callback before the add returns. */
#ifndef AIOPS_CONN_H
#define AIOPS_CONN_H

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "httpframe.h"

/* A new client bufferevent for base (socket set later by evhttp), its framer using
 * body_limit(arg, ...), admit and release (may be NULL: httpframe_config) and secret. NULL
 * when out of memory. Freed with the connection. */
struct bufferevent *conn_bev_new(struct event_base *base, httpframe_limit_fn body_limit,
                                 httpframe_admit_fn admit, void (*release)(void *arg), void *arg,
                                 const char *secret);

/* The open connections, for the connection cap (server.c), all on the loop thread. Each is
 * busy from the moment evhttp hands one of its requests over (conn_request_begin) until
 * the answer is sent; a WebSocket, whose upgrade request is never answered through evhttp,
 * stays busy. The others are idle, ordered by when bytes last came in. */
struct evhttp_request;
size_t conn_open_count(void);
/* Marks req's connection busy until evhttp has sent req's answer. */
void conn_request_begin(struct evhttp_request *req);
/* Closes the connection that has been idle longest, other than keep (may be NULL): 1 when
 * there was one, 0 when every connection is busy. */
int conn_close_oldest_idle(const struct bufferevent *keep);
/* room(arg) runs whenever a connection closes while at least max are open before it. */
void conn_set_room_callback(size_t max, void (*room)(void *arg), void *arg);

/* Streamed bodies (httpframe.h): the connection whose streamed request req is, or NULL
 * (not streamed, or the connection has gone). */
struct conn;
struct conn *conn_streamed(struct evhttp_request *req);
struct httpframe *conn_frame(struct conn *c);
/* notify(owner, 0) runs when more of the body came, it ended or failed; notify(owner, 1)
 * when the connection ends (c is gone after it). It may run inside the connection's
 * callbacks: it must only take note (and, e.g., activate an event). */
void conn_stream_attach(struct conn *c, void (*notify)(void *owner, int gone), void *owner);
void conn_stream_detach(struct conn *c);
/* Starts reading the body (a 100 Continue the client waits for goes out first). */
void conn_stream_resume(struct conn *c);
/* After bytes were taken from the body's buffer: reads on if there is room. */
void conn_stream_kick(struct conn *c);
/* The request was answered without (the rest of) its body: it is read and dropped. */
void conn_stream_discard(struct conn *c);

#endif
