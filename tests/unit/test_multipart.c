/* Unit tests for lib/http/multipart.c. */
#include "unit.h"

#include "core/array.h"
#include "core/buf.h"
#include "core/err.h"
#include "http/multipart.h"

#define CURL_B "------------------------d74496d66958873e"
#define CURL_CT "multipart/form-data; boundary=" CURL_B

#define FORM_B "multipart/form-data; boundary=B"

static int parse(const char *ct, const char *body, struct multipart_form *f,
                 struct multipart_error *e)
{
    return multipart_parse(ct, body, strlen(body), f, e);
}

/* body (a string) sent with Content-Type ct parses into *f, of nparts parts; the caller frees
 * it. */
static void parse_ok(const char *ct, const char *body, struct multipart_form *f, size_t nparts)
{
    struct multipart_error e;
    int rv = parse(ct, body, f, &e);
    if (rv != 0) {
        UNIT_FAIL("multipart_parse: %d (%s)", rv, e.code ? e.code : "-");
        return;
    }
    CHECK_INT(f->nparts, nparts);
}

/* body (a string) sent with Content-Type ct is refused with want (an error) and code; *e says
 * where. */
static void parse_refused(const char *ct, const char *body, int want, const char *code,
                          struct multipart_form *f, struct multipart_error *e)
{
    CHECK_INT(parse(ct, body, f, e), want);
    CHECK_STR(e->code, code);
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
    parse_ok(CURL_CT, body, &f, 2);
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
    parse_ok(ct, body, &f, 2);
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
    parse_ok(FORM_B, body, &f, 1);
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
    parse_ok(CURL_CT, b.data, &f, 1);
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
    parse_ok("multipart/form-data;boundary=B", body, &f, 2);
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
    struct multipart_error e;
    parse_refused(FORM_B, body, AIOPS_EPARSE, "unterminated_part", &f, &e);
    const char *data2 = strstr(body, "2,3,4");
    CHECK_INT(e.offset, data2 - body);
    CHECK(strstr(e.message, "part 2") != NULL);
    CHECK_INT(f.nparts, 0);
    CHECK(f.strings == NULL);

    /* a delimiter without CRLF at the very end is not a delimiter either */
    const char *b2 = "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B";
    parse_refused(FORM_B, b2, AIOPS_EPARSE, "unterminated_part", &f, &e);
    /* tolerated: no CRLF after the close delimiter */
    const char *b3 = "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B--";
    parse_ok(FORM_B, b3, &f, 1);
    multipart_form_free(&f);
    /* no delimiter at all; close only */
    parse_refused(FORM_B, "just text", AIOPS_EPARSE, "no_parts", &f, &e);
    parse_refused(FORM_B, "--B--\r\n", AIOPS_EPARSE, "no_parts", &f, &e);
    CHECK_INT(multipart_parse(FORM_B, NULL, 0, &f, &e), AIOPS_EPARSE);
    CHECK_STR(e.code, "no_parts");
    /* headers that never end */
    parse_refused(FORM_B, "--B\r\nContent-Disposition: form-data", AIOPS_EPARSE,
                  "unterminated_part", &f, &e);
    CHECK_INT(e.offset, 5);
}

/* Requests refused with an error code: a bad Content-Type (ct), or a good one and one part
 * whose headers (hdrs) are bad. */
static const struct {
    const char *ct, *hdrs, *code;
} refusals[] = {
    /* the Content-Type */
    {"text/plain; boundary=B", NULL, "bad_content_type"},
    {"multipart/form-datax; boundary=B", NULL, "bad_content_type"},
    {"multipart/mixed; boundary=B", NULL, "bad_content_type"},
    {"multipart/form-data", NULL, "missing_boundary"},
    {"multipart/form-data; charset=utf-8", NULL, "missing_boundary"},
    {"multipart/form-data; boundary=", NULL, "bad_boundary"},
    {"multipart/form-data; boundary=\"\"", NULL, "bad_boundary"},
    {"multipart/form-data; boundary=\"ends in space \"", NULL, "bad_boundary"},
    {"multipart/form-data; boundary=\"bad*char\"", NULL, "bad_boundary"},
    {"multipart/form-data; boundary=12345678901234567890123456789012345678901234567890"
     "123456789012345678901",
     NULL, "bad_boundary"},
    {"multipart/form-data; boundary=a; boundary=b", NULL, "bad_content_type"},
    {"multipart/form-data; boundary=\"unterminated", NULL, "bad_content_type"},
    {"multipart/form-data boundary=B", NULL, "bad_content_type"},
    /* the part's headers */
    {NULL, "Content-Disposition: form-data\r\n", "bad_content_disposition"},
    {NULL, "Content-Disposition: attachment; name=\"a\"\r\n", "bad_content_disposition"},
    {NULL, "Content-Disposition: form-data; name=\"a\r\n", "bad_content_disposition"},
    {NULL, "Content-Disposition: form-data; name=\"a\"; name=\"b\"\r\n", "bad_content_disposition"},
    {NULL, "Content-Disposition: form-data; name=\"a\" filename=\"b\"\r\n",
     "bad_content_disposition"},
    {NULL, "Content-Disposition: form-data; name=\r\n", "bad_content_disposition"},
    {NULL, "Content-Disposition: form-data; =x\r\n", "bad_content_disposition"},
    {NULL, "Content-Disposition: form-data; name=\"a\\\"\r\n", "bad_content_disposition"},
    {NULL, "Content-Disposition: form-data; name=\"\xff\"\r\n", "bad_content_disposition"},
    {NULL, "Content-Disposition: form-data; name=\"a\"; filename*=UTF-8''%zz\r\n",
     "bad_content_disposition"},
    {NULL, "Content-Disposition: form-data; name=\"a\"; filename*=UTF-8''%00x\r\n",
     "bad_content_disposition"},
    {NULL, "Content-Disposition: form-data; name=\"a\"; filename*=UTF-8''%C3\r\n",
     "bad_content_disposition"},
    {NULL, "Content-Disposition: form-data; name=\"a\"; filename*=nocharset\r\n",
     "bad_content_disposition"},
    {NULL, "Content-Type: text/plain\r\n", "missing_content_disposition"},
    {NULL,
     "Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; "
     "name=\"b\"\r\n",
     "bad_part_header"},
    {NULL, "Content-Disposition : form-data; name=\"a\"\r\n", "bad_part_header"},
    {NULL, "X-Folded: a\r\n b\r\nContent-Disposition: form-data; name=\"a\"\r\n",
     "bad_part_header"},
    {NULL, "Content-Disposition: form-data; name=\"a\"\n", "bad_part_header"},
    {NULL, "Content-Disposition: form-data; name=\"a\x01\"\r\n", "bad_part_header"},
    {NULL, "no colon here\r\n", "bad_part_header"},
};

