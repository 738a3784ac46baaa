/* Unit tests for lib/http/jwt.c. */
#include "unit.h"

#include "core/array.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/err.h"
#include "http/jwt.h"

static const char key[] = "test-secret-key-0123456789abcdef";
#define KEYLEN (sizeof key - 1)

/* Builds header.payload.signature by hand, so tests can forge any header. sig_key NULL
 * leaves the signature segment empty (as an alg:none token would). */
static char *forge(const char *header, const char *payload, const char *sig_key)
{
    static char tok[16384];
    size_t o = 0;
    base64url_encode(tok, header, strlen(header));
    o = strlen(tok);
    tok[o++] = '.';
    base64url_encode(tok + o, payload, strlen(payload));
    o += strlen(tok + o);
    uint8_t mac[32];
    if (sig_key != NULL)
        hmac_sha256(sig_key, strlen(sig_key), tok, o, mac);
    tok[o++] = '.';
    tok[o] = '\0';
    if (sig_key != NULL)
        base64url_encode(tok + o, mac, sizeof mac);
    return tok;
}

static int verify(const char *tok, int64_t now, int64_t leeway, int require_exp,
                  struct jwt_claims *c, struct aiops_error *why)
{
    return jwt_verify_hs256(tok, strlen(tok), key, KEYLEN, now, leeway, require_exp, c, why);
}

/* RFC 7515 appendix A.1: the example HS256 JWS with the JWK key from the RFC. */
static void test_rfc7515_a1_vector(void)
{
    static const char jwk_k[] =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    static const char tok[] =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
        "cnVlfQ"
        ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    static const uint8_t want_sig[32] = {116, 24,  223, 180, 151, 153, 224, 37,  79,  250, 96,
                                         125, 216, 173, 187, 186, 22,  212, 37,  77,  105, 214,
                                         191, 240, 91,  88,  5,   88,  83,  132, 141, 121};
    uint8_t k[64];
    size_t klen = 0;
    CHECK_INT(base64url_decode(jwk_k, strlen(jwk_k), k, sizeof k, &klen), 0);
    CHECK_INT(klen, 64);

    /* the signature bytes are exactly the RFC's */
    const char *dot2 = strrchr(tok, '.');
    uint8_t mac[32];
    hmac_sha256(k, klen, tok, (size_t)(dot2 - tok), mac);
    CHECK_MEM(mac, 32, want_sig, 32);
    uint8_t sig[32];
    size_t siglen = 0;
    CHECK_INT(base64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof sig, &siglen), 0);
    CHECK_MEM(sig, siglen, want_sig, 32);

    struct jwt_claims c;
    struct aiops_error why;
    CHECK_INT(jwt_verify_hs256(tok, strlen(tok), k, klen, 1300819379, 0, 1, &c, &why), 0);
    CHECK(why.code == NULL && why.message[0] == '\0');
    CHECK_INT(c.has_exp, 1);
    CHECK_INT(c.exp, 1300819380);
    CHECK_INT(c.has_sub, 0);
    CHECK_INT(c.nscopes, 0);
    /* exp is exclusive: at the exp second the token is expired */
    CHECK_INT(jwt_verify_hs256(tok, strlen(tok), k, klen, 1300819380, 0, 1, &c, &why), AIOPS_EAUTH);
    CHECK_STR(why.code, "expired");
    /* a different key */
    CHECK_INT(jwt_verify_hs256(tok, strlen(tok), key, KEYLEN, 1300819379, 0, 1, &c, &why),
              AIOPS_EAUTH);
    CHECK_STR(why.code, "bad_signature");
}

