/* libFuzzer target for lib/rpc/envelope.c's batches: the input as a sealed message (refused
 * unless sealed by us: nothing in it may be parsed), and the input cut into a batch's elements,
 * sealed, opened again (it must come back the same) and each element read as the Request a
 * service reads and the Response the gateway reads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "rpc/envelope.h"

#define MAX_ITEMS 64

static const struct envelope_key *key(void)
{
    static struct envelope_key k;
    if (k.len == 0 && envelope_key_init(&k, "fuzz-secret-fuzz-secret-fuzz-secret!") != 0)
        abort();
    return &k;
}

/* Cuts data into elements: each starts with one length byte (its size, capped by what is left). */
static size_t cut(const uint8_t *data, size_t size, ProtobufCBinaryData *items)
{
    size_t n = 0, i = 0;
    while (i < size && n < MAX_ITEMS) {
        size_t len = data[i++];
        if (len > size - i)
            len = size - i;
        items[n].data = (uint8_t *)data + i;
        items[n].len = len;
        n++;
        i += len;
    }
    return n;
}

static void read_elements(const ProtobufCBinaryData *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        Aiops__Request *req = NULL;
        int rv = envelope_request_from_bytes(items[i].data, items[i].len, &req);
        if (rv == 0)
            aiops__request__free_unpacked(req, NULL);
        else if (rv != AIOPS_EPARSE && rv != AIOPS_EUNSUPPORTED)
            abort();
        Aiops__Response *resp = NULL;
        rv = envelope_response_from_bytes(items[i].data, items[i].len, &resp);
        if (rv == 0)
            aiops__response__free_unpacked(resp, NULL);
        else if (rv != AIOPS_EPARSE && rv != AIOPS_EUNSUPPORTED)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    /* 1. a stranger's bytes: refused before anything is parsed */
    Aiops__Batch *b = NULL;
    if (envelope_unpack_batch(key(), data, size, &b) != AIOPS_EAUTH)
        abort();
    Aiops__BatchReply *br = NULL;
    if (envelope_unpack_batch_reply(key(), data, size, &br) != AIOPS_EAUTH)
        abort();
    (void)envelope_is_batch(data, size);

    /* 2. our own batch of the input's pieces: opens to the same pieces */
    ProtobufCBinaryData items[MAX_ITEMS];
    size_t n = cut(data, size, items);
    nng_msg *msg = NULL;
    if (envelope_pack_batch(key(), items, n, &msg) != 0)
        return 0;
    if (!envelope_is_batch(nng_msg_body(msg), nng_msg_len(msg)) ||
        envelope_unpack_batch(key(), nng_msg_body(msg), nng_msg_len(msg), &b) != 0 ||
        b->n_requests != n)
        abort();
    for (size_t i = 0; i < n; i++)
        if (b->requests[i].len != items[i].len ||
            (items[i].len && memcmp(b->requests[i].data, items[i].data, items[i].len) != 0))
            abort();
    /* a batch is never taken for a single message, nor the reverse */
    Aiops__Request *single = NULL;
    if (envelope_unpack_request(key(), nng_msg_body(msg), nng_msg_len(msg), &single) != AIOPS_EAUTH)
        abort();
    read_elements(b->requests, b->n_requests);
    aiops__batch__free_unpacked(b, NULL);
    nng_msg_free(msg);
    return 0;
}
