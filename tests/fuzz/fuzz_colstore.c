/* libFuzzer target for lib/data/colstore.c.
 *
 * Input: a 4-byte skeleton (row count, columns and their storages, whether to re-seal
 * chunk checksums) and then chunks, each [u8 col][i8 chunk_index][u16 length][bytes]. The
 * chunks go to the decoder as they are (or with their CRC fixed, so that the checks behind
 * the checksum are explored too); any result but a crash or a read out of bounds is fine,
 * and a successful decode must give a table whose codes are inside their dictionaries.
 *
 * The same bytes also seed a small table (doubles and strings made from the input) that is
 * encoded and decoded again: the round trip must be bit-exact. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/err.h"
#include "data/colstore.h"

static void reseal(uint8_t *p, size_t len)
{
    if (len < COLSTORE_HEADER_BYTES)
        return;
    uint32_t crc = crc32c(0, p, 44);
    crc = crc32c(crc, p + COLSTORE_HEADER_BYTES, len - COLSTORE_HEADER_BYTES);
    for (int i = 0; i < 4; i++)
        p[44 + i] = (uint8_t)(crc >> (8 * i));
}

static void skeleton(struct table *t, size_t nrows, size_t ncols, unsigned storages)
{
    memset(t, 0, sizeof *t);
    t->nrows = nrows;
    t->ncols = ncols;
    t->cols = calloc(ncols, sizeof *t->cols);
    if (t->cols == NULL)
        abort();
    for (size_t c = 0; c < ncols; c++) {
        t->cols[c].name = strdup("c");
        t->cols[c].storage = (storages >> c) & 1 ? COL_DICT : COL_F64;
        t->cols[c].type = t->cols[c].storage == COL_DICT ? COL_CATEGORICAL : COL_NUMERIC;
    }
}

static void decode_arbitrary(const uint8_t *data, size_t size)
{
    if (size < 4)
        return;
    size_t nrows = ((size_t)data[0] | (size_t)data[1] << 8) % 70000;
    size_t ncols = 1 + data[2] % 3;
    unsigned storages = data[3] & 7;
    int fix_crc = data[3] & 8;
    data += 4;
    size -= 4;
    struct table t;
    skeleton(&t, nrows, ncols, storages);
    struct colstore_decoder d;
    if (colstore_decode_begin(&d, &t) != 0)
        abort();
    int rv = 0;
    while (size >= 4 && rv == 0) {
        long col = data[0] % 4; /* 3 is out of range on purpose */
        long chunk = (int8_t)data[1];
        size_t len = (size_t)data[2] | (size_t)data[3] << 8;
        data += 4;
        size -= 4;
        if (len > size)
            len = size;
        uint8_t *copy = malloc(len ? len : 1); /* exact size: over-reads are caught */
        if (copy == NULL)
            abort();
        memcpy(copy, data, len);
        if (fix_crc)
            reseal(copy, len);
        rv = colstore_decode_chunk(&d, col, chunk, copy, len);
        free(copy);
        data += len;
        size -= len;
    }
    if (rv == 0 && colstore_decode_end(&d) == 0) {
        for (size_t c = 0; c < t.ncols; c++) {
            const struct column *col = &t.cols[c];
            if (col->storage != COL_DICT)
                continue;
            for (size_t r = 0; r < t.nrows; r++)
                if (col->codes[r] != TABLE_MISSING && col->codes[r] >= col->dict.count)
                    abort();
        }
    } else if (rv != 0) {
        colstore_decoder_free(&d);
    }
    table_free(&t);
}

static void roundtrip(const uint8_t *data, size_t size)
{
    if (size < 2)
        return;
    size_t nrows = size / 2;
    if (nrows > 70000)
        nrows = 70000;
    struct table t;
    skeleton(&t, nrows, 3, 4); /* f64, f64, dict */
    t.cols[0].f64 = malloc(nrows * sizeof(double));
    t.cols[1].f64 = malloc(nrows * sizeof(double));
    t.cols[2].codes = malloc(nrows * sizeof(uint32_t));
    if (!t.cols[0].f64 || !t.cols[1].f64 || !t.cols[2].codes)
        abort();
    for (size_t r = 0; r < nrows; r++) {
        uint8_t a = data[2 * r], b = data[2 * r + 1];
        /* small integers / decimals / missing: the compact encodings */
        t.cols[0].f64[r] = a == 255 ? NAN : (double)((int)a - 100) / (double)(1 + (b & 3) * 9);
        /* arbitrary bits, NaN payloads included */
        uint64_t u = 0;
        for (size_t k = 0; k < 8; k++)
            u = u << 8 | data[(2 * r + k) % size];
        memcpy(&t.cols[1].f64[r], &u, 8);
        uint32_t code;
        if (strdict_intern(&t.cols[2].dict, (const char *)data + (a % size),
                           (size_t)(b % 8) < size - (a % size) ? (size_t)(b % 8)
                                                               : size - (a % size),
                           &code) != 0)
            abort();
        t.cols[2].codes[r] = b == 0 ? TABLE_MISSING : code;
    }
    struct table back;
    skeleton(&back, nrows, 3, 4);
    struct colstore_decoder d;
    struct colstore_encoder e;
    if (colstore_decode_begin(&d, &back) != 0)
        abort();
    colstore_encoder_init(&e, &t);
    struct colstore_chunk ch;
    while (colstore_encoder_next(&e, &ch) == 0 && ch.data != NULL)
        if (colstore_decode_chunk(&d, ch.col_index, ch.chunk_index, ch.data, ch.len) != 0)
            abort();
    colstore_encoder_free(&e);
    if (colstore_decode_end(&d) != 0)
        abort();
    for (size_t c = 0; c < 2; c++)
        if (memcmp(t.cols[c].f64, back.cols[c].f64, nrows * sizeof(double)) != 0)
            abort();
    if (memcmp(t.cols[2].codes, back.cols[2].codes, nrows * sizeof(uint32_t)) != 0 ||
        t.cols[2].dict.count != back.cols[2].dict.count ||
        t.cols[2].dict.bytes_len != back.cols[2].dict.bytes_len ||
        memcmp(t.cols[2].dict.bytes, back.cols[2].dict.bytes, t.cols[2].dict.bytes_len) != 0)
        abort();
    table_free(&t);
    table_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_arbitrary(data, size);
    roundtrip(data, size);
    return 0;
}
