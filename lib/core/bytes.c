#include "core/bytes.h"

#include <pthread.h>
#include <string.h>

#include "core/err.h"

int bytes_put_u8(struct buf *b, uint8_t v)
{
    return buf_append(b, &v, 1);
}

int bytes_put_u32(struct buf *b, uint32_t v)
{
    uint8_t p[4];
    bytes_store_le32(p, v);
    return buf_append(b, p, 4);
}

int bytes_put_u64(struct buf *b, uint64_t v)
{
    uint8_t p[8];
    bytes_store_le64(p, v);
    return buf_append(b, p, 8);
}

int bytes_put_f64(struct buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return bytes_put_u64(b, u);
}

int bytes_put_str(struct buf *b, const void *s, size_t n)
{
    if (n > UINT32_MAX)
        return AIOPS_ETOOBIG;
    int rv = bytes_put_u32(b, (uint32_t)n);
    return rv != 0 ? rv : buf_append(b, s, n);
}

const uint8_t *bytes_get_raw(struct bytes_reader *r, size_t n)
{
    if (r->bad || n > r->n - r->off) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

uint8_t bytes_get_u8(struct bytes_reader *r)
{
    const uint8_t *p = bytes_get_raw(r, 1);
    return p ? p[0] : 0;
}

uint32_t bytes_get_u32(struct bytes_reader *r)
{
    const uint8_t *p = bytes_get_raw(r, 4);
    return p ? bytes_load_le32(p) : 0;
}

uint64_t bytes_get_u64(struct bytes_reader *r)
{
    const uint8_t *p = bytes_get_raw(r, 8);
    return p ? bytes_load_le64(p) : 0;
}

double bytes_get_f64(struct bytes_reader *r)
{
    uint64_t u = bytes_get_u64(r);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

/* --- CRC-32C, slicing by 8 ------------------------------------------------------------- */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *s = p;
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ bytes_load_le32(s);
        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][s[4]] ^
              crc_table[2][s[5]] ^ crc_table[1][s[6]] ^ crc_table[0][s[7]];
        s += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *s++) & 0xff];
    return ~crc;
}
