/* ingest.c -- CSV text to a typed table (lib/data/ingest.h).
 *
 * One pass over the input (a file is streamed in blocks by lib/data/csv.h) builds every column
 * in the cheapest form its values allow so far:
 *   numeric   while every present value parses as a number (numparse_f64): one double
 *             per row, the text is not kept;
 *   datetime  while every present value is an ISO-8601 date/timestamp: Unix seconds;
 *   strings   otherwise: a dictionary code per row.
 * A column's first present value picks its form; a later value that does not fit turns it
 * into strings. The rows read before that point are then read again as text after the main
 * pass (from the buffer, or by reading the file again) -- once, for every such column, up
 * to the last row any of them needs -- so the dictionary still lists strings in order of
 * first appearance. Missing values (empty fields and pandas' NA words, numparse_is_na) fit
 * every form.
 *
 * Types (lib/data/table.h), decided when every value has been seen:
 *   numeric      the numeric form (0/1 columns included), also when every value is missing;
 *   datetime     the datetime form;
 *   id           a numeric column of whole numbers, all distinct, nothing missing, at least
 *                2 rows, and either named like an identifier ("id", "..._id", "...-id" in
 *                any case, or camelCase "...Id"/"...ID") or consecutive (max - min = n - 1,
 *                at least 20 rows); or a string column, all distinct, nothing missing, every
 *                value at most 64 bytes without whitespace, at least 20 rows (2 when named
 *                like an identifier). An identifier column of integers beyond 2^53 (which
 *                doubles cannot hold exactly) is kept as strings;
 *   boolean      a string column whose every value is true/false, yes/no, t/f or y/n (any
 *                case); the dictionary becomes exactly [false word, true word] (the first
 *                spelling seen of each; a side never seen gets the matching word);
 *   text         a string column with an average length over 50 bytes, or with more
 *                distinct values than half its present values and whitespace in more than
 *                half of its distinct values;
 *   categorical  any other string column.
 *
 * Header: an empty name becomes "column_<i>" (1-based; warning empty_header); a repeated
 * name is an error. Target: opt->target matched exactly, else case-insensitively (absent:
 * error unknown_target); without one, the first column named clicked, click, label,
 * target or y (any case, in that order of names). The summary's task is table_task()'s
 * rule (lib/data/table.h), shared with the profile. Datetime min/max/mean are ISO-8601 strings
 * (UTC).
 * An option delimiter that cannot separate fields (quote, CR, LF) is ignored: sniffed.
 *
 * Positions in issues: row = record number with the header as row 1, line = the physical
 * line where that record starts, column = 1-based field index. Errors leave an empty table
 * (no columns; nrows still counts the data records read), and once one is found values
 * are no longer converted, only validated. */

#include "data/ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/array.h"
#include "core/encode.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/numparse.h"
#include "data/csv.h"

enum cmode { M_NUM, M_DT, M_STR };

/* A column while it is being read. */
struct colb {
    enum cmode mode;
    int has_value;       /* a present value was seen */
    int big_int;         /* M_NUM: an integer beyond 2^53 was seen */
    double *f64;         /* M_NUM / M_DT */
    uint32_t *codes;     /* M_STR */
    struct strdict dict; /* M_STR: strings of rows >= demote_row */
    size_t demote_row;   /* M_STR: rows below it are to be read again as text */
    uint64_t text_bytes; /* M_STR: bytes of the present values */
};

struct issue_list {
    struct ingest_issue *v;
    size_t n, cap;
};

struct state {
    const struct ingest_options *opt;
    struct ingest_result *out;
    size_t max_issues, preview_rows, max_columns, max_field;
    struct issue_list errors, warnings;
    size_t ncols;
    char **names;
    struct colb *cols;
    size_t nrows, rows_cap;
    int utf8_reported;
    int nul_reported;
    int fatal; /* the input cannot be read further */
};

/* --- issues -------------------------------------------------------------------------- */

