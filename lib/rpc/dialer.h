/* dialer.h -- nng dialers that are started again when they give up.
 *
 * Debian 12's nng (1.5.2) has a bug (nng issue #1518, fixed in 1.5.3): when the peer closes
 * a connection during the SP handshake -- a service killed at the wrong moment, a listener
 * being put back -- the dialer takes it for its own closing and never dials again, so a
 * gateway would stay cut off from a restarted service for good. A watched dial set counts
 * its connections (nng pipe notifications); dialset_check (from one thread of the caller's,
 * every second or so) closes and re-creates the dialers once the set has had no connection
 * for DIALSET_GRACE_MS. */
#ifndef AIOPS_DIALER_H
#define AIOPS_DIALER_H

#include <stdatomic.h>
#include <stdint.h>

#include <nng/nng.h>

#include "rpc/addr.h"

#define DIALSET_MAX 64
#define DIALSET_GRACE_MS 2000

struct dialset {
    nng_socket sock;
    char urls[ADDR_MAX]; /* one address or a comma-separated list */
    int copies;          /* connections per address */
    nng_dialer d[DIALSET_MAX];
    int nd;
    atomic_int pipes;    /* connections up now */
    uint64_t down_since_ns; /* 0 while connected (dialset_check's own) */
    int restarts;
};

/* Dials every address of `urls` `copies` times (non-blocking: nng retries in the background,
 * so the peers may come later). Takes sock's NNG_PIPE_EV_ADD_POST and NNG_PIPE_EV_REM_POST
 * notifications; ds must stay where it is while sock is open. nng's error code (e.g.
 * NNG_EADDRINVAL for a malformed address, NNG_EINVAL for more than DIALSET_MAX dialers). */
int dialset_start(struct dialset *ds, nng_socket sock, const char *urls, int copies);
/* 1 when at least one connection is up. Any thread. */
int dialset_up(const struct dialset *ds);
/* Starts the dialers again when the set has been down for DIALSET_GRACE_MS. Returns 1 when
 * it did. One thread only. */
int dialset_check(struct dialset *ds);

#endif
