/* envelope.h -- packing the wire messages of proto/aiops.proto into nng messages.
 *
 * Every message carries PROTOCOL_VERSION; an unpacked message of another version is
 * refused (AIOPS_EUNSUPPORTED) rather than misread. Unpacked messages are owned by the
 * caller and freed with the matching aiops__*__free_unpacked(msg, NULL). */
#ifndef AIOPS_ENVELOPE_H
#define AIOPS_ENVELOPE_H

#include <nng/nng.h>
#include <stddef.h>

#include "aiops.pb-c.h"

#define PROTOCOL_VERSION 1u

/* Packs m into a new nng message (*out, owned by the caller until sent). */
int envelope_pack_request(Aiops__Request *m, nng_msg **out);
int envelope_pack_response(Aiops__Response *m, nng_msg **out);
int envelope_pack_event(Aiops__Event *m, nng_msg **out);

/* Unpacks n bytes. AIOPS_EPARSE when malformed, AIOPS_EUNSUPPORTED for another version. */
int envelope_unpack_request(const void *p, size_t n, Aiops__Request **out);
int envelope_unpack_response(const void *p, size_t n, Aiops__Response **out);
int envelope_unpack_event(const void *p, size_t n, Aiops__Event **out);

/* The value of the first header named name (case-insensitive) in a request, or NULL. */
const char *envelope_header(const Aiops__Request *m, const char *name);
/* 1 when the principal holds scope (or "admin"). */
int envelope_has_scope(const Aiops__Principal *p, const char *scope);

#endif