static int add_issue(struct state *st, enum issue_severity sev, const char *code, long row,
                     long line, long column, const char *column_name, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/* A copy of s with every byte that is not part of valid UTF-8 replaced by U+FFFD, so that
 * messages and names quoting bad input still make valid JSON. */
static char *dup_utf8(const char *s)
{
    struct buf b = BUF_INIT;
    if (utf8_sanitize(s, strlen(s), &b) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_detach(&b, NULL);
}

static int add_issue(struct state *st, enum issue_severity sev, const char *code, long row,
                     long line, long column, const char *column_name, const char *fmt, ...)
{
    struct issue_list *l = sev == ISSUE_ERROR ? &st->errors : &st->warnings;
    if (sev == ISSUE_ERROR)
        st->out->n_errors++;
    else
        st->out->n_warnings++;
    if (l->n >= st->max_issues)
        return AIOPS_OK;
    int rv = array_reserve(&l->v, &l->cap, l->n + 1, sizeof *l->v, 8);
    if (rv != 0)
        return rv;
    struct ingest_issue *is = &l->v[l->n];
    memset(is, 0, sizeof *is);
    is->severity = sev;
    is->code = code;
    is->row = row;
    is->line = line;
    is->column = column;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    is->message = dup_utf8(msg);
    is->column_name = column_name ? dup_utf8(column_name) : NULL;
    if (is->message == NULL || (column_name && is->column_name == NULL)) {
        free(is->message);
        free(is->column_name);
        return AIOPS_ENOMEM;
    }
    l->n++;
    return AIOPS_OK;
}

static void issue_free(struct ingest_issue *is)
{
    free(is->message);
    free(is->column_name);
}

/* A column name shortened for messages. */
static const char *short_name(const char *name, char *tmp, size_t tmpsz)
{
    size_t n = strlen(name);
    if (n < tmpsz)
        return name;
    size_t k = tmpsz - 4;
    while (k > 0 && ((unsigned char)name[k] & 0xc0) == 0x80)
        k--; /* do not cut a UTF-8 sequence */
    memcpy(tmp, name, k);
    memcpy(tmp + k, "...", 4);
    return tmp;
}

/* --- column building ------------------------------------------------------------------ */

/* Makes room for more rows in every column. `done` is how many input bytes the rows so far
 * took: the first time the arrays fill up, the rest of the input is assumed to hold rows of
 * the same size (plus 5%), so a large input costs one resize instead of a dozen. Space
 * reserved but never written is never touched, so it does not count in the resident set. */
static int grow_rows(struct state *st, uint64_t done)
{
    size_t cap = st->rows_cap ? st->rows_cap * 2 : 1024;
    uint64_t total = st->out->input_bytes;
    if (st->rows_cap == 1024 && done > 0 && total > done) {
        double est = (double)st->rows_cap * (double)total / (double)done * 1.05;
        if (est > (double)cap && est < (double)(SIZE_MAX / 16))
            cap = (size_t)est;
    }
    for (size_t c = 0; c < st->ncols; c++) {
        struct colb *cb = &st->cols[c];
        if (cb->mode == M_STR) {
            uint32_t *p = realloc(cb->codes, cap * sizeof *p);
            if (p == NULL)
                return AIOPS_ENOMEM;
            cb->codes = p;
        } else {
            double *p = realloc(cb->f64, cap * sizeof *p);
            if (p == NULL)
                return AIOPS_ENOMEM;
            cb->f64 = p;
        }
    }
    st->rows_cap = cap;
    return AIOPS_OK;
}

/* Turns column cb into strings from row `row` on; rows before it are placeholders until
 * the second pass when a value was seen before. */
static int to_strings(struct state *st, struct colb *cb, size_t row)
{
    uint32_t *codes = malloc((st->rows_cap ? st->rows_cap : 1) * sizeof *codes);
    if (codes == NULL)
        return AIOPS_ENOMEM;
    for (size_t r = 0; r < row; r++)
        codes[r] = TABLE_MISSING;
    free(cb->f64);
    cb->f64 = NULL;
    cb->codes = codes;
    cb->mode = M_STR;
    cb->demote_row = cb->has_value ? row : 0;
    strdict_init(&cb->dict);
    return AIOPS_OK;
}

static inline int put_string(struct colb *cb, size_t row, const char *s, size_t len)
{
    if (numparse_is_na(s, len)) {
        cb->codes[row] = TABLE_MISSING;
        return AIOPS_OK;
    }
    cb->has_value = 1;
    cb->text_bytes += len;
    return strdict_intern(&cb->dict, s, len, &cb->codes[row]);
}

static int put_value(struct state *st, struct colb *cb, size_t row, const char *s, size_t len)
{
    double v;
    unsigned fl;
    switch (cb->mode) {
    case M_NUM:
        if (len > 0 && numparse_f64(s, len, &v, &fl)) {
            cb->f64[row] = v;
            cb->has_value = 1;
            if ((fl & NUMPARSE_INTEGER) && fabs(v) > 9007199254740992.0)
                cb->big_int = 1;
            return AIOPS_OK;
        }
        if (numparse_is_na(s, len)) {
            cb->f64[row] = NAN;
            return AIOPS_OK;
        }
        if (!cb->has_value && numparse_datetime(s, len, &v)) {
            cb->mode = M_DT;
            cb->f64[row] = v;
            cb->has_value = 1;
            return AIOPS_OK;
        }
        break;
    case M_DT:
        if (numparse_datetime(s, len, &v)) {
            cb->f64[row] = v;
            return AIOPS_OK;
        }
        if (numparse_is_na(s, len)) {
            cb->f64[row] = NAN;
            return AIOPS_OK;
        }
        break;
    case M_STR:
        return put_string(cb, row, s, len);
    }
    int rv = to_strings(st, cb, row);
    if (rv != 0)
        return rv;
    return put_string(cb, row, s, len);
}

/* --- the passes ------------------------------------------------------------------------ */

static int check_utf8(struct state *st, const struct csv_record *rec)
{
    size_t bad;
    if (st->utf8_reported || !rec->maybe_high || utf8_valid(rec->raw, rec->raw_len, &bad))
        return AIOPS_OK;
    st->utf8_reported = 1;
    size_t f = 0;
    while (f + 1 < rec->nstored && rec->fields[f + 1].raw <= bad)
        f++;
    const char *cname = f < st->ncols ? st->names[f] : NULL;
    char tmp[80];
    return add_issue(
        st, ISSUE_ERROR, "invalid_utf8", (long)rec->number, (long)rec->line, (long)f + 1, cname,
        "invalid UTF-8 byte 0x%02x at byte offset %llu (row %llu, line %llu, "
        "column %zu%s%s%s)",
        (unsigned char)rec->raw[bad], (unsigned long long)(rec->offset + bad),
        (unsigned long long)rec->number, (unsigned long long)rec->line, f + 1, cname ? " \"" : "",
        cname ? short_name(cname, tmp, sizeof tmp) : "", cname ? "\"" : "");
}

/* A NUL byte is not text (a binary file, or a corrupted one): refused where it is, rather
 * than stored and shown differently by whatever reads it next. */
static int check_nul(struct state *st, const struct csv_record *rec)
{
    const char *nul = st->nul_reported ? NULL : memchr(rec->raw, 0, rec->raw_len);
    if (nul == NULL)
        return AIOPS_OK;
    st->nul_reported = 1;
    size_t at = (size_t)(nul - rec->raw), f = 0;
    while (f + 1 < rec->nstored && rec->fields[f + 1].raw <= at)
        f++;
    const char *cname = f < st->ncols ? st->names[f] : NULL;
    char tmp[80];
    return add_issue(st, ISSUE_ERROR, "invalid_csv", (long)rec->number, (long)rec->line,
                     (long)f + 1, cname,
                     "a NUL byte at byte offset %llu (row %llu, line %llu, column %zu%s%s%s): "
                     "CSV is text",
                     (unsigned long long)(rec->offset + at), (unsigned long long)rec->number,
                     (unsigned long long)rec->line, f + 1, cname ? " \"" : "",
                     cname ? short_name(cname, tmp, sizeof tmp) : "", cname ? "\"" : "");
}

static int header(struct state *st, const struct csv_record *rec)
{
    int rv;
    if ((rv = check_utf8(st, rec)) != 0 || (rv = check_nul(st, rec)) != 0)
        return rv;
    if (rec->nfields > st->max_columns) {
        st->fatal = 1;
        return add_issue(st, ISSUE_ERROR, "too_many_columns", 1, (long)rec->line, 0, NULL,
                         "the header has %zu columns, more than the limit of %zu", rec->nfields,
                         st->max_columns);
    }
    st->ncols = rec->nfields;
    st->names = calloc(st->ncols, sizeof *st->names);
    st->cols = calloc(st->ncols, sizeof *st->cols);
    if (st->names == NULL || st->cols == NULL)
        return AIOPS_ENOMEM;
    struct strdict seen;
    strdict_init(&seen);
    size_t *first = malloc(st->ncols * sizeof *first);
    if (first == NULL)
        return AIOPS_ENOMEM;
    for (size_t c = 0; c < st->ncols && rv == 0; c++) {
        const struct csv_field *f = &rec->fields[c];
        size_t n = strnlen(f->p, f->len); /* a NUL byte ends a name */
        if (n == 0) {
            char name[32];
            snprintf(name, sizeof name, "column_%zu", c + 1);
            st->names[c] = strdup(name);
            if (st->names[c] == NULL) {
                rv = AIOPS_ENOMEM;
                break;
            }
            rv = add_issue(st, ISSUE_WARNING, "empty_header", 1, (long)rec->line, (long)c + 1, name,
                           "column %zu has an empty name; renamed \"%s\"", c + 1, name);
        } else {
            st->names[c] = strndup(f->p, n);
            if (st->names[c] == NULL)
                rv = AIOPS_ENOMEM;
        }
        if (rv != 0)
            break;
        uint32_t before = seen.count, code;
        if ((rv = strdict_intern(&seen, st->names[c], strlen(st->names[c]), &code)) != 0)
            break;
        if (seen.count > before) {
            first[code] = c;
        } else {
            char tmp[80];
            rv = add_issue(st, ISSUE_ERROR, "duplicate_header", 1, (long)rec->line, (long)c + 1,
                           st->names[c], "column %zu repeats the name \"%s\" of column %zu", c + 1,
                           short_name(st->names[c], tmp, sizeof tmp), first[code] + 1);
        }
    }
    free(first);
    strdict_free(&seen);
    return rv;
}

static int data_record(struct state *st, const struct csv_record *rec)
{
    int rv;
    if ((rv = check_utf8(st, rec)) != 0 || (rv = check_nul(st, rec)) != 0)
        return rv;
    if (rec->nfields != st->ncols) {
        st->nrows++; /* counted; nothing is stored once there is an error */
        return add_issue(st, ISSUE_ERROR, "ragged_row", (long)rec->number, (long)rec->line, 0, NULL,
                         "row %llu (line %llu) has %zu field%s, expected %zu",
                         (unsigned long long)rec->number, (unsigned long long)rec->line,
                         rec->nfields, rec->nfields == 1 ? "" : "s", st->ncols);
    }
    size_t row = st->nrows++;
    if (st->out->n_errors > 0)
        return AIOPS_OK; /* nothing will be stored: only validate */
    if (row < st->preview_rows) {
        struct ingest_result *out = st->out;
        char **cells = out->preview + row * st->ncols;
        out->preview_n = row + 1;
        for (size_t c = 0; c < st->ncols; c++) {
            const struct csv_field *f = &rec->fields[c];
            if (numparse_is_na(f->p, f->len))
                continue;
            if ((cells[c] = strndup(f->p, f->len)) == NULL)
                return AIOPS_ENOMEM;
        }
    }
    if (row == st->rows_cap && (rv = grow_rows(st, rec->offset + rec->raw_len)) != 0)
        return rv;
    /* how many bytes past a field may be read: the parser's fastest form that allows */
    const int pad = rec->slack >= 16 ? 16 : rec->slack >= 8 ? 8 : 0;
    for (size_t c = 0; c < st->ncols; c++) {
        const struct csv_field *f = &rec->fields[c];
        struct colb *cb = &st->cols[c];
        if (cb->mode == M_NUM) {
            /* the common case, inline: a number or an empty field */
            double v;
            unsigned fl;
            if (f->len > 0 && (pad == 16  ? numparse_f64_pad16(f->p, f->len, &v, &fl)
                               : pad == 8 ? numparse_f64_pad8(f->p, f->len, &v, &fl)
                                          : numparse_f64(f->p, f->len, &v, &fl))) {
                cb->f64[row] = v;
                cb->has_value = 1;
                if ((fl & NUMPARSE_INTEGER) && fabs(v) > 9007199254740992.0)
                    cb->big_int = 1;
                continue;
            }
            if (f->len == 0) {
                cb->f64[row] = NAN;
                continue;
            }
        }
        if ((rv = put_value(st, cb, row, f->p, f->len)) != 0)
            return rv;
    }
    return AIOPS_OK;
}

/* Reports a tokenizer error; the input cannot be read further. */
static int stream_error(struct state *st, const struct csv_stream *s)
{
    const struct csv_reader *r = &s->rd;
    st->fatal = 1;
    long col = (long)r->err_field;
    const char *cname = r->err_record > 1 && r->err_field >= 1 && r->err_field <= st->ncols
                            ? st->names[r->err_field - 1]
                            : NULL;
    unsigned long long row = r->err_record, line = r->err_line;
    switch (r->err) {
    case CSV_ERR_UNTERMINATED_QUOTE:
        return add_issue(st, ISSUE_ERROR, "unterminated_quote", (long)row, (long)line, col, cname,
                         "row %llu (line %llu), column %ld: quoted field starting at byte "
                         "offset %zu is never closed",
                         row, line, col, r->err_pos);
    case CSV_ERR_FIELD_TOO_LONG:
        return add_issue(st, ISSUE_ERROR, "field_too_long", (long)row, (long)line, col, cname,
                         "row %llu (line %llu), column %ld: field longer than %zu bytes", row, line,
                         col, st->max_field);
    default:
        return add_issue(st, ISSUE_ERROR, "field_too_long", (long)row, (long)line, 0, NULL,
                         "row %llu (line %llu) is longer than %zu bytes", row, line, r->max_record);
    }
}

static void stream_config(const struct state *st, char delim, struct csv_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->delimiter = delim;
    cfg->max_field_bytes = st->max_field;
    cfg->max_fields = st->max_columns + 1;
    cfg->no_quoting = st->opt ? st->opt->no_quoting : 0;
}

/* The main pass: header, then every record. */
static int main_pass(struct state *st, struct csv_stream *s)
{
    struct csv_record rec;
    int got, rv;
    st->out->delimiter = s->delim;
    st->out->had_bom = s->had_bom;
    rv = csv_stream_next(s, &rec, &got);
    if (rv == AIOPS_EPARSE)
        return stream_error(st, s);
    if (rv != 0)
        return rv;
    if (!got) {
        st->fatal = 1;
        return add_issue(st, ISSUE_ERROR, "empty_file", 0, 0, 0, NULL,
                         "the file is empty: no header and no data rows");
    }
    if ((rv = header(st, &rec)) != 0 || st->fatal)
        return rv;
    st->out->preview = calloc(st->preview_rows * st->ncols + 1, sizeof *st->out->preview);
    if (st->out->preview == NULL)
        return AIOPS_ENOMEM;
    for (;;) {
        rv = csv_stream_next(s, &rec, &got);
        if (rv == AIOPS_EPARSE)
            return stream_error(st, s);
        if (rv != 0)
            return rv;
        if (!got)
            break;
        if ((rv = data_record(st, &rec)) != 0)
            return rv;
    }
    if (st->nrows == 0 && st->out->n_errors == 0)
        return add_issue(st, ISSUE_ERROR, "empty_file", 0, 0, 0, NULL,
                         "the file has a header but no data rows");
    return AIOPS_OK;
}

static int name_like_id(const char *name)
{
    size_t n = strlen(name);
    if (n >= 2) {
        char a = name[n - 2], b = name[n - 1];
        if ((a == 'i' || a == 'I') && (b == 'd' || b == 'D')) {
            if (n == 2 || name[n - 3] == '_' || name[n - 3] == '-')
                return 1;
            /* camelCase: userId, userID */
            if (a == 'I' && name[n - 3] >= 'a' && name[n - 3] <= 'z')
                return 1;
        }
    }
    return 0;
}

/* Which rows must be read again, and the per-column fix-up after they were. */
struct rescan {
    size_t col;
    struct strdict dict; /* the final dictionary: rows < demote_row first */
};

/* The second pass: reads rows [0, demote_row) of every demoted column as text, then
 * re-codes the later rows so that codes follow first appearance. */
static int second_pass(struct state *st, struct csv_stream *s)
{
    size_t n = 0, until = 0;
    for (size_t c = 0; c < st->ncols; c++)
        if (st->cols[c].mode == M_STR && st->cols[c].demote_row > 0) {
            n++;
            if (st->cols[c].demote_row > until)
                until = st->cols[c].demote_row;
        }
    if (n == 0)
        return AIOPS_OK;
    struct rescan *rs = calloc(n, sizeof *rs);
    if (rs == NULL)
        return AIOPS_ENOMEM;
    n = 0;
    for (size_t c = 0; c < st->ncols; c++)
        if (st->cols[c].mode == M_STR && st->cols[c].demote_row > 0) {
            rs[n].col = c;
            strdict_init(&rs[n].dict);
            n++;
        }
    int rv, got;
    struct csv_record rec;
    size_t row = 0;
    /* the header */
    rv = csv_stream_next(s, &rec, &got);
    while (rv == 0 && got && row < until) {
        rv = csv_stream_next(s, &rec, &got);
        if (rv != 0 || !got)
            break;
        for (size_t i = 0; i < n && rv == 0; i++) {
            struct colb *cb = &st->cols[rs[i].col];
            if (row >= cb->demote_row)
                continue;
            /* the input changed under us when fields are missing: read them as missing */
            const char *p = rs[i].col < rec.nstored ? rec.fields[rs[i].col].p : "";
            size_t len = rs[i].col < rec.nstored ? rec.fields[rs[i].col].len : 0;
            if (numparse_is_na(p, len)) {
                cb->codes[row] = TABLE_MISSING;
            } else {
                cb->text_bytes += len;
                rv = strdict_intern(&rs[i].dict, p, len, &cb->codes[row]);
            }
        }
        row++;
    }
    if (rv == AIOPS_EPARSE)
        rv = AIOPS_EIO; /* it parsed the first time: the file changed */
    for (size_t i = 0; i < n; i++) {
        struct colb *cb = &st->cols[rs[i].col];
        uint32_t *remap = NULL;
        if (rv == 0 && cb->dict.count > 0) {
            remap = malloc(cb->dict.count * sizeof *remap);
            if (remap == NULL)
                rv = AIOPS_ENOMEM;
            else
                memset(remap, 0xff, cb->dict.count * sizeof *remap);
        }
        for (size_t r = cb->demote_row; rv == 0 && r < st->nrows; r++) {
            uint32_t k = cb->codes[r];
            if (k == TABLE_MISSING)
                continue;
            if (remap[k] == UINT32_MAX)
                rv = strdict_intern(&rs[i].dict, strdict_str(&cb->dict, k),
                                    strdict_len(&cb->dict, k), &remap[k]);
            cb->codes[r] = remap[k];
        }
        free(remap);
        strdict_free(&cb->dict);
        cb->dict = rs[i].dict;
        cb->demote_row = 0;
    }
    free(rs);
    return rv;
}

/* Identifier columns of integers beyond 2^53 are kept as text: doubles would merge them. */
static void demote_big_ids(struct state *st)
{
    for (size_t c = 0; c < st->ncols; c++) {
        struct colb *cb = &st->cols[c];
        if (cb->mode == M_NUM && cb->big_int && name_like_id(st->names[c]) &&
            to_strings(st, cb, st->nrows) != 0)
            cb->big_int = 0; /* out of memory: stays numeric */
    }
}

/* --- finishing ----------------------------------------------------------------------- */

static const char *bool_counterpart(const char *w, size_t len, char *out)
{
    static const char *const pairs[][2] = {
        {"false", "true"}, {"no", "yes"}, {"f", "t"}, {"n", "y"}};
    char low[8];
    for (size_t i = 0; i < len && i < 7; i++)
        low[i] = (char)((w[i] >= 'A' && w[i] <= 'Z') ? w[i] - 'A' + 'a' : w[i]);
    low[len < 7 ? len : 7] = '\0';
    const char *other = "";
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(low, pairs[i][0]) == 0)
            other = pairs[i][1];
        else if (strcmp(low, pairs[i][1]) == 0)
            other = pairs[i][0];
    }
    int upper = 1, cap = w[0] >= 'A' && w[0] <= 'Z';
    for (size_t i = 0; i < len; i++)
        upper &= !(w[i] >= 'a' && w[i] <= 'z');
    size_t k = 0;
    for (; other[k]; k++) {
        char ch = other[k];
        if (upper || (cap && k == 0))
            ch = (char)(ch - 'a' + 'A');
        out[k] = ch;
    }
    out[k] = '\0';
    return out;
}

