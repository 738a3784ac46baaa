#include "data/csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/array.h"
#include "core/buf.h"
#include "core/err.h"

size_t csv_stream_block_size;

enum { BLK = 64 };

void csv_reader_init(struct csv_reader *r, const struct csv_config *cfg)
{
    memset(r, 0, sizeof *r);
    r->delim = cfg->delimiter;
    r->quote = cfg->no_quoting ? cfg->delimiter : '"';
    r->max_field = cfg->max_field_bytes ? cfg->max_field_bytes : (size_t)1 << 20;
    if (r->max_field > UINT32_MAX / 2)
        r->max_field = UINT32_MAX / 2;
    r->max_fields = cfg->max_fields ? cfg->max_fields : 10001;
    r->max_record = cfg->max_record_bytes ? cfg->max_record_bytes : (size_t)256 << 20;
    if (r->max_record > UINT32_MAX / 2)
        r->max_record = UINT32_MAX / 2;
}

void csv_reader_free(struct csv_reader *r)
{
    free(r->fields);
    free(r->scratch);
    free(r->fixups);
    r->fields = NULL;
    r->scratch = NULL;
    r->fixups = NULL;
}

void csv_reader_window_changed(struct csv_reader *r)
{
    r->blk_base = r->blk_end = 0;
    r->blk_mask = 0;
    r->blk_high = 0;
}

/* Computes the mask of special bytes of the 64 bytes at buf + p (fewer at the end of the
 * window: the rest reads as zero bytes, which are never special). */
static void load_block(struct csv_reader *r, const char *buf, size_t len, size_t p)
{
    const unsigned char *src = (const unsigned char *)buf + p;
    unsigned char pad[BLK];
    if (len - p < BLK) {
        memset(pad, 0, sizeof pad);
        memcpy(pad, src, len - p);
        src = pad;
    }
#if defined(__SSE2__)
    const __m128i vd = _mm_set1_epi8(r->delim), vq = _mm_set1_epi8(r->quote);
    const __m128i vn = _mm_set1_epi8('\n'), vr = _mm_set1_epi8('\r');
    uint64_t mask = 0;
    int high = 0;
    for (int i = 0; i < BLK / 16; i++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(src + 16 * i));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, vd), _mm_cmpeq_epi8(v, vq)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, vn), _mm_cmpeq_epi8(v, vr)));
        mask |= (uint64_t)(unsigned)_mm_movemask_epi8(m) << (16 * i);
        high |= _mm_movemask_epi8(v);
    }
#else
    uint64_t mask = 0;
    int high = 0;
    for (int i = 0; i < BLK; i++) {
        unsigned char c = src[i];
        if (c == (unsigned char)r->delim || c == (unsigned char)r->quote || c == '\n' || c == '\r')
            mask |= (uint64_t)1 << i;
        high |= c & 0x80;
    }
#endif
    r->blk_base = p;
    r->blk_end = p + BLK;
    r->blk_mask = mask;
    r->blk_high = high != 0;
}

/* Offset of the first special byte at or after p, or len when there is none. ORs the
 * high-byte flag of every block it loads into *high. */
static inline size_t next_special(struct csv_reader *r, const char *buf, size_t len, size_t p,
                                  int *high)
{
    for (;;) {
        if (p >= r->blk_base && p < r->blk_end) {
            uint64_t m = r->blk_mask & (~(uint64_t)0 << (p - r->blk_base));
            if (m != 0)
                return r->blk_base + (size_t)__builtin_ctzll(m);
            p = r->blk_end;
        }
        if (p >= len)
            return len;
        load_block(r, buf, len, p);
        *high |= r->blk_high;
    }
}

/* Scratch keeps SLACK initialised bytes past its contents (see csv_record.slack). */
enum { SLACK = 16 };

static int scratch_append(struct csv_reader *r, const char *p, size_t n)
{
    if (r->scratch_len + n + SLACK > r->scratch_cap) {
        size_t old = r->scratch_cap;
        int rv = array_reserve(&r->scratch, &r->scratch_cap, r->scratch_len + n + SLACK, 1, 256);
        if (rv != 0)
            return rv;
        memset(r->scratch + old, 0, r->scratch_cap - old);
    }
    memcpy(r->scratch + r->scratch_len, p, n);
    r->scratch_len += n;
    return AIOPS_OK;
}

/* Stores field number nf (0-based) of the record being read. */
static inline int put_field(struct csv_reader *r, size_t nf, const char *p, size_t n, size_t raw)
{
    if (nf >= r->max_fields)
        return AIOPS_OK;
    if (nf >= r->fields_cap) {
        size_t cap = r->fields_cap ? r->fields_cap * 2 : 64;
        if (cap > r->max_fields)
            cap = r->max_fields;
        struct csv_field *f = realloc(r->fields, cap * sizeof *f);
        if (f == NULL)
            return AIOPS_ENOMEM;
        r->fields = f;
        r->fields_cap = cap;
    }
    r->fields[nf].p = p;
    r->fields[nf].len = (uint32_t)n;
    r->fields[nf].raw = (uint32_t)raw;
    return AIOPS_OK;
}

