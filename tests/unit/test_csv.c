/* Unit tests for lib/data/csv.c (tokenizer, sniffing, streams) and the CSV-level checks of
 * lib/data/ingest.c (UTF-8 positions, ragged rows, unterminated quotes). */

#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "data/csv.h"
#include "data/ingest.h"
#include "unit.h"

/* Every record of a stream as "f1|f2|...@line" lines joined by '\n'; on an error, "ERR n"
 * for csv_error n is appended. */
static char *dump_stream(struct csv_stream *s)
{
    struct buf b = BUF_INIT;
    struct csv_record rec;
    int got, rv;
    while ((rv = csv_stream_next(s, &rec, &got)) == 0 && got) {
        for (size_t i = 0; i < rec.nstored; i++) {
            if (i)
                buf_putc(&b, '|');
            buf_append(&b, rec.fields[i].p, rec.fields[i].len);
        }
        buf_printf(&b, "@%llu\n", (unsigned long long)rec.line);
    }
    if (rv != 0)
        buf_printf(&b, "ERR %d", (int)s->rd.err);
    char *out = buf_detach(&b, NULL);
    return out ? out : strdup("");
}

static char *dump_mem(const char *data, size_t len, char delim)
{
    struct csv_stream s;
    struct csv_config cfg = {.delimiter = delim};
    csv_stream_open_mem(&s, data, len, &cfg);
    char *out = dump_stream(&s);
    csv_stream_close(&s);
    return out;
}

static char *dump_file(const char *data, size_t len, char delim, size_t block)
{
    char path[] = "/tmp/test_csv_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return strdup("mkstemp failed");
    if (write(fd, data, len) != (ssize_t)len) {
        close(fd);
        unlink(path);
        return strdup("write failed");
    }
    lseek(fd, 0, SEEK_SET);
    csv_stream_block_size = block;
    struct csv_stream s;
    struct csv_config cfg = {.delimiter = delim};
    char *out;
    if (csv_stream_open_fd(&s, fd, &cfg) != 0)
        out = strdup("open failed");
    else
        out = dump_stream(&s);
    csv_stream_close(&s);
    csv_stream_block_size = 0;
    close(fd);
    unlink(path);
    return out;
}

#define CHECK_DUMP(data, delim, want)                                                              \
    do {                                                                                           \
        char *got_ = dump_mem((data), sizeof(data) - 1, (delim));                                  \
        CHECK_STR(got_, (want));                                                                   \
        free(got_);                                                                                \
    } while (0)

static void test_quoting(void)
{
    CHECK_DUMP("a,\"b,c\",\"d\"\"e\"\n", ',', "a|b,c|d\"e@1\n");
    CHECK_DUMP("\"\",\"\"\"\",x\n", ',', "|\"|x@1\n");
    /* a quote inside an unquoted field is data; bytes after a closing quote continue it */
    CHECK_DUMP("ab\"c,d\n", ',', "ab\"c|d@1\n");
    CHECK_DUMP("\"ab\"cd,e\n", ',', "abcd|e@1\n");
    CHECK_DUMP("\"a\"\"b\"c\"d,e\n", ',', "a\"bc\"d|e@1\n");
    /* empty fields, a trailing delimiter, no final line end */
    CHECK_DUMP(",,\n1,2,", ',', "||@1\n1|2|@2\n");
    CHECK_DUMP("\"x\"", ',', "x@1\n");
}

static void test_line_ends(void)
{
    CHECK_DUMP("a,b\r\nc,d\r\n", ',', "a|b@1\nc|d@2\n");
    CHECK_DUMP("a,b\rc,d\r", ',', "a|b@1\nc|d@2\n");
    CHECK_DUMP("a\r\n\r\n\nb\n\n\n", ',', "a@1\nb@4\n");
    CHECK_DUMP("\n\na\n", ',', "a@3\n");
    /* quoted line breaks of every kind, counted as lines */
    CHECK_DUMP("\"x\ny\",1\n\"p\r\nq\rr\",2\nz,3\n", ',', "x\ny|1@1\np\r\nq\rr|2@3\nz|3@6\n");
}