/* Makes a string column of boolean words boolean: dictionary [false word, true word]. */
static int try_boolean(struct column *col, size_t nrows)
{
    struct strdict *d = &col->dict;
    if (d->count == 0)
        return AIOPS_OK;
    long side_word[2] = {-1, -1};
    for (uint32_t k = 0; k < d->count; k++) {
        int b = numparse_bool(strdict_str(d, k), strdict_len(d, k));
        if (b < 0)
            return AIOPS_OK;
        if (side_word[b] < 0)
            side_word[b] = (long)k;
    }
    char tmp[8];
    const char *w[2];
    size_t wl[2];
    for (int b = 0; b < 2; b++) {
        if (side_word[b] >= 0) {
            w[b] = strdict_str(d, (uint32_t)side_word[b]);
            wl[b] = strdict_len(d, (uint32_t)side_word[b]);
        }
    }
    for (int b = 0; b < 2; b++) {
        if (side_word[b] < 0) {
            w[b] = bool_counterpart(w[!b], wl[!b], tmp);
            wl[b] = strlen(tmp);
        }
    }
    struct strdict nd;
    strdict_init(&nd);
    uint32_t code;
    int rv;
    if ((rv = strdict_intern(&nd, w[0], wl[0], &code)) != 0 ||
        (rv = strdict_intern(&nd, w[1], wl[1], &code)) != 0) {
        strdict_free(&nd);
        return rv;
    }
    uint8_t map[256];
    uint8_t *remap = d->count <= 256 ? map : NULL; /* at most 16 distinct spellings per side */
    if (remap == NULL) {
        strdict_free(&nd);
        return AIOPS_OK;
    }
    for (uint32_t k = 0; k < d->count; k++)
        remap[k] = (uint8_t)numparse_bool(strdict_str(d, k), strdict_len(d, k));
    for (size_t r = 0; r < nrows; r++)
        if (col->codes[r] != TABLE_MISSING)
            col->codes[r] = remap[col->codes[r]];
    strdict_free(d);
    *d = nd;
    col->type = COL_BOOLEAN;
    return AIOPS_OK;
}

