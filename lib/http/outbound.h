/* outbound.h -- the one HTTP client for URLs the suite is given (an LLM endpoint, webhooks,
 * callbacks): every request the suite makes to a URL from configuration or from a request
 * leaves through here, so that none can be turned against the suite's own network.
 *
 * The checks, in order:
 *   - the URL is http:// or https:// with a host (no userinfo tricks: libcurl parses it);
 *   - no redirect is followed, no proxy from the environment is used;
 *   - every address the request connects to -- checked when the socket is opened, after
 *     name resolution, so that a name resolving to an internal address (DNS rebinding) is
 *     caught -- is a public unicast address: loopback, private (RFC 1918, fc00::/7),
 *     link-local, carrier-grade NAT, unspecified, multicast, reserved and documentation
 *     ranges, and IPv4 inside IPv6 (::ffff:0:0/96, 64:ff9b::/96) of those, are refused
 *     unless a network of the policy's allow-list holds the address;
 *   - a connect timeout and a total timeout; the answer is cut off at max_response bytes.
 * A refused target never sees a packet: the check runs before connect().
 *
 * Thread-safe: each call uses its own libcurl handle (libcurl is initialised once). */
#ifndef AIOPS_OUTBOUND_H
#define AIOPS_OUTBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define OUTBOUND_MAX_ALLOW 16

/* An allowed network: family 4 or 6, the address bytes (network order) and prefix bits. */
struct outbound_net {
    int family;
    uint8_t addr[16];
    unsigned prefix;
};

struct outbound_policy {
    long connect_timeout_ms; /* <= 0: 3000 */
    long timeout_ms;         /* the whole exchange; <= 0: 10000 */
    size_t max_response;     /* bytes of answer kept; 0: 1 MiB; more is AIOPS_ETOOBIG */
    struct outbound_net allow[OUTBOUND_MAX_ALLOW]; /* internal networks allowed anyway */
    size_t nallow;
};

/* The default policy (no internal network allowed) with the allow-list parsed from
 * `allow_list`: comma-separated CIDRs or single addresses ("127.0.0.0/8,::1"); NULL or ""
 * for none. AIOPS_EINVAL (err names the entry) for an entry that is not one, or more than
 * OUTBOUND_MAX_ALLOW of them. Services read it from OUTBOUND_ALLOW_NETS. */
int outbound_policy_init(struct outbound_policy *p, const char *allow_list,
                         struct aiops_error *err);

/* 1 when an address (family AF_INET with 4 bytes or AF_INET6 with 16, network order) may
 * be connected to under p: a public unicast address, or one inside p's allow-list. */
int outbound_address_allowed(const struct outbound_policy *p, int family, const uint8_t *addr);

/* The answer to a request that was sent and answered (any status). */
struct outbound_response {
    long status;      /* HTTP status */
    struct buf body;  /* owned: outbound_response_free */
};

void outbound_response_free(struct outbound_response *r);

/* POSTs body (len bytes, Content-Type content_type) to url with the extra header lines
 * (NULL-terminated "Name: value" strings; may be NULL) and fills *resp (the caller frees it
 * with outbound_response_free, also on failure). Returns
 *   AIOPS_OK         an answer came (resp->status says which; a 500 is still AIOPS_OK),
 *   AIOPS_EINVAL     the URL is not http(s) with a host,
 *   AIOPS_EAUTH      the target address is refused by the policy (nothing was sent),
 *   AIOPS_ETIMEDOUT  no full answer within the timeouts,
 *   AIOPS_ETOOBIG    the answer is over max_response,
 *   AIOPS_EUNAVAIL   the host cannot be resolved or reached, TLS failed,
 *   AIOPS_ENOMEM.
 * err (may be NULL) says why in words for every failure. */
int outbound_post(const struct outbound_policy *p, const char *url, const char *const *headers,
                  const char *content_type, const void *body, size_t len,
                  struct outbound_response *resp, struct aiops_error *err);

#endif
