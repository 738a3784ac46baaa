/* server.h -- the gateway's HTTP listener (server.c). */
#ifndef AIOPS_SERVER_H
#define AIOPS_SERVER_H

#include "gw.h"

/* Creates the evhttp server with the request framer on every connection and binds
 * cfg.bind:cfg.port. */
int server_start(struct gw *gw);
/* Stops accepting new connections (requests in progress continue). */
void server_stop_accepting(struct gw *gw);
/* Frees the server; every request must have been answered. */
void server_stop(struct gw *gw);

#endif
