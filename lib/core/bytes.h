/* bytes.h -- little-endian numbers in byte strings, and CRC-32C: the one encoding of every
 * binary format of the suite (model files, the columnar store, learners' sections).
 *
 * Writers append to a buf and return AIOPS_ENOMEM when it could not grow. The reader never
 * reads past its end: a read that would sets `bad` and returns 0, so a caller may read a
 * whole header and check `bad` once. load/store work at fixed offsets of memory the caller
 * has sized. */
#ifndef AIOPS_BYTES_H
#define AIOPS_BYTES_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

static inline void bytes_store_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void bytes_store_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void bytes_store_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t bytes_load_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t bytes_load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t bytes_load_le64(const uint8_t *p)
{
    return (uint64_t)bytes_load_le32(p) | (uint64_t)bytes_load_le32(p + 4) << 32;
}

int bytes_put_u8(struct buf *b, uint8_t v);
int bytes_put_u32(struct buf *b, uint32_t v);
int bytes_put_u64(struct buf *b, uint64_t v);
int bytes_put_f64(struct buf *b, double v);
/* A u32 length, then the n bytes. */
int bytes_put_str(struct buf *b, const void *s, size_t n);

struct bytes_reader {
    const uint8_t *p;
    size_t n, off;
    int bad;
};

uint8_t bytes_get_u8(struct bytes_reader *r);
uint32_t bytes_get_u32(struct bytes_reader *r);
uint64_t bytes_get_u64(struct bytes_reader *r);
double bytes_get_f64(struct bytes_reader *r);
/* The next n bytes (borrowed from r->p), or NULL with `bad` set when fewer are left. */
const uint8_t *bytes_get_raw(struct bytes_reader *r, size_t n);

/* CRC-32C (Castagnoli) of n bytes, continuing from crc (0 to start). */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);

#endif
