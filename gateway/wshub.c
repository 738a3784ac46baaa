#include "wshub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "auth.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "gwmetrics.h"
#include "wsframe.h"

/* Bytes of framed output we keep in a socket's buffer; the rest waits in the engine, where
 * it counts against the client's queue limit. */
#define OUTPUT_HIGH_WATER (64u << 10)
/* How often the hub checks its clients, pings them, and times out dead ones. */
#define TICK_SECONDS 1
#define PING_EVERY_NS (30ull * 1000000000u)
#define IDLE_LIMIT_NS (75ull * 1000000000u)
/* How long we wait for the peer's answer to our close frame. */
#define CLOSE_WAIT_NS (5ull * 1000000000u)

struct ws_client {
    struct gw *gw;
    struct evhttp_connection *evcon;
    struct bufferevent *bev;
    struct ws_conn *conn;
    char *topic;
    char request_id[72];
    char subject[80];
    char project[72];
    int has_key; /* opened with an API key: key_hash is its hash */
    uint8_t key_hash[32];
    int64_t expires_at; /* Unix seconds its credentials end (principal.expires_at) */
    uint64_t opened_ns;
    uint64_t last_seen_ns;
    uint64_t last_ping_ns;
    uint64_t close_deadline_ns; /* 0 while open */
    uint64_t sent;
    int flushing, flush_again;
    struct ws_client *prev, *next;
};

struct ws_hub {
    struct ws_client *head;
    size_t count;
    struct event *tick;
};

static void client_free(struct ws_client *c, const char *why)
{
    struct gw *gw = c->gw;
    struct ws_hub *hub = gw->hub;
    if (c->prev)
        c->prev->next = c->next;
    else
        hub->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    hub->count--;
    gw_metrics_ws_clients(gw, -1);
    log_json(LOG_LEVEL_INFO, "websocket closed",
             json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:f}", "request_id", c->request_id, "topic",
                       c->topic, "why", why, "close_sent", (int)ws_conn_close_code_sent(c->conn),
                       "close_received", (int)ws_conn_close_code_received(c->conn), "messages",
                       (json_int_t)c->sent, "seconds",
                       (double)(time_mono_ns() - c->opened_ns) / 1e9));
    ws_conn_free(c->conn);
    /* frees the never-answered upgrade request and the bufferevent, closing the socket */
    evhttp_connection_free(c->evcon);
    free(c->topic);
    free(c);
}

/* Moves framed output to the socket while it has room; closes when the engine is done.
 * Adding output writes to the socket at once and may call on_write() from inside
 * ws_conn_output_evbuffer(): that nested call only asks for another round. */
static void client_flush(struct ws_client *c)
{
    if (c->flushing) {
        c->flush_again = 1;
        return;
    }
    c->flushing = 1;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    do {
        c->flush_again = 0;
        while (ws_conn_want_output(c->conn)) {
            size_t have = evbuffer_get_length(out);
            if (have >= OUTPUT_HIGH_WATER)
                break;
            if (ws_conn_output_evbuffer(c->conn, out, OUTPUT_HIGH_WATER - have) == 0)
                break;
        }
    } while (c->flush_again);
    c->flushing = 0;
    if (ws_conn_done(c->conn) && evbuffer_get_length(out) == 0)
        client_free(c, "closed");
}

static void client_close(struct ws_client *c, uint16_t code, const char *reason)
{
    if (c->close_deadline_ns == 0) {
        c->close_deadline_ns = time_mono_ns() + CLOSE_WAIT_NS;
        ws_conn_close(c->conn, code, reason);
    }
    client_flush(c);
}

static void on_text(void *arg, const char *msg, size_t len)
{
    struct ws_client *c = arg;
    /* an application-level keepalive some frontends send */
    static const char ping[] = "{\"type\":\"ping\"}";
    if (len == sizeof ping - 1 && memcmp(msg, ping, len) == 0)
        ws_conn_send_text(c->conn, "{\"type\":\"pong\"}", 15);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct ws_client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    c->last_seen_ns = time_mono_ns();
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        size_t n = v.iov_len;
        if (ws_conn_feed(c->conn, v.iov_base, n) != 0) {
            client_free(c, "out of memory");
            return;
        }
        evbuffer_drain(in, n);
    }
    client_flush(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    client_flush(arg);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct ws_client *c = arg;
    client_free(c, (what & BEV_EVENT_EOF) ? "peer closed the connection" : "connection error");
}

