/* Unit tests for lib/http/multipart.c. */
#include "unit.h"

#include "core/array.h"
#include "core/buf.h"
#include "core/err.h"
#include "http/multipart.h"

#define CURL_B "------------------------d74496d66958873e"
#define CURL_CT "multipart/form-data; boundary=" CURL_B

static int parse(const char *ct, const char *body, struct multipart_form *f, struct aiops_error *e)
{
    return multipart_parse(ct, body, strlen(body), f, e);
}

/* The len bytes of body (content type ct) are refused as unparsable with the error code
 * `code` (the test fails naming case `what` otherwise); the offset the error gives. */
static long check_refused(const char *ct, const char *body, size_t len, const char *code,
                          const char *what)
{
    struct multipart_form f;
    struct aiops_error e = AIOPS_ERROR_INIT;
    int rv = multipart_parse(ct, body, len, &f, &e);
    if (rv != AIOPS_EPARSE || strcmp(e.code, code) != 0)
        UNIT_FAIL("%s: rv %d code %s, expected %s", what, rv, e.code ? e.code : "-", code);
    if (rv == 0)
        multipart_form_free(&f);
    return (long)e.offset;
}

/* What `curl -F file=@data.csv -F target=clicked` sends. */
static void test_curl_body(void)
{
    const char *body = "--" CURL_B "\r\n"
                       "Content-Disposition: form-data; name=\"file\"; filename=\"data.csv\"\r\n"
                       "Content-Type: text/csv\r\n"
                       "\r\n"
                       "a,b\r\n1,2\r\n"
                       "\r\n--" CURL_B "\r\n"
                       "Content-Disposition: form-data; name=\"target\"\r\n"
                       "\r\n"
                       "clicked"
                       "\r\n--" CURL_B "--\r\n";
    struct multipart_form f;
    struct aiops_error e;
    CHECK_INT(parse(CURL_CT, body, &f, &e), 0);
    CHECK_INT(f.nparts, 2);
    CHECK_STR(f.parts[0].name, "file");
    CHECK_STR(f.parts[0].filename, "data.csv");
    CHECK_STR(f.parts[0].content_type, "text/csv");
    CHECK_MEM(f.parts[0].data, f.parts[0].len, "a,b\r\n1,2\r\n", 10);
    CHECK((const char *)f.parts[0].data == body + f.parts[0].offset); /* zero-copy */
    CHECK_STR(f.parts[1].name, "target");
    CHECK(f.parts[1].filename == NULL);
    CHECK(f.parts[1].content_type == NULL);
    CHECK_MEM(f.parts[1].data, f.parts[1].len, "clicked", 7);
    const struct multipart_part *p = multipart_find(&f, "target");
    CHECK(p == &f.parts[1]);
    CHECK(multipart_find(&f, "nope") == NULL);
    multipart_form_free(&f);
    CHECK_INT(f.nparts, 0);
    multipart_form_free(&f); /* twice is harmless */
}

/* A browser (Chrome) form with a preamble, an epilogue and a quoted boundary. */
static void test_browser_body_preamble_epilogue(void)
{
    const char *ct = "Multipart/Form-Data ; charset=utf-8; boundary=\"----WebKitFormBoundary7MA4"
                     "YWxkTrZu0gW\"";
    const char *body = "This is the preamble; it is ignored.\r\n"
                       "------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
                       "content-disposition: form-data; name=\"title\"\r\n"
                       "\r\n"
                       "Quarterly \"report\""
                       "\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW  \t\r\n"
                       "Content-Disposition: form-data; name=\"upload\"; filename=\"q3.csv\"\r\n"
                       "Content-Type: application/vnd.ms-excel  \r\n"
                       "X-Ignored: yes\r\n"
                       "\r\n"
                       "x\ny\n"
                       "\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n"
                       "epilogue\r\n--not a delimiter\r\n";
    struct multipart_form f;
    struct aiops_error e;
    CHECK_INT(parse(ct, body, &f, &e), 0);
    CHECK_INT(f.nparts, 2);
    CHECK_MEM(f.parts[0].data, f.parts[0].len, "Quarterly \"report\"", 18);
    CHECK_STR(f.parts[1].filename, "q3.csv");
    CHECK_STR(f.parts[1].content_type, "application/vnd.ms-excel");
    CHECK_MEM(f.parts[1].data, f.parts[1].len, "x\ny\n", 4);
    multipart_form_free(&f);
}

