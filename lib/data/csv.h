/* csv.h -- a fast, streaming RFC 4180 tokenizer.
 *
 * Two layers:
 *   csv_reader  tokenizes records out of a contiguous window of bytes. Fields point into
 *               the window when they need no unescaping (unquoted, or quoted without
 *               doubled quotes), into the reader's scratch memory otherwise. A record cut
 *               by the end of a window that is not the last is reported as CSV_NEED_MORE
 *               and parsed again, from its start, once more bytes follow it.
 *   csv_stream  feeds a reader from memory or from a file read in blocks, carrying a
 *               partial record over to the next block, so a file is never held whole. It
 *               skips a UTF-8 byte-order mark and can sniff the delimiter.
 *
 * Dialect: fields separated by one delimiter byte; records end with LF, CRLF or a lone CR;
 * a field starting with '"' is quoted: it may hold delimiters and line breaks, and "" in it
 * stands for one quote. A quote inside an unquoted field is an ordinary byte, and bytes
 * after a closing quote continue the field (as Python's csv and pandas do). Empty lines
 * are not records (pandas' skip_blank_lines). With no_quoting set a '"' is an ordinary byte
 * everywhere (Python's csv.QUOTE_NONE without an escape character): no field is quoted, so a
 * field can hold neither the delimiter nor a line break. The tokenizer does not look at encodings;
 * it only flags records that may contain bytes >= 0x80 so that the caller validates those.
 *
 * Positions: lines are physical lines (1-based, LF / CRLF / lone CR each end one), records
 * are numbered from 1 in the order read, offsets are bytes from the start of the input
 * (after nothing is skipped: a byte-order mark counts). */
#ifndef AIOPS_CSV_H
#define AIOPS_CSV_H

#include <stddef.h>
#include <stdint.h>

struct csv_config {
    char delimiter;          /* the separator; 0 in a stream: sniff (csv_sniff) */
    size_t max_field_bytes;  /* longer fields are an error; 0: 1 MiB */
    size_t max_fields;       /* fields stored per record (more are only counted); 0: 10001 */
    size_t max_record_bytes; /* longer records are an error; 0: 256 MiB */
    int no_quoting;          /* 1: '"' is data, never a quote (csv.QUOTE_NONE); 0: RFC 4180 */
};

struct csv_field {
    const char *p; /* the field's text (not NUL-terminated); valid until the next call */
    uint32_t len;
    uint32_t raw; /* offset of the field's first raw byte (its opening quote, if any)
                     from the start of the record */
};

struct csv_record {
    const struct csv_field *fields; /* nstored fields, owned by the reader */
    size_t nstored;
    size_t nfields;  /* fields in the record; > nstored when over max_fields */
    uint64_t number; /* 1-based record number */
    uint64_t line;   /* 1-based physical line where the record starts */
    uint64_t offset; /* byte offset of the record's first byte in the input */
    const char *raw; /* the record's raw bytes, line end excluded; valid until the next call */
    size_t raw_len;
    int maybe_high; /* 0 when every byte of the record is ASCII */
    size_t slack;   /* bytes that may be read (not used) past the end of any field, at
                       least; lets parsers load 8 bytes at a time */
};

enum csv_status { CSV_RECORD, CSV_NEED_MORE, CSV_END };

enum csv_error {
    CSV_ERR_NONE,
    CSV_ERR_UNTERMINATED_QUOTE, /* the input ended inside a quoted field */
    CSV_ERR_FIELD_TOO_LONG,     /* a field over max_field_bytes */
    CSV_ERR_RECORD_TOO_LONG     /* a record over max_record_bytes */
};

