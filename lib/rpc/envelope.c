#include "rpc/envelope.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"

static const char seal_magic[4] = {'A', 'I', 'O', '1'};

int envelope_key_init(struct envelope_key *key, const char *secret)
{
    memset(key, 0, sizeof *key);
    size_t n = secret ? strlen(secret) : 0;
    if (n < ENVELOPE_MIN_SECRET || n > sizeof key->secret)
        return AIOPS_EINVAL;
    memcpy(key->secret, secret, n);
    key->len = n;
    key->window_ms = ENVELOPE_WINDOW_MS;
    return AIOPS_OK;
}

int envelope_key_from_env(struct envelope_key *key)
{
    const char *s = getenv("SERVICE_SECRET");
    int rv = envelope_key_init(key, s);
    if (rv != 0)
        log_error("config: SERVICE_SECRET must be set to %d to %zu bytes shared by the "
                  "gateway and the services (it is %s)",
                  ENVELOPE_MIN_SECRET, sizeof key->secret, s && s[0] ? "too short or long" : "unset");
    return rv;
}

/* Writes the seal around the n-byte message already packed at body + 12. */
static void seal(const struct envelope_key *key, uint8_t *body, size_t n)
{
    memcpy(body, seal_magic, 4);
    bytes_store_le64(body + 4, (uint64_t)time_now_ms());
    hmac_sha256(key->secret, key->len, body, 12 + n, body + 12 + n);
}

int envelope_open(const struct envelope_key *key, const void *p, size_t n, int64_t now_ms,
                  const uint8_t **payload, size_t *len)
{
    const uint8_t *b = p;
    if (n < ENVELOPE_SEAL_BYTES || memcmp(b, seal_magic, 4) != 0)
        return AIOPS_EAUTH;
    uint8_t mac[32];
    hmac_sha256(key->secret, key->len, b, n - 32, mac);
    if (ct_memcmp(mac, b + n - 32, 32) != 0)
        return AIOPS_EAUTH;
    int64_t sent = (int64_t)bytes_load_le64(b + 4);
    if (sent < now_ms - key->window_ms || sent > now_ms + key->window_ms)
        return AIOPS_EAUTH;
    *payload = b + 12;
    *len = n - ENVELOPE_SEAL_BYTES;
    return AIOPS_OK;
}

int envelope_is_refusal(const void *p, size_t n)
{
    return n == 4 && memcmp(p, ENVELOPE_REFUSAL, 4) == 0;
}

#define PACK_FN(fname, type, prefix)                                                          \
    int fname(const struct envelope_key *key, type *m, nng_msg **out)                         \
    {                                                                                         \
        m->version = PROTOCOL_VERSION;                                                        \
        size_t n = prefix##__get_packed_size(m);                                              \
        nng_msg *msg;                                                                         \
        if (nng_msg_alloc(&msg, n + ENVELOPE_SEAL_BYTES) != 0)                                \
            return AIOPS_ENOMEM;                                                              \
        uint8_t *body = nng_msg_body(msg);                                                    \
        prefix##__pack(m, body + 12);                                                         \
        seal(key, body, n);                                                                   \
        *out = msg;                                                                           \
        return AIOPS_OK;                                                                      \
    }

#define UNPACK_FN(fname, type, prefix)                                                        \
    int fname(const struct envelope_key *key, const void *p, size_t n, type **out)            \
    {                                                                                         \
        const uint8_t *payload;                                                               \
        size_t len;                                                                           \
        int rv = envelope_open(key, p, n, time_now_ms(), &payload, &len);                     \
        if (rv != 0)                                                                          \
            return rv;                                                                        \
        type *m = prefix##__unpack(NULL, len, payload);                                       \
        if (m == NULL)                                                                        \
            return AIOPS_EPARSE;                                                              \
        if (m->version != PROTOCOL_VERSION) {                                                 \
            prefix##__free_unpacked(m, NULL);                                                 \
            return AIOPS_EUNSUPPORTED;                                                        \
        }                                                                                     \
        *out = m;                                                                             \
        return AIOPS_OK;                                                                      \
    }

PACK_FN(envelope_pack_request, Aiops__Request, aiops__request)
PACK_FN(envelope_pack_response, Aiops__Response, aiops__response)
PACK_FN(envelope_pack_event, Aiops__Event, aiops__event)
UNPACK_FN(envelope_unpack_request, Aiops__Request, aiops__request)
UNPACK_FN(envelope_unpack_response, Aiops__Response, aiops__response)
UNPACK_FN(envelope_unpack_event, Aiops__Event, aiops__event)

const char *envelope_header(const Aiops__Request *m, const char *name)
{
    for (size_t i = 0; i < m->n_headers; i++)
        if (strcasecmp(m->headers[i]->name, name) == 0)
            return m->headers[i]->value;
    return NULL;
}

int envelope_has_scope(const Aiops__Principal *p, const char *scope)
{
    if (p == NULL)
        return 0;
    for (size_t i = 0; i < p->n_scopes; i++)
        if (strcmp(p->scopes[i], scope) == 0 || strcmp(p->scopes[i], "admin") == 0)
            return 1;
    return 0;
}
