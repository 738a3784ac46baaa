#include "data/colstore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/err.h"

enum { KIND_F64 = 1, KIND_CODES = 2, KIND_DICT = 3 };
enum { ENC_RAW = 0, ENC_INT = 1 };
enum { FLAG_VALIDITY = 1 };
#define MAGIC 0x31534341u /* "ACS1" little-endian */
#define DICT_PIECE_BYTES ((size_t)1 << 20)
#define MAX_SCALE 9

static const double pow10d[MAX_SCALE + 1] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

static uint64_t get_uw(const uint8_t *p, unsigned width)
{
    switch (width) {
    case 1:
        return p[0];
    case 2:
        return bytes_load_le16(p);
    case 4:
        return bytes_load_le32(p);
    default:
        return 0;
    }
}
static void put_uw(uint8_t *p, unsigned width, uint64_t v)
{
    switch (width) {
    case 1:
        p[0] = (uint8_t)v;
        break;
    case 2:
        bytes_store_le16(p, (uint16_t)v);
        break;
    case 4:
        bytes_store_le32(p, (uint32_t)v);
        break;
    default:
        break;
    }
}

struct header {
    uint8_t version, kind, encoding, width, scale, flags;
    int32_t chunk_index;
    uint32_t col_index, count, payload_len;
    uint64_t first;
    int64_t base;
};

static void write_header(uint8_t *p, const struct header *h)
{
    bytes_store_le32(p, MAGIC);
    p[4] = COLSTORE_VERSION;
    p[5] = h->kind;
    p[6] = h->encoding;
    p[7] = h->width;
    p[8] = h->scale;
    p[9] = h->flags;
    bytes_store_le16(p + 10, 0);
    bytes_store_le32(p + 12, (uint32_t)h->chunk_index);
    bytes_store_le32(p + 16, h->col_index);
    bytes_store_le32(p + 20, h->count);
    bytes_store_le64(p + 24, h->first);
    bytes_store_le64(p + 32, (uint64_t)h->base);
    bytes_store_le32(p + 40, h->payload_len);
    uint32_t crc = crc32c(0, p, 44);
    crc = crc32c(crc, p + COLSTORE_HEADER_BYTES, h->payload_len);
    bytes_store_le32(p + 44, crc);
}

/* --- encoder --------------------------------------------------------------------------- */

void colstore_encoder_init(struct colstore_encoder *e, const struct table *t)
{
    memset(e, 0, sizeof *e);
    e->t = t;
}

void colstore_encoder_free(struct colstore_encoder *e)
{
    free(e->buf);
    e->buf = NULL;
    e->cap = 0;
}

static int reserve(struct colstore_encoder *e, size_t n)
{
    if (n <= e->cap)
        return AIOPS_OK;
    uint8_t *b = realloc(e->buf, n);
    if (b == NULL)
        return AIOPS_ENOMEM;
    e->buf = b;
    e->cap = n;
    return AIOPS_OK;
}

static inline int is_canonical_nan(double v)
{
    double nan = NAN;
    return memcmp(&v, &nan, sizeof v) == 0;
}

/* Rounds x (|x| < 2^62) to the nearest integer without libm. */
static inline int64_t round_i64(double x)
{
    return (int64_t)(x >= 0 ? x + 0.5 : x - 0.5);
}

/* Whether the n values at v can be stored as scaled integers bit-exactly: sets scale,
 * base and width. A NaN must have the canonical bits (decoded missing is NAN). */