/* A socket lives no longer than the credentials that opened it: a JWT's exp, an API key
 * until it is revoked (auth_take_revoked). 1008 with the reason, like any policy close. */
static void close_expired(struct gw *gw)
{
    uint8_t revoked[64][32];
    size_t nrevoked = auth_take_revoked(gw, revoked, 64);
    int64_t now = (int64_t)time_now();
    struct ws_client *c = gw->hub->head;
    while (c != NULL) {
        struct ws_client *next = c->next;
        int gone = 0;
        for (size_t i = 0; i < nrevoked && c->has_key && !gone; i++)
            gone = memcmp(c->key_hash, revoked[i], 32) == 0;
        if (c->close_deadline_ns == 0 && gone) {
            gw_metrics_ws_dropped(gw, "credentials_expired");
            client_close(c, WS_CLOSE_POLICY, "the API key was revoked");
        } else if (c->close_deadline_ns == 0 && c->expires_at != 0 && now >= c->expires_at) {
            gw_metrics_ws_dropped(gw, "credentials_expired");
            client_close(c, WS_CLOSE_POLICY, "the token has expired");
        }
        c = next;
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw *gw = arg;
    close_expired(gw);
    uint64_t now = time_mono_ns();
    struct ws_client *c = gw->hub->head;
    while (c != NULL) {
        struct ws_client *next = c->next;
        if (c->close_deadline_ns != 0) {
            if (now > c->close_deadline_ns)
                client_free(c, "close handshake timed out");
        } else if (now - c->last_seen_ns > IDLE_LIMIT_NS) {
            client_close(c, WS_CLOSE_GOING_AWAY, "idle timeout");
        } else if (now - c->last_ping_ns > PING_EVERY_NS) {
            c->last_ping_ns = now;
            if (ws_conn_ping(c->conn) == AIOPS_ETOOBIG) {
                gw_metrics_ws_dropped(gw, "slow_consumer");
                client_close(c, WS_CLOSE_POLICY, "slow consumer");
            } else {
                client_flush(c);
            }
        }
        c = next;
    }
}

int ws_hub_init(struct gw *gw)
{
    struct ws_hub *hub = calloc(1, sizeof *hub);
    if (hub == NULL)
        return AIOPS_ENOMEM;
    hub->tick = event_new(gw->base, -1, EV_PERSIST, on_tick, gw);
    if (hub->tick == NULL) {
        free(hub);
        return AIOPS_ENOMEM;
    }
    struct timeval tv = {TICK_SECONDS, 0};
    event_add(hub->tick, &tv);
    gw->hub = hub;
    return AIOPS_OK;
}

void ws_hub_free(struct gw *gw)
{
    struct ws_hub *hub = gw->hub;
    if (hub == NULL)
        return;
    while (hub->head != NULL)
        client_free(hub->head, "server stopped");
    event_free(hub->tick);
    free(hub);
    gw->hub = NULL;
}

size_t ws_hub_clients(const struct gw *gw)
{
    return gw->hub ? gw->hub->count : 0;
}

void ws_hub_close_all(struct gw *gw, uint16_t code, const char *reason)
{
    struct ws_client *c = gw->hub->head;
    while (c != NULL) {
        struct ws_client *next = c->next;
        client_close(c, code, reason);
        c = next;
    }
}

void ws_hub_publish(struct gw *gw, const Aiops__Event *ev)
{
    struct ws_client *c = gw->hub->head;
    const char *msg = (const char *)ev->payload.data;
    size_t len = ev->payload.len;
    while (c != NULL) {
        struct ws_client *next = c->next;
        /* a client sees its own project's events only */
        if (c->close_deadline_ns == 0 && strcmp(c->topic, ev->topic) == 0 &&
            (ev->project[0] == '\0' || strcmp(ev->project, c->project) == 0)) {
            int rv = ws_conn_send_text(c->conn, msg, len);
            if (rv == AIOPS_ETOOBIG) {
                gw_metrics_ws_dropped(gw, "slow_consumer");
                client_close(c, WS_CLOSE_POLICY, "slow consumer: message queue full");
            } else if (rv == 0) {
                c->sent++;
                client_flush(c);
            } else if (rv == AIOPS_EINVAL) {
                log_warn("events: %s event for %s is not UTF-8; dropped", ev->type, ev->topic);
                return;
            }
        }
        c = next;
    }
}

/* 1 when the comma-separated header value holds token (case-insensitive). */
static int header_has_token(const char *value, const char *token)
{
    size_t tl = strlen(token);
    const char *p = value;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0)
            return 1;
        p = e;
    }
    return 0;
}

