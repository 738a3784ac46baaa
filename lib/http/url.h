/* url.h -- percent-decoding and query strings. */
#ifndef AIOPS_URL_H
#define AIOPS_URL_H

#include <stddef.h>

/* Percent-decodes n bytes of s into out (capacity cap, NUL-terminated); '+' becomes a
 * space when plus_is_space. AIOPS_EPARSE on a bad escape or a decoded NUL byte,
 * AIOPS_ETOOBIG when out is too small. *outlen (may be NULL) gets the decoded length. */
int url_decode(const char *s, size_t n, int plus_is_space, char *out, size_t cap, size_t *outlen);

/* Finds name in a query string (a=1&b=2, without '?') and decodes its value into out.
 * AIOPS_ENOTFOUND when absent; the first occurrence wins. */
int url_query_get(const char *query, const char *name, char *out, size_t cap);

#endif
