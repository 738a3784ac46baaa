/* ws.c -- a blocking RFC 6455 client for the command line (see ws.h). */
#include "ws.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/http.h>
#include <openssl/sha.h>

#include "cli.h"
#include "core/encode.h"
#include "core/err.h"
#include "core/crypto.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_HEAD_MAX 16384
#define WS_MESSAGE_MAX (16u << 20)

static int connect_to(const char *host, int port)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, service, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return AIOPS_EIO;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads more bytes into ws->in, waiting at most timeout_ms (-1: forever). */
static int read_more(struct cli_ws *ws, int timeout_ms)
{
    struct pollfd p = {ws->fd, POLLIN, 0};
    int n = poll(&p, 1, timeout_ms);
    if (n == 0)
        return AIOPS_ETIMEDOUT;
    if (n < 0)
        return errno == EINTR ? AIOPS_ETIMEDOUT : AIOPS_EIO;
    char tmp[65536];
    ssize_t k = recv(ws->fd, tmp, sizeof tmp, 0);
    if (k < 0 && errno == EINTR) /* a signal: the caller looks at why, then waits again */
        return AIOPS_ETIMEDOUT;
    if (k <= 0)
        return AIOPS_EIO;
    return buf_append(&ws->in, tmp, (size_t)k) == 0 ? 0 : AIOPS_ENOMEM;
}

/* The request line and headers of the upgrade; key is the Sec-WebSocket-Key sent. */
static int send_handshake(struct cli_ws *ws, const char *host, int port, const char *path,
                          const char *key)
{
    struct buf req = BUF_INIT;
    buf_printf(&req,
               "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
               path, host, port, key);
    if (cli_globals.api_key != NULL)
        buf_printf(&req, "X-API-Key: %s\r\n", cli_globals.api_key);
    else if (cli_globals.token != NULL)
        buf_printf(&req, "Authorization: Bearer %s\r\n", cli_globals.token);
    buf_puts(&req, "\r\n");
    int rv = req.data != NULL ? send_all(ws->fd, req.data, req.len) : AIOPS_ENOMEM;
    buf_free(&req);
    return rv;
}

/* Reads the answer's head and checks the status and Sec-WebSocket-Accept. */
static int read_handshake(struct cli_ws *ws, const char *key)
{
    char *end = NULL;
    while ((end = ws->in.data ? memmem(ws->in.data, ws->in.len, "\r\n\r\n", 4) : NULL) == NULL) {
        if (ws->in.len > WS_HEAD_MAX || read_more(ws, 10000) != 0)
            return AIOPS_EIO;
    }
    size_t head_len = (size_t)(end - ws->in.data) + 4;
    char *head = strndup(ws->in.data, head_len);
    if (head == NULL)
        return AIOPS_ENOMEM;
    int status = 0;
    sscanf(head, "HTTP/1.%*d %d", &status);
    int rv = 0;
    if (status != 101) {
        rv = status == 401 || status == 403 ? AIOPS_EAUTH
             : status == 404                ? AIOPS_ENOTFOUND
                                            : AIOPS_EIO;
    } else {
        char concat[128], want[64];
        unsigned char digest[SHA_DIGEST_LENGTH];
        snprintf(concat, sizeof concat, "%s%s", key, WS_GUID);
        SHA1((const unsigned char *)concat, strlen(concat), digest);
        base64_encode(want, digest, sizeof digest);
        char *accept = strcasestr(head, "\r\nSec-WebSocket-Accept:");
        if (accept == NULL)
            rv = AIOPS_EIO;
        else {
            accept += strlen("\r\nSec-WebSocket-Accept:");
            while (*accept == ' ')
                accept++;
            rv = strncmp(accept, want, strlen(want)) == 0 ? 0 : AIOPS_EIO;
        }
    }
    free(head);
    memmove(ws->in.data, ws->in.data + head_len, ws->in.len - head_len);
    ws->in.len -= head_len;
    return rv;
}

