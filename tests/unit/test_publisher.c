/* Unit tests for lib/rpc/publisher.c: events published from several threads at once all
 * arrive, each thread's in its order, some of them coalesced into EventBatch messages;
 * a subscriber reads both forms. */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/supplemental/util/platform.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "rpc/envelope.h"
#include "rpc/publisher.h"
#include "unit.h"

#define THREADS 4
#define EVENTS 900 /* each: all of them fit in the queue, so none may be dropped */

static struct envelope_key key;
static struct publisher pub;

static void *publish_many(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < EVENTS; i++) {
        char topic[32], payload[32];
        snprintf(topic, sizeof topic, "/t/%d", t);
        snprintf(payload, sizeof payload, "%d", i);
        Aiops__Event ev = AIOPS__EVENT__INIT;
        ev.topic = topic;
        ev.type = "tick";
        ev.payload.data = (uint8_t *)payload;
        ev.payload.len = strlen(payload);
        ev.source = "test";
        ev.project = "";
        CHECK_INT(publisher_send(&pub, &ev), 0);
    }
    return NULL;
}

/* Checks one received event: its thread's next number. */
static void take_event(const Aiops__Event *ev, int *next, int *got)
{
    char text[32] = "";
    memcpy(text, ev->payload.data, ev->payload.len < sizeof text - 1 ? ev->payload.len : 0);
    int t = atoi(ev->topic + 3), i = atoi(text);
    CHECK(t >= 0 && t < THREADS);
    if (t < 0 || t >= THREADS)
        return;
    CHECK_INT(i, next[t]);
    next[t] = i + 1;
    (*got)++;
}

static void test_concurrent_events_arrive_in_order_some_batched(void)
{
    CHECK_INT(envelope_key_init(&key, "0123456789abcdef0123456789abcdef-publisher"), 0);
    nng_socket ps, ss;
    CHECK_INT(nng_pub0_open(&ps), 0);
    CHECK_INT(nng_sub0_open(&ss), 0);
    /* room for every message: PUB/SUB drop what does not fit, and this test counts them all */
    CHECK_INT(nng_socket_set_int(ps, NNG_OPT_SENDBUF, 8192), 0);
    CHECK_INT(nng_socket_set_int(ss, NNG_OPT_RECVBUF, 8192), 0);
    CHECK_INT(nng_socket_set(ss, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
    CHECK_INT(nng_listen(ss, "inproc://publisher-test", NULL, 0), 0);
    CHECK_INT(nng_dial(ps, "inproc://publisher-test", NULL, 0), 0);
    nng_msleep(50);
    CHECK_INT(publisher_init(&pub, ps, &key), 0);
    nng_socket_set_ms(ss, NNG_OPT_RECVTIMEO, 2000);

    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, publish_many, (void *)(intptr_t)t);
    int next[THREADS] = {0}, got = 0, batches = 0;
    while (got < THREADS * EVENTS) {
        nng_msg *msg;
        if (nng_recvmsg(ss, &msg, 0) != 0)
            break; /* timed out: something was lost */
        const void *b = nng_msg_body(msg);
        size_t n = nng_msg_len(msg);
        if (envelope_is_batch(b, n)) {
            Aiops__EventBatch *eb = NULL;
            CHECK_INT(envelope_unpack_event_batch(&key, b, n, &eb), 0);
            batches++;
            for (size_t i = 0; eb != NULL && i < eb->n_events; i++) {
                Aiops__Event *ev = NULL;
                CHECK_INT(envelope_event_from_bytes(eb->events[i].data, eb->events[i].len, &ev), 0);
                if (ev != NULL) {
                    take_event(ev, next, &got);
                    aiops__event__free_unpacked(ev, NULL);
                }
            }
            if (eb != NULL)
                aiops__event_batch__free_unpacked(eb, NULL);
        } else {
            Aiops__Event *ev = NULL;
            CHECK_INT(envelope_unpack_event(&key, b, n, &ev), 0);
            if (ev != NULL) {
                take_event(ev, next, &got);
                aiops__event__free_unpacked(ev, NULL);
            }
        }
        nng_msg_free(msg);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    CHECK_INT(got, THREADS * EVENTS);
    CHECK(batches >= 1);
    CHECK_INT((long)pub.batches, batches);
    fprintf(stderr, "# %d events, %d batches carrying %lu of them\n", got, batches, pub.batched);
    nng_close(ps);
    publisher_fini(&pub);
    nng_close(ss);
}

UNIT_MAIN(UNIT(test_concurrent_events_arrive_in_order_some_batched))