static int plan_int(const double *v, size_t n, int *has_missing, unsigned *scale, int64_t *base,
                    unsigned *width)
{
    unsigned s = 0;
    int missing = 0, any = 0;
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (x != x) {
            if (!is_canonical_nan(x))
                return 0;
            missing = 1;
            continue;
        }
        if (!(fabs(x) < 9007199254740992.0) || (x == 0 && signbit(x)))
            return 0;
        any = 1;
        for (;;) {
            double y = x * pow10d[s];
            if (fabs(y) < 9007199254740992.0) {
                int64_t k = round_i64(y);
                double back = s ? (double)k / pow10d[s] : (double)k;
                if (back == x)
                    break;
            }
            if (++s > MAX_SCALE)
                return 0;
        }
    }
    /* verify every value at the final scale and find the range */
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (x != x)
            continue;
        double y = x * pow10d[s];
        if (!(fabs(y) < 9007199254740992.0))
            return 0;
        int64_t k = round_i64(y);
        double back = s ? (double)k / pow10d[s] : (double)k;
        if (back != x)
            return 0;
        lo = k < lo ? k : lo;
        hi = k > hi ? k : hi;
    }
    if (!any) {
        lo = hi = 0;
    }
    uint64_t range = (uint64_t)hi - (uint64_t)lo;
    *width = range == 0             ? 0
             : range <= 0xff        ? 1
             : range <= 0xffff      ? 2
             : range <= 0xffffffffu ? 4
                                    : 8;
    if (*width == 8)
        return 0;
    *has_missing = missing;
    *scale = s;
    *base = lo;
    return 1;
}

/* Reserves the zeroed payload of count packed values of `width` bytes each, behind a
 * validity bitmap when `missing` (a set bit: the value is present): *validity (NULL without
 * one) and *vals point into it, *plen is its length. */
static int packed_payload(struct colstore_encoder *e, uint32_t count, unsigned width, int missing,
                          uint8_t **validity, uint8_t **vals, size_t *plen)
{
    size_t vbytes = missing ? ((size_t)count + 7) / 8 : 0;
    *plen = vbytes + (size_t)count * width;
    int rv = reserve(e, COLSTORE_HEADER_BYTES + *plen);
    if (rv != 0)
        return rv;
    uint8_t *p = e->buf + COLSTORE_HEADER_BYTES;
    memset(p, 0, *plen);
    *validity = missing ? p : NULL;
    *vals = p + vbytes;
    return AIOPS_OK;
}

