/* buf.h -- a growable byte buffer.
 *
 * Invariant: when cap > 0, data[len] == '\0', so a buffer of text is always a C string.
 * A zeroed struct (BUF_INIT) is an empty buffer. The buffer owns data; buf_free()
 * releases it, buf_detach() hands it to the caller. */
#ifndef AIOPS_BUF_H
#define AIOPS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

#define BUF_INIT {0, 0, 0}

/* Make room for `extra` more bytes (plus the terminator). AIOPS_ENOMEM on failure. */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Appends v in decimal, without printf (the access log writes a few per request). */
int buf_put_uint(struct buf *b, unsigned long long v);
/* Appends v / 10^decimals in decimal with exactly `decimals` digits after the point (1 to 9),
 * as printf's "%.<decimals>f" writes that value: 1234567 with 3 -> "1234.567", 5 -> "0.005". */
int buf_put_fixed(struct buf *b, unsigned long long v, int decimals);
/* Appends s as a JSON string literal, quotes included (s is len bytes of UTF-8). */
int buf_json_str(struct buf *b, const char *s, size_t len);
/* Appends v as a JSON number exactly as jansson writes a real (%.17g, ".0" added to a whole
 * number, no '+' or leading zeros in the exponent); null when v is not finite. */
int buf_json_double(struct buf *b, double v);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Returns the bytes (NUL-terminated, never NULL unless out of memory); the caller owns
 * them and the buffer is left empty. *len, when not NULL, receives the length. */
char *buf_detach(struct buf *b, size_t *len);

#endif
