/* wshub.h -- WebSocket clients of the gateway: the upgrade from evhttp, topics, and the
 * fan-out of service events.
 *
 * libevent 2.1's evhttp has no WebSocket support and no way to hand a connection back after
 * a 101 (libevent issue #932). The path chosen here: the request framer (httpframe.h) passes
 * every byte after an Upgrade request through untouched; after authenticating the request,
 * ws_accept() writes the 101 itself to the connection's bufferevent, replaces evhttp's
 * callbacks with its own, and keeps the evhttp_connection -- whose request is never answered
 * -- alive until the WebSocket closes; freeing it then closes the socket. Framing is done by
 * the transport-agnostic engine in wsframe.h (wslay underneath).
 *
 * A client subscribes to exactly the topic of its path (e.g. /ws/training/<run_id>); each
 * event a service publishes for that topic is sent to it as a text message holding the
 * event's JSON payload. A client that does not read fast enough overflows its bounded queue
 * and is closed with 1008 "slow consumer" -- it never holds up the others. */
#ifndef AIOPS_WSHUB_H
#define AIOPS_WSHUB_H

#include <stdint.h>

#include "aiops.pb-c.h"
#include "gw.h"

int ws_hub_init(struct gw *gw);
/* Closes every client at once (no handshake) and frees the hub. */
void ws_hub_free(struct gw *gw);
/* Completes the upgrade of an authenticated WebSocket request, or answers it with an error
 * (400/426/503). Frees r either way. */
void ws_accept(struct gw_req *r);
/* Sends the event's payload to every client subscribed to its topic (loop thread). */
void ws_hub_publish(struct gw *gw, const Aiops__Event *ev);
/* Starts the close handshake with every client (shutdown). */
void ws_hub_close_all(struct gw *gw, uint16_t code, const char *reason);
/* Open clients. */
size_t ws_hub_clients(const struct gw *gw);

#endif
