/* aiops-relay -- the event relay. Services publish their events to it (their PUB sockets dial
 * EVENTS_IN_URL) and every gateway subscribes to it (SUB sockets dialling EVENTS_OUT_URL), so
 * replicas of any service and of the gateway come and go with one address each, and a
 * gateway hears the events of every run whichever replica trains it.
 *
 * It forwards messages unchanged (nng's device over raw SUB -> raw PUB sockets) and believes
 * none of them: the gateways check every event's seal (lib/rpc/envelope.h). Events are best
 * effort, as PUB/SUB is: while the relay restarts, events are dropped, never queued.
 *
 *   aiops-relay                 runs until SIGTERM/SIGINT
 *   aiops-relay --healthcheck   exits 0 when a relay answers on EVENTS_OUT_URL within 2 s */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>

#include "core/log.h"
#include "rpc/addr.h"
#include "rpc/listener.h"

/* A relayed event is a sealed Aiops__Event: a few KiB; more is not an event of ours. */
#define RELAY_MAX_MESSAGE (4u << 20)

struct relay {
    nng_socket in, out;
    int rv; /* nng_device's result */
};

static void *device_main(void *arg)
{
    struct relay *r = arg;
    r->rv = nng_device(r->in, r->out);
    return NULL;
}

static int healthcheck(const char *out_url)
{
    char url[ADDR_MAX];
    addr_dialable(out_url, url, sizeof url);
    nng_socket sock;
    if (nng_sub0_open(&sock) != 0)
        return 1;
    nng_socket_set_ms(sock, NNG_OPT_RECONNMINT, 2000);
    int rv = nng_dial(sock, url, NULL, 0); /* synchronous: connected, or refused */
    nng_close(sock);
    if (rv != 0)
        fprintf(stderr, "healthcheck: no relay at %s: %s\n", url, nng_strerror(rv));
    return rv == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    log_init("relay");
    char in_url[ADDR_MAX], out_url[ADDR_MAX];
    addr_from_env("EVENTS_IN_URL", "events.in", in_url, sizeof in_url);
    addr_from_env("EVENTS_OUT_URL", "events.out", out_url, sizeof out_url);
    if (argc > 1 && strcmp(argv[1], "--healthcheck") == 0)
        return healthcheck(out_url);
    if (argc > 1) {
        fprintf(stderr, "usage: %s [--healthcheck]\n(EVENTS_IN_URL and EVENTS_OUT_URL are read "
                        "from the environment; see README)\n",
                argv[0]);
        return 2;
    }
    /* signals are taken by sigwait() here: block them before nng starts its threads */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct relay r = {0};
    int rv;
    if ((rv = nng_sub0_open_raw(&r.in)) != 0 || (rv = nng_pub0_open_raw(&r.out)) != 0) {
        log_error("relay: cannot open sockets: %s", nng_strerror(rv));
        return 1;
    }
    nng_socket_set_size(r.in, NNG_OPT_RECVMAXSZ, RELAY_MAX_MESSAGE);
    struct listener lin, lout;
    if ((rv = listener_start(&lin, r.in, in_url, SP_PROTO_PUB, SP_PROTO_SUB)) != 0) {
        log_error("relay: cannot listen on %s: %s", in_url, nng_strerror(rv));
        return 1;
    }
    if ((rv = listener_start(&lout, r.out, out_url, SP_PROTO_SUB, SP_PROTO_PUB)) != 0) {
        log_error("relay: cannot listen on %s: %s", out_url, nng_strerror(rv));
        return 1;
    }
    pthread_t dev;
    if (pthread_create(&dev, NULL, device_main, &r) != 0) {
        log_error("relay: cannot start");
        return 1;
    }
    log_info("relay: events in on %s, out on %s", in_url, out_url);
    /* between signals, make sure both listeners still accept (lib/rpc/listener.h) */
    int sig;
    struct timespec period = {2, 0};
    while ((sig = sigtimedwait(&sigs, NULL, &period)) < 0) {
        listener_check(&lin);
        listener_check(&lout);
    }
    log_info("signal %d: stopping", sig);
    nng_close(r.in); /* the device returns once its sockets are closed */
    nng_close(r.out);
    pthread_join(dev, NULL);
    nng_fini();
    log_info("stopped");
    return 0;
}
