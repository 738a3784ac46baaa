/* Unit tests for gateway/console.c: which path segments may name a console file, content
 * types, Accept-Encoding, and the gzip encoding (checked by inflating it with zlib). */
#include "unit.h"

#include <string.h>
#include <zlib.h>

#include "console.h"
#include "core/buf.h"

static int seg_ok(const char *s)
{
    return console_segment_ok(s, strlen(s));
}

static void test_segments_that_could_leave_the_folder_are_refused(void)
{
    CHECK(seg_ok("app.js"));
    CHECK(seg_ok("uPlot.esm.js"));
    CHECK(seg_ok("a-b_c.1"));
    const char *bad[] = {"..",  ".", ".hidden",  "%2e%2e", "..%2f", "a%2fb",   "a/b",     "a\\b",
                         "a b", "",  "\xc3\xa9", "a:b",    "~",     "app.js?", "app.js#", "%00"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!seg_ok(bad[i]));
    char longest[130];
    memset(longest, 'a', sizeof longest);
    CHECK(console_segment_ok(longest, 128));
    CHECK(!console_segment_ok(longest, 129));
    /* the length given is what is checked: a NUL inside it is refused */
    CHECK(!console_segment_ok("ab\0cd", 5));
}

static void test_content_types(void)
{
    CHECK_STR(console_content_type("index.html"), "text/html; charset=utf-8");
    CHECK_STR(console_content_type("pages/train.js"), "text/javascript; charset=utf-8");
    CHECK_STR(console_content_type("style.CSS"), "text/css; charset=utf-8");
    CHECK_STR(console_content_type("x.json"), "application/json");
    CHECK_STR(console_content_type("logo.svg"), "image/svg+xml");
    CHECK_STR(console_content_type("uPlot.LICENSE"), "application/octet-stream");
    CHECK_STR(console_content_type("README"), "application/octet-stream");
}

static void test_accept_encoding(void)
{
    CHECK(console_accepts_gzip("gzip"));
    CHECK(console_accepts_gzip("gzip, deflate, br"));
    CHECK(console_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    CHECK(console_accepts_gzip("deflate,gzip"));
    CHECK(!console_accepts_gzip(NULL));
    CHECK(!console_accepts_gzip(""));
    CHECK(!console_accepts_gzip("br, deflate"));
    CHECK(!console_accepts_gzip("gzip;q=0"));
    CHECK(!console_accepts_gzip("gzip;q=0.000"));
    CHECK(!console_accepts_gzip("x-gzip2"));
    CHECK(!console_accepts_gzip("gzipped"));
}

static void test_gzip_round_trip(void)
{
    struct buf text = BUF_INIT, gz = BUF_INIT;
    for (int i = 0; i < 2000; i++)
        buf_printf(&text, "line %d of the console's JavaScript\n", i % 37);
    CHECK_INT(console_gzip(text.data, text.len, &gz), 0);
    CHECK(gz.len > 18 && gz.len < text.len / 4);
    CHECK((unsigned char)gz.data[0] == 0x1f && (unsigned char)gz.data[1] == 0x8b);
    /* inflate it back (15 + 16: expect the gzip wrapper) */
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    CHECK_INT(inflateInit2(&zs, 15 + 16), Z_OK);
    char *back = malloc(text.len + 16);
    zs.next_in = (Bytef *)gz.data;
    zs.avail_in = (uInt)gz.len;
    zs.next_out = (Bytef *)back;
    zs.avail_out = (uInt)(text.len + 16);
    CHECK_INT(inflate(&zs, Z_FINISH), Z_STREAM_END);
    CHECK_MEM(back, (size_t)zs.total_out, text.data, text.len);
    inflateEnd(&zs);
    free(back);
    /* in place: out may hold in */
    struct buf same = BUF_INIT;
    buf_puts(&same, "abcabcabcabcabcabcabcabcabcabcabcabc");
    CHECK_INT(console_gzip(same.data, same.len, &same), 0);
    CHECK((unsigned char)same.data[0] == 0x1f);
    buf_free(&same);
    buf_free(&text);
    buf_free(&gz);
}

UNIT_MAIN(UNIT(test_segments_that_could_leave_the_folder_are_refused), UNIT(test_content_types),
          UNIT(test_accept_encoding), UNIT(test_gzip_round_trip))