static void classify_dict(struct column *col, size_t nrows, uint64_t text_bytes)
{
    if (col->type == COL_BOOLEAN)
        return;
    const struct strdict *d = &col->dict;
    size_t present = nrows - col->missing;
    size_t spaced = 0, maxlen = 0;
    for (uint32_t k = 0; k < d->count; k++) {
        const char *s = strdict_str(d, k);
        size_t len = strdict_len(d, k);
        if (len > maxlen)
            maxlen = len;
        for (size_t i = 0; i < len; i++)
            if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
                spaced++;
                break;
            }
    }
    int named = name_like_id(col->name);
    if (col->missing == 0 && col->distinct == nrows && (nrows >= 20 || (named && nrows >= 2)) &&
        maxlen <= 64 && spaced == 0) {
        col->type = COL_ID;
    } else if (present > 0 && ((double)text_bytes / (double)present > 50.0 ||
                               (col->distinct * 2 > present && spaced * 2 > col->distinct))) {
        col->type = COL_TEXT;
    } else {
        col->type = COL_CATEGORICAL;
    }
}

static void classify_f64(struct column *col, size_t nrows, enum cmode mode)
{
    if (mode == M_DT) {
        col->type = COL_DATETIME;
        return;
    }
    col->type = COL_NUMERIC;
    if (col->is_integer && col->missing == 0 && col->distinct == nrows && nrows >= 2 &&
        (name_like_id(col->name) || (nrows >= 20 && col->max - col->min == (double)(nrows - 1))))
        col->type = COL_ID;
}