static void test_sign_verify_roundtrip(void)
{
    char *tok = NULL;
    CHECK_INT(jwt_sign_hs256("{\"sub\":\"user-1\",\"project\":\"p-42\",\"exp\":2000000000,"
                             "\"iat\":1700000000,\"scope\":\"read:runs write:models\"}",
                             key, KEYLEN, &tok),
              0);
    CHECK(tok != NULL);
    CHECK(strncmp(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0);
    struct jwt_claims c;
    struct aiops_error why;
    CHECK_INT(verify(tok, 1800000000, 0, 1, &c, &why), 0);
    CHECK_STR(c.sub, "user-1");
    CHECK_STR(c.project, "p-42");
    CHECK_INT(c.has_project, 1);
    CHECK_INT(c.iat, 1700000000);
    CHECK_INT(c.has_nbf, 0);
    CHECK_INT(c.nscopes, 2);
    CHECK_STR(c.scopes[0], "read:runs");
    CHECK_STR(c.scopes[1], "write:models");
    free(tok);

    CHECK_INT(jwt_sign_hs256("[1,2]", key, KEYLEN, &tok), AIOPS_EINVAL);
    CHECK(tok == NULL);
    CHECK_INT(jwt_sign_hs256("{\"a\":1}", key, 0, &tok), AIOPS_EINVAL);
    CHECK_INT(jwt_sign_hs256("{\"a\":1", key, KEYLEN, &tok), AIOPS_EINVAL);
    /* a payload whose token would pass 8 KiB */
    static char big[7000];
    memset(big, 'x', sizeof big);
    memcpy(big, "{\"a\":\"", 6);
    memcpy(big + sizeof big - 3, "\"}", 3);
    CHECK_INT(jwt_sign_hs256(big, key, KEYLEN, &tok), AIOPS_ETOOBIG);
}

static void test_alg_none_and_confusion(void)
{
    struct jwt_claims c;
    struct aiops_error why;
    const char *payload = "{\"sub\":\"admin\",\"exp\":2000000000}";
    static const struct {
        const char *header;
        int signed_with_key;
        const char *code;
    } refused[] = {
        /* alg none, with and without a signature */
        {"{\"alg\":\"none\",\"typ\":\"JWT\"}", 0, "bad_alg"},
        {"{\"alg\":\"none\"}", 1, "bad_alg"},
        {"{\"alg\":\"None\"}", 1, "bad_alg"},
        /* confusion: an RS256 header whose "signature" is an HMAC with our key must not pass */
        {"{\"alg\":\"RS256\"}", 1, "bad_alg"},
        {"{\"alg\":\"HS512\"}", 1, "bad_alg"},
        {"{\"alg\":\"hs256\"}", 1, "bad_alg"},
        {"{\"typ\":\"JWT\"}", 1, "bad_alg"},
        {"{\"alg\":[\"HS256\"]}", 1, "bad_alg"},
        /* crit we do not understand, wrong typ, duplicate alg */
        {"{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", 1, "malformed"},
        {"{\"alg\":\"HS256\",\"typ\":\"JWE\"}", 1, "malformed"},
        {"{\"alg\":\"none\",\"alg\":\"HS256\"}", 1, "malformed"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const char *tok = forge(refused[i].header, payload, refused[i].signed_with_key ? key : NULL);
        int rv = verify(tok, 1, 0, 1, &c, &why);
        if (rv != AIOPS_EAUTH || why.code == NULL || strcmp(why.code, refused[i].code) != 0 ||
            why.message[0] == '\0')
            UNIT_FAIL("%s: rv %d code %s, expected %s", refused[i].header, rv,
                      why.code ? why.code : "-", refused[i].code);
    }
    /* the accepted shapes */
    CHECK_INT(verify(forge("{\"alg\":\"HS256\"}", payload, key), 1, 0, 1, &c, &why), 0);
    CHECK_STR(c.sub, "admin");
    CHECK_INT(verify(forge("{\"alg\":\"HS256\",\"typ\":\"jwt\",\"kid\":\"k1\"}", payload, key), 1,
                     0, 1, &c, &why),
              0);
}

static void test_tampered_and_malformed(void)
{
    struct jwt_claims c;
    struct aiops_error why;
    char tok[1024];
    snprintf(tok, sizeof tok, "%s",
             forge("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"exp\":2000000000}", key));
    CHECK_INT(verify(tok, 1, 0, 1, &c, &why), 0);

    /* swap in a payload naming someone else, keep the signature */
    char other[1024];
    snprintf(other, sizeof other, "%s",
             forge("{\"alg\":\"HS256\"}", "{\"sub\":\"mallory\",\"exp\":2000000000}", key));
    char *p1 = strchr(tok, '.'), *p2 = strrchr(tok, '.');
    char *q1 = strchr(other, '.'), *q2 = strrchr(other, '.');
    char spliced[1024];
    snprintf(spliced, sizeof spliced, "%.*s%.*s%s", (int)(p1 - tok), tok, (int)(q2 - q1), q1, p2);
    CHECK_INT(verify(spliced, 1, 0, 1, &c, &why), AIOPS_EAUTH);
    CHECK_STR(why.code, "bad_signature");
    CHECK_INT(c.has_sub, 0); /* nothing leaks out of a refused token */

    /* flip one bit of the signature's last character (canonical change) */
    char flip[1024];
    snprintf(flip, sizeof flip, "%s", tok);
    size_t n = strlen(flip);
    flip[n - 1] = flip[n - 1] == 'A' ? 'E' : 'A';
    CHECK_INT(verify(flip, 1, 0, 1, &c, &why), AIOPS_EAUTH);
    CHECK(strcmp(why.code, "bad_signature") == 0 || strcmp(why.code, "malformed") == 0);

    const char *bad[] = {"",
                         "abc",
                         "a.b",
                         "a.b.c.d",
                         "..",
                         "eyJhbGciOiJIUzI1NiJ9..",
                         "eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
                         "eyJhbGciOiJIUzI1NiJ9=.e30.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                         "W10.e30.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" /* header [] */};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        CHECK_INT(verify(bad[i], 1, 0, 0, &c, &why), AIOPS_EAUTH);
        CHECK_STR(why.code, "malformed");
    }
    /* the signature is checked before the payload is even decoded */
    const char *padded = "eyJhbGciOiJIUzI1NiJ9.e30=.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    CHECK_INT(verify(padded, 1, 0, 0, &c, &why), AIOPS_EAUTH);
    CHECK_STR(why.code, "bad_signature");
    /* payload that is not JSON, correctly signed */
    CHECK_INT(verify(forge("{\"alg\":\"HS256\"}", "not json", key), 1, 0, 0, &c, &why),
              AIOPS_EAUTH);
    CHECK_STR(why.code, "malformed");
    /* over 8 KiB */
    static char huge[9000];
    memset(huge, 'A', sizeof huge - 1);
    huge[100] = '.';
    huge[200] = '.';
    CHECK_INT(verify(huge, 1, 0, 0, &c, &why), AIOPS_EAUTH);
    CHECK_STR(why.code, "malformed");
    CHECK_INT(jwt_verify_hs256(tok, strlen(tok), key, 0, 1, 0, 1, &c, &why), AIOPS_EINVAL);
}

static void test_time_claims_with_leeway(void)
{
    struct jwt_claims c;
    struct aiops_error why;
    const char *h = "{\"alg\":\"HS256\"}";
    const char *tok = forge(h, "{\"exp\":1000,\"nbf\":900}", key);
    char t[512];
    snprintf(t, sizeof t, "%s", tok);
    /* at each edge of [nbf - leeway, exp + leeway): NULL code: accepted */
    static const struct {
        int64_t now, leeway;
        const char *code;
    } edges[] = {
        {999, 0, NULL}, {1000, 0, "expired"}, {1029, 30, NULL}, {1030, 30, "expired"},
        {900, 0, NULL}, {899, 0, "not_yet_valid"}, {870, 30, NULL}, {869, 30, "not_yet_valid"},
        /* a negative leeway counts as none; a huge one is clamped to a day */
        {1000, -5, "expired"}, {1000 + 86400, INT64_MAX, "expired"},
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        int rv = verify(t, edges[i].now, edges[i].leeway, 1, &c, &why);
        const char *want = edges[i].code;
        if (rv != (want ? AIOPS_EAUTH : 0) ||
            (want && (why.code == NULL || strcmp(why.code, want) != 0)))
            UNIT_FAIL("now %lld leeway %lld: rv %d code %s, expected %s", (long long)edges[i].now,
                      (long long)edges[i].leeway, rv, why.code ? why.code : "-",
                      want ? want : "accepted");
    }

    /* missing exp */
    snprintf(t, sizeof t, "%s", forge(h, "{\"sub\":\"x\"}", key));
    CHECK_INT(verify(t, 5, 0, 1, &c, &why), AIOPS_EAUTH);
    CHECK_STR(why.code, "missing_exp");
    CHECK_INT(verify(t, 5, 0, 0, &c, &why), 0);
    /* real-valued dates are floored; extremes do not overflow */
    snprintf(t, sizeof t, "%s", forge(h, "{\"exp\":1000.9}", key));
    CHECK_INT(verify(t, 999, 0, 1, &c, &why), 0);
    CHECK_INT(c.exp, 1000);
    CHECK_INT(verify(t, 1000, 0, 1, &c, &why), AIOPS_EAUTH);
    snprintf(t, sizeof t, "%s", forge(h, "{\"exp\":1e300,\"nbf\":-1e300}", key));
    CHECK_INT(verify(t, INT64_MAX, 86400, 1, &c, &why), 0);
    snprintf(t, sizeof t, "%s", forge(h, "{\"exp\":9223372036854775807}", key));
    CHECK_INT(verify(t, INT64_MIN, INT64_MAX, 1, &c, &why), 0);
    /* wrong types */
    const char *bad[] = {"{\"exp\":\"2000000000\"}", "{\"exp\":null}", "{\"nbf\":true}",
                         "{\"exp\":2000000000,\"iat\":\"now\"}"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        snprintf(t, sizeof t, "%s", forge(h, bad[i], key));
        CHECK_INT(verify(t, 5, 0, 0, &c, &why), AIOPS_EAUTH);
        CHECK_STR(why.code, "bad_claims");
    }
}

static void test_scope_parsing(void)
{
    struct jwt_claims c;
    struct aiops_error why;
    const char *h = "{\"alg\":\"HS256\"}";
    static char t[16384];
    snprintf(t, sizeof t, "%s",
             forge(h, "{\"scope\":\"  a  b:c a \",\"scopes\":[\"d\",\"b:c\"],\"sub\":\"\"}", key));
    CHECK_INT(verify(t, 5, 0, 0, &c, &why), 0);
    CHECK_INT(c.nscopes, 3);
    CHECK_STR(c.scopes[0], "a");
    CHECK_STR(c.scopes[1], "b:c");
    CHECK_STR(c.scopes[2], "d");
    CHECK_INT(c.has_sub, 1);
    CHECK_STR(c.sub, "");

    /* exactly 32 scopes of 64 chars pass; 33 or 65 chars do not */
    char payload[8192];
    size_t o = (size_t)snprintf(payload, sizeof payload, "{\"scopes\":[");
    for (int i = 0; i < 32; i++) {
        char s[65];
        memset(s, 'a' + (i % 26), 64);
        s[0] = (char)('A' + i % 26);
        s[1] = (char)('0' + i / 26);
        s[64] = '\0';
        o += (size_t)snprintf(payload + o, sizeof payload - o, "%s\"%s\"", i ? "," : "", s);
    }
    snprintf(payload + o, sizeof payload - o, "]}");
    snprintf(t, sizeof t, "%s", forge(h, payload, key));
    CHECK_INT(verify(t, 5, 0, 0, &c, &why), 0);
    CHECK_INT(c.nscopes, 32);
    CHECK_INT(strlen(c.scopes[31]), 64);

    snprintf(payload + o, sizeof payload - o, ",\"zz\"]}");
    snprintf(t, sizeof t, "%s", forge(h, payload, key));
    CHECK_INT(verify(t, 5, 0, 0, &c, &why), AIOPS_EAUTH);
    CHECK_STR(why.code, "bad_claims");

    const char *bad[] = {
        "{\"scope\":[\"a\"]}",
        "{\"scopes\":\"a b\"}",
        "{\"scopes\":[\"a\",1]}",
        "{\"scopes\":[\"\"]}",
        "{\"scopes\":[\"a b\"]}",
        "{\"scope\":\"a\\tb\"}",
        "{\"scope\":\"quote\\\"d\"}",
        "{\"scope\":\"caf\\u00e9\"}",
        "{\"scope\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
        "{\"sub\":42}",
        "{\"project\":{}}",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        snprintf(t, sizeof t, "%s", forge(h, bad[i], key));
        CHECK_INT(verify(t, 5, 0, 0, &c, &why), AIOPS_EAUTH);
        if (strcmp(why.code, "bad_claims") != 0)
            UNIT_FAIL("%s: %s", bad[i], why.code);
        CHECK_INT(c.nscopes, 0);
    }
}

UNIT_MAIN(UNIT(test_rfc7515_a1_vector), UNIT(test_sign_verify_roundtrip),
          UNIT(test_alg_none_and_confusion), UNIT(test_tampered_and_malformed),
          UNIT(test_time_claims_with_leeway), UNIT(test_scope_parsing))
