/* publisher.h -- a service's events on its nng PUB socket, coalesced under load.
 *
 * An event published while no send is on its way goes at once, alone; the events published
 * while a send is on its way wait and leave together, as one EventBatch (lib/rpc/envelope.h),
 * when it completes: one message, one seal and one relay hop for many events. Publishing
 * never blocks; past PUBLISHER_QUEUE_MAX waiting events, new ones are dropped (events are
 * best effort, as PUB/SUB is). Thread-safe. */
#ifndef AIOPS_PUBLISHER_H
#define AIOPS_PUBLISHER_H

#include <nng/nng.h>
#include <pthread.h>
#include <stddef.h>

#include "aiops.pb-c.h"
#include "rpc/envelope.h"

#define PUBLISHER_QUEUE_MAX 4096
/* The most events in one EventBatch (more wait for the next). */
#define PUBLISHER_BATCH_MAX 256

struct publisher {
    nng_socket sock;                 /* borrowed: the caller's PUB socket */
    const struct envelope_key *key;  /* borrowed */
    nng_aio *aio;
    pthread_mutex_t lock;
    int busy;                        /* a send is on its way */
    ProtobufCBinaryData *queue;      /* packed events waiting, oldest first */
    size_t n, cap;
    unsigned long batches, batched;  /* EventBatch messages sent, events in them */
};

/* 0, or AIOPS_ENOMEM. */
int publisher_init(struct publisher *p, nng_socket sock, const struct envelope_key *key);
/* Sends ev (borrowed; its version is set) or queues it: 0, AIOPS_ENOMEM, or AIOPS_ERPC when
 * it was dropped (nng refused it, or the queue is full). */
int publisher_send(struct publisher *p, Aiops__Event *ev);
/* Waits for the send on its way (call after the socket is closed or when no one publishes
 * any more); drops what still waits; frees the rest. */
void publisher_fini(struct publisher *p);

#endif