static void test_bom_and_delimiters(void)
{
    struct csv_stream s;
    struct csv_config cfg = {0};
    const char in[] = "\xef\xbb\xbf"
                      "a;b;c\n1;2;3\n";
    csv_stream_open_mem(&s, in, sizeof in - 1, &cfg);
    CHECK_INT(s.had_bom, 1);
    CHECK_INT(s.delim, ';');
    char *got = dump_stream(&s);
    CHECK_STR(got, "a|b|c@1\n1|2|3@2\n");
    free(got);
    csv_stream_close(&s);

    CHECK_INT(csv_sniff("a,b,c\n1,2,3\n", 12), ',');
    CHECK_INT(csv_sniff("a\tb\tc\n1\t2\t3\n", 12), '\t');
    CHECK_INT(csv_sniff("a|b\n1|2\n", 8), '|');
    /* commas inside quotes do not count; the consistent candidate wins */
    const char q[] = "name;note\n\"x\";\"a, b, c\"\n\"y\";\"d, e\"\n";
    CHECK_INT(csv_sniff(q, sizeof q - 1), ';');
    /* ',' appears more often on the header but is not consistent across records */
    const char r[] = "a,b,c;d\n1,2;3\n4;5\n";
    CHECK_INT(csv_sniff(r, sizeof r - 1), ';');
    CHECK_INT(csv_sniff("single\nvalue\n", 13), ',');
    CHECK_INT(csv_sniff("", 0), ',');
    CHECK_INT(csv_sniff("\xef\xbb\xbfx;y", 6), ';');
}

static void test_unterminated_quote(void)
{
    struct csv_stream s;
    struct csv_config cfg = {.delimiter = ','};
    const char in[] = "a,b\n1,\"open\n2,3\n";
    csv_stream_open_mem(&s, in, sizeof in - 1, &cfg);
    struct csv_record rec;
    int got;
    CHECK_INT(csv_stream_next(&s, &rec, &got), 0);
    CHECK_INT(got, 1);
    CHECK_INT(csv_stream_next(&s, &rec, &got), AIOPS_EPARSE);
    CHECK_INT(s.rd.err, CSV_ERR_UNTERMINATED_QUOTE);
    CHECK_INT(s.rd.err_line, 2);
    CHECK_INT(s.rd.err_record, 2);
    CHECK_INT(s.rd.err_field, 2);
    CHECK_INT(s.rd.err_pos, 6);
    csv_stream_close(&s);

    struct ingest_result r;
    CHECK_INT(ingest_csv(in, sizeof in - 1, NULL, &r), 0);
    CHECK_INT(r.n_errors, 1);
    CHECK_STR(r.issues[0].code, "unterminated_quote");
    CHECK_INT(r.issues[0].row, 2);
    CHECK_INT(r.issues[0].line, 2);
    CHECK_INT(r.issues[0].column, 2);
    CHECK_STR(r.issues[0].column_name, "b");
    CHECK_INT(r.table.ncols, 0);
    ingest_result_free(&r);
}

static void test_empty_input(void)
{
    char *got = dump_mem("", 0, ',');
    CHECK_STR(got, "");
    free(got);
    got = dump_file("", 0, ',', 3);
    CHECK_STR(got, "");
    free(got);
    got = dump_mem("\n\r\n\n", 4, ',');
    CHECK_STR(got, "");
    free(got);
    struct ingest_result r;
    CHECK_INT(ingest_csv("", 0, NULL, &r), 0);
    CHECK_INT(r.n_errors, 1);
    CHECK_STR(r.issues[0].code, "empty_file");
    ingest_result_free(&r);
    CHECK_INT(ingest_csv("a,b\n\n", 5, NULL, &r), 0);
    CHECK_INT(r.n_errors, 1);
    CHECK_STR(r.issues[0].code, "empty_file");
    ingest_result_free(&r);
}

static void test_invalid_utf8_position(void)
{
    /* the bad byte (0xff) is in row 3 (line 4: the quoted field of row 2 spans two lines),
     * column 2 */
    const char in[] = "id,name\n1,\"caf\xc3\xa9\nbar\"\n2,ab\xff"
                      "cd\n3,ok\n";
    struct ingest_result r;
    CHECK_INT(ingest_csv(in, sizeof in - 1, NULL, &r), 0);
    CHECK_INT(r.n_errors, 1);
    CHECK_STR(r.issues[0].code, "invalid_utf8");
    CHECK_INT(r.issues[0].row, 3);
    CHECK_INT(r.issues[0].line, 4);
    CHECK_INT(r.issues[0].column, 2);
    CHECK_STR(r.issues[0].column_name, "name");
    CHECK(strstr(r.issues[0].message, "byte offset 26") != NULL);
    ingest_result_free(&r);

    /* a truncated sequence at the very end, and an overlong encoding in the header */
    const char in2[] = "a,b\n1,\xe2\x82";
    CHECK_INT(ingest_csv(in2, sizeof in2 - 1, NULL, &r), 0);
    CHECK_INT(r.n_errors, 1);
    CHECK_INT(r.issues[0].row, 2);
    CHECK_INT(r.issues[0].column, 2);
    ingest_result_free(&r);
    const char in3[] = "a,\xc0\xaf\n1,2\n";
    CHECK_INT(ingest_csv(in3, sizeof in3 - 1, NULL, &r), 0);
    CHECK_STR(r.issues[0].code, "invalid_utf8");
    CHECK_INT(r.issues[0].row, 1);
    CHECK_INT(r.issues[0].column, 2);
    ingest_result_free(&r);
}