static void test_boundary_in_data_is_not_delimiter(void)
{
    /* "--B" inside lines, "\r\n--BX" (boundary as a prefix), "\r\n--B" followed by junk */
    const char *body = "--B\r\n"
                       "Content-Disposition: form-data; name=\"f\"\r\n"
                       "\r\n"
                       "x--B\r\n"
                       "--BX\r\n"
                       "--B-\r\n"
                       "--B x\r\n"
                       "end"
                       "\r\n--B--";
    struct multipart_form f;
    struct aiops_error e;
    CHECK_INT(parse("multipart/form-data; boundary=B", body, &f, &e), 0);
    CHECK_INT(f.nparts, 1);
    const char *want = "x--B\r\n--BX\r\n--B-\r\n--B x\r\nend";
    CHECK_MEM(f.parts[0].data, f.parts[0].len, want, strlen(want));
    multipart_form_free(&f);
}

static void test_csv_with_dash_lines(void)
{
    const char *csv = "id,comment\r\n1,--\r\n--\r\n----\r\n-- a SQL comment\r\n2,x\r\n";
    struct buf b = BUF_INIT;
    buf_printf(&b,
               "--" CURL_B "\r\nContent-Disposition: form-data; name=\"file\"; "
               "filename=\"c.csv\"\r\nContent-Type: text/csv\r\n\r\n%s\r\n--" CURL_B "--",
               csv);
    struct multipart_form f;
    struct aiops_error e;
    CHECK_INT(multipart_parse(CURL_CT, b.data, b.len, &f, &e), 0);
    CHECK_INT(f.nparts, 1);
    CHECK_MEM(f.parts[0].data, f.parts[0].len, csv, strlen(csv));
    multipart_form_free(&f);
    buf_free(&b);
}

static void test_empty_parts(void)
{
    /* an empty file part (browsers send this when no file is chosen), with and without a
     * CRLF of its own before the delimiter */
    const char *body = "--B\r\n"
                       "Content-Disposition: form-data; name=\"file\"; filename=\"\"\r\n"
                       "Content-Type: application/octet-stream\r\n"
                       "\r\n"
                       "\r\n--B\r\n"
                       "Content-Disposition: form-data; name=\"\"\r\n"
                       "\r\n--B--\r\n";
    struct multipart_form f;
    struct aiops_error e;
    CHECK_INT(parse("multipart/form-data;boundary=B", body, &f, &e), 0);
    CHECK_INT(f.nparts, 2);
    CHECK_STR(f.parts[0].filename, "");
    CHECK_INT(f.parts[0].len, 0);
    CHECK_STR(f.parts[1].name, "");
    CHECK_INT(f.parts[1].len, 0);
    multipart_form_free(&f);
}