static long find_target(const struct table *t, const char *want)
{
    long i = table_find(t, want);
    if (i >= 0)
        return i;
    for (size_t c = 0; c < t->ncols; c++)
        if (strcasecmp(t->cols[c].name, want) == 0)
            return (long)c;
    return -1;
}

static int finish(struct state *st)
{
    struct ingest_result *out = st->out;
    struct table *t = &out->table;
    int rv;
    t->cols = calloc(st->ncols ? st->ncols : 1, sizeof *t->cols);
    if (t->cols == NULL)
        return AIOPS_ENOMEM;
    t->ncols = st->ncols;
    t->nrows = st->nrows;
    for (size_t c = 0; c < st->ncols; c++) {
        struct colb *cb = &st->cols[c];
        struct column *col = &t->cols[c];
        col->name = st->names[c];
        st->names[c] = NULL;
        if (cb->mode == M_STR) {
            col->storage = COL_DICT;
            col->codes = cb->codes;
            col->dict = cb->dict;
            cb->codes = NULL;
            strdict_init(&cb->dict);
            if (st->nrows < st->rows_cap) { /* give back the unused tail */
                uint32_t *p = realloc(col->codes, st->nrows * sizeof *p);
                if (p != NULL)
                    col->codes = p;
            }
            if ((rv = try_boolean(col, st->nrows)) != 0)
                return rv;
        } else {
            col->storage = COL_F64;
            col->f64 = cb->f64;
            cb->f64 = NULL;
            if (st->nrows < st->rows_cap) {
                double *p = realloc(col->f64, st->nrows * sizeof *p);
                if (p != NULL)
                    col->f64 = p;
            }
        }
    }
    if ((rv = table_summarize_columns(t, !(st->opt && st->opt->values_only))) != 0)
        return rv;
    for (size_t c = 0; c < st->ncols; c++) {
        struct column *col = &t->cols[c];
        if (col->storage == COL_DICT) {
            classify_dict(col, t->nrows, st->cols[c].text_bytes);
            strdict_freeze(&col->dict);
        } else {
            classify_f64(col, t->nrows, st->cols[c].mode);
        }
    }
    /* target */
    out->target = -1;
    const char *want = st->opt && st->opt->target && st->opt->target[0] ? st->opt->target : NULL;
    if (want) {
        out->target = find_target(t, want);
        if (out->target < 0)
            return add_issue(st, ISSUE_ERROR, "unknown_target", 0, 0, 0, want,
                             "target column \"%s\" is not in the header", want);
    } else {
        static const char *const names[] = {"clicked", "click", "label", "target", "y"};
        for (size_t i = 0; i < ARRAY_LEN(names) && out->target < 0; i++)
            for (size_t c = 0; c < t->ncols && out->target < 0; c++)
                if (strcasecmp(t->cols[c].name, names[i]) == 0)
                    out->target = (long)c;
        if (out->target < 0 &&
            (rv = add_issue(st, ISSUE_WARNING, "no_target", 0, 0, 0, NULL,
                            "no target column found (looked for clicked, click, label, target "
                            "and y); choose one explicitly")) != 0)
            return rv;
    }
    /* column warnings */
    char tmp[80];
    for (size_t c = 0; c < t->ncols; c++) {
        const struct column *col = &t->cols[c];
        const char *nm = short_name(col->name, tmp, sizeof tmp);
        if (col->distinct == 1 &&
            (rv = add_issue(st, ISSUE_WARNING, "constant_column", 0, 0, (long)c + 1, col->name,
                            "column %zu \"%s\" has a single value", c + 1, nm)) != 0)
            return rv;
        if (col->missing * 2 > t->nrows &&
            (rv = add_issue(st, ISSUE_WARNING, "mostly_missing", 0, 0, (long)c + 1, col->name,
                            "column %zu \"%s\" is %.1f%% missing (%zu of %zu rows)", c + 1, nm,
                            100.0 * (double)col->missing / (double)t->nrows, col->missing,
                            t->nrows)) != 0)
            return rv;
    }
    if (out->target >= 0) {
        const struct column *col = &t->cols[out->target];
        if (col->missing > 0 &&
            (rv = add_issue(st, ISSUE_WARNING, "target_missing_values", 0, 0, out->target + 1,
                            col->name, "target column \"%s\" has %zu missing value%s",
                            short_name(col->name, tmp, sizeof tmp), col->missing,
                            col->missing == 1 ? "" : "s")) != 0)
            return rv;
    }
    return AIOPS_OK;
}