void ws_accept(struct gw_req *r)
{
    struct gw *gw = r->gw;
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
    const char *conn = evhttp_find_header(in, "Connection");
    const char *version = evhttp_find_header(in, "Sec-WebSocket-Version");
    const char *key = evhttp_find_header(in, "Sec-WebSocket-Key");
    if (evhttp_request_get_command(r->req) != EVHTTP_REQ_GET || conn == NULL ||
        !header_has_token(conn, "upgrade")) {
        gw_reply_error(r, API_BAD_WEBSOCKET_HANDSHAKE,
                       "a WebSocket handshake is a GET with Connection: Upgrade", NULL);
        return;
    }
    if (version == NULL || strcmp(version, "13") != 0) {
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Sec-WebSocket-Version", "13");
        gw_reply_error(r, API_UNSUPPORTED_WEBSOCKET_VERSION, NULL, NULL);
        return;
    }
    char accept[29];
    if (key == NULL || ws_accept_key(key, strlen(key), accept) != 0) {
        gw_reply_error(r, API_BAD_WEBSOCKET_HANDSHAKE,
                       "Sec-WebSocket-Key must be the base64 of 16 bytes", NULL);
        return;
    }
    if (gw->hub->count >= gw->cfg.ws_max_clients || gw->stopping) {
        gw_reply_error(r, API_TOO_MANY_WEBSOCKET_CLIENTS,
                       gw->stopping ? "the gateway is shutting down" : NULL, NULL);
        return;
    }
    struct ws_client *c = calloc(1, sizeof *c);
    struct ws_callbacks cb = {.on_text = on_text};
    struct ws_limits lim = {.max_queue_bytes = gw->cfg.ws_queue_bytes};
    if (c != NULL) {
        c->conn = ws_conn_new(&cb, c, &lim);
        c->topic = strdup(r->path);
    }
    if (c == NULL || c->conn == NULL || c->topic == NULL) {
        if (c) {
            ws_conn_free(c->conn);
            free(c->topic);
            free(c);
        }
        gw_reply_error(r, API_OUT_OF_MEMORY, NULL, NULL);
        return;
    }
    c->gw = gw;
    c->evcon = evhttp_request_get_connection(r->req);
    c->bev = evhttp_connection_get_bufferevent(c->evcon);
    snprintf(c->request_id, sizeof c->request_id, "%s", r->request_id);
    snprintf(c->subject, sizeof c->subject, "%s", r->principal.subject);
    snprintf(c->project, sizeof c->project, "%s", r->principal.project);
    c->has_key = strcmp(r->principal.method, "api_key") == 0;
    memcpy(c->key_hash, r->key_hash, sizeof c->key_hash);
    c->expires_at = r->principal.expires_at;
    c->opened_ns = c->last_seen_ns = c->last_ping_ns = time_mono_ns();

    /* Take the connection over: our callbacks from now on, no evhttp timeouts, and the 101
     * written straight to the socket. */
    if (gw->cfg.ws_sndbuf > 0) {
        int sz = (int)gw->cfg.ws_sndbuf;
        setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    }
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    /* enabled before writing: the filter only moves output on while writing is enabled */
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 101 Switching Protocols\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: %s\r\n"
                        "X-Request-Id: %s\r\n\r\n",
                        accept, r->request_id);

    struct ws_hub *hub = gw->hub;
    c->next = hub->head;
    if (hub->head)
        hub->head->prev = c;
    hub->head = c;
    hub->count++;
    gw_metrics_ws_clients(gw, 1);
    gw_request_done(r, 101, 0);

    /* frames the client sent right behind its handshake are already buffered */
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        on_read(c->bev, c);
}