static int add_fixup(struct csv_reader *r, size_t nf, size_t off)
{
    if (nf >= r->max_fields)
        return AIOPS_OK;
    int rv = array_reserve(&r->fixups, &r->fixups_cap, r->nfixups + 2, sizeof *r->fixups, 16);
    if (rv != 0)
        return rv;
    r->fixups[r->nfixups++] = (uint32_t)nf;
    r->fixups[r->nfixups++] = (uint32_t)off;
    return AIOPS_OK;
}

static int fail(struct csv_reader *r, enum csv_error e, uint64_t line, size_t pos, size_t field)
{
    r->err = e;
    r->err_line = line;
    r->err_record = r->records + 1;
    r->err_pos = pos;
    r->err_field = field + 1;
    return AIOPS_EPARSE;
}

/* Ends field nf as the bytes gathered in the scratch buffer from scr_off (a quoted field
 * with doubled quotes, or one cut by the window), which starts at byte fstart of the input
 * (record start `start`, on line `line`). */
static int put_scratch_field(struct csv_reader *r, size_t nf, size_t scr_off, uint64_t line,
                             size_t start, size_t fstart)
{
    size_t n = r->scratch_len - scr_off;
    if (n > r->max_field)
        return fail(r, CSV_ERR_FIELD_TOO_LONG, line, fstart, nf);
    int rv = put_field(r, nf, NULL, n, fstart - start);
    return rv != 0 ? rv : add_fixup(r, nf, scr_off);
}

int csv_next(struct csv_reader *r, const char *buf, size_t len, size_t *pos, int final,
             struct csv_record *rec, enum csv_status *st)
{
    size_t p = *pos;
    uint64_t line = r->line;
    int rv;

    /* blank lines are not records */
    for (;;) {
        if (p >= len) {
            r->line = line;
            *pos = p;
            *st = final ? CSV_END : CSV_NEED_MORE;
            return AIOPS_OK;
        }
        char c = buf[p];
        if (c == '\n') {
            p++;
        } else if (c == '\r') {
            if (p + 1 < len)
                p += buf[p + 1] == '\n' ? 2 : 1;
            else if (final)
                p++;
            else {
                /* might be the CR of a CRLF cut by the window */
                r->line = line;
                *pos = p;
                *st = CSV_NEED_MORE;
                return AIOPS_OK;
            }
        } else {
            break;
        }
        line++;
    }
    /* the blank lines are consumed whatever happens to the record */
    r->line = line;
    *pos = p;

    const size_t start = p;
    const uint64_t start_line = line + 1;
    int high = r->blk_high && start < r->blk_end && start >= r->blk_base;
    size_t nf = 0;
    size_t end; /* end of the record's raw bytes */
    r->scratch_len = 0;
    r->nfixups = 0;

