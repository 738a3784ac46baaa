/* nng_roundtrip -- what nng REQ/REP alone costs on this machine: the floor under the
 * gateway's forwarded routes (bench/gateway_bench.sh). A server process answers every
 * request with its own bytes from W worker threads, each with a context (as lib/rpc/svc.c does);
 * a client keeps C requests in flight on C contexts (as gateway/forward.c does) for S
 * seconds. Prints round trips per second and the CPU time per round trip of both sides.
 *
 *   nng_roundtrip [URL] [WORKERS] [IN_FLIGHT] [SECONDS] [BYTES]
 *
 * Not part of the product; built by bench/gateway_bench.sh. */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static nng_socket sock;
static atomic_long done;
static size_t msg_bytes = 200;

static void *server_worker(void *arg)
{
    (void)arg;
    nng_ctx ctx;
    nng_aio *aio;
    if (nng_ctx_open(&ctx, sock) != 0 || nng_aio_alloc(&aio, NULL, NULL) != 0)
        return NULL;
    for (;;) {
        nng_ctx_recv(ctx, aio);
        nng_aio_wait(aio);
        if (nng_aio_result(aio) != 0)
            break;
        nng_aio_set_msg(aio, nng_aio_get_msg(aio));
        nng_ctx_send(ctx, aio);
        nng_aio_wait(aio);
        if (nng_aio_result(aio) != 0)
            nng_msg_free(nng_aio_get_msg(aio));
    }
    nng_aio_free(aio);
    return NULL;
}

struct call {
    nng_ctx ctx;
    nng_aio *aio;
    int receiving;
};

static void call_cb(void *arg)
{
    struct call *c = arg;
    if (nng_aio_result(c->aio) != 0)
        return;
    if (!c->receiving) {
        c->receiving = 1;
        nng_ctx_recv(c->ctx, c->aio);
        return;
    }
    done++;
    c->receiving = 0;
    nng_aio_set_msg(c->aio, nng_aio_get_msg(c->aio));
    nng_ctx_send(c->ctx, c->aio);
}

static double cpu_seconds(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "tcp://127.0.0.1:57990";
    int workers = argc > 2 ? atoi(argv[2]) : 4;
    int inflight = argc > 3 ? atoi(argv[3]) : 32;
    int secs = argc > 4 ? atoi(argv[4]) : 5;
    if (argc > 5)
        msg_bytes = (size_t)atol(argv[5]);
    if (workers < 1 || workers > 64 || inflight < 1 || inflight > 1024 || secs < 1)
        return 2;
    int ready[2];
    if (pipe(ready) != 0)
        return 1;
    pid_t server = fork();
    if (server == 0) {
        if (nng_rep0_open(&sock) != 0 || nng_listen(sock, url, NULL, 0) != 0)
            _exit(1);
        pthread_t t[64];
        for (int i = 0; i < workers; i++)
            pthread_create(&t[i], NULL, server_worker, NULL);
        ssize_t w = write(ready[1], "r", 1);
        (void)w;
        pause();
        _exit(0);
    }
    char b;
    if (read(ready[0], &b, 1) != 1 || nng_req0_open(&sock) != 0 || nng_dial(sock, url, NULL, 0) != 0) {
        kill(server, SIGKILL);
        return 1;
    }
    struct call *calls = calloc((size_t)inflight, sizeof *calls);
    for (int i = 0; i < inflight; i++) {
        nng_msg *m;
        nng_ctx_open(&calls[i].ctx, sock);
        nng_aio_alloc(&calls[i].aio, call_cb, &calls[i]);
        nng_msg_alloc(&m, msg_bytes);
        memset(nng_msg_body(m), 'x', msg_bytes);
        nng_aio_set_msg(calls[i].aio, m);
        nng_ctx_send(calls[i].ctx, calls[i].aio);
    }
    sleep(1); /* warm up */
    long d0 = done;
    double c0 = cpu_seconds(RUSAGE_SELF);
    char statpath[64];
    snprintf(statpath, sizeof statpath, "/proc/%d/stat", (int)server);
    long long s0 = 0, s1 = 0, ut, st;
    FILE *f = fopen(statpath, "r");
    if (f && fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st) == 2)
        s0 = ut + st;
    if (f)
        fclose(f);
    sleep((unsigned)secs);
    long d = done - d0;
    double c1 = cpu_seconds(RUSAGE_SELF);
    f = fopen(statpath, "r");
    if (f && fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st) == 2)
        s1 = ut + st;
    if (f)
        fclose(f);
    double server_cpu = (double)(s1 - s0) / (double)sysconf(_SC_CLK_TCK);
    printf("%.0f round trips/s; CPU per round trip: client %.0f us, server %.0f us "
           "(%d workers, %d in flight, %zu-byte messages)\n",
           (double)d / secs, (c1 - c0) / (double)d * 1e6, server_cpu / (double)d * 1e6, workers,
           inflight, msg_bytes);
    fflush(stdout);
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
    _exit(0); /* the client's nng threads are still busy with in-flight calls */
}