static void state_free(struct state *st)
{
    for (size_t c = 0; c < st->ncols; c++) {
        if (st->names)
            free(st->names[c]);
        if (st->cols) {
            free(st->cols[c].f64);
            free(st->cols[c].codes);
            strdict_free(&st->cols[c].dict);
        }
    }
    free(st->names);
    free(st->cols);
    for (size_t i = 0; i < st->errors.n; i++)
        issue_free(&st->errors.v[i]);
    for (size_t i = 0; i < st->warnings.n; i++)
        issue_free(&st->warnings.v[i]);
    free(st->errors.v);
    free(st->warnings.v);
}

static void state_init(struct state *st, const struct ingest_options *opt,
                       struct ingest_result *out)
{
    memset(out, 0, sizeof *out);
    out->target = -1;
    memset(st, 0, sizeof *st);
    st->opt = opt;
    st->out = out;
    st->max_issues = opt && opt->max_issues ? opt->max_issues : 100;
    st->preview_rows = opt && opt->preview_rows ? opt->preview_rows : 10;
    st->max_columns = opt && opt->max_columns ? opt->max_columns : 10000;
    st->max_field = opt && opt->max_field_bytes ? opt->max_field_bytes : (size_t)1 << 20;
}

/* Moves the issues into out (errors first) and drops everything an error invalidates. */
static int conclude(struct state *st, int rv)
{
    struct ingest_result *out = st->out;
    if (rv == 0 && out->n_errors > 0) {
        table_free(&out->table);
        out->table.nrows = st->nrows;
        out->target = -1;
    }
    if (out->n_errors > 0 || rv != 0) {
        for (size_t i = 0; out->preview && i < out->preview_n * st->ncols; i++)
            free(out->preview[i]);
        free(out->preview);
        out->preview = NULL;
        out->preview_n = 0;
    }
    size_t n = st->errors.n + st->warnings.n;
    if (n > 0) {
        out->issues = malloc(n * sizeof *out->issues);
        if (out->issues == NULL) {
            rv = rv ? rv : AIOPS_ENOMEM;
        } else {
            if (st->errors.n)
                memcpy(out->issues, st->errors.v, st->errors.n * sizeof *out->issues);
            if (st->warnings.n)
                memcpy(out->issues + st->errors.n, st->warnings.v,
                       st->warnings.n * sizeof *out->issues);
            out->n_issues = n;
            st->errors.n = st->warnings.n = 0;
        }
    }
    state_free(st);
    return rv;
}

