/* auth.h -- who is calling: API keys (X-API-Key, looked up by SHA-256 in PostgreSQL and
 * cached), JWT HS256 bearer tokens (JWT_SECRET), or nobody when DISABLE_AUTH=1 on a
 * loopback bind. Also runs the background thread that owns the gateway's PostgreSQL and
 * Redis connections: key lookups, and the readiness checks behind /readyz. */
#ifndef AIOPS_AUTH_H
#define AIOPS_AUTH_H

#include "gw.h"

enum auth_outcome {
    AUTH_OK,      /* r->principal is filled */
    AUTH_PENDING, /* a key lookup is queued; gw_after_auth(r) follows on the loop thread */
    AUTH_FAILED   /* *err says why: its catalogue row, and *message, when not NULL, a
                     more precise message (static) */
};

/* Seconds a looked-up key stays cached: a revoked key stops working within this time. */
#define AUTH_KEY_TTL_SECONDS 30
#define AUTH_MISS_TTL_SECONDS 5

int auth_start(struct gw *gw);
void auth_stop(struct gw *gw);

/* Establishes r's principal for r->route (loop thread). */
enum auth_outcome auth_request(struct gw_req *r, enum api_error *err, const char **message);
/* Records a finished lookup in the cache and checks it (loop thread). Returns AUTH_OK or
 * AUTH_FAILED like auth_request. */
enum auth_outcome auth_lookup_done(struct gw_req *r, enum api_error *err, const char **message);
/* Revocations: the background thread looks every AUTH_REVOKED_PERIOD_SECONDS for keys
 * revoked since its last look; auth_take_revoked hands them to the loop thread (up to cap
 * SHA-256 hashes into hashes[], the count returned) after dropping them from the key cache,
 * so a revoked key stops working for HTTP and WebSocket clients within that period. */
#define AUTH_REVOKED_PERIOD_SECONDS 5
size_t auth_take_revoked(struct gw *gw, uint8_t (*hashes)[32], size_t cap);
/* Whether the principal may use a route of this scope. */
int auth_allows(const struct principal *p, enum route_scope scope);
/* Scope names ("read write") into out. */
void auth_scope_names(uint32_t scopes, char *out, size_t cap);
/* Parses one scope name; -1 when unknown. */
int auth_scope_parse(const char *name);

#endif
