/* crypto.h -- randomness for secrets and identifiers, SHA-256, HMAC, constant-time compare
 * (OpenSSL underneath). */
#ifndef AIOPS_CRYPTO_H
#define AIOPS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* Cryptographically secure random bytes (getrandom). AIOPS_EIO on failure. */
int random_bytes(void *p, size_t n);
/* A random RFC 4122 version-4 UUID, lower-case, into out[37]. */
void uuid_v4(char out[37]);
/* The same shape from a fast per-thread generator seeded from getrandom: for identifiers
 * that must be unique, not unguessable (request ids). */
void uuid_v4_fast(char out[37]);
/* 1 when s is a canonical UUID text (8-4-4-4-12 hex). */
int uuid_valid(const char *s);

/* SHA-256 of p; out receives 32 bytes. */
void sha256(const void *p, size_t n, uint8_t out[32]);
/* HMAC-SHA256(key, msg) into out[32]. */
void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n, uint8_t out[32]);
/* Compares n bytes in time independent of where they differ; 0 when equal. */
int ct_memcmp(const void *a, const void *b, size_t n);

#endif
