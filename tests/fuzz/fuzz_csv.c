/* libFuzzer target for lib/data/csv.c, lib/data/ingest.c and lib/core/numparse.c.
 *
 * Input: 1 byte of configuration (delimiter, window step), then CSV bytes. Checked:
 *  - ingest_csv() and the summary JSON never fail on any input (only on memory);
 *  - the tokenizer gives the same records, fields, line numbers and errors whether the
 *    input comes in one window or in windows growing by a few bytes at a time, each window
 *    a fresh heap copy of exactly its bytes (so any read past a window is caught);
 *  - every field lies inside its window or the reader's scratch memory;
 *  - numparse_f64, numparse_f64_pad8 and numparse_f64_pad16 agree on every field. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/numparse.h"
#include "data/csv.h"
#include "data/ingest.h"

static void check_numbers(const char *p, size_t len)
{
    double a = 0, b = 0, c = 0;
    unsigned fa = 0, fb = 0, fc = 0;
    char *pad = malloc(len + 16);
    if (pad == NULL)
        return;
    memcpy(pad, p, len);
    memset(pad + len, '5', 16);
    int ra = numparse_f64(p, len, &a, &fa);
    int rb = numparse_f64_pad8(pad, len, &b, &fb);
    int rc = numparse_f64_pad16(pad, len, &c, &fc);
    if (ra != rb || (ra && (memcmp(&a, &b, sizeof a) != 0 || fa != fb)))
        abort();
    if (ra != rc || (ra && (memcmp(&a, &c, sizeof a) != 0 || fa != fc)))
        abort();
    free(pad);
    (void)numparse_datetime(p, len, &a);
    (void)numparse_bool(p, len);
    (void)numparse_is_na(p, len);
}

/* Tokenizes data (with CSV quoting or none) with windows that grow by `step` bytes on
 * CSV_NEED_MORE; appends a description of every record (and the final error) to out. */
static void tokenize(const uint8_t *data, size_t size, char delim, int no_quoting, size_t step,
                     struct buf *out)
{
    /* the record limit stays at its default: which limit trips first in a record that
     * breaks both may depend on the windows */
    struct csv_config cfg = {
        .delimiter = delim, .max_field_bytes = 512, .max_fields = 16, .no_quoting = no_quoting};
    struct csv_reader r;
    csv_reader_init(&r, &cfg);
    size_t base = 0, avail = step < size ? step : size;
    for (;;) {
        int final = base + avail >= size;
        char *win = malloc(avail ? avail : 1);
        if (win == NULL)
            abort();
        memcpy(win, data + base, avail);
        csv_reader_window_changed(&r);
        size_t pos = 0;
        enum csv_status st = CSV_END;
        int rv = 0;
        struct csv_record rec;
        while ((rv = csv_next(&r, win, avail, &pos, final, &rec, &st)) == 0 && st == CSV_RECORD) {
            buf_printf(out, "#%llu@%llu+%llu:%zu/%zu:", (unsigned long long)rec.number,
                       (unsigned long long)rec.line, (unsigned long long)(base + rec.offset),
                       rec.nstored, rec.nfields);
            if (rec.raw < win || rec.raw + rec.raw_len > win + avail)
                abort();
            for (size_t i = 0; i < rec.nstored; i++) {
                const struct csv_field *f = &rec.fields[i];
                int in_win = f->p >= win && f->p + f->len <= win + avail;
                int in_scratch = r.scratch != NULL && f->p >= r.scratch &&
                                 f->p + f->len <= r.scratch + r.scratch_len;
                if (!in_win && !in_scratch)
                    abort();
                if (f->raw > rec.raw_len)
                    abort();
                buf_append(out, f->p, f->len);
                buf_putc(out, '\x1f');
                check_numbers(f->p, f->len);
            }
            buf_putc(out, '\n');
        }
        free(win);
        if (rv != 0) {
            buf_printf(out, "ERR %d line %llu record %llu field %zu pos %zu\n", (int)r.err,
                       (unsigned long long)r.err_line, (unsigned long long)r.err_record,
                       r.err_field, base + r.err_pos);
            break;
        }
        if (st == CSV_END)
            break;
        if (st != CSV_NEED_MORE || final)
            abort();
        /* keep the partial record, add `step` more bytes */
        base += pos;
        avail = avail - pos + step;
        if (base + avail > size)
            avail = size - base;
    }
    csv_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char delims[4] = {',', ';', '\t', '|'};
    char delim = delims[data[0] & 3];
    size_t step = 1 + (data[0] >> 2);
    data++;
    size--;

    /* the whole pipeline, sniffing the delimiter, with default and with tiny limits, and
     * without quoting */
    struct ingest_options small = {
        .max_issues = 3, .preview_rows = 2, .max_columns = 6, .max_field_bytes = 40};
    struct ingest_options unquoted = {.no_quoting = 1};
    const struct ingest_options *opts[3] = {NULL, &small, &unquoted};
    for (int i = 0; i < 3; i++) {
        struct ingest_result r;
        if (ingest_csv((const char *)data, size, opts[i], &r) != 0)
            abort();
        if (r.n_errors == 0 && r.table.ncols == 0)
            abort();
        json_t *j;
        if (ingest_summary_json(&r, &j) != 0)
            abort();
        char *s = json_dumps(j, 0);
        if (s == NULL)
            abort();
        free(s);
        json_decref(j);
        ingest_result_free(&r);
    }

    /* one window versus growing windows, with quoting and without */
    for (int no_quoting = 0; no_quoting < 2; no_quoting++) {
        struct buf whole = BUF_INIT, pieces = BUF_INIT;
        tokenize(data, size, delim, no_quoting, size ? size : 1, &whole);
        tokenize(data, size, delim, no_quoting, step, &pieces);
        if (whole.len != pieces.len ||
            (whole.len && memcmp(whole.data, pieces.data, whole.len) != 0))
            abort();
        buf_free(&whole);
        buf_free(&pieces);
    }
    return 0;
}
