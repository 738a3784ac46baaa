#include "http/url.h"

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
