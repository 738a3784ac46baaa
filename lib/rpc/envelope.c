#include "rpc/envelope.h"

#include <string.h>
#include <strings.h>

#include "core/err.h"

#define PACK_FN(fname, type, prefix)                                                          \
    int fname(type *m, nng_msg **out)                                                         \
    {                                                                                         \
        m->version = PROTOCOL_VERSION;                                                        \
        size_t n = prefix##__get_packed_size(m);                                              \
        nng_msg *msg;                                                                         \
        if (nng_msg_alloc(&msg, n) != 0)                                                      \
            return AIOPS_ENOMEM;                                                              \
        prefix##__pack(m, nng_msg_body(msg));                                                 \
        *out = msg;                                                                           \
        return AIOPS_OK;                                                                      \
    }

#define UNPACK_FN(fname, type, prefix)                                                        \
    int fname(const void *p, size_t n, type **out)                                            \
    {                                                                                         \
        type *m = prefix##__unpack(NULL, n, p);                                               \
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