static void mark_present(uint8_t *validity, uint32_t i)
{
    if (validity != NULL)
        validity[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static int encode_f64(struct colstore_encoder *e, const struct column *c, uint64_t first,
                      uint32_t count, struct header *h)
{
    const double *v = c->f64 + first;
    int missing;
    unsigned scale, width;
    int64_t base;
    int rv;
    h->kind = KIND_F64;
    if (plan_int(v, count, &missing, &scale, &base, &width)) {
        uint8_t *validity, *vals;
        size_t plen;
        if ((rv = packed_payload(e, count, width, missing, &validity, &vals, &plen)) != 0)
            return rv;
        for (uint32_t i = 0; i < count; i++) {
            double x = v[i];
            if (x != x)
                continue;
            mark_present(validity, i);
            int64_t k = round_i64(x * pow10d[scale]);
            put_uw(vals + (size_t)i * width, width, (uint64_t)k - (uint64_t)base);
        }
        h->encoding = ENC_INT;
        h->width = (uint8_t)width;
        h->scale = (uint8_t)scale;
        h->flags = missing ? FLAG_VALIDITY : 0;
        h->base = base;
        h->payload_len = (uint32_t)plen;
        return AIOPS_OK;
    }
    size_t plen = (size_t)count * 8;
    if ((rv = reserve(e, COLSTORE_HEADER_BYTES + plen)) != 0)
        return rv;
    uint8_t *p = e->buf + COLSTORE_HEADER_BYTES;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t u;
        memcpy(&u, &v[i], 8);
        bytes_store_le64(p + 8 * (size_t)i, u);
    }
    h->encoding = ENC_RAW;
    h->width = 8;
    h->payload_len = (uint32_t)plen;
    return AIOPS_OK;
}

static unsigned code_width(uint64_t dict_size)
{
    return dict_size <= 0x100 ? 1 : dict_size <= 0x10000 ? 2 : 4;
}

static int encode_codes(struct colstore_encoder *e, const struct column *c, uint64_t first,
                        uint32_t count, struct header *h)
{
    const uint32_t *v = c->codes + first;
    int missing = 0, rv;
    for (uint32_t i = 0; i < count && !missing; i++)
        missing = v[i] == TABLE_MISSING;
    unsigned width = code_width(c->dict.count);
    uint8_t *validity, *vals;
    size_t plen;
    if ((rv = packed_payload(e, count, width, missing, &validity, &vals, &plen)) != 0)
        return rv;
    for (uint32_t i = 0; i < count; i++) {
        if (v[i] == TABLE_MISSING)
            continue;
        mark_present(validity, i);
        put_uw(vals + (size_t)i * width, width, v[i]);
    }
    h->kind = KIND_CODES;
    h->encoding = ENC_RAW;
    h->width = (uint8_t)width;
    h->flags = missing ? FLAG_VALIDITY : 0;
    h->base = (int64_t)c->dict.count;
    h->payload_len = (uint32_t)plen;
    return AIOPS_OK;
}

/* The dictionary piece starting at string code `first`: as many strings as fit in
 * DICT_PIECE_BYTES (at least one). */
static int encode_dict(struct colstore_encoder *e, const struct column *c, uint64_t first,
                       struct header *h, uint64_t *next)
{
    const struct strdict *d = &c->dict;
    uint64_t k = first;
    size_t bytes = 0;
    while (k < d->count) {
        size_t len = strdict_len(d, (uint32_t)k);
        if (k > first && bytes + 4 + len > DICT_PIECE_BYTES)
            break;
        if (bytes + 4 + len > UINT32_MAX - COLSTORE_HEADER_BYTES)
            return AIOPS_ETOOBIG;
        bytes += 4 + len;
        k++;
    }
    int rv = reserve(e, COLSTORE_HEADER_BYTES + bytes);
    if (rv != 0)
        return rv;
    uint32_t count = (uint32_t)(k - first);
    uint8_t *lens = e->buf + COLSTORE_HEADER_BYTES;
    uint8_t *text = lens + 4 * (size_t)count;
    for (uint32_t i = 0; i < count; i++) {
        size_t len = strdict_len(d, (uint32_t)(first + i));
        bytes_store_le32(lens + 4 * (size_t)i, (uint32_t)len);
        memcpy(text, strdict_str(d, (uint32_t)(first + i)), len);
        text += len;
    }
    h->kind = KIND_DICT;
    h->encoding = ENC_RAW;
    h->count = count;
    h->first = first;
    h->payload_len = (uint32_t)bytes;
    *next = k;
    return AIOPS_OK;
}

int colstore_encoder_next(struct colstore_encoder *e, struct colstore_chunk *out)
{
    const struct table *t = e->t;
    memset(out, 0, sizeof *out);
    uint64_t nchunks = ((uint64_t)t->nrows + COLSTORE_CHUNK_ROWS - 1) / COLSTORE_CHUNK_ROWS;
    if (nchunks > INT32_MAX || t->ncols > INT32_MAX)
        return AIOPS_ETOOBIG;
    while (e->col < t->ncols) {
        const struct column *c = &t->cols[e->col];
        struct header h;
        memset(&h, 0, sizeof h);
        h.col_index = (uint32_t)e->col;
        int rv;
        if (e->phase == 0) {
            if (c->storage != COL_DICT || e->next >= c->dict.count) {
                e->phase = 1;
                e->next = 0;
                continue;
            }
            uint64_t next;
            if (e->piece >= INT32_MAX)
                return AIOPS_ETOOBIG;
            h.chunk_index = -1 - e->piece;
            if ((rv = encode_dict(e, c, e->next, &h, &next)) != 0)
                return rv;
            e->next = next;
            e->piece++;
        } else {
            if (e->next >= nchunks) {
                e->col++;
                e->phase = 0;
                e->next = 0;
                e->piece = 0;
                continue;
            }
            uint64_t first = e->next * COLSTORE_CHUNK_ROWS;
            uint64_t left = t->nrows - first;
            h.count = (uint32_t)(left < COLSTORE_CHUNK_ROWS ? left : COLSTORE_CHUNK_ROWS);
            h.first = first;
            h.chunk_index = (int32_t)e->next;
            rv = c->storage == COL_F64 ? encode_f64(e, c, first, h.count, &h)
                                       : encode_codes(e, c, first, h.count, &h);
            if (rv != 0)
                return rv;
            e->next++;
        }
        if ((rv = reserve(e, COLSTORE_HEADER_BYTES)) != 0)
            return rv;
        write_header(e->buf, &h);
        out->col_index = (int)h.col_index;
        out->chunk_index = h.chunk_index;
        out->data = e->buf;
        out->len = COLSTORE_HEADER_BYTES + (size_t)h.payload_len;
        return AIOPS_OK;
    }
    return AIOPS_OK;
}

/* --- decoder --------------------------------------------------------------------------- */

struct colstore_piece {
    uint64_t first;
    uint32_t count;
    uint8_t *data; /* count u32 lengths then the text */
    size_t len;
};

static int read_header(const uint8_t *p, size_t len, struct header *h)
{
    if (len < COLSTORE_HEADER_BYTES || bytes_load_le32(p) != MAGIC || p[4] != COLSTORE_VERSION ||
        bytes_load_le16(p + 10) != 0)
        return AIOPS_ECORRUPT;
    h->version = p[4];
    h->kind = p[5];
    h->encoding = p[6];
    h->width = p[7];
    h->scale = p[8];
    h->flags = p[9];
    h->chunk_index = (int32_t)bytes_load_le32(p + 12);
    h->col_index = bytes_load_le32(p + 16);
    h->count = bytes_load_le32(p + 20);
    h->first = bytes_load_le64(p + 24);
    h->base = (int64_t)bytes_load_le64(p + 32);
    h->payload_len = bytes_load_le32(p + 40);
    if ((size_t)h->payload_len != len - COLSTORE_HEADER_BYTES)
        return AIOPS_ECORRUPT;
    uint32_t crc = crc32c(0, p, 44);
    crc = crc32c(crc, p + COLSTORE_HEADER_BYTES, h->payload_len);
    if (crc != bytes_load_le32(p + 44))
        return AIOPS_ECORRUPT;
    return AIOPS_OK;
}

void colstore_decoder_free(struct colstore_decoder *d)
{
    if (d->t != NULL && d->pieces != NULL) {
        for (size_t c = 0; c < d->t->ncols; c++) {
            for (size_t i = 0; i < d->npieces[c]; i++)
                free(d->pieces[c][i].data);
            free(d->pieces[c]);
        }
    }
    free(d->pieces);
    free(d->npieces);
    free(d->cap_pieces);
    free(d->seen);
    free(d->dict_size);
    memset(d, 0, sizeof *d);
}

int colstore_decode_begin(struct colstore_decoder *d, struct table *t)
{
    memset(d, 0, sizeof *d);
    for (size_t c = 0; c < t->ncols; c++) {
        const struct column *col = &t->cols[c];
        if (col->f64 || col->codes || col->dict.count ||
            (col->storage != COL_F64 && col->storage != COL_DICT))
            return AIOPS_EINVAL;
    }
    d->t = t;
    d->nchunks = (t->nrows + COLSTORE_CHUNK_ROWS - 1) / COLSTORE_CHUNK_ROWS;
    size_t nc = t->ncols ? t->ncols : 1;
    if (d->nchunks && t->ncols > SIZE_MAX / d->nchunks)
        return AIOPS_ENOMEM;
    d->seen = calloc(t->ncols * d->nchunks + 1, 1);
    d->dict_size = malloc(nc * sizeof *d->dict_size);
    d->pieces = calloc(nc, sizeof *d->pieces);
    d->npieces = calloc(nc, sizeof *d->npieces);
    d->cap_pieces = calloc(nc, sizeof *d->cap_pieces);
    if (!d->seen || !d->dict_size || !d->pieces || !d->npieces || !d->cap_pieces)
        goto nomem;
    for (size_t c = 0; c < t->ncols; c++) {
        struct column *col = &t->cols[c];
        d->dict_size[c] = UINT64_MAX;
        size_t n = t->nrows ? t->nrows : 1;
        if (col->storage == COL_F64) {
            col->f64 = malloc(n * sizeof *col->f64);
            if (col->f64 == NULL)
                goto nomem;
        } else {
            col->codes = malloc(n * sizeof *col->codes);
            if (col->codes == NULL)
                goto nomem;
        }
    }
    return AIOPS_OK;
nomem:
    colstore_decoder_free(d);
    return AIOPS_ENOMEM;
}

static int decode_rows(struct colstore_decoder *d, struct column *col, const struct header *h,
                       const uint8_t *p)
{
    uint32_t n = h->count;
    size_t vbytes = (h->flags & FLAG_VALIDITY) ? ((size_t)n + 7) / 8 : 0;
    if (h->flags & ~FLAG_VALIDITY)
        return AIOPS_ECORRUPT;
    const uint8_t *valid = (h->flags & FLAG_VALIDITY) ? p : NULL;
    const uint8_t *vals = p + vbytes;
    if (h->kind == KIND_F64) {
        if (col->storage != COL_F64)
            return AIOPS_ECORRUPT;
        double *out = col->f64 + h->first;
        if (h->encoding == ENC_RAW) {
            if (h->width != 8 || h->flags || h->scale || h->base ||
                h->payload_len != (uint64_t)n * 8)
                return AIOPS_ECORRUPT;
            for (uint32_t i = 0; i < n; i++) {
                uint64_t u = bytes_load_le64(p + 8 * (size_t)i);
                memcpy(&out[i], &u, 8);
            }
            return AIOPS_OK;
        }
        unsigned w = h->width;
        if (h->encoding != ENC_INT || (w != 0 && w != 1 && w != 2 && w != 4) ||
            h->scale > MAX_SCALE || h->payload_len != vbytes + (uint64_t)n * w)
            return AIOPS_ECORRUPT;
        const double div = pow10d[h->scale];
        for (uint32_t i = 0; i < n; i++) {
            if (valid && !(valid[i >> 3] & (1u << (i & 7)))) {
                out[i] = NAN;
                continue;
            }
            int64_t k = (int64_t)((uint64_t)h->base + get_uw(vals + (size_t)i * w, w));
            out[i] = h->scale ? (double)k / div : (double)k;
        }
        return AIOPS_OK;
    }
    if (h->kind != KIND_CODES || col->storage != COL_DICT || h->encoding != ENC_RAW ||
        h->scale != 0 || h->base < 0 || (uint64_t)h->base > UINT32_MAX - 1 ||
        h->width != code_width((uint64_t)h->base) ||
        h->payload_len != vbytes + (uint64_t)n * h->width)
        return AIOPS_ECORRUPT;
    size_t c = (size_t)(col - d->t->cols);
    if (d->dict_size[c] != UINT64_MAX && d->dict_size[c] != (uint64_t)h->base)
        return AIOPS_ECORRUPT;
    d->dict_size[c] = (uint64_t)h->base;
    uint32_t limit = (uint32_t)h->base;
    uint32_t *out = col->codes + h->first;
    unsigned w = h->width;
    for (uint32_t i = 0; i < n; i++) {
        if (valid && !(valid[i >> 3] & (1u << (i & 7)))) {
            out[i] = TABLE_MISSING;
            continue;
        }
        uint32_t k = (uint32_t)get_uw(vals + (size_t)i * w, w);
        if (k >= limit)
            return AIOPS_ECORRUPT;
        out[i] = k;
    }
    return AIOPS_OK;
}

static int add_piece(struct colstore_decoder *d, size_t c, const struct header *h, const uint8_t *p)
{
    if (d->t->cols[c].storage != COL_DICT || h->encoding != ENC_RAW || h->width || h->scale ||
        h->flags || h->base || h->count == 0 || (uint64_t)h->count * 4 > h->payload_len ||
        h->first >= UINT32_MAX || h->first + h->count > UINT32_MAX - 1)
        return AIOPS_ECORRUPT;
    uint64_t text = 0;
    for (uint32_t i = 0; i < h->count; i++)
        text += bytes_load_le32(p + 4 * (size_t)i);
    if ((uint64_t)h->count * 4 + text != h->payload_len)
        return AIOPS_ECORRUPT;
    if (d->npieces[c] == d->cap_pieces[c]) {
        size_t cap = d->cap_pieces[c] ? d->cap_pieces[c] * 2 : 4;
        struct colstore_piece *np = realloc(d->pieces[c], cap * sizeof *np);
        if (np == NULL)
            return AIOPS_ENOMEM;
        d->pieces[c] = np;
        d->cap_pieces[c] = cap;
    }
    struct colstore_piece *pc = &d->pieces[c][d->npieces[c]];
    pc->data = malloc(h->payload_len ? h->payload_len : 1);
    if (pc->data == NULL)
        return AIOPS_ENOMEM;
    memcpy(pc->data, p, h->payload_len);
    pc->len = h->payload_len;
    pc->first = h->first;
    pc->count = h->count;
    d->npieces[c]++;
    return AIOPS_OK;
}

int colstore_decode_chunk(struct colstore_decoder *d, long col_index, long chunk_index,
                          const void *data, size_t len)
{
    const struct table *t = d->t;
    struct header h;
    int rv;
    if (t == NULL)
        return AIOPS_EINVAL;
    if (col_index < 0 || (size_t)col_index >= t->ncols || chunk_index < INT32_MIN ||
        chunk_index > INT32_MAX)
        return AIOPS_ECORRUPT;
    if ((rv = read_header(data, len, &h)) != 0)
        return rv;
    if (h.col_index != (uint32_t)col_index || h.chunk_index != (int32_t)chunk_index)
        return AIOPS_ECORRUPT;
    const uint8_t *payload = (const uint8_t *)data + COLSTORE_HEADER_BYTES;
    size_t c = (size_t)col_index;
    if (chunk_index < 0) {
        if (h.kind != KIND_DICT)
            return AIOPS_ECORRUPT;
        return add_piece(d, c, &h, payload);
    }
    size_t k = (size_t)chunk_index;
    if (h.kind == KIND_DICT || k >= d->nchunks || h.first != (uint64_t)k * COLSTORE_CHUNK_ROWS)
        return AIOPS_ECORRUPT;
    uint64_t left = t->nrows - h.first;
    if (h.count != (left < COLSTORE_CHUNK_ROWS ? left : COLSTORE_CHUNK_ROWS))
        return AIOPS_ECORRUPT;
    if (d->seen[c * d->nchunks + k])
        return AIOPS_ECORRUPT;
    if ((rv = decode_rows(d, &t->cols[c], &h, payload)) != 0)
        return rv;
    d->seen[c * d->nchunks + k] = 1;
    return AIOPS_OK;
}

static int cmp_piece(const void *a, const void *b)
{
    const struct colstore_piece *x = a, *y = b;
    return (x->first > y->first) - (x->first < y->first);
}

/* Joins the pieces of column c into its dictionary. */
static int assemble_dict(struct colstore_decoder *d, size_t c)
{
    struct column *col = &d->t->cols[c];
    size_t np = d->npieces[c];
    struct colstore_piece *pc = d->pieces[c];
    if (np > 1)
        qsort(pc, np, sizeof *pc, cmp_piece);
    uint64_t count = 0, text = 0;
    for (size_t i = 0; i < np; i++) {
        if (pc[i].first != count)
            return AIOPS_ECORRUPT; /* a gap or an overlap */
        count += pc[i].count;
        text += pc[i].len - 4 * (uint64_t)pc[i].count;
    }
    uint64_t declared = d->dict_size[c];
    if (declared == UINT64_MAX)
        declared = count; /* no row chunk (no rows): trust the pieces */
    if (count != declared || count > UINT32_MAX - 2)
        return AIOPS_ECORRUPT;
    struct strdict *sd = &col->dict;
    strdict_free(sd);
    sd->offsets = malloc(((size_t)count + 1) * sizeof *sd->offsets);
    sd->bytes = malloc((size_t)(text + count) + 1);
    if (sd->offsets == NULL || sd->bytes == NULL) {
        strdict_free(sd);
        return AIOPS_ENOMEM;
    }
    sd->count = (uint32_t)count;
    sd->cap = (uint32_t)count + 1;
    sd->bytes_cap = (size_t)(text + count) + 1;
    size_t at = 0;
    uint32_t k = 0;
    sd->offsets[0] = 0;
    for (size_t i = 0; i < np; i++) {
        const uint8_t *lens = pc[i].data;
        const uint8_t *s = lens + 4 * (size_t)pc[i].count;
        for (uint32_t j = 0; j < pc[i].count; j++) {
            uint32_t len = bytes_load_le32(lens + 4 * (size_t)j);
            memcpy(sd->bytes + at, s, len);
            sd->bytes[at + len] = '\0';
            at += (size_t)len + 1;
            s += len;
            sd->offsets[++k] = at;
        }
    }
    sd->bytes_len = at;
    return AIOPS_OK;
}

int colstore_decode_end(struct colstore_decoder *d)
{
    struct table *t = d->t;
    int rv = AIOPS_OK;
    if (t == NULL)
        return AIOPS_EINVAL;
    for (size_t i = 0; i < t->ncols * d->nchunks && rv == 0; i++)
        if (!d->seen[i])
            rv = AIOPS_ECORRUPT;
    for (size_t c = 0; c < t->ncols && rv == 0; c++) {
        if (t->cols[c].storage == COL_DICT)
            rv = assemble_dict(d, c);
        else if (d->npieces[c] > 0)
            rv = AIOPS_ECORRUPT;
    }
    colstore_decoder_free(d);
    return rv;
}

/* --- schema ---------------------------------------------------------------------------- */

static json_t *num_or_null(double v, int integral)
{
    if (!isfinite(v))
        return json_null();
    if (integral && v == floor(v) && fabs(v) < 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

int colstore_schema_json(const struct table *t, json_t **out)
{
    *out = NULL;
    json_t *arr = json_array();
    if (arr == NULL)
        return AIOPS_ENOMEM;
    for (size_t c = 0; c < t->ncols; c++) {
        const struct column *col = &t->cols[c];
        int integral = col->storage == COL_F64 && col->is_integer;
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o}", "name", col->name, "type",
                      col_type_name(col->type), "storage", col->storage == COL_F64 ? "f64" : "dict",
                      "missing", (json_int_t)col->missing, "distinct", (json_int_t)col->distinct,
                      "min", num_or_null(col->min, integral), "max",
                      num_or_null(col->max, integral), "mean", num_or_null(col->mean, 0));
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return AIOPS_ENOMEM;
        }
    }
    *out = arr;
    return AIOPS_OK;
}

