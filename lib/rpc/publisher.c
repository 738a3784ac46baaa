#include "rpc/publisher.h"

#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/err.h"

/* Takes up to PUBLISHER_BATCH_MAX waiting events into out (the lock held); the number. */
static size_t take_queue(struct publisher *p, ProtobufCBinaryData *out)
{
    size_t n = p->n < PUBLISHER_BATCH_MAX ? p->n : PUBLISHER_BATCH_MAX;
    for (size_t i = 0; i < n; i++)
        out[i] = p->queue[i];
    for (size_t i = n; i < p->n; i++)
        p->queue[i - n] = p->queue[i];
    p->n -= n;
    return n;
}

/* When a send completes: the events that waited meanwhile go as one batch, or the
 * publisher is idle again. Runs on an nng thread. */
static void sent(void *arg)
{
    struct publisher *p = arg;
    nng_msg *unsent = nng_aio_result(p->aio) != 0 ? nng_aio_get_msg(p->aio) : NULL;
    if (unsent != NULL)
        nng_msg_free(unsent);
    nng_aio_set_msg(p->aio, NULL);
    ProtobufCBinaryData items[PUBLISHER_BATCH_MAX];
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t n = take_queue(p, items);
        if (n == 0)
            p->busy = 0;
        else
            p->batches++, p->batched += n;
        pthread_mutex_unlock(&p->lock);
        if (n == 0)
            return;
        nng_msg *msg = NULL;
        int rv = envelope_pack_event_batch(p->key, items, n, &msg);
        for (size_t i = 0; i < n; i++)
            free(items[i].data);
        if (rv == 0) {
            nng_aio_set_msg(p->aio, msg);
            nng_send_aio(p->sock, p->aio);
            return;
        }
        /* out of memory: these are dropped; try the next ones */
    }
}

int publisher_init(struct publisher *p, nng_socket sock, const struct envelope_key *key)
{
    memset(p, 0, sizeof *p);
    p->sock = sock;
    p->key = key;
    pthread_mutex_init(&p->lock, NULL);
    return nng_aio_alloc(&p->aio, sent, p) == 0 ? AIOPS_OK : AIOPS_ENOMEM;
}

int publisher_send(struct publisher *p, Aiops__Event *ev)
{
    pthread_mutex_lock(&p->lock);
    if (p->busy) {
        int rv = AIOPS_ERPC;
        if (p->n < PUBLISHER_QUEUE_MAX &&
            array_reserve(&p->queue, &p->cap, p->n + 1, sizeof *p->queue, 64) == 0)
            rv = envelope_event_to_bytes(ev, &p->queue[p->n]);
        if (rv == 0)
            p->n++;
        pthread_mutex_unlock(&p->lock);
        return rv;
    }
    p->busy = 1;
    pthread_mutex_unlock(&p->lock);
    nng_msg *msg = NULL;
    int rv = envelope_pack_event(p->key, ev, &msg);
    if (rv != 0) {
        /* nothing went: hand any waiting events over as if a send had completed */
        sent(p);
        return rv;
    }
    nng_aio_set_msg(p->aio, msg);
    nng_send_aio(p->sock, p->aio);
    return AIOPS_OK;
}

void publisher_fini(struct publisher *p)
{
    if (p->aio != NULL) {
        nng_aio_stop(p->aio);
        nng_aio_free(p->aio);
    }
    for (size_t i = 0; i < p->n; i++)
        free(p->queue[i].data);
    free(p->queue);
    pthread_mutex_destroy(&p->lock);
    memset(p, 0, sizeof *p);
}