/* Each refusal of one kind (headers: the part's headers, else the Content-Type) is refused
 * with its code; a bad part header is reported inside the body. */
static void check_refusals(int headers)
{
    for (size_t i = 0; i < ARRAY_LEN(refusals); i++) {
        if ((refusals[i].hdrs != NULL) != headers)
            continue;
        struct buf b = BUF_INIT;
        const char *ct = FORM_B;
        if (headers) {
            buf_printf(&b, "--B\r\n%s\r\ndata\r\n--B--\r\n", refusals[i].hdrs);
        } else {
            ct = refusals[i].ct;
            buf_puts(&b, "--B\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--B--");
        }
        struct multipart_form f;
        struct multipart_error e;
        int rv = multipart_parse(ct, b.data, b.len, &f, &e);
        if (rv != AIOPS_EPARSE || strcmp(e.code, refusals[i].code) != 0)
            UNIT_FAIL("case %zu (%s): rv %d code %s, expected %s", i,
                      headers ? refusals[i].hdrs : ct, rv, e.code ? e.code : "-", refusals[i].code);
        if (headers)
            CHECK(e.offset >= 5 && e.offset < b.len);
        buf_free(&b);
    }
}

static void test_malformed_content_disposition(void)
{
    check_refusals(1);
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
    parse_ok(FORM_B, body, &f, 5);
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
    check_refusals(0);
    /* 70 characters, with the quoted-only characters, is fine */
    const char *b70 = "'()+_,-./:=? 012345678901234567890123456789012345678901234567890123456";
    CHECK_INT(strlen(b70), 70);
    struct buf ct = BUF_INIT, body = BUF_INIT;
    buf_printf(&ct, "multipart/form-data; boundary=\"%s\"", b70);
    buf_printf(&body, "--%s\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--%s--", b70,
               b70);
    struct multipart_form f;
    parse_ok(ct.data, body.data, &f, 1);
    CHECK_STR(f.parts[0].name, "a");
    multipart_form_free(&f);
    struct multipart_error e;
    CHECK_INT(multipart_parse(NULL, body.data, body.len, &f, &e), AIOPS_EPARSE);
    buf_free(&ct);
    buf_free(&body);
}

static void test_limits(void)
{
    struct multipart_form f;
    struct multipart_error e;
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
    parse_ok(FORM_B, b64.data, &f, 64);
    CHECK_STR(f.parts[63].name, "f63");
    CHECK_MEM(f.parts[63].data, f.parts[63].len, "63", 2);
    multipart_form_free(&f);
    buf_puts(&b, "--B--\r\n");
    parse_refused(FORM_B, b.data, AIOPS_ETOOBIG, "too_many_parts", &f, &e);
    buf_free(&b);
    buf_free(&b64);

    /* 8 KiB of headers */
    buf_puts(&b, "--B\r\nContent-Disposition: form-data; name=a\r\nX-Pad: ");
    for (int i = 0; i < 8200; i++)
        buf_putc(&b, 'p');
    buf_puts(&b, "\r\n\r\nv\r\n--B--");
    parse_refused(FORM_B, b.data, AIOPS_ETOOBIG, "header_too_large", &f, &e);
    CHECK_INT(e.offset, 5);
    buf_free(&b);

    /* names: 1024 bytes pass, 1025 do not */
    for (int len = 1024; len <= 1025; len++) {
        buf_puts(&b, "--B\r\nContent-Disposition: form-data; name=\"");
        for (int i = 0; i < len; i++)
            buf_putc(&b, 'n');
        buf_puts(&b, "\"\r\n\r\nv\r\n--B--");
        int rv = multipart_parse(FORM_B, b.data, b.len, &f, &e);
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