static int ingest_stream(struct state *st, const char *data, size_t len, int fd)
{
    struct csv_stream s;
    struct csv_config cfg;
    char delim = st->opt ? st->opt->delimiter : 0;
    if (delim == '"' || delim == '\n' || delim == '\r')
        delim = 0; /* cannot separate fields: sniff instead */
    stream_config(st, delim, &cfg);
    int rv = fd < 0 ? csv_stream_open_mem(&s, data, len, &cfg) : csv_stream_open_fd(&s, fd, &cfg);
    if (rv != 0) {
        csv_stream_close(&s);
        return rv;
    }
    rv = main_pass(st, &s);
    char used = s.delim;
    csv_stream_close(&s);
    if (rv != 0 || st->out->n_errors > 0)
        return rv;
    demote_big_ids(st);
    int needs = 0;
    for (size_t c = 0; c < st->ncols; c++)
        needs |= st->cols[c].mode == M_STR && st->cols[c].demote_row > 0;
    if (needs) {
        stream_config(st, used, &cfg);
        if (fd >= 0 && lseek(fd, 0, SEEK_SET) != 0)
            return AIOPS_EIO;
        rv = fd < 0 ? csv_stream_open_mem(&s, data, len, &cfg) : csv_stream_open_fd(&s, fd, &cfg);
        if (rv == 0)
            rv = second_pass(st, &s);
        csv_stream_close(&s);
        if (rv != 0)
            return rv;
    }
    return finish(st);
}

int ingest_csv(const char *data, size_t len, const struct ingest_options *opt,
               struct ingest_result *out)
{
    struct state st;
    state_init(&st, opt, out);
    out->input_bytes = len;
    return conclude(&st, ingest_stream(&st, data ? data : "", data ? len : 0, -1));
}