static void test_missing_close_delimiter(void)
{
    const char *body = "--B\r\n"
                       "Content-Disposition: form-data; name=\"a\"\r\n"
                       "\r\n"
                       "1\r\n--B\r\n"
                       "Content-Disposition: form-data; name=\"b\"\r\n"
                       "\r\n"
                       "2,3,4\r\n"; /* truncated upload */
    struct multipart_form f;
    struct aiops_error e;
    CHECK_INT(parse("multipart/form-data; boundary=B", body, &f, &e), AIOPS_EPARSE);
    CHECK_STR(e.code, "unterminated_part");
    const char *data2 = strstr(body, "2,3,4");
    CHECK_INT(e.offset, data2 - body);
    CHECK(strstr(e.message, "part 2") != NULL);
    CHECK_INT(f.nparts, 0);
    CHECK(f.strings == NULL);

    /* a delimiter without CRLF at the very end is not a delimiter either */
    const char *b2 = "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B";
    CHECK_INT(parse("multipart/form-data; boundary=B", b2, &f, &e), AIOPS_EPARSE);
    CHECK_STR(e.code, "unterminated_part");
    /* tolerated: no CRLF after the close delimiter */
    const char *b3 = "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B--";
    CHECK_INT(parse("multipart/form-data; boundary=B", b3, &f, &e), 0);
    multipart_form_free(&f);
    /* no delimiter at all; close only */
    CHECK_INT(parse("multipart/form-data; boundary=B", "just text", &f, &e), AIOPS_EPARSE);
    CHECK_STR(e.code, "no_parts");
    CHECK_INT(parse("multipart/form-data; boundary=B", "--B--\r\n", &f, &e), AIOPS_EPARSE);
    CHECK_STR(e.code, "no_parts");
    CHECK_INT(multipart_parse("multipart/form-data; boundary=B", NULL, 0, &f, &e), AIOPS_EPARSE);
    CHECK_STR(e.code, "no_parts");
    /* headers that never end */
    CHECK_INT(
        parse("multipart/form-data; boundary=B", "--B\r\nContent-Disposition: form-data", &f, &e),
        AIOPS_EPARSE);
    CHECK_STR(e.code, "unterminated_part");
    CHECK_INT(e.offset, 5);
}

