#include "rpc/envelope.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"

/* The first four bytes say the form: one message, or a batch of them. */
static const char seal_magic[4] = {'A', 'I', 'O', '1'};
static const char batch_magic[4] = {'A', 'I', 'B', '1'};

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
static void seal(const struct envelope_key *key, const char magic[4], uint8_t *body, size_t n)
{
    memcpy(body, magic, 4);
    bytes_store_le64(body + 4, (uint64_t)time_now_ms());
    hmac_sha256(key->secret, key->len, body, 12 + n, body + 12 + n);
}

static int open_sealed(const struct envelope_key *key, const char magic[4], const void *p, size_t n,
                       int64_t now_ms, const uint8_t **payload, size_t *len)
{
    const uint8_t *b = p;
    if (n < ENVELOPE_SEAL_BYTES || memcmp(b, magic, 4) != 0)
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

int envelope_open(const struct envelope_key *key, const void *p, size_t n, int64_t now_ms,
                  const uint8_t **payload, size_t *len)
{
    return open_sealed(key, seal_magic, p, n, now_ms, payload, len);
}

int envelope_is_batch(const void *p, size_t n)
{
    return n >= 4 && memcmp(p, batch_magic, 4) == 0;
}

int envelope_is_refusal(const void *p, size_t n)
{
    return n == 4 && memcmp(p, ENVELOPE_REFUSAL, 4) == 0;
}

#define PACK_FN(fname, type, prefix, magic)                                                   \
    int fname(const struct envelope_key *key, type *m, nng_msg **out)                         \
    {                                                                                         \
        m->version = PROTOCOL_VERSION;                                                        \
        size_t n = prefix##__get_packed_size(m);                                              \
        nng_msg *msg;                                                                         \
        if (nng_msg_alloc(&msg, n + ENVELOPE_SEAL_BYTES) != 0)                                \
            return AIOPS_ENOMEM;                                                              \
        uint8_t *body = nng_msg_body(msg);                                                    \
        prefix##__pack(m, body + 12);                                                         \
        seal(key, magic, body, n);                                                            \
        *out = msg;                                                                           \
        return AIOPS_OK;                                                                      \
    }

/* A message of the given type from len bytes: AIOPS_EPARSE or AIOPS_EUNSUPPORTED (another
 * version) as the header says. */
#define UNPACK_BYTES_FN(fname, type, prefix)                                                  \
    int fname(const uint8_t *payload, size_t len, type **out)                                 \
    {                                                                                         \
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

#define UNPACK_FN(fname, type, bytes_fn, magic)                                               \
    int fname(const struct envelope_key *key, const void *p, size_t n, type **out)            \
    {                                                                                         \
        const uint8_t *payload;                                                               \
        size_t len;                                                                           \
        int rv = open_sealed(key, magic, p, n, time_now_ms(), &payload, &len);                \
        return rv != 0 ? rv : bytes_fn(payload, len, out);                                    \
    }

/* m packed, version set, into a new malloc'd buffer (the caller frees out->data). */
#define PACK_BYTES_FN(fname, type, prefix)                                                    \
    int fname(type *m, ProtobufCBinaryData *out)                                              \
    {                                                                                         \
        m->version = PROTOCOL_VERSION;                                                        \
        out->len = prefix##__get_packed_size(m);                                              \
        out->data = malloc(out->len ? out->len : 1);                                          \
        if (out->data == NULL)                                                                \
            return AIOPS_ENOMEM;                                                              \
        prefix##__pack(m, out->data);                                                         \
        return AIOPS_OK;                                                                      \
    }

PACK_FN(envelope_pack_request, Aiops__Request, aiops__request, seal_magic)
PACK_FN(envelope_pack_response, Aiops__Response, aiops__response, seal_magic)
PACK_FN(envelope_pack_event, Aiops__Event, aiops__event, seal_magic)
static PACK_FN(pack_batch, Aiops__Batch, aiops__batch, batch_magic)
static PACK_FN(pack_batch_reply, Aiops__BatchReply, aiops__batch_reply, batch_magic)
static PACK_FN(pack_event_batch, Aiops__EventBatch, aiops__event_batch, batch_magic)
UNPACK_BYTES_FN(envelope_request_from_bytes, Aiops__Request, aiops__request)
UNPACK_BYTES_FN(envelope_response_from_bytes, Aiops__Response, aiops__response)
UNPACK_BYTES_FN(envelope_event_from_bytes, Aiops__Event, aiops__event)
static UNPACK_BYTES_FN(batch_from_bytes, Aiops__Batch, aiops__batch)
static UNPACK_BYTES_FN(batch_reply_from_bytes, Aiops__BatchReply, aiops__batch_reply)
static UNPACK_BYTES_FN(event_batch_from_bytes, Aiops__EventBatch, aiops__event_batch)
UNPACK_FN(envelope_unpack_request, Aiops__Request, envelope_request_from_bytes, seal_magic)
UNPACK_FN(envelope_unpack_response, Aiops__Response, envelope_response_from_bytes, seal_magic)
UNPACK_FN(envelope_unpack_event, Aiops__Event, envelope_event_from_bytes, seal_magic)
UNPACK_FN(envelope_unpack_batch, Aiops__Batch, batch_from_bytes, batch_magic)
UNPACK_FN(envelope_unpack_batch_reply, Aiops__BatchReply, batch_reply_from_bytes, batch_magic)
UNPACK_FN(envelope_unpack_event_batch, Aiops__EventBatch, event_batch_from_bytes, batch_magic)
PACK_BYTES_FN(envelope_request_to_bytes, Aiops__Request, aiops__request)
PACK_BYTES_FN(envelope_response_to_bytes, Aiops__Response, aiops__response)
PACK_BYTES_FN(envelope_event_to_bytes, Aiops__Event, aiops__event)

int envelope_seal_request(const struct envelope_key *key, const ProtobufCBinaryData *packed,
                          nng_msg **out)
{
    nng_msg *msg;
    if (nng_msg_alloc(&msg, packed->len + ENVELOPE_SEAL_BYTES) != 0)
        return AIOPS_ENOMEM;
    uint8_t *body = nng_msg_body(msg);
    if (packed->len > 0)
        memcpy(body + 12, packed->data, packed->len);
    seal(key, seal_magic, body, packed->len);
    *out = msg;
    return AIOPS_OK;
}

/* A batch of n packed elements (borrowed), sealed by pack_fn. */
#define PACK_LIST_FN(fname, type, init, field, pack_fn)                                       \
    int fname(const struct envelope_key *key, ProtobufCBinaryData *items, size_t n,           \
              nng_msg **out)                                                                  \
    {                                                                                         \
        type b = init;                                                                        \
        b.field = items;                                                                      \
        b.n_##field = n;                                                                      \
        return pack_fn(key, &b, out);                                                         \
    }

PACK_LIST_FN(envelope_pack_batch, Aiops__Batch, AIOPS__BATCH__INIT, requests, pack_batch)
PACK_LIST_FN(envelope_pack_batch_reply, Aiops__BatchReply, AIOPS__BATCH_REPLY__INIT, responses,
             pack_batch_reply)
PACK_LIST_FN(envelope_pack_event_batch, Aiops__EventBatch, AIOPS__EVENT_BATCH__INIT, events,
             pack_event_batch)

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
