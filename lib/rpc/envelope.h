/* envelope.h -- packing the wire messages of proto/aiops.proto into sealed nng messages.
 *
 * Services accept requests only from a gateway, and a gateway believes answers and events
 * only from a service: every message is sealed with the secret they share (SERVICE_SECRET):
 *
 *    0  4 bytes   "AIO1"
 *    4  8         sent at, Unix milliseconds (little-endian)
 *   12  n         the protobuf message
 *   12+n  32      HMAC-SHA256 under the secret of bytes 0 .. 12+n
 *
 * A batch (proto/aiops.proto's Batch and BatchReply: many calls to one service and their
 * answers; EventBatch: events published together) is sealed the same way under the magic "AIB1" instead: a service tells the two
 * forms apart by their first four bytes (envelope_is_batch), and one that predates batches
 * refuses a batch as it refuses any unsealed message. Each element of a batch is a packed
 * Request or Response, checked like a sealed one (version) when it is unpacked.
 *
 * A message whose seal does not verify, or that was sent more than the key's window away
 * from now (a replayed capture, or clocks far apart), is refused with AIOPS_EAUTH before
 * anything in it is parsed. A service answers a refused request with ENVELOPE_REFUSAL
 * (4 bytes, no seal, nothing else) so that a misconfigured gateway can say so.
 *
 * Every message carries PROTOCOL_VERSION; an unpacked message of another version is
 * refused (AIOPS_EUNSUPPORTED) rather than misread. Unpacked messages are owned by the
 * caller and freed with the matching aiops__*__free_unpacked(msg, NULL). */
#ifndef AIOPS_ENVELOPE_H
#define AIOPS_ENVELOPE_H

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>

#include "aiops.pb-c.h"

#define PROTOCOL_VERSION 1u

#define ENVELOPE_SEAL_BYTES 44
#define ENVELOPE_REFUSAL "AIOX"
/* How far a message's time may be from the receiver's clock. */
#define ENVELOPE_WINDOW_MS 60000
/* SERVICE_SECRET must have at least this many bytes. */
#define ENVELOPE_MIN_SECRET 32

/* The shared secret; filled by envelope_key_init, then read-only (shared by threads). */
struct envelope_key {
    uint8_t secret[256];
    size_t len;
    int64_t window_ms;
};

/* A key from secret (NUL-terminated, ENVELOPE_MIN_SECRET to 256 bytes) with the default
 * window. AIOPS_EINVAL for a missing, short or long secret. */
int envelope_key_init(struct envelope_key *key, const char *secret);
/* The same from the environment's SERVICE_SECRET, logging what is wrong. */
int envelope_key_from_env(struct envelope_key *key);

/* Packs and seals m into a new nng message (*out, owned by the caller until sent). */
int envelope_pack_request(const struct envelope_key *key, Aiops__Request *m, nng_msg **out);
int envelope_pack_response(const struct envelope_key *key, Aiops__Response *m, nng_msg **out);
int envelope_pack_event(const struct envelope_key *key, Aiops__Event *m, nng_msg **out);
/* Seals a request already packed by envelope_request_to_bytes (borrowed) into a new nng
 * message (*out, the caller's until sent), as envelope_pack_request would: AIOPS_ENOMEM. */
int envelope_seal_request(const struct envelope_key *key, const ProtobufCBinaryData *packed,
                          nng_msg **out);

/* Checks the seal of n bytes against key at time now_ms and points *payload / *len at the
 * protobuf message inside them. AIOPS_EAUTH when the seal or the time is wrong (or the
 * bytes are too short to be sealed). */
int envelope_open(const struct envelope_key *key, const void *p, size_t n, int64_t now_ms,
                  const uint8_t **payload, size_t *len);
/* Checks the seal (now) and unpacks. AIOPS_EAUTH as envelope_open, AIOPS_EPARSE when the
 * message inside is malformed, AIOPS_EUNSUPPORTED for another version. */
int envelope_unpack_request(const struct envelope_key *key, const void *p, size_t n,
                            Aiops__Request **out);
int envelope_unpack_response(const struct envelope_key *key, const void *p, size_t n,
                             Aiops__Response **out);
int envelope_unpack_event(const struct envelope_key *key, const void *p, size_t n,
                          Aiops__Event **out);
/* Batches. The elements are borrowed; the packed message is the caller's until sent. */
int envelope_pack_batch(const struct envelope_key *key, ProtobufCBinaryData *requests, size_t n,
                        nng_msg **out);
int envelope_pack_batch_reply(const struct envelope_key *key, ProtobufCBinaryData *responses,
                              size_t n, nng_msg **out);
int envelope_pack_event_batch(const struct envelope_key *key, ProtobufCBinaryData *events,
                              size_t n, nng_msg **out);
/* Checks the seal (now, batch magic) and unpacks: as envelope_unpack_request. */
int envelope_unpack_batch(const struct envelope_key *key, const void *p, size_t n,
                          Aiops__Batch **out);
int envelope_unpack_batch_reply(const struct envelope_key *key, const void *p, size_t n,
                                Aiops__BatchReply **out);
int envelope_unpack_event_batch(const struct envelope_key *key, const void *p, size_t n,
                                Aiops__EventBatch **out);
/* 1 when the n bytes carry the batch magic (nothing else is checked). */
int envelope_is_batch(const void *p, size_t n);
/* m packed (its version set) into a new malloc'd out->data of out->len bytes: a batch's
 * element. AIOPS_ENOMEM. */
int envelope_request_to_bytes(Aiops__Request *m, ProtobufCBinaryData *out);
int envelope_response_to_bytes(Aiops__Response *m, ProtobufCBinaryData *out);
int envelope_event_to_bytes(Aiops__Event *m, ProtobufCBinaryData *out);
/* A batch's element unpacked: AIOPS_EPARSE when malformed, AIOPS_EUNSUPPORTED for another
 * version; the caller frees *out with aiops__*__free_unpacked. */
int envelope_request_from_bytes(const uint8_t *p, size_t len, Aiops__Request **out);
int envelope_response_from_bytes(const uint8_t *p, size_t len, Aiops__Response **out);
int envelope_event_from_bytes(const uint8_t *p, size_t len, Aiops__Event **out);

/* 1 when the n bytes are a service's ENVELOPE_REFUSAL. */
int envelope_is_refusal(const void *p, size_t n);

/* The value of the first header named name (case-insensitive) in a request, or NULL. */
const char *envelope_header(const Aiops__Request *m, const char *name);
/* 1 when the principal holds scope (or "admin"). */
int envelope_has_scope(const Aiops__Principal *p, const char *scope);

#endif
