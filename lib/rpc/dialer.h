/* dialer.h -- nng dialers that are started again when they give up.
 *
 * Debian 12's nng (1.5.2) has a bug (nng issue #1518, fixed in 1.5.3): when the peer closes
 * a connection during the SP handshake -- a service killed at the wrong moment, a listener
 * being put back -- the dialer takes it for its own closing and never dials again, so a
 * gateway would stay cut off from a restarted service for good. A watched dial set counts
 * its connections (nng pipe notifications); dialset_check (from one thread of the caller's,
 * every second or so) re-creates a dialer once the set has had no connection for
 * DIALSET_GRACE_MS and that dialer has made no connection attempt in that time (nng's
 * statistics count attempts; a live dialer makes one at least every RECONNMAXT).
 *
 * Only a dialer that has given up is closed: closing one that is between attempts races
 * with its reconnect timer in 1.5.2 (nng issue #1658, a use after free that crashed the
 * gateway while a service was down). Without statistics every dialer is re-created, at
 * most every DIALSET_GRACE_MS doubling up to DIALSET_MAX_WAIT_MS. */
#ifndef AIOPS_DIALER_H
#define AIOPS_DIALER_H

#include <stdatomic.h>
#include <stdint.h>

#include <nng/nng.h>

#include "rpc/addr.h"

#define DIALSET_MAX 64
#define DIALSET_GRACE_MS 2000
#define DIALSET_MAX_WAIT_MS 30000

struct dialset_slot {
    nng_dialer d;
    size_t url_off, url_len; /* its address in urls */
    uint64_t attempts;       /* its connection attempts at attempts_ns */
};

struct dialset {
    nng_socket sock;
    char urls[ADDR_MAX]; /* one address or a comma-separated list */
    int copies;          /* connections per address */
    struct dialset_slot slot[DIALSET_MAX];
    int nd;
    atomic_int pipes;       /* connections up now */
    uint64_t down_since_ns; /* 0 while connected (dialset_check's own, as below) */
    uint64_t attempts_ns;   /* when slot[].attempts were read; 0: not yet */
    uint64_t wait_ms;       /* without statistics: the wait before the next re-creation */
    int restarts;
};

/* Dials every address of `urls` `copies` times (non-blocking: nng retries in the background,
 * so the peers may come later). Takes sock's NNG_PIPE_EV_ADD_POST and NNG_PIPE_EV_REM_POST
 * notifications; ds must stay where it is while sock is open. nng's error code (e.g.
 * NNG_EADDRINVAL for a malformed address, NNG_EINVAL for more than DIALSET_MAX dialers). */
int dialset_start(struct dialset *ds, nng_socket sock, const char *urls, int copies);
/* 1 when at least one connection is up. Any thread. */
int dialset_up(const struct dialset *ds);
/* Starts again the dialers that gave up, once the set has been down for DIALSET_GRACE_MS.
 * Returns the number it re-created. One thread only. */
int dialset_check(struct dialset *ds);

#endif