int cli_ws_open(const char *path, struct cli_ws *ws)
{
    ws->fd = -1;
    ws->in = (struct buf)BUF_INIT;
    struct evhttp_uri *uri = evhttp_uri_parse(cli_globals.url);
    if (uri == NULL || evhttp_uri_get_host(uri) == NULL) {
        evhttp_uri_free(uri);
        return AIOPS_EINVAL;
    }
    const char *host = evhttp_uri_get_host(uri);
    int port = evhttp_uri_get_port(uri) < 0 ? 80 : evhttp_uri_get_port(uri);
    ws->fd = connect_to(host, port);
    if (ws->fd < 0) {
        evhttp_uri_free(uri);
        return AIOPS_EUNAVAIL;
    }
    uint8_t nonce[16];
    char key[32];
    if (random_bytes(nonce, sizeof nonce) != 0) {
        evhttp_uri_free(uri);
        cli_ws_close(ws);
        return AIOPS_EIO;
    }
    base64_encode(key, nonce, sizeof nonce);
    int rv = send_handshake(ws, host, port, path, key);
    evhttp_uri_free(uri);
    if (rv == 0)
        rv = read_handshake(ws, key);
    if (rv != 0)
        cli_ws_close(ws);
    return rv;
}

/* Sends one masked frame (a client must mask, RFC 6455 5.3). */
static int send_frame(struct cli_ws *ws, int opcode, const void *payload, size_t n)
{
    unsigned char hdr[14];
    size_t h = 0;
    hdr[h++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        hdr[h++] = (unsigned char)(0x80 | n);
    } else {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(n >> 8);
        hdr[h++] = (unsigned char)n;
    }
    uint8_t mask[4] = {0x5a, 0xa5, 0x3c, 0xc3}; /* fixed only if getrandom failed */
    (void)random_bytes(mask, sizeof mask);
    memcpy(hdr + h, mask, 4);
    h += 4;
    unsigned char masked[125];
    size_t m = n < sizeof masked ? n : sizeof masked; /* control frames only: <= 125 */
    for (size_t i = 0; i < m; i++)
        masked[i] = (unsigned char)(((const unsigned char *)payload)[i] ^ mask[i % 4]);
    int rv = send_all(ws->fd, hdr, h);
    return rv == 0 ? send_all(ws->fd, masked, m) : rv;
}

/* Parses one complete frame at the start of ws->in: 1 and its parts, or 0 when more bytes
 * are needed, or -1 when it is malformed (masked, or larger than WS_MESSAGE_MAX). */
static int parse_frame(struct cli_ws *ws, int *fin, int *opcode, size_t *off, size_t *len)
{
    const unsigned char *b = (const unsigned char *)ws->in.data;
    if (ws->in.len < 2)
        return 0;
    if (b[1] & 0x80)
        return -1; /* a server never masks */
    uint64_t n = b[1] & 0x7F;
    size_t o = 2;
    if (n == 126) {
        if (ws->in.len < 4)
            return 0;
        n = (uint64_t)b[2] << 8 | b[3];
        o = 4;
    } else if (n == 127) {
        if (ws->in.len < 10)
            return 0;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | b[2 + i];
        o = 10;
    }
    if (n > WS_MESSAGE_MAX)
        return -1;
    if (ws->in.len < o + n)
        return 0;
    *fin = (b[0] & 0x80) != 0;
    *opcode = b[0] & 0x0F;
    *off = o;
    *len = (size_t)n;
    return 1;
}

int cli_ws_recv(struct cli_ws *ws, int timeout_ms, struct buf *msg)
{
    msg->len = 0;
    for (;;) {
        int fin, opcode;
        size_t off, len;
        int got = parse_frame(ws, &fin, &opcode, &off, &len);
        if (got < 0)
            return AIOPS_EIO;
        if (got == 0) {
            int rv = read_more(ws, timeout_ms);
            if (rv != 0)
                return rv;
            continue;
        }
        const char *payload = ws->in.data + off;
        int rv = 0;
        if (opcode == 0x8) {
            send_frame(ws, 0x8, payload, len < 2 ? len : 2);
            rv = AIOPS_EIO;
        } else if (opcode == 0x9) {
            rv = send_frame(ws, 0xA, payload, len);
        } else if (opcode <= 0x2 && buf_append(msg, payload, len) != 0) {
            rv = AIOPS_ENOMEM;
        }
        int complete = opcode <= 0x2 && fin;
        memmove(ws->in.data, ws->in.data + off + len, ws->in.len - off - len);
        ws->in.len -= off + len;
        if (rv != 0)
            return rv;
        if (complete)
            return buf_putc(msg, '\0') == 0 ? (msg->len--, 0) : AIOPS_ENOMEM;
    }
}

void cli_ws_close(struct cli_ws *ws)
{
    if (ws->fd >= 0) {
        send_frame(ws, 0x8, "\x03\xe8", 2); /* 1000: normal closure */
        close(ws->fd);
    }
    ws->fd = -1;
    buf_free(&ws->in);
}
