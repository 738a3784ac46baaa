/* util.h -- clocks, environment configuration, randomness and identifiers. */
#ifndef AIOPS_UTIL_H
#define AIOPS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Wall-clock time as Unix seconds / milliseconds. */
double time_now(void);
int64_t time_now_ms(void);
/* Monotonic nanoseconds, for durations. */
uint64_t time_mono_ns(void);
/* Writes t (Unix seconds) as "2025-10-05T23:45:00.123Z" into out (at least 32 bytes). */
void time_iso8601(char *out, size_t outsz, double t);

/* Configuration from the environment. A variable that is set but not valid is an error:
 * the functions return AIOPS_EINVAL and log what was wrong, so that a service refuses to
 * start instead of running with a value nobody asked for. */
const char *env_str(const char *name, const char *def);
int env_long(const char *name, long def, long min, long max, long *out);
int env_bool(const char *name, int def, int *out);

/* The shortest of v's %.15g, %.16g and %.17g forms that reads back as exactly v (finite v;
 * "nan"/"inf" otherwise, as printf writes them). out needs 32 bytes. */
void fmt_double_shortest(char *out, size_t cap, double v);

/* Cryptographically secure random bytes (getrandom). AIOPS_EIO on failure. */
int random_bytes(void *p, size_t n);
/* A random RFC 4122 version-4 UUID, lower-case, into out[37]. */
void uuid_v4(char out[37]);
/* The same shape from a fast per-thread generator seeded from getrandom: for identifiers
 * that must be unique, not unguessable (request ids). */
void uuid_v4_fast(char out[37]);
/* 1 when s is a canonical UUID text (8-4-4-4-12 hex). */
int uuid_valid(const char *s);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(char *out, const void *p, size_t n);

/* SHA-256 of p; out receives 32 bytes. */
void sha256(const void *p, size_t n, uint8_t out[32]);
/* HMAC-SHA256(key, msg) into out[32]. */
void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n, uint8_t out[32]);
/* Compares n bytes in time independent of where they differ; 0 when equal. */
int ct_memcmp(const void *a, const void *b, size_t n);

/* base64url without padding (RFC 4648 section 5). encode writes 4*ceil(n/3)+1 bytes at most;
 * decode returns AIOPS_EPARSE on any character outside the alphabet. */
void base64url_encode(char *out, const void *p, size_t n);
int base64url_decode(const char *s, size_t slen, uint8_t *out, size_t outcap, size_t *outlen);
/* Standard base64 with padding (used by the WebSocket handshake). decode takes only the
 * canonical form: padded to a multiple of 4, unused bits zero; AIOPS_EPARSE otherwise. */
void base64_encode(char *out, const void *p, size_t n);
int base64_decode(const char *s, size_t slen, uint8_t *out, size_t outcap, size_t *outlen);

/* The value of a hex digit, or -1. */
int hex_value(int c);
/* 1 for a character of an HTTP token (RFC 9110 section 5.6.2: tchar). */
int http_tchar(int c);

/* 1 when the n bytes at p are valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF);
 * otherwise 0 and *bad_offset (when not NULL) receives the offset of the first bad byte. */
int utf8_valid(const void *p, size_t n, size_t *bad_offset);

struct buf;
/* Appends the n bytes at p to out with every byte that is not part of valid UTF-8 replaced
 * by U+FFFD, so that text quoting bad input can still go into JSON. AIOPS_ENOMEM. */
int utf8_sanitize(const void *p, size_t n, struct buf *out);

#endif
