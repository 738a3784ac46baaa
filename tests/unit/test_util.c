/* Unit tests for lib/core/buf.c and lib/core/util.c. */
#include "unit.h"

#include "core/array.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/err.h"
#include "core/time.h"
#include "http/token.h"
#include "http/url.h"

static void test_buf_grows_and_terminates(void)
{
    struct buf b = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        CHECK_INT(buf_printf(&b, "%d,", i), 0);
    CHECK(b.len > 3000);
    CHECK_INT(b.data[b.len], '\0');
    CHECK(strncmp(b.data, "0,1,2,", 6) == 0);
    buf_reset(&b);
    CHECK_INT(b.len, 0);
    CHECK_STR(b.data, "");
    buf_free(&b);
}

static void test_array_reserve_doubles_and_refuses_overflow(void)
{
    double *v = NULL;
    size_t cap = 0;
    CHECK_INT(array_reserve(&v, &cap, 1, sizeof *v, 8), 0);
    CHECK_INT(cap, 8);
    v[7] = 1.5;
    CHECK_INT(array_reserve(&v, &cap, 8, sizeof *v, 8), 0); /* enough already */
    CHECK_INT(cap, 8);
    CHECK_INT(array_reserve(&v, &cap, 33, sizeof *v, 8), 0);
    CHECK_INT(cap, 64);
    CHECK(v[7] == 1.5);
    double *before = v;
    CHECK_INT(array_reserve(&v, &cap, SIZE_MAX / 4, sizeof *v, 8), AIOPS_ENOMEM);
    CHECK(v == before && cap == 64); /* a refusal changes nothing */
    free(v);
}

static void test_buf_json_str_escapes(void)
{
    struct buf b = BUF_INIT;
    const char s[] = "a\"b\\c\n\x01\xed\x95\x9c";
    CHECK_INT(buf_json_str(&b, s, sizeof s - 1), 0);
    CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\u0001\xed\x95\x9c\"");
    size_t n;
    char *p = buf_detach(&b, &n);
    CHECK_INT(n, strlen(p));
    free(p);
    CHECK(b.data == NULL);
}

static void test_base64url_roundtrip(void)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *want[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < ARRAY_LEN(in); i++) {
        char enc[16];
        base64url_encode(enc, in[i], strlen(in[i]));
        CHECK_STR(enc, want[i]);
        uint8_t dec[16];
        size_t n = 0;
        CHECK_INT(base64url_decode(enc, strlen(enc), dec, sizeof dec, &n), 0);
        CHECK_MEM(dec, n, in[i], strlen(in[i]));
    }
    uint8_t out[8];
    size_t n;
    CHECK_INT(base64url_decode("Zm9v+", 5, out, sizeof out, &n), AIOPS_EPARSE);
    CHECK_INT(base64url_decode("Zh", 2, out, sizeof out, &n), AIOPS_EPARSE); /* non-zero pad bits */
    char std[16];
    base64_encode(std, "fo", 2);
    CHECK_STR(std, "Zm8=");
    CHECK_INT(base64_decode("Zm8=", 4, out, sizeof out, &n), 0);
    CHECK_MEM(out, n, "fo", 2);
    CHECK_INT(base64_decode("Zm9=", 4, out, sizeof out, &n), AIOPS_EPARSE); /* bits not zero */
    CHECK_INT(base64_decode("Zm8", 3, out, sizeof out, &n), AIOPS_EPARSE);  /* unpadded */
    CHECK_INT(base64_decode("Zm-_", 4, out, sizeof out, &n), AIOPS_EPARSE); /* url alphabet */
    CHECK_INT(hex_value('f'), 15);
    CHECK_INT(hex_value('G'), -1);
    CHECK(http_tchar('~') && http_tchar('A') && !http_tchar(' ') && !http_tchar('(') &&
          !http_tchar(0xc3));
}

static void test_utf8_validation(void)
{
    size_t bad = 99;
    CHECK(utf8_valid("plain ascii text that is long enough", 36, NULL));
    CHECK(utf8_valid("\xea\xb0\x80\xf0\x9f\x98\x80", 7, NULL)); /* 가 😀 */
    CHECK(!utf8_valid("ab\xc3", 3, &bad));                      /* truncated */
    CHECK_INT(bad, 2);
    CHECK(!utf8_valid("\xc0\xaf", 2, &bad));     /* overlong */
    CHECK(!utf8_valid("\xed\xa0\x80", 3, &bad)); /* surrogate */
    CHECK(!utf8_valid("12345678\xff", 9, &bad));
    CHECK_INT(bad, 8);
}

static void test_uuid_format(void)
{
    char a[37], b[37];
    uuid_v4(a);
    uuid_v4(b);
    CHECK(uuid_valid(a));
    CHECK(strcmp(a, b) != 0);
    CHECK_INT(a[14], '4');
    char fast[37]; /* the request ids' generator: same form */
    uuid_v4_fast(fast);
    CHECK(uuid_valid(fast));
    CHECK_INT(fast[14], '4');
    CHECK(strchr("89ab", fast[19]) != NULL);
    CHECK_INT(strlen(fast), 36);
    CHECK(!uuid_valid("not-a-uuid"));
    CHECK(!uuid_valid("123e4567-e89b-12d3-a456-4266141740000"));
}

