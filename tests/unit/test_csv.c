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

static char *dump_mem_config(const char *data, size_t len, const struct csv_config *cfg)
{
    struct csv_stream s;
    csv_stream_open_mem(&s, data, len, cfg);
    char *out = dump_stream(&s);
    csv_stream_close(&s);
    return out;
}

static char *dump_mem(const char *data, size_t len, char delim)
{
    return dump_mem_config(data, len, &(struct csv_config){.delimiter = delim});
}

static char *dump_file_config(const char *data, size_t len, const struct csv_config *cfg,
                              size_t block)
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
    char *out;
    if (csv_stream_open_fd(&s, fd, cfg) != 0)
        out = strdup("open failed");
    else
        out = dump_stream(&s);
    csv_stream_close(&s);
    csv_stream_block_size = 0;
    close(fd);
    unlink(path);
    return out;
}

static char *dump_file(const char *data, size_t len, char delim, size_t block)
{
    return dump_file_config(data, len, &(struct csv_config){.delimiter = delim}, block);
}

/* Opens s on the string in and reads its first record into *rec. */
static void first_record(struct csv_stream *s, const char *in, const struct csv_config *cfg,
                         struct csv_record *rec)
{
    csv_stream_open_mem(s, in, strlen(in), cfg);
    int got = 0;
    CHECK_INT(csv_stream_next(s, rec, &got), 0);
    CHECK_INT(got, 1);
}

/* Ingests in[0..len) (o may be NULL) into *r, which holds n_errors errors, the first with
 * code (NULL: none). The caller frees *r. */
static void ingest_expect(const char *in, size_t len, const struct ingest_options *o,
                          size_t n_errors, const char *code, struct ingest_result *r)
{
    CHECK_INT(ingest_csv(in, len, o, r), 0);
    CHECK_INT(r->n_errors, n_errors);
    if (code != NULL)
        CHECK_STR(r->n_issues > 0 ? r->issues[0].code : NULL, code);
}

/* The first issue of r is at row, column (named column_name unless that is NULL) and, when
 * line is not 0, line. */
static void check_first_issue_at(const struct ingest_result *r, long row, long line, long column,
                                 const char *column_name)
{
    if (r->n_issues == 0) {
        UNIT_FAIL("no issue");
        return;
    }
    CHECK_INT(r->issues[0].row, row);
    if (line != 0)
        CHECK_INT(r->issues[0].line, line);
    CHECK_INT(r->issues[0].column, column);
    if (column_name != NULL)
        CHECK_STR(r->issues[0].column_name, column_name);
}

/* Each input, read from memory with ',' as the delimiter, dumps as want. */
struct dump_case {
    const char *in, *want;
};

static void check_dumps(const struct dump_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *got = dump_mem(cases[i].in, strlen(cases[i].in), ',');
        if (strcmp(got, cases[i].want) != 0)
            UNIT_FAIL("case %zu: \"%s\" dumps as \"%s\", expected \"%s\"", i, cases[i].in, got,
                      cases[i].want);
        free(got);
    }
}

static void test_quoting(void)
{
    static const struct dump_case cases[] = {
        {"a,\"b,c\",\"d\"\"e\"\n", "a|b,c|d\"e@1\n"},
        {"\"\",\"\"\"\",x\n", "|\"|x@1\n"},
        /* a quote inside an unquoted field is data; bytes after a closing quote continue it */
        {"ab\"c,d\n", "ab\"c|d@1\n"},
        {"\"ab\"cd,e\n", "abcd|e@1\n"},
        {"\"a\"\"b\"c\"d,e\n", "a\"bc\"d|e@1\n"},
        /* empty fields, a trailing delimiter, no final line end */
        {",,\n1,2,", "||@1\n1|2|@2\n"},
        {"\"x\"", "x@1\n"},
    };
    check_dumps(cases, sizeof cases / sizeof cases[0]);
}

/* With no_quoting a '"' is data wherever it stands (csv.QUOTE_NONE): a field may start or
 * end with one, an odd number of them does not join lines, and "" stays two quotes -- read
 * from memory, from a file in 7-byte blocks (records cut anywhere) and through ingest. The
 * same bytes read with the default quoting are read as CSV quoting still. */
