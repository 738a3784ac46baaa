#include "http/url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <string.h>

#include "core/encode.h"
#include "core/err.h"

int url_decode(const char *s, size_t n, int plus_is_space, char *out, size_t cap, size_t *outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return AIOPS_EPARSE;
            if ((hi = hex_value(s[i + 1])) < 0 || (lo = hex_value(s[i + 2])) < 0)
                return AIOPS_EPARSE;
            c = (char)(hi << 4 | lo);
            if (c == '\0')
                return AIOPS_EPARSE;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (o + 1 >= cap)
            return AIOPS_ETOOBIG;
        out[o++] = c;
    }
    if (cap == 0)
        return AIOPS_ETOOBIG;
    out[o] = '\0';
    if (outlen)
        *outlen = o;
    return AIOPS_OK;
}

int url_query_get(const char *query, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = query;
    while (p != NULL && *p != '\0') {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        if (klen == nl && memcmp(p, name, nl) == 0) {
            if (eq == NULL)
                return url_decode("", 0, 1, out, cap, NULL);
            return url_decode(eq + 1, len - klen - 1, 1, out, cap, NULL);
        }
        p = amp ? amp + 1 : NULL;
    }
    return AIOPS_ENOTFOUND;
}

int url_host_name(const char *host, char *out, size_t cap)
{
    const char *start = host, *end;
    if (host[0] == '[') { /* an IPv6 literal: up to the bracket */
        start = host + 1;
        end = strchr(start, ']');
        if (end == NULL || (end[1] != '\0' && end[1] != ':'))
            return AIOPS_EINVAL;
    } else {
        end = strrchr(host, ':');
        if (end == NULL || strchr(host, ':') != end) /* no port, or a bare IPv6 address */
            end = host + strlen(host);
    }
    size_t n = (size_t)(end - start);
    if (n == 0 || n >= cap)
        return AIOPS_EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)start[i];
        if (!isalnum(ch) && ch != '-' && ch != '.' && ch != ':')
            return AIOPS_EINVAL;
        out[i] = (char)tolower(ch);
    }
    out[n] = '\0';
    return AIOPS_OK;
}

int url_host_is_loopback(const char *host)
{
    static const char suffix[] = ".localhost";
    size_t n = strlen(host), s = sizeof suffix - 1;
    if (strcmp(host, "localhost") == 0 || (n > s && strcmp(host + n - s, suffix) == 0))
        return 1;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}
