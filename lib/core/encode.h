/* encode.h -- byte encodings: hex, base64 (standard and URL-safe), UTF-8 validation. */
#ifndef AIOPS_ENCODE_H
#define AIOPS_ENCODE_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(char *out, const void *p, size_t n);
/* The value of a hex digit, or -1. */
int hex_value(int c);
/* The n bytes whose hex (either case) is the 2n characters at s into out. AIOPS_EPARSE on
 * a character that is not a hex digit (out is then partly written). */
int hex_decode(const char *s, uint8_t *out, size_t n);

/* base64url without padding (RFC 4648 section 5). encode writes 4*ceil(n/3)+1 bytes at most;
 * decode returns AIOPS_EPARSE on any character outside the alphabet. */
void base64url_encode(char *out, const void *p, size_t n);
int base64url_decode(const char *s, size_t slen, uint8_t *out, size_t outcap, size_t *outlen);
/* Standard base64 with padding (used by the WebSocket handshake). decode takes only the
 * canonical form: padded to a multiple of 4, unused bits zero; AIOPS_EPARSE otherwise. */
void base64_encode(char *out, const void *p, size_t n);
int base64_decode(const char *s, size_t slen, uint8_t *out, size_t outcap, size_t *outlen);

/* 1 when the n bytes at p are valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF);
 * otherwise 0 and *bad_offset (when not NULL) receives the offset of the first bad byte. */
int utf8_valid(const void *p, size_t n, size_t *bad_offset);
/* Appends the n bytes at p to out with every byte that is not part of valid UTF-8 replaced
 * by U+FFFD, so that text quoting bad input can still go into JSON. AIOPS_ENOMEM. */
int utf8_sanitize(const void *p, size_t n, struct buf *out);

#endif