static void test_no_quoting(void)
{
    static const char tsv[] = "id\ttext\tstar\n"
                              "1\t\"good\t5\n"
                              "2\t\"\"so\"\" \"bad\"\t1\n"
                              "3\tsays \"hi\t3\n";
    static const char want[] = "id|text|star@1\n"
                               "1|\"good|5@2\n"
                               "2|\"\"so\"\" \"bad\"|1@3\n"
                               "3|says \"hi|3@4\n";
    struct csv_config none = {.delimiter = '\t', .no_quoting = 1};
    char *got = dump_mem_config(tsv, strlen(tsv), &none);
    CHECK_STR(got, want);
    free(got);
    got = dump_file_config(tsv, strlen(tsv), &none, 7);
    CHECK_STR(got, want);
    free(got);
    /* sniffed: the quotes do not hide the tabs */
    none.delimiter = 0;
    got = dump_mem_config(tsv, strlen(tsv), &none);
    CHECK_STR(got, want);
    free(got);
    CHECK_INT(csv_sniff(tsv, strlen(tsv), 1), '\t');
    /* the default: row 1's text opens a quoted field that runs to the quote before "bad",
     * so the first two data lines are one record */
    got = dump_mem(tsv, strlen(tsv), '\t');
    CHECK_STR(got, "id|text|star@1\n"
                   "1|good\t5\n2\t\"so\" bad\"|1@2\n"
                   "3|says \"hi|3@4\n");
    free(got);

    struct ingest_result r;
    struct ingest_options o = {.no_quoting = 1};
    ingest_expect(tsv, strlen(tsv), &o, 0, NULL, &r);
    CHECK_INT(r.table.nrows, 3);
    long ti = table_find(&r.table, "text");
    CHECK(ti >= 0 && r.table.cols[ti].storage == COL_DICT);
    if (ti >= 0 && r.table.cols[ti].storage == COL_DICT) {
        const struct column *text = &r.table.cols[ti];
        CHECK_STR(strdict_str(&text->dict, text->codes[0]), "\"good");
        CHECK_STR(strdict_str(&text->dict, text->codes[1]), "\"\"so\"\" \"bad\"");
        CHECK_STR(strdict_str(&text->dict, text->codes[2]), "says \"hi");
    }
    ingest_result_free(&r);
    ingest_expect(tsv, strlen(tsv), NULL, 0, NULL, &r);
    CHECK_INT(r.table.nrows, 2);
    ingest_result_free(&r);

    int no_quoting = -1;
    CHECK_INT(ingest_parse_quoting("none", &no_quoting), 0);
    CHECK_INT(no_quoting, 1);
    CHECK_INT(ingest_parse_quoting("csv", &no_quoting), 0);
    CHECK_INT(no_quoting, 0);
    CHECK_INT(ingest_parse_quoting("None", &no_quoting), AIOPS_EINVAL);
}

static void test_line_ends(void)
{
    static const struct dump_case cases[] = {
        {"a,b\r\nc,d\r\n", "a|b@1\nc|d@2\n"},
        {"a,b\rc,d\r", "a|b@1\nc|d@2\n"},
        {"a\r\n\r\n\nb\n\n\n", "a@1\nb@4\n"},
        {"\n\na\n", "a@3\n"},
        /* quoted line breaks of every kind, counted as lines */
        {"\"x\ny\",1\n\"p\r\nq\rr\",2\nz,3\n", "x\ny|1@1\np\r\nq\rr|2@3\nz|3@6\n"},
    };
    check_dumps(cases, sizeof cases / sizeof cases[0]);
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

    static const struct {
        const char *in;
        char want;
    } sniff[] = {
        {"a,b,c\n1,2,3\n", ','},
        {"a\tb\tc\n1\t2\t3\n", '\t'},
        {"a|b\n1|2\n", '|'},
        /* commas inside quotes do not count; the consistent candidate wins */
        {"name;note\n\"x\";\"a, b, c\"\n\"y\";\"d, e\"\n", ';'},
        /* ',' appears more often on the header but is not consistent across records */
        {"a,b,c;d\n1,2;3\n4;5\n", ';'},
        {"single\nvalue\n", ','},
        {"", ','},
        {"\xef\xbb\xbfx;y", ';'},
    };
    for (size_t i = 0; i < sizeof sniff / sizeof sniff[0]; i++)
        if (csv_sniff(sniff[i].in, strlen(sniff[i].in), 0) != sniff[i].want)
            UNIT_FAIL("csv_sniff(\"%s\") = '%c', expected '%c'", sniff[i].in,
                      csv_sniff(sniff[i].in, strlen(sniff[i].in), 0), sniff[i].want);
}