static void test_ragged_rows(void)
{
    const char in[] = "a,b,c\n1,2,3\n4,5\n\"x\ny\",7,8,9\n10,11,12\n";
    struct ingest_result r;
    CHECK_INT(ingest_csv(in, sizeof in - 1, NULL, &r), 0);
    CHECK_INT(r.n_errors, 2);
    CHECK_STR(r.issues[0].code, "ragged_row");
    CHECK_INT(r.issues[0].row, 3);
    CHECK_INT(r.issues[0].line, 3);
    CHECK_STR(r.issues[0].message, "row 3 (line 3) has 2 fields, expected 3");
    CHECK_INT(r.issues[1].row, 4);
    CHECK_INT(r.issues[1].line, 4);
    CHECK_STR(r.issues[1].message, "row 4 (line 4) has 4 fields, expected 3");
    CHECK_INT(r.table.ncols, 0);
    CHECK_INT(r.table.nrows, 4);
    ingest_result_free(&r);

    /* totals are counted beyond max_issues */
    struct buf b = BUF_INIT;
    buf_puts(&b, "a,b\n");
    for (int i = 0; i < 50; i++)
        buf_puts(&b, "1\n");
    struct ingest_options o = {.max_issues = 5};
    CHECK_INT(ingest_csv(b.data, b.len, &o, &r), 0);
    CHECK_INT(r.n_errors, 50);
    CHECK_INT(r.n_issues, 5);
    ingest_result_free(&r);
    buf_free(&b);
}

/* Records built to straddle block boundaries in every way. */
static const char tricky[] = "id,text,value\r\n"
                             "1,\"multi\nline \"\"quoted\"\" text\",3.25\r\n"
                             "2,plain,-4\r\n"
                             "\r\n"
                             "3,\"a,b\",1e3\r"
                             "4,\"\",\r\n"
                             "5,\"ends with quote\"\"\",x\n"
                             "6,\"\xc3\xa9t\xc3\xa9\",7\n"
                             "7,last,8";

static void test_block_boundaries(void)
{
    char *want = dump_mem(tricky, sizeof tricky - 1, ',');
    CHECK(strstr(want, "multi\nline \"quoted\" text") != NULL);
    CHECK(strstr(want, "ends with quote\"|x@") != NULL);
    for (size_t block = 1; block <= 40; block++) {
        char *got = dump_file(tricky, sizeof tricky - 1, ',', block);
        if (strcmp(got, want) != 0)
            UNIT_FAIL("block size %zu: got\n%s\nwant\n%s", block, got, want);
        free(got);
    }
    free(want);
    /* the same through ingest: identical results in memory and in file mode */
    char path[] = "/tmp/test_csv_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, tricky, sizeof tricky - 1) == (ssize_t)(sizeof tricky - 1));
    close(fd);
    struct ingest_result a, b;
    CHECK_INT(ingest_csv(tricky, sizeof tricky - 1, NULL, &a), 0);
    csv_stream_block_size = 7;
    CHECK_INT(ingest_csv_file(path, NULL, &b), 0);
    csv_stream_block_size = 0;
    unlink(path);
    CHECK_INT(a.n_errors, 0);
    CHECK_INT(b.n_errors, 0);
    CHECK_INT(a.table.nrows, 7);
    CHECK_INT(b.table.nrows, 7);
    CHECK_INT(b.table.ncols, 3);
    if (a.table.ncols == 3 && b.table.ncols == 3) {
        const struct column *ta = &a.table.cols[1], *tb = &b.table.cols[1];
        CHECK_INT(ta->dict.count, tb->dict.count);
        for (uint32_t k = 0; k < ta->dict.count && k < tb->dict.count; k++)
            CHECK_STR(strdict_str(&ta->dict, k), strdict_str(&tb->dict, k));
        /* "value" turns into strings at row 6 ("x"): its earlier rows were read again */
        const struct column *va = &b.table.cols[2];
        CHECK_INT(va->storage, COL_DICT);
        CHECK_STR(strdict_str(&va->dict, va->codes[0]), "3.25");
        CHECK_STR(strdict_str(&va->dict, va->codes[2]), "1e3");
        CHECK_INT(va->codes[3], TABLE_MISSING);
        CHECK_STR(strdict_str(&va->dict, va->codes[4]), "x");
    }
    ingest_result_free(&a);
    ingest_result_free(&b);
}

