#include "store/kv.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"

struct kv {
    char host[256];
    int port;
    int db;
    char user[128];
    char password[256];
    redisContext *c;
    int up;
};

/* Copies a percent-decoded [p, p+n) into out (capacity cap). */
static int url_part(char *out, size_t cap, const char *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '%' && i + 2 < n) {
            char hx[3] = {p[i + 1], p[i + 2], 0};
            char *end;
            long v = strtol(hx, &end, 16);
            if (*end != '\0')
                return AIOPS_EINVAL;
            ch = (char)v;
            i += 2;
        }
        if (o + 1 >= cap)
            return AIOPS_EINVAL;
        out[o++] = ch;
    }
    out[o] = '\0';
    return AIOPS_OK;
}

int kv_open(const char *url, struct kv **out)
{
    struct kv *kv = calloc(1, sizeof *kv);
    if (kv == NULL)
        return AIOPS_ENOMEM;
    kv->port = 6379;
    const char *p = url;
    if (strncmp(p, "redis://", 8) != 0)
        goto bad;
    p += 8;
    const char *at = strchr(p, '@');
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon != NULL) {
            if (url_part(kv->user, sizeof kv->user, p, (size_t)(colon - p)) != 0 ||
                url_part(kv->password, sizeof kv->password, colon + 1,
                         (size_t)(at - colon - 1)) != 0)
                goto bad;
        } else if (url_part(kv->password, sizeof kv->password, p, (size_t)(at - p)) != 0) {
            goto bad;
        }
        p = at + 1;
    }
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof kv->host)
        goto bad;
    memcpy(kv->host, p, hl);
    kv->host[hl] = '\0';
    p += hl;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535)
            goto bad;
        kv->port = (int)port;
        p = end;
    }
    if (*p == '/') {
        if (p[1] != '\0') {
            char *end;
            long db = strtol(p + 1, &end, 10);
            if (*end != '\0' || db < 0 || db > 1000)
                goto bad;
            kv->db = (int)db;
        }
    } else if (*p != '\0') {
        goto bad;
    }
    *out = kv;
    return AIOPS_OK;
bad:
    free(kv);
    log_error("config: REDIS_URL is not redis://[:password@]host[:port][/db]");
    return AIOPS_EINVAL;
}

void kv_close(struct kv *kv)
{
    if (kv == NULL)
        return;
    if (kv->c)
        redisFree(kv->c);
    free(kv);
}

static void kv_drop(struct kv *kv)
{
    if (kv->c)
        redisFree(kv->c);
    kv->c = NULL;
    if (kv->up)
        log_warn("redis: connection lost");
    kv->up = 0;
}

int kv_connect(struct kv *kv)
{
    if (kv->c != NULL && kv->c->err == 0)
        return AIOPS_OK;
    if (kv->c != NULL)
        kv_drop(kv);
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout(kv->host, kv->port, tv);
    if (c == NULL || c->err) {
        if (c)
            redisFree(c);
        return AIOPS_EUNAVAIL;
    }
    /* commands must not hang a worker forever if Redis stalls */
    redisSetTimeout(c, tv);
    redisReply *r = NULL;
    if (kv->password[0]) {
        r = kv->user[0] ? redisCommand(c, "AUTH %s %s", kv->user, kv->password)
                        : redisCommand(c, "AUTH %s", kv->password);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            log_error("redis: AUTH failed");
            goto fail;
        }
        freeReplyObject(r);
    }
    if (kv->db) {
        r = redisCommand(c, "SELECT %d", kv->db);
        if (r == NULL || r->type == REDIS_REPLY_ERROR)
            goto fail;
        freeReplyObject(r);
    }
    kv->c = c;
    if (!kv->up)
        log_info("redis: connected");
    kv->up = 1;
    return AIOPS_OK;
fail:
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return AIOPS_EUNAVAIL;
}

int kv_is_up(const struct kv *kv)
{
    return kv->c != NULL && kv->up && kv->c->err == 0;
}

redisReply *kv_command(struct kv *kv, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (kv_connect(kv) != 0)
            return NULL;
        va_list ap;
        va_start(ap, fmt);
        redisReply *r = redisvCommand(kv->c, fmt, ap);
        va_end(ap);
        if (r != NULL)
            return r;
        kv_drop(kv); /* I/O error: the context is unusable */
    }
    return NULL;
}

/* Appends "{tag}{n}\r\n" (a RESP array or bulk string header) to b. */
static int put_header(struct buf *b, char tag, size_t n)
{
    char text[24];
    size_t i = sizeof text;
    text[--i] = '\n';
    text[--i] = '\r';
    do
        text[--i] = (char)('0' + n % 10);
    while ((n /= 10) > 0);
    text[--i] = tag;
    return buf_append(b, text + i, sizeof text - i);
}

int kv_format_argv(struct buf *b, int argc, const char *const *argv, const size_t *lens)
{
    int rv = put_header(b, '*', (size_t)argc);
    for (int i = 0; i < argc && rv == 0; i++) {
        rv = put_header(b, '$', lens[i]);
        rv = rv != 0 ? rv : buf_append(b, argv[i], lens[i]);
        rv = rv != 0 ? rv : buf_append(b, "\r\n", 2);
    }
    return rv;
}

long kv_pipeline(struct kv *kv, const char *cmds, size_t len, size_t n)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (kv_connect(kv) != 0)
            return -1;
        if (redisAppendFormattedCommand(kv->c, cmds, len) != REDIS_OK) {
            kv_drop(kv);
            continue;
        }
        long errors = 0;
        size_t got = 0;
        for (; got < n; got++) {
            void *r = NULL;
            if (redisGetReply(kv->c, &r) != REDIS_OK || r == NULL)
                break;
            errors += ((redisReply *)r)->type == REDIS_REPLY_ERROR;
            freeReplyObject(r);
        }
        if (got == n)
            return errors;
        kv_drop(kv); /* I/O error: the context (and its unread replies) is unusable */
    }
    return -1;
}

int kv_ping(struct kv *kv)
{
    redisReply *r = kv_command(kv, "PING");
    int ok = r != NULL && r->type != REDIS_REPLY_ERROR;
    if (r)
        freeReplyObject(r);
    return ok ? AIOPS_OK : AIOPS_EUNAVAIL;
}
