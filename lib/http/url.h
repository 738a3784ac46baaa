/* url.h -- percent-decoding, query strings and host names. */
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

/* The host name of a Host header value ("example.com:8000", "[::1]:80", "127.0.0.1") into
 * out[cap], lower-cased, without port or brackets. AIOPS_EINVAL when it is empty, too long
 * or not a plausible host (characters outside letters, digits, '-', '.', ':'). */
int url_host_name(const char *host, char *out, size_t cap);
/* 1 when host (a bare name or address, as url_host_name gives) names this machine's
 * loopback: "localhost", a name under ".localhost", 127.0.0.0/8 or ::1. */
int url_host_is_loopback(const char *host);

#endif