static double num_field(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

int colstore_schema_parse(const json_t *schema, size_t nrows, struct table *t)
{
    memset(t, 0, sizeof *t);
    if (!json_is_array(schema))
        return AIOPS_EINVAL;
    size_t n = json_array_size(schema);
    t->cols = calloc(n ? n : 1, sizeof *t->cols);
    if (t->cols == NULL)
        return AIOPS_ENOMEM;
    t->nrows = nrows;
    for (size_t c = 0; c < n; c++) {
        const json_t *o = json_array_get(schema, c);
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *type = json_string_value(json_object_get(o, "type"));
        const char *storage = json_string_value(json_object_get(o, "storage"));
        int ty = type ? col_type_parse(type) : -1;
        if (!json_is_object(o) || name == NULL || ty < 0 || storage == NULL ||
            (strcmp(storage, "f64") != 0 && strcmp(storage, "dict") != 0)) {
            table_free(t);
            return AIOPS_EINVAL;
        }
        struct column *col = &t->cols[c];
        col->name = strdup(name);
        t->ncols = c + 1;
        if (col->name == NULL) {
            table_free(t);
            return AIOPS_ENOMEM;
        }
        col->type = (enum col_type)ty;
        col->storage = strcmp(storage, "f64") == 0 ? COL_F64 : COL_DICT;
        const json_t *m = json_object_get(o, "missing"), *dd = json_object_get(o, "distinct");
        col->missing =
            json_is_integer(m) && json_integer_value(m) >= 0 ? (size_t)json_integer_value(m) : 0;
        col->distinct =
            json_is_integer(dd) && json_integer_value(dd) >= 0 ? (size_t)json_integer_value(dd) : 0;
        col->min = num_field(o, "min");
        col->max = num_field(o, "max");
        col->mean = num_field(o, "mean");
        col->is_integer = col->storage == COL_F64 && json_is_integer(json_object_get(o, "min")) &&
                          json_is_integer(json_object_get(o, "max"));
    }
    t->ncols = n;
    return AIOPS_OK;
}
