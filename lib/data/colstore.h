/* colstore.h -- the compact columnar binary form of a stored dataset.
 *
 * A dataset is a table skeleton (nrows and, per column, name/type/storage: the `schema`
 * JSON of migrations/0001_init.sql) plus chunks, one row of dataset_chunks(col_index,
 * chunk_index, data) each:
 *   chunk_index k >= 0   rows [k * COLSTORE_CHUNK_ROWS, (k + 1) * COLSTORE_CHUNK_ROWS) of
 *                        column col_index (fewer in the last chunk);
 *   chunk_index -1 - j   the j-th piece of the dictionary of a COL_DICT column (strings in
 *                        code order, at most ~1 MiB of text per piece).
 * A column of n rows has ceil(n / COLSTORE_CHUNK_ROWS) row chunks; a dictionary of no
 * strings has no pieces.
 *
 * Every chunk is self-describing, little-endian:
 *    0 u32 magic "ACS1"          20 u32 count (rows, or strings)
 *    4 u8  format version (1)    24 u64 first row (or first string code)
 *    5 u8  kind                  32 i64 base (int encoding) / dictionary size (codes)
 *    6 u8  encoding              40 u32 payload length
 *    7 u8  width (bytes/value)   44 u32 CRC-32C of bytes 0..43 and the payload
 *    8 u8  decimal scale         48 payload
 *    9 u8  flags (1: validity bitmap)
 *   10 u16 zero
 *   12 i32 chunk_index
 *   16 u32 col_index
 * Kinds and payloads:
 *   F64 raw      count doubles (their exact bits; NaN = missing);
 *   F64 int      [validity bitmap] count unsigned offsets of `width` bytes (0: none, all equal):
 *                value = (double)(base + offset) / 10^scale -- chosen only when that gives back
 *                every value bit for bit (whole numbers, or decimals with <= 9 digits after
 *                the point, in a range that fits 4 bytes);
 *   codes        [validity bitmap] count codes of `width` bytes (1, 2 or 4 by dictionary size);
 *   dictionary   count u32 string lengths, then the strings back to back.
 * The validity bitmap has one bit per row (LSB first, 1 = present); missing rows store 0.
 * The decoder checks everything: a bad checksum, version, kind, size, position, a missing
 * or repeated chunk, or a code outside its dictionary is AIOPS_ECORRUPT, never a crash. */
#ifndef AIOPS_COLSTORE_H
#define AIOPS_COLSTORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "data/table.h"

#define COLSTORE_CHUNK_ROWS 65536
#define COLSTORE_VERSION 1
#define COLSTORE_HEADER_BYTES 48


/* --- encoding ------------------------------------------------------------------------ */

struct colstore_chunk {
    int col_index;
    int chunk_index;
    const uint8_t *data; /* NULL when there are no more chunks; owned by the encoder, valid
                            until the next call */
    size_t len;
};

struct colstore_encoder {
    const struct table *t;
    /* private */
    size_t col;
    int phase;     /* 0: dictionary pieces, 1: row chunks */
    uint64_t next; /* next string code (phase 0) or chunk (phase 1) */
    int piece;     /* dictionary pieces emitted for this column */
    uint8_t *buf;
    size_t cap;
};

/* Walks t (which must outlive the encoder and stay unchanged), one chunk at a time. */
void colstore_encoder_init(struct colstore_encoder *e, const struct table *t);
/* The next chunk into *out (out->data == NULL at the end). AIOPS_ENOMEM, or AIOPS_ETOOBIG
 * for a table beyond the format (more than 2^31 chunks per column). */
int colstore_encoder_next(struct colstore_encoder *e, struct colstore_chunk *out);
void colstore_encoder_free(struct colstore_encoder *e);

/* --- decoding ------------------------------------------------------------------------ */

struct colstore_piece; /* private */

struct colstore_decoder {
    struct table *t;
    /* private */
    size_t nchunks;      /* row chunks per column */
    uint8_t *seen;       /* ncols * nchunks flags */
    uint64_t *dict_size; /* per column: the size code chunks declared (UINT64_MAX: none) */
    struct colstore_piece **pieces; /* per column: dictionary pieces received */
    size_t *npieces, *cap_pieces;
};

/* Starts filling t, which holds a skeleton (from colstore_schema_parse: nrows, ncols, and
 * per column name/type/storage, no data): allocates its arrays. The caller keeps owning t
 * and frees it with table_free() whatever happens. AIOPS_ENOMEM, AIOPS_EINVAL (t already
 * has data or a storage out of range). */
int colstore_decode_begin(struct colstore_decoder *d, struct table *t);
/* Decodes one chunk, given in any order. AIOPS_ECORRUPT when it is not a valid chunk for
 * (col_index, chunk_index) of this table or repeats one already given; AIOPS_ENOMEM. */
int colstore_decode_chunk(struct colstore_decoder *d, long col_index, long chunk_index,
                          const void *data, size_t len);
/* Checks that every chunk came and assembles the dictionaries (frozen). AIOPS_ECORRUPT
 * when something is missing or inconsistent. Releases the decoder's own memory. */
int colstore_decode_end(struct colstore_decoder *d);
/* Releases the decoder without finishing (after an error); t keeps what was decoded. */
void colstore_decoder_free(struct colstore_decoder *d);

/* --- schema -------------------------------------------------------------------------- */

/* [{"name","type","storage","missing","distinct","min","max","mean"}, ...] for the
 * datasets.schema column (summary numbers null when NaN). The caller owns *out. */
int colstore_schema_json(const struct table *t, json_t **out);
/* The skeleton of a table of nrows rows from such a schema into *t (initialised here;
 * release with table_free): names, types, storages and the summary fields given.
 * AIOPS_EINVAL when the JSON is not a valid schema. */
int colstore_schema_parse(const json_t *schema, size_t nrows, struct table *t);

#endif