static void test_sha256_and_hmac_vectors(void)
{
    uint8_t d[32];
    char hex[65];
    sha256("abc", 3, d);
    hex_encode(hex, d, 32);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* RFC 4231 test case 2 */
    hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
    hex_encode(hex, d, 32);
    CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_iso8601(void)
{
    char s[40];
    time_iso8601(s, sizeof s, 1759707900.123);
    CHECK_STR(s, "2025-10-05T23:45:00.123Z");
    time_iso8601(s, sizeof s, -0.25);
    CHECK_STR(s, "1969-12-31T23:59:59.750Z");
    /* the same second again (the kept date), then the next one */
    time_iso8601(s, sizeof s, -0.999);
    CHECK_STR(s, "1969-12-31T23:59:59.001Z");
    time_iso8601(s, sizeof s, 0.0004);
    CHECK_STR(s, "1970-01-01T00:00:00.000Z");
    time_iso8601(s, sizeof s, 1759707900.9996);
    CHECK_STR(s, "2025-10-05T23:45:01.000Z");
    time_iso8601(s, 10, 1759707900.5); /* no room: an empty string, not a cut one */
    CHECK_STR(s, "");
}

static void test_buf_decimal(void)
{
    struct buf b = BUF_INIT;
    CHECK_INT(buf_put_uint(&b, 0), 0);
    CHECK_INT(buf_putc(&b, ' '), 0);
    CHECK_INT(buf_put_uint(&b, 18446744073709551615ull), 0);
    CHECK_STR(b.data, "0 18446744073709551615");
    buf_reset(&b);
    const struct {
        unsigned long long v;
        int decimals;
        const char *want;
    } cases[] = {{1234567, 3, "1234.567"}, {5, 3, "0.005"}, {0, 3, "0.000"},
                 {1000, 3, "1.000"},      {7, 1, "0.7"},   {42, 0, "42"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        buf_reset(&b);
        CHECK_INT(buf_put_fixed(&b, cases[i].v, cases[i].decimals), 0);
        CHECK_STR(b.data, cases[i].want);
        char want[32];
        snprintf(want, sizeof want, "%.*f", cases[i].decimals,
                 (double)cases[i].v / pow(10, cases[i].decimals));
        CHECK_STR(b.data, want); /* as printf writes it */
    }
    buf_free(&b);
}

static void test_host_names(void)
{
    char h[64];
    CHECK_INT(url_host_name("Example.COM:8000", h, sizeof h), 0);
    CHECK_STR(h, "example.com");
    CHECK_INT(url_host_name("[::1]:80", h, sizeof h), 0);
    CHECK_STR(h, "::1");
    CHECK_INT(url_host_name("::1", h, sizeof h), 0); /* a bare IPv6 address has no port */
    CHECK_STR(h, "::1");
    CHECK_INT(url_host_name("127.0.0.1", h, sizeof h), 0);
    CHECK_STR(h, "127.0.0.1");
    CHECK_INT(url_host_name("", h, sizeof h), AIOPS_EINVAL);
    CHECK_INT(url_host_name(":80", h, sizeof h), AIOPS_EINVAL);
    CHECK_INT(url_host_name("[::1", h, sizeof h), AIOPS_EINVAL);
    CHECK_INT(url_host_name("[::1]x", h, sizeof h), AIOPS_EINVAL);
    CHECK_INT(url_host_name("a b", h, sizeof h), AIOPS_EINVAL);
    CHECK_INT(url_host_name("evil/x", h, sizeof h), AIOPS_EINVAL);
    CHECK_INT(url_host_name("0123456789", h, 10), AIOPS_EINVAL); /* no room for the NUL */
    const char *loop[] = {"localhost", "app.localhost", "127.0.0.1", "127.255.0.9", "::1"};
    for (size_t i = 0; i < sizeof loop / sizeof *loop; i++)
        CHECK(url_host_is_loopback(loop[i]));
    const char *other[] = {"localhost.example", "xlocalhost",       "128.0.0.1", "::2",
                           "10.0.0.1",          "127.0.0.1.nip.io", ""};
    for (size_t i = 0; i < sizeof other / sizeof *other; i++)
        CHECK(!url_host_is_loopback(other[i]));
}

UNIT_MAIN(UNIT(test_buf_grows_and_terminates),
          UNIT(test_array_reserve_doubles_and_refuses_overflow), UNIT(test_buf_json_str_escapes),
          UNIT(test_base64url_roundtrip), UNIT(test_utf8_validation), UNIT(test_uuid_format),
          UNIT(test_sha256_and_hmac_vectors), UNIT(test_iso8601), UNIT(test_host_names),
          UNIT(test_buf_decimal))
