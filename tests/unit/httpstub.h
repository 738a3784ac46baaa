/* httpstub.h -- a tiny HTTP server on 127.0.0.1 for unit tests of outbound clients: it
 * accepts one connection at a time on a thread, reads one request (headers and a
 * Content-Length body), keeps it for the test to inspect, waits delay_ms, and answers with
 * the status and body it was given, then closes the connection. Never reachable from
 * elsewhere (bound to loopback, an ephemeral port).
 *
 *   struct httpstub s;
 *   httpstub_start(&s);                       s.port is the port
 *   httpstub_answer(&s, 200, "{\"ok\":1}", 0);
 *   ... a request to http://127.0.0.1:<port>/ ...
 *   CHECK(strstr(s.request, "POST /v1/chat/completions") != NULL);
 *   httpstub_stop(&s);
 */
#ifndef AIOPS_HTTPSTUB_H
#define AIOPS_HTTPSTUB_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct httpstub {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t mu;
    int stop;
    int status;         /* what the next answers carry */
    char body[8192];
    int delay_ms;
    char request[65536]; /* the last request, headers and body */
    int requests;        /* requests answered */
};

static inline void httpstub_answer(struct httpstub *s, int status, const char *body, int delay_ms)
{
    pthread_mutex_lock(&s->mu);
    s->status = status;
    snprintf(s->body, sizeof s->body, "%s", body);
    s->delay_ms = delay_ms;
    pthread_mutex_unlock(&s->mu);
}

/* Reads one request into s->request: the headers, then Content-Length bytes of body. */
static inline void httpstub_read_request(struct httpstub *s, int c)
{
    size_t len = 0;
    long want = -1;
    while (len + 1 < sizeof s->request) {
        struct pollfd pfd = {c, POLLIN, 0};
        if (poll(&pfd, 1, 2000) <= 0)
            break;
        ssize_t n = read(c, s->request + len, sizeof s->request - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        s->request[len] = '\0';
        char *end = strstr(s->request, "\r\n\r\n");
        if (end != NULL && want < 0) {
            const char *cl = strcasestr(s->request, "Content-Length:");
            want = (long)(end + 4 - s->request) + (cl ? atol(cl + 15) : 0);
        }
        if (want >= 0 && (long)len >= want)
            break;
    }
}

static inline void *httpstub_main(void *arg)
{
    struct httpstub *s = arg;
    for (;;) {
        struct pollfd pfd = {s->fd, POLLIN, 0};
        int ready = poll(&pfd, 1, 50);
        pthread_mutex_lock(&s->mu);
        int stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            return NULL;
        if (ready <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        pthread_mutex_lock(&s->mu);
        s->request[0] = '\0';
        httpstub_read_request(s, c);
        int status = s->status, delay = s->delay_ms;
        char answer[9000];
        int n = snprintf(answer, sizeof answer,
                         "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         status, strlen(s->body), s->body);
        s->requests++;
        pthread_mutex_unlock(&s->mu);
        if (delay > 0)
            usleep((useconds_t)delay * 1000);
        if (write(c, answer, (size_t)n) < 0)
            perror("httpstub write");
        close(c);
    }
}

/* 0 when listening on s->port. */
static inline int httpstub_start(struct httpstub *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->status = 200;
    snprintf(s->body, sizeof s->body, "{}");
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 8) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->thread, NULL, httpstub_main, s) == 0 ? 0 : -1;
}

static inline void httpstub_stop(struct httpstub *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->mu);
}

#endif