struct csv_reader {
    /* configuration (csv_reader_init) */
    char delim;
    char quote; /* '"'; with no quoting the delimiter, so that the block mask never flags
                   a '"' and a field never starts quoted */
    size_t max_field, max_fields, max_record;
    /* progress */
    uint64_t line;    /* physical lines consumed so far */
    uint64_t records; /* records returned so far */
    /* after AIOPS_EPARSE: what and where (offset relative to the window) */
    enum csv_error err;
    uint64_t err_line, err_record;
    size_t err_pos;
    size_t err_field; /* 1-based field index */
    /* private */
    struct csv_field *fields;
    size_t fields_cap;
    char *scratch;
    size_t scratch_len, scratch_cap;
    uint32_t *fixups; /* (field index, scratch offset) pairs of fields living in scratch */
    size_t nfixups, fixups_cap;
    size_t blk_base, blk_end; /* the cached 64-byte block of the window: [blk_base, blk_end) */
    uint64_t blk_mask;        /* bit i: byte blk_base + i is a delimiter, quote, CR or LF */
    int blk_high;             /* the block holds a byte >= 0x80 */
};

/* Sets up r for delimiter cfg->delimiter (must not be 0, '"', CR or LF) and cfg->no_quoting. */
void csv_reader_init(struct csv_reader *r, const struct csv_config *cfg);
void csv_reader_free(struct csv_reader *r);
/* Tells r that the bytes of its window changed (moved or refilled) since the last call. */
void csv_reader_window_changed(struct csv_reader *r);
/* Reads the record at buf[*pos] (len bytes in the window; final: nothing follows them).
 * Returns AIOPS_OK with *st = CSV_RECORD (rec filled, *pos past it), CSV_NEED_MORE (the
 * window ends inside the record: *pos is unchanged, call again with the same record at
 * the start of a larger window; only when !final) or CSV_END (only blank lines were left).
 * AIOPS_EPARSE on malformed input (r->err and r->err_* say what and where; the reader
 * cannot go on), AIOPS_ENOMEM. rec->offset is relative to buf. */
int csv_next(struct csv_reader *r, const char *buf, size_t len, size_t *pos, int final,
             struct csv_record *rec, enum csv_status *st);

/* Picks the delimiter among ',', ';', '\t' and '|' from the first records of data: the one
 * found on the first record and the same number of times on every sampled record, the
 * most frequent such; else the most frequent on the first record; else ','. Quoted fields
 * are skipped unless no_quoting (then a '"' is an ordinary byte). */
char csv_sniff(const char *data, size_t len, int no_quoting);

/* --- streams ------------------------------------------------------------------------- */

struct csv_stream {
    struct csv_reader rd;
    char delim; /* the delimiter in use (given or sniffed) */
    int had_bom;
    uint64_t base; /* input offset of buf[0] */
    /* private */
    int fd; /* -1: memory */
    const char *mem;
    char *buf; /* file mode: the block buffer */
    size_t len, cap, pos, block;
    int eof;
};

/* Block size for file streams (0: 1 MiB). A test hook: tests set it tiny to split records
 * across blocks. */
extern size_t csv_stream_block_size;

/* Streams len bytes at data (not copied; must outlive the stream). */
int csv_stream_open_mem(struct csv_stream *s, const char *data, size_t len,
                        const struct csv_config *cfg);
/* Streams the file open on fd from its current position (the caller keeps and closes fd).
 * Reads the first block at once (AIOPS_EIO on a read error, errno set). */
int csv_stream_open_fd(struct csv_stream *s, int fd, const struct csv_config *cfg);
/* The next record: AIOPS_OK with *got = 1 (rec filled; rec->offset is absolute) or 0 at
 * the end; AIOPS_EPARSE (s->rd.err, s->rd.err_line, ...; err_pos is absolute), AIOPS_EIO,
 * AIOPS_ENOMEM. After an error the stream can only be closed. */
int csv_stream_next(struct csv_stream *s, struct csv_record *rec, int *got);
void csv_stream_close(struct csv_stream *s);

/* Writing: appends s to b as one comma-separated field, quoted (quotes doubled) when it
 * holds a comma, quote or line break. */
struct buf;
void csv_put_field(struct buf *b, const char *s);

#endif
