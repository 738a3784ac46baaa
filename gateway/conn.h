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
 * body_limit(arg, ...) and secret. NULL when out of memory. Freed with the connection. */
struct bufferevent *conn_bev_new(struct event_base *base, httpframe_limit_fn body_limit, void *arg,
                                 const char *secret);

#endif