static void test_huge_fields(void)
{
    size_t n = (size_t)3 << 20;
    char *in = malloc(n + 64);
    size_t k = 0;
    k += (size_t)sprintf(in, "a,b\n1,\"");
    memset(in + k, 'x', n);
    k += n;
    k += (size_t)sprintf(in + k, "\"\n2,y\n");
    /* over the default limit of 1 MiB */
    struct ingest_result r;
    CHECK_INT(ingest_csv(in, k, NULL, &r), 0);
    CHECK_INT(r.n_errors, 1);
    CHECK_STR(r.issues[0].code, "field_too_long");
    CHECK_INT(r.issues[0].row, 2);
    CHECK_INT(r.issues[0].column, 2);
    ingest_result_free(&r);
    /* under a raised limit, also in file mode with small blocks */
    struct ingest_options o = {.max_field_bytes = (size_t)4 << 20};
    CHECK_INT(ingest_csv(in, k, &o, &r), 0);
    CHECK_INT(r.n_errors, 0);
    if (r.table.ncols == 2) {
        const struct column *c = &r.table.cols[1];
        CHECK_INT(strdict_len(&c->dict, c->codes[0]), n);
    }
    ingest_result_free(&r);
    char path[] = "/tmp/test_csv_XXXXXX";
    int fd = mkstemp(path);
    CHECK(write(fd, in, k) == (ssize_t)k);
    close(fd);
    csv_stream_block_size = 4096;
    CHECK_INT(ingest_csv_file(path, &o, &r), 0);
    CHECK_INT(r.n_errors, 0);
    CHECK_INT(r.table.nrows, 2);
    ingest_result_free(&r);
    CHECK_INT(ingest_csv_file(path, NULL, &r), 0);
    CHECK_INT(r.n_errors, 1);
    CHECK_STR(r.issues[0].code, "field_too_long");
    ingest_result_free(&r);
    csv_stream_block_size = 0;
    unlink(path);
    free(in);
}

static void test_too_many_fields(void)
{
    struct csv_stream s;
    struct csv_config cfg = {.delimiter = ',', .max_fields = 3};
    const char in[] = "a,b,c,d,e\n";
    csv_stream_open_mem(&s, in, sizeof in - 1, &cfg);
    struct csv_record rec;
    int got;
    CHECK_INT(csv_stream_next(&s, &rec, &got), 0);
    CHECK_INT(rec.nfields, 5);
    CHECK_INT(rec.nstored, 3);
    csv_stream_close(&s);
    struct ingest_options o = {.max_columns = 4};
    struct ingest_result r;
    CHECK_INT(ingest_csv(in, sizeof in - 1, &o, &r), 0);
    CHECK_INT(r.n_errors, 1);
    CHECK_STR(r.issues[0].code, "too_many_columns");
    ingest_result_free(&r);
}

static void test_record_offsets(void)
{
    struct csv_stream s;
    struct csv_config cfg = {.delimiter = ','};
    const char in[] = "ab,c\n\"d\",e\n";
    csv_stream_open_mem(&s, in, sizeof in - 1, &cfg);
    struct csv_record rec;
    int got;
    CHECK_INT(csv_stream_next(&s, &rec, &got), 0);
    CHECK_INT(rec.offset, 0);
    CHECK_INT(rec.fields[1].raw, 3);
    CHECK_INT(rec.maybe_high, 0);
    CHECK_INT(csv_stream_next(&s, &rec, &got), 0);
    CHECK_INT(rec.offset, 5);
    CHECK_INT(rec.raw_len, 5);
    CHECK_INT(rec.fields[0].raw, 0);
    CHECK_INT(rec.fields[1].raw, 4);
    CHECK_INT(rec.number, 2);
    csv_stream_close(&s);
}

UNIT_MAIN(UNIT(test_quoting), UNIT(test_line_ends), UNIT(test_bom_and_delimiters),
          UNIT(test_unterminated_quote), UNIT(test_empty_input), UNIT(test_invalid_utf8_position),
          UNIT(test_ragged_rows), UNIT(test_block_boundaries), UNIT(test_huge_fields),
          UNIT(test_too_many_fields), UNIT(test_record_offsets))