    for (;;) {
        const size_t fstart = p;
        int in_scratch = 0;
        size_t scr_off = 0, seg = p;
        if (p < len && buf[p] == '"' && r->quote == '"') {
            /* quoted field */
            size_t q = p + 1;
            seg = q;
            size_t close;
            for (;;) {
                size_t s = next_special(r, buf, len, q, &high);
                if (s >= len) {
                    if (final)
                        return fail(r, CSV_ERR_UNTERMINATED_QUOTE, start_line, fstart, nf);
                    /* bound the carried-over bytes; the content, not the raw bytes,
                     * is what counts, so any window gives the same answer */
                    if ((in_scratch ? r->scratch_len - scr_off : 0) + (len - seg) > r->max_field)
                        return fail(r, CSV_ERR_FIELD_TOO_LONG, start_line, fstart, nf);
                    goto need_more;
                }
                char c = buf[s];
                if (c == '"') {
                    if (s + 1 < len && buf[s + 1] == '"') {
                        if (!in_scratch) {
                            in_scratch = 1;
                            scr_off = r->scratch_len;
                        }
                        if ((rv = scratch_append(r, buf + seg, s + 1 - seg)) != 0)
                            return rv;
                        seg = q = s + 2;
                        continue;
                    }
                    if (s + 1 == len && !final)
                        goto need_more; /* "" cut by the window? */
                    close = s;
                    break;
                }
                if (c == '\n' || (c == '\r' && !(s + 1 < len && buf[s + 1] == '\n')))
                    line++;
                q = s + 1;
            }
            if (in_scratch && (rv = scratch_append(r, buf + seg, close - seg)) != 0)
                return rv;
            p = close + 1;
            if (p < len && buf[p] != r->delim && buf[p] != '\n' && buf[p] != '\r') {
                /* bytes after the closing quote continue the field, unquoted */
                if (!in_scratch) {
                    in_scratch = 1;
                    scr_off = r->scratch_len;
                    if ((rv = scratch_append(r, buf + fstart + 1, close - fstart - 1)) != 0)
                        return rv;
                }
                seg = p;
                goto unquoted;
            }
            if (in_scratch) {
                if ((rv = put_scratch_field(r, nf, scr_off, start_line, start, fstart)) != 0)
                    return rv;
            } else {
                size_t n = close - fstart - 1;
                if (n > r->max_field)
                    return fail(r, CSV_ERR_FIELD_TOO_LONG, start_line, fstart, nf);
                if ((rv = put_field(r, nf, buf + fstart + 1, n, fstart - start)) != 0)
                    return rv;
            }
            nf++;
            if (p >= len) {
                if (!final)
                    goto need_more;
                end = p;
                break;
            }
            if (buf[p] == r->delim) {
                p++;
                continue;
            }
            end = p;
            goto line_end;
        }
    unquoted:;
        size_t s = p;
        for (;;) {
            s = next_special(r, buf, len, s, &high);
            if (s >= len || buf[s] != '"')
                break;
            s++; /* a quote inside an unquoted field is data */
        }
        if (s >= len && !final) {
            if ((in_scratch ? r->scratch_len - scr_off + (s - seg) : s - fstart) > r->max_field)
                return fail(r, CSV_ERR_FIELD_TOO_LONG, start_line, fstart, nf);
            goto need_more;
        }
        if (in_scratch) {
            if ((rv = scratch_append(r, buf + seg, s - seg)) != 0 ||
                (rv = put_scratch_field(r, nf, scr_off, start_line, start, fstart)) != 0)
                return rv;
        } else {
            if (s - fstart > r->max_field)
                return fail(r, CSV_ERR_FIELD_TOO_LONG, start_line, fstart, nf);
            if ((rv = put_field(r, nf, buf + fstart, s - fstart, fstart - start)) != 0)
                return rv;
        }
        nf++;
        if (s >= len) {
            end = p = s;
            break;
        }
        if (buf[s] == r->delim) {
            p = s + 1;
            continue;
        }
        end = p = s;
        goto line_end;
    }
    goto done;

line_end:
    /* buf[p] is CR or LF */
    if (buf[p] == '\r') {
        if (p + 1 < len) {
            p += buf[p + 1] == '\n' ? 2 : 1;
        } else if (final) {
            p++;
        } else {
            goto need_more;
        }
    } else {
        p++;
    }
    line++;

done:
    if (end - start > r->max_record)
        return fail(r, CSV_ERR_RECORD_TOO_LONG, start_line, start, 0);
    for (size_t i = 0; i < r->nfixups; i += 2)
        r->fields[r->fixups[i]].p = r->scratch + r->fixups[i + 1];
    r->records++;
    r->line = line;
    *pos = p;
    rec->fields = r->fields;
    rec->nfields = nf;
    rec->nstored = nf < r->max_fields ? nf : r->max_fields;
    rec->number = r->records;
    rec->line = start_line;
    rec->offset = start;
    rec->raw = buf + start;
    rec->raw_len = end - start;
    rec->maybe_high = high;
    /* scratch always has SLACK bytes to spare; window fields have what follows them */
    rec->slack = len - end < SLACK ? len - end : SLACK;
    *st = CSV_RECORD;
    return AIOPS_OK;

need_more:
    if (len - start > r->max_record)
        return fail(r, CSV_ERR_RECORD_TOO_LONG, start_line, start, 0);
    *st = CSV_NEED_MORE;
    return AIOPS_OK;
}

