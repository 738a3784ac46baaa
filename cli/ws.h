/* ws.h -- the command line's WebSocket client (RFC 6455, client side only): one blocking
 * connection to the gateway named by cli_globals.url, used by `watch` and `train --wait`
 * to follow /ws/training/{run_id}. */
#ifndef AIOPS_CLI_WS_H
#define AIOPS_CLI_WS_H

#include "core/buf.h"

struct cli_ws {
    int fd;
    struct buf in; /* bytes read but not yet parsed into a frame */
};

/* Connects and upgrades path (with the credentials of cli_globals as headers). 0, or
 * AIOPS_EUNAVAIL (no connection), AIOPS_EAUTH (401/403), AIOPS_ENOTFOUND (404), AIOPS_EIO
 * (any other refusal or a bad handshake). */
int cli_ws_open(const char *path, struct cli_ws *ws);

/* The next text or binary message into msg (replaced, NUL-terminated); pings are answered
 * on the way. 0, AIOPS_ETIMEDOUT when nothing came within timeout_ms, AIOPS_EIO when the
 * connection ended (a close frame included). */
int cli_ws_recv(struct cli_ws *ws, int timeout_ms, struct buf *msg);

void cli_ws_close(struct cli_ws *ws);

#endif
