/* listener.h -- an nng listener that is put back when it stops accepting.
 *
 * Debian 12's nng (1.5.2) has a bug (nng issue #1518, fixed in 1.5.3): a connection that is
 * closed during the SP handshake ends the listener's accept loop for good, so one port scan,
 * one load balancer's TCP probe -- or a second program trying to listen on an ipc:// path in
 * use, which connects to it to see whether it is stale -- leaves a service that no new
 * client can reach. A watched listener is probed (listener_check, from a thread of the
 * caller's, every few seconds): the probe connects as an SP peer, completes the handshake and
 * waits for the socket to take the connection in (a broken listener still shakes hands, in
 * the transport, but never hands the connection to the socket); when three probes in a
 * row fail, the listener is closed (with the connections it accepted: their peers redial) and
 * made again. */
#ifndef AIOPS_LISTENER_H
#define AIOPS_LISTENER_H

#include <stdatomic.h>
#include <stdint.h>

#include <nng/nng.h>

#include "rpc/addr.h"

/* SP protocol numbers of the probe's side and of what must answer. */
#define SP_PROTO_PUB 0x20
#define SP_PROTO_SUB 0x21
#define SP_PROTO_REQ 0x30
#define SP_PROTO_REP 0x31

struct listener {
    nng_socket sock;
    nng_listener l;
    char url[ADDR_MAX];
    uint16_t probe_as, expect; /* SP protocols: the probe's own, and the listener's */
    int failures;              /* probes in a row that failed */
    int restarts;
    atomic_uint added;         /* connections the socket took in (nng pipe notification) */
};

/* Listens on url with sock; the probe speaks protocol probe_as and expects expect (e.g.
 * SP_PROTO_REQ and SP_PROTO_REP for a REP socket). Takes sock's NNG_PIPE_EV_ADD_POST
 * notification (the caller must not set its own). w must stay where it is while sock is
 * open. nng's error code, 0 when listening. */
int listener_start(struct listener *w, nng_socket sock, const char *url, uint16_t probe_as,
                   uint16_t expect);
/* Probes the listener once (blocks up to 4 s: a handshake and a take-in, 2 s each) and makes
 * it again after a third failure in a row. Returns 1 when it was made again, 0 otherwise.
 * Call from one thread only. */
int listener_check(struct listener *w);

/* Connects to an nng listener at url (ipc:// or tcp://), sends the SP header as protocol
 * probe_as and waits up to timeout_ms for the listener's header naming protocol expect.
 * AIOPS_OK with *fd the connected socket (the caller closes it); AIOPS_ETIMEDOUT when
 * connected but not answered; AIOPS_EUNAVAIL when nothing listens there; AIOPS_EINVAL for
 * another transport or a malformed URL; AIOPS_EPARSE when the answer is not the expected SP
 * header. *fd is -1 on failure. */
int sp_handshake(const char *url, uint16_t probe_as, uint16_t expect, int timeout_ms, int *fd);

#endif