static void test_unterminated_quote(void)
{
    struct csv_stream s;
    struct csv_config cfg = {.delimiter = ','};
    const char in[] = "a,b\n1,\"open\n2,3\n";
    struct csv_record rec;
    first_record(&s, in, &cfg, &rec);
    int got;
    CHECK_INT(csv_stream_next(&s, &rec, &got), AIOPS_EPARSE);
    CHECK_INT(s.rd.err, CSV_ERR_UNTERMINATED_QUOTE);
    CHECK_INT(s.rd.err_line, 2);
    CHECK_INT(s.rd.err_record, 2);
    CHECK_INT(s.rd.err_field, 2);
    CHECK_INT(s.rd.err_pos, 6);
    csv_stream_close(&s);

    struct ingest_result r;
    ingest_expect(in, sizeof in - 1, NULL, 1, "unterminated_quote", &r);
    check_first_issue_at(&r, 2, 2, 2, "b");
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
    ingest_expect("", 0, NULL, 1, "empty_file", &r);
    ingest_result_free(&r);
    ingest_expect("a,b\n\n", 5, NULL, 1, "empty_file", &r);
    ingest_result_free(&r);
}

static void test_invalid_utf8_position(void)
{
    /* the bad byte (0xff) is in row 3 (line 4: the quoted field of row 2 spans two lines),
     * column 2 */
    const char in[] = "id,name\n1,\"caf\xc3\xa9\nbar\"\n2,ab\xff"
                      "cd\n3,ok\n";
    struct ingest_result r;
    ingest_expect(in, sizeof in - 1, NULL, 1, "invalid_utf8", &r);
    check_first_issue_at(&r, 3, 4, 2, "name");
    CHECK(strstr(r.issues[0].message, "byte offset 26") != NULL);
    ingest_result_free(&r);

    /* a truncated sequence at the very end, and an overlong encoding in the header */
    const char in2[] = "a,b\n1,\xe2\x82";
    ingest_expect(in2, sizeof in2 - 1, NULL, 1, NULL, &r);
    check_first_issue_at(&r, 2, 0, 2, NULL);
    ingest_result_free(&r);
    const char in3[] = "a,\xc0\xaf\n1,2\n";
    CHECK_INT(ingest_csv(in3, sizeof in3 - 1, NULL, &r), 0);
    CHECK_STR(r.issues[0].code, "invalid_utf8");
    check_first_issue_at(&r, 1, 0, 2, NULL);
    ingest_result_free(&r);
}

static void test_ragged_rows(void)
{
    const char in[] = "a,b,c\n1,2,3\n4,5\n\"x\ny\",7,8,9\n10,11,12\n";
    struct ingest_result r;
    ingest_expect(in, sizeof in - 1, NULL, 2, "ragged_row", &r);
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
    ingest_expect(in, k, NULL, 1, "field_too_long", &r);
    check_first_issue_at(&r, 2, 0, 2, NULL);
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
    struct csv_record rec;
    first_record(&s, in, &cfg, &rec);
    CHECK_INT(rec.nfields, 5);
    CHECK_INT(rec.nstored, 3);
    csv_stream_close(&s);
    struct ingest_options o = {.max_columns = 4};
    struct ingest_result r;
    ingest_expect(in, sizeof in - 1, &o, 1, "too_many_columns", &r);
    ingest_result_free(&r);
}

static void test_record_offsets(void)
{
    struct csv_stream s;
    struct csv_config cfg = {.delimiter = ','};
    struct csv_record rec;
    first_record(&s, "ab,c\n\"d\",e\n", &cfg, &rec);
    int got;
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

UNIT_MAIN(UNIT(test_quoting), UNIT(test_no_quoting), UNIT(test_line_ends), UNIT(test_bom_and_delimiters),
          UNIT(test_unterminated_quote), UNIT(test_empty_input), UNIT(test_invalid_utf8_position),
          UNIT(test_ragged_rows), UNIT(test_block_boundaries), UNIT(test_huge_fields),
          UNIT(test_too_many_fields), UNIT(test_record_offsets))