int ingest_csv_file(const char *path, const struct ingest_options *opt, struct ingest_result *out)
{
    struct state st;
    state_init(&st, opt, out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return conclude(&st, AIOPS_EIO);
    struct stat sb;
    if (fstat(fd, &sb) == 0)
        out->input_bytes = (size_t)sb.st_size;
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    int rv = ingest_stream(&st, NULL, 0, fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return conclude(&st, rv);
}

void ingest_result_free(struct ingest_result *r)
{
    if (r->preview) {
        for (size_t i = 0; i < r->preview_n * r->table.ncols; i++)
            free(r->preview[i]);
        free(r->preview);
    }
    table_free(&r->table);
    for (size_t i = 0; i < r->n_issues; i++)
        issue_free(&r->issues[i]);
    free(r->issues);
    memset(r, 0, sizeof *r);
    r->target = -1;
}

/* --- the upload summary --------------------------------------------------------------- */

/* A number for JSON: null when not finite, an integer when whole (and exact). */
static json_t *json_datetime(double v)
{
    char iso[40];
    numparse_format_datetime(iso, sizeof iso, v);
    return iso[0] ? json_string(iso) : json_null();
}

static int set_new(json_t *obj, const char *key, json_t *v)
{
    return v == NULL || json_object_set_new(obj, key, v) != 0 ? AIOPS_ENOMEM : AIOPS_OK;
}

/* set_new for a value this function holds in *v: the object takes it over (or set_new drops
 * it), and *v becomes NULL so that the caller's cleanup does not free it again. */
static int set_taken(json_t *obj, const char *key, json_t **v)
{
    int rv = set_new(obj, key, *v);
    *v = NULL;
    return rv;
}

static int append_new(json_t *arr, json_t *v)
{
    return v == NULL || json_array_append_new(arr, v) != 0 ? AIOPS_ENOMEM : AIOPS_OK;
}

static json_t *issue_json(const struct ingest_issue *is)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    if (set_new(o, "code", json_string(is->code)) != 0 ||
        set_new(o, "message", json_string(is->message)) != 0 ||
        set_new(o, "row", is->row > 0 ? json_integer(is->row) : json_null()) != 0 ||
        set_new(o, "line", is->line > 0 ? json_integer(is->line) : json_null()) != 0 ||
        set_new(o, "column", is->column > 0 ? json_integer(is->column) : json_null()) != 0 ||
        set_new(o, "column_name", is->column_name ? json_string(is->column_name) : json_null()) !=
            0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *column_json(const struct column *col)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_t *mn, *mx, *mean;
    if (col->storage == COL_DICT) {
        mn = json_null();
        mx = json_null();
        mean = json_null();
    } else if (col->type == COL_DATETIME) {
        mn = json_datetime(col->min);
        mx = json_datetime(col->max);
        mean = json_datetime(col->mean);
    } else {
        mn = jsonx_num(col->min, col->is_integer);
        mx = jsonx_num(col->max, col->is_integer);
        mean = jsonx_num(col->mean, 0);
    }
    if (set_new(o, "name", json_string(col->name)) != 0 ||
        set_new(o, "type", json_string(col_type_name(col->type))) != 0 ||
        set_new(o, "missing", json_integer((json_int_t)col->missing)) != 0 ||
        set_new(o, "distinct", json_integer((json_int_t)col->distinct)) != 0 ||
        set_new(o, "min", mn) != 0 || set_new(o, "max", mx) != 0 || set_new(o, "mean", mean) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The task a target column implies (table_task), and for a binary one the count of its
 * positive class: the class that sorts last (numbers numerically, strings bytewise), for
 * booleans the true word. */
static const char *target_task(const struct table *t, const struct column *col, size_t *positives)
{
    *positives = 0;
    enum table_task task = table_task(col, col->distinct, col->is_integer);
    if (task != TASK_BINARY)
        return table_task_name(task);
    if (col->type == COL_BOOLEAN) {
        for (size_t r = 0; r < t->nrows; r++)
            *positives += col->codes[r] == 1;
    } else if (col->storage == COL_DICT) {
        /* the two codes present; the positive one is the string that sorts last */
        uint32_t a = TABLE_MISSING, b = TABLE_MISSING;
        for (size_t r = 0; r < t->nrows && b == TABLE_MISSING; r++) {
            uint32_t k = col->codes[r];
            if (k == TABLE_MISSING || k == a)
                continue;
            if (a == TABLE_MISSING)
                a = k;
            else
                b = k;
        }
        const struct strdict *d = &col->dict;
        size_t la = strdict_len(d, a), lb = strdict_len(d, b);
        int cmp = memcmp(strdict_str(d, a), strdict_str(d, b), la < lb ? la : lb);
        uint32_t pos = cmp > 0 || (cmp == 0 && la > lb) ? a : b;
        for (size_t r = 0; r < t->nrows; r++)
            *positives += col->codes[r] == pos;
    } else {
        for (size_t r = 0; r < t->nrows; r++)
            *positives += col->f64[r] == col->max;
    }
    return "binary";
}

static json_t *preview_cell(const struct column *col, const char *text)
{
    if (text == NULL)
        return json_null();
    size_t len = strlen(text);
    double v;
    unsigned fl;
    if (col->type == COL_BOOLEAN) {
        int b = numparse_bool(text, len);
        return b < 0 ? json_null() : json_boolean(b);
    }
    if (col->storage == COL_F64 && col->type != COL_DATETIME) {
        if (!numparse_f64(text, len, &v, &fl))
            return json_null();
        return jsonx_num(v, 1);
    }
    return json_stringn(text, len);
}

int ingest_summary_json(const struct ingest_result *r, json_t **out)
{
    const struct table *t = &r->table;
    *out = NULL;
    json_t *root = json_object(), *cols = json_array(), *val = json_object(), *errs = json_array(),
           *warns = json_array(), *info = json_object(), *prev = json_array();
    int rv = AIOPS_OK;
    if (!root || !cols || !val || !errs || !warns || !info || !prev)
        rv = AIOPS_ENOMEM;
    for (size_t c = 0; rv == 0 && c < t->ncols; c++)
        rv = append_new(cols, column_json(&t->cols[c]));
    for (size_t i = 0; rv == 0 && i < r->n_issues; i++)
        rv = append_new(r->issues[i].severity == ISSUE_ERROR ? errs : warns,
                        issue_json(&r->issues[i]));
    if (rv == 0) {
        rv = set_new(info, "totalRows", json_integer((json_int_t)t->nrows));
        const struct column *tc =
            r->target >= 0 && (size_t)r->target < t->ncols ? &t->cols[r->target] : NULL;
        if (rv == 0)
            rv = set_new(info, "target", tc ? json_string(tc->name) : json_null());
        size_t positives = 0;
        const char *task = tc ? target_task(t, tc, &positives) : NULL;
        if (rv == 0)
            rv = set_new(info, "task", task ? json_string(task) : json_null());
        if (rv == 0 && task && strcmp(task, "binary") == 0) {
            double ctr =
                t->nrows ? round((double)positives * 10000.0 / (double)t->nrows) / 100.0 : 0.0;
            rv = set_new(info, "clickedOne", json_integer((json_int_t)positives));
            if (rv == 0)
                rv = set_new(info, "ctr", json_real(ctr));
        }
    }
    for (size_t i = 0; rv == 0 && i < r->preview_n && t->ncols > 0; i++) {
        json_t *row = json_object();
        rv = append_new(prev, row);
        for (size_t c = 0; rv == 0 && c < t->ncols; c++)
            rv = set_new(row, t->cols[c].name,
                         preview_cell(&t->cols[c], r->preview[i * t->ncols + c]));
    }
    if (rv == 0) {
        json_t *v2 = val;
        val = NULL;
        rv = set_new(v2, "isValid", json_boolean(r->n_errors == 0));
        if (rv == 0)
            rv = set_taken(v2, "errors", &errs);
        if (rv == 0)
            rv = set_taken(v2, "warnings", &warns);
        if (rv == 0)
            rv = set_new(root, "rows", json_integer((json_int_t)t->nrows));
        if (rv == 0)
            rv = set_new(root, "column_count", json_integer((json_int_t)t->ncols));
        if (rv == 0)
            rv = set_taken(root, "columns", &cols);
        if (rv == 0)
            rv = set_new(root, "validation", v2);
        else
            json_decref(v2);
        if (rv == 0)
            rv = set_taken(root, "info", &info);
        if (rv == 0)
            rv = set_taken(root, "preview", &prev);
    }
    json_decref(cols);
    json_decref(val);
    json_decref(errs);
    json_decref(warns);
    json_decref(info);
    json_decref(prev);
    if (rv != 0) {
        json_decref(root);
        return rv;
    }
    *out = root;
    return AIOPS_OK;
}

int ingest_parse_delimiter(const char *name, char *out)
{
    if (strcmp(name, "tab") == 0 || strcmp(name, "\\t") == 0 || strcmp(name, "\t") == 0)
        *out = '\t';
    else if (strlen(name) == 1 && strchr(",;|", name[0]) != NULL)
        *out = name[0];
    else
        return AIOPS_EINVAL;
    return AIOPS_OK;
}

int ingest_parse_quoting(const char *name, int *no_quoting)
{
    if (strcmp(name, "none") == 0)
        *no_quoting = 1;
    else if (strcmp(name, "csv") == 0)
        *no_quoting = 0;
    else
        return AIOPS_EINVAL;
    return AIOPS_OK;
}
