/* ratelimit.h -- per-caller rate limits: token buckets in Redis, shared by every gateway.
 *
 * A caller is its principal (an API key's or a token's subject; without auth, its address)
 * and a route's class (read, write, predict); failed authentication attempts have a bucket
 * of their own per client address, limited harder. Each bucket refills at `rate` tokens a
 * second up to `burst`; a request takes one or is answered 429 rate_limited with
 * Retry-After and RateLimit-Limit / -Remaining / -Reset.
 *
 * The bucket of record lives in Redis (a Lua script refills and charges it atomically on
 * Redis's clock). Asking Redis on every request would put a round trip on every request,
 * so each gateway keeps a local copy that it charges at once and reconciles with Redis
 * every RATELIMIT_SYNC_MS on a thread of its own: what it took since the last sync is
 * charged to the shared bucket, and the shared bucket's level caps the local one. With N
 * gateways a caller can overdraw by at most N * burst within one sync period, and the
 * overdraft is paid back before it gets more. When Redis is down the local buckets go on
 * alone. Loop thread only, except where said. */
#ifndef AIOPS_RATELIMIT_H
#define AIOPS_RATELIMIT_H

#include "gw.h"

#define RATELIMIT_SYNC_MS 200

/* (enum rate_class and struct rate_limit are in gw.h: the configuration holds them) */

/* RATE_LIMITS: "off", or comma-separated class=rate[:burst] overriding the defaults
 * (read=200:400, write=50:100, predict=10000:20000, auth_failures=2:20), e.g.
 * "read=5:10,auth_failures=off". AIOPS_EINVAL naming nothing (logged) when malformed. */
int ratelimit_parse(const char *spec, struct rate_limit out[RATE_CLASS_COUNT]);

/* Starts the sync thread and timer (after the event base exists). AIOPS_ENOMEM. */
int ratelimit_start(struct gw *gw);
void ratelimit_stop(struct gw *gw);

/* Takes a token for r's caller and route class. 0: go on. 1: limited -- the 429 is already
 * answered (r freed). Public routes are never limited. */
int ratelimit_request(struct gw_req *r);
/* Whether r's client address may still try to authenticate: 1 when its failures bucket is
 * empty (then the 429 is answered and r freed), else 0. */
int ratelimit_auth_blocked(struct gw_req *r);
/* Charges a failed authentication to r's client address. */
void ratelimit_auth_failed(struct gw_req *r);

#endif