char csv_sniff(const char *data, size_t len, int no_quoting)
{
    static const char cands[4] = {',', ';', '\t', '|'};
    enum { MAX_RECORDS = 20 };
    size_t counts[MAX_RECORDS][4];
    size_t nrec = 0, cur[4] = {0, 0, 0, 0};
    int in_quote = 0, complete_last = 0;
    size_t i = 0;
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    for (; i < len && nrec < MAX_RECORDS; i++) {
        char c = data[i];
        if (c == '"' && !no_quoting) {
            in_quote = !in_quote;
        } else if (!in_quote && (c == '\n' || c == '\r')) {
            int blank = cur[0] + cur[1] + cur[2] + cur[3] == 0 &&
                        (i == 0 || data[i - 1] == '\n' || data[i - 1] == '\r');
            if (!blank) {
                memcpy(counts[nrec++], cur, sizeof cur);
                complete_last = 1;
            }
            memset(cur, 0, sizeof cur);
        } else if (!in_quote) {
            for (int k = 0; k < 4; k++)
                if (c == cands[k])
                    cur[k]++;
            complete_last = 0;
        }
    }
    /* a last record without its line end counts only when the data ends there */
    if (nrec < MAX_RECORDS && i >= len && !in_quote && !complete_last &&
        cur[0] + cur[1] + cur[2] + cur[3] > 0)
        memcpy(counts[nrec++], cur, sizeof cur);
    if (nrec == 0)
        return ',';
    int best = -1;
    for (int k = 0; k < 4; k++) {
        if (counts[0][k] == 0)
            continue;
        int same = 1;
        for (size_t r = 1; r < nrec; r++)
            same &= counts[r][k] == counts[0][k];
        if (same && (best < 0 || counts[0][k] > counts[0][best]))
            best = k;
    }
    if (best < 0) {
        for (int k = 0; k < 4; k++)
            if (counts[0][k] > 0 && (best < 0 || counts[0][k] > counts[0][best]))
                best = k;
    }
    return best < 0 ? ',' : cands[best];
}

/* --- streams ------------------------------------------------------------------------- */

static void stream_init(struct csv_stream *s, const struct csv_config *cfg, const char *head,
                        size_t headlen)
{
    s->had_bom = headlen >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0;
    s->delim = cfg->delimiter ? cfg->delimiter : csv_sniff(head, headlen, cfg->no_quoting);
    struct csv_config c = *cfg;
    c.delimiter = s->delim;
    csv_reader_init(&s->rd, &c);
}

int csv_stream_open_mem(struct csv_stream *s, const char *data, size_t len,
                        const struct csv_config *cfg)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->mem = data;
    s->len = len;
    s->eof = 1;
    stream_init(s, cfg, data, len < 65536 ? len : 65536);
    s->pos = s->had_bom ? 3 : 0;
    return AIOPS_OK;
}

/* Appends up to want bytes from the file; sets eof at the end. */
static int stream_fill(struct csv_stream *s, size_t want)
{
    int rv = array_reserve(&s->buf, &s->cap, s->len + want + SLACK, 1, 4096);
    if (rv != 0)
        return rv;
    while (want > 0) {
        ssize_t n = read(s->fd, s->buf + s->len, want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return AIOPS_EIO;
        }
        if (n == 0) {
            s->eof = 1;
            break;
        }
        s->len += (size_t)n;
        want -= (size_t)n;
    }
    memset(s->buf + s->len, 0, SLACK); /* the slack promised by csv_record */
    return AIOPS_OK;
}

int csv_stream_open_fd(struct csv_stream *s, int fd, const struct csv_config *cfg)
{
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->block = csv_stream_block_size ? csv_stream_block_size : (size_t)1 << 20;
    /* the first read is large enough to sniff from, whatever the block size */
    int rv = stream_fill(s, s->block > 65536 ? s->block : 65536);
    if (rv != 0) {
        free(s->buf);
        s->buf = NULL;
        csv_reader_init(&s->rd, &(struct csv_config){.delimiter = ','});
        return rv;
    }
    stream_init(s, cfg, s->buf ? s->buf : "", s->len < 65536 ? s->len : 65536);
    s->pos = s->had_bom ? 3 : 0;
    return AIOPS_OK;
}

int csv_stream_next(struct csv_stream *s, struct csv_record *rec, int *got)
{
    const char *buf = s->fd < 0 ? s->mem : s->buf;
    for (;;) {
        enum csv_status st;
        int rv = csv_next(&s->rd, buf, s->len, &s->pos, s->eof, rec, &st);
        if (rv != 0) {
            s->rd.err_pos += s->base;
            return rv;
        }
        if (st == CSV_RECORD) {
            rec->offset += s->base;
            if (s->fd >= 0)
                rec->slack = SLACK; /* zeroed bytes follow the data in the buffer */
            *got = 1;
            return AIOPS_OK;
        }
        if (st == CSV_END) {
            *got = 0;
            return AIOPS_OK;
        }
        /* carry the partial record to the front, then read at least as much again as
         * the partial record holds, so a long record costs a geometric number of reparses */
        size_t keep = s->len - s->pos;
        if (s->pos > 0) {
            memmove(s->buf, s->buf + s->pos, keep);
            s->base += s->pos;
            s->len = keep;
            s->pos = 0;
        }
        if ((rv = stream_fill(s, keep > s->block ? keep : s->block)) != 0)
            return rv;
        buf = s->buf;
        csv_reader_window_changed(&s->rd);
    }
}

void csv_stream_close(struct csv_stream *s)
{
    csv_reader_free(&s->rd);
    free(s->buf);
    s->buf = NULL;
}

void csv_put_field(struct buf *b, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        buf_puts(b, s);
        return;
    }
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            buf_putc(b, '"');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}