static void test_malformed_content_disposition(void)
{
    struct {
        const char *hdrs, *code;
    } cases[] = {
        {"Content-Disposition: form-data\r\n", "bad_content_disposition"},
        {"Content-Disposition: attachment; name=\"a\"\r\n", "bad_content_disposition"},
        {"Content-Disposition: form-data; name=\"a\r\n", "bad_content_disposition"},
        {"Content-Disposition: form-data; name=\"a\"; name=\"b\"\r\n", "bad_content_disposition"},
        {"Content-Disposition: form-data; name=\"a\" filename=\"b\"\r\n",
         "bad_content_disposition"},
        {"Content-Disposition: form-data; name=\r\n", "bad_content_disposition"},
        {"Content-Disposition: form-data; =x\r\n", "bad_content_disposition"},
        {"Content-Disposition: form-data; name=\"a\\\"\r\n", "bad_content_disposition"},
        {"Content-Disposition: form-data; name=\"\xff\"\r\n", "bad_content_disposition"},
        {"Content-Disposition: form-data; name=\"a\"; filename*=UTF-8''%zz\r\n",
         "bad_content_disposition"},
        {"Content-Disposition: form-data; name=\"a\"; filename*=UTF-8''%00x\r\n",
         "bad_content_disposition"},
        {"Content-Disposition: form-data; name=\"a\"; filename*=UTF-8''%C3\r\n",
         "bad_content_disposition"},
        {"Content-Disposition: form-data; name=\"a\"; filename*=nocharset\r\n",
         "bad_content_disposition"},
        {"Content-Type: text/plain\r\n", "missing_content_disposition"},
        {"Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; "
         "name=\"b\"\r\n",
         "bad_part_header"},
        {"Content-Disposition : form-data; name=\"a\"\r\n", "bad_part_header"},
        {"X-Folded: a\r\n b\r\nContent-Disposition: form-data; name=\"a\"\r\n", "bad_part_header"},
        {"Content-Disposition: form-data; name=\"a\"\n", "bad_part_header"},
        {"Content-Disposition: form-data; name=\"a\x01\"\r\n", "bad_part_header"},
        {"no colon here\r\n", "bad_part_header"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct buf b = BUF_INIT;
        buf_printf(&b, "--B\r\n%s\r\ndata\r\n--B--\r\n", cases[i].hdrs);
        char what[32];
        snprintf(what, sizeof what, "header case %zu", i);
        long offset =
            check_refused("multipart/form-data; boundary=B", b.data, b.len, cases[i].code, what);
        CHECK(offset >= 5 && (size_t)offset < b.len);
        buf_free(&b);
    }
}

static void test_filename_rfc5987_korean(void)
{
    const char *body =
        "--B\r\n"
        "Content-Disposition: form-data; name=\"file\"; filename=\"fallback.csv\"; "
        "filename*=UTF-8''%ED%95%9C%EA%B8%80%20%EB%8D%B0%EC%9D%B4%ED%84%B0.csv\r\n"
        "\r\nx\r\n--B\r\n"
        "Content-Disposition: form-data; name=\"l1\"; filename*=iso-8859-1'en'caf%E9.txt\r\n"
        "\r\ny\r\n--B\r\n"
        "Content-Disposition: form-data; name=\"other\"; filename=\"keep.txt\"; "
        "filename*=KOI8-R''%C1\r\n"
        "\r\nz\r\n--B\r\n"
        "Content-Disposition: form-data; name=\"raw\"; filename=\"\xed\x95\x9c.csv\"\r\n"
        "\r\nw\r\n--B\r\n"
        "Content-Disposition: form-data; name=\"esc\\\"aped\\\\\"; filename=\"C:\\\\dir\\\\"
        "a\\\".csv\"\r\n"
        "\r\nv\r\n--B--";
    struct multipart_form f;
    struct aiops_error e;
    CHECK_INT(parse("multipart/form-data; boundary=B", body, &f, &e), 0);
    CHECK_INT(f.nparts, 5);
    CHECK_STR(f.parts[0].filename,
              "\xed\x95\x9c\xea\xb8\x80 \xeb\x8d\xb0\xec\x9d\xb4\xed\x84\xb0.csv");
    CHECK_STR(f.parts[1].filename, "caf\xc3\xa9.txt");
    CHECK_STR(f.parts[2].filename, "keep.txt"); /* unknown charset: filename* ignored */
    CHECK_STR(f.parts[3].filename, "\xed\x95\x9c.csv");
    CHECK_STR(f.parts[4].name, "esc\"aped\\");
    CHECK_STR(f.parts[4].filename, "C:\\dir\\a\".csv");
    CHECK(multipart_find(&f, "esc\"aped\\") == &f.parts[4]);
    multipart_form_free(&f);
}

static void test_content_type_errors(void)
{
    struct {
        const char *ct, *code;
    } cases[] = {
        {"text/plain; boundary=B", "bad_content_type"},
        {"multipart/form-datax; boundary=B", "bad_content_type"},
        {"multipart/mixed; boundary=B", "bad_content_type"},
        {"multipart/form-data", "missing_boundary"},
        {"multipart/form-data; charset=utf-8", "missing_boundary"},
        {"multipart/form-data; boundary=", "bad_boundary"},
        {"multipart/form-data; boundary=\"\"", "bad_boundary"},
        {"multipart/form-data; boundary=\"ends in space \"", "bad_boundary"},
        {"multipart/form-data; boundary=\"bad*char\"", "bad_boundary"},
        {"multipart/form-data; boundary=12345678901234567890123456789012345678901234567890"
         "123456789012345678901",
         "bad_boundary"},
        {"multipart/form-data; boundary=a; boundary=b", "bad_content_type"},
        {"multipart/form-data; boundary=\"unterminated", "bad_content_type"},
        {"multipart/form-data boundary=B", "bad_content_type"},
    };
    const char *one_part = "--B\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--B--";
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        check_refused(cases[i].ct, one_part, strlen(one_part), cases[i].code, cases[i].ct);
    /* 70 characters, with the quoted-only characters, is fine */
    const char *b70 = "'()+_,-./:=? 012345678901234567890123456789012345678901234567890123456";
    CHECK_INT(strlen(b70), 70);
    struct buf ct = BUF_INIT, body = BUF_INIT;
    buf_printf(&ct, "multipart/form-data; boundary=\"%s\"", b70);
    buf_printf(&body, "--%s\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--%s--", b70,
               b70);
    struct multipart_form f;
    struct aiops_error e;
    CHECK_INT(multipart_parse(ct.data, body.data, body.len, &f, &e), 0);
    CHECK_INT(f.nparts, 1);
    CHECK_STR(f.parts[0].name, "a");
    multipart_form_free(&f);
    CHECK_INT(multipart_parse(NULL, body.data, body.len, &f, &e), AIOPS_EPARSE);
    buf_free(&ct);
    buf_free(&body);
}

static void test_limits(void)
{
    struct multipart_form f;
    struct aiops_error e;
    struct buf b = BUF_INIT;
    /* 64 parts pass, 65 do not */
    for (int i = 0; i < 65; i++)
        buf_printf(&b, "--B\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\n%d\r\n", i, i);
    size_t at65 = 0;
    {
        const char *p = strstr(b.data, "name=\"f64\"");
        at65 = (size_t)(p - b.data);
    }
    struct buf b64 = BUF_INIT;
    buf_append(&b64, b.data, at65 - strlen("--B\r\nContent-Disposition: form-data; "));
    buf_puts(&b64, "--B--\r\n");
    CHECK_INT(multipart_parse("multipart/form-data; boundary=B", b64.data, b64.len, &f, &e), 0);
    CHECK_INT(f.nparts, 64);
    CHECK_STR(f.parts[63].name, "f63");
    CHECK_MEM(f.parts[63].data, f.parts[63].len, "63", 2);
    multipart_form_free(&f);
    buf_puts(&b, "--B--\r\n");
    CHECK_INT(multipart_parse("multipart/form-data; boundary=B", b.data, b.len, &f, &e),
              AIOPS_ETOOBIG);
    CHECK_STR(e.code, "too_many_parts");
    buf_free(&b);
    buf_free(&b64);

    /* 8 KiB of headers */
    buf_puts(&b, "--B\r\nContent-Disposition: form-data; name=a\r\nX-Pad: ");
    for (int i = 0; i < 8200; i++)
        buf_putc(&b, 'p');
    buf_puts(&b, "\r\n\r\nv\r\n--B--");
    CHECK_INT(multipart_parse("multipart/form-data; boundary=B", b.data, b.len, &f, &e),
              AIOPS_ETOOBIG);
    CHECK_STR(e.code, "header_too_large");
    CHECK_INT(e.offset, 5);
    buf_free(&b);

    /* names: 1024 bytes pass, 1025 do not */
    for (int len = 1024; len <= 1025; len++) {
        buf_puts(&b, "--B\r\nContent-Disposition: form-data; name=\"");
        for (int i = 0; i < len; i++)
            buf_putc(&b, 'n');
        buf_puts(&b, "\"\r\n\r\nv\r\n--B--");
        int rv = multipart_parse("multipart/form-data; boundary=B", b.data, b.len, &f, &e);
        if (len == 1024) {
            CHECK_INT(rv, 0);
            CHECK_INT(strlen(f.parts[0].name), 1024);
            multipart_form_free(&f);
        } else {
            CHECK_INT(rv, AIOPS_ETOOBIG);
            CHECK_STR(e.code, "name_too_long");
        }
        buf_free(&b);
    }
}

UNIT_MAIN(UNIT(test_curl_body), UNIT(test_browser_body_preamble_epilogue),
          UNIT(test_boundary_in_data_is_not_delimiter), UNIT(test_csv_with_dash_lines),
          UNIT(test_empty_parts), UNIT(test_missing_close_delimiter),
          UNIT(test_malformed_content_disposition), UNIT(test_filename_rfc5987_korean),
          UNIT(test_content_type_errors), UNIT(test_limits))
