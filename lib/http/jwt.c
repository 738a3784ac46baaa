/* jwt.c -- HS256 JSON Web Tokens. See jwt.h. */

#include "http/jwt.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/crypto.h"
#include "core/encode.h"
#include "core/err.h"

/* Decoded header or payload never exceeds 3/4 of the token. */
#define JWT_MAX_DECODED (JWT_MAX_TOKEN / 4 * 3 + 3)
/* Numeric dates are clamped to +-2^62 so that adding a leeway can never overflow. */
#define JWT_TIME_CLAMP ((int64_t)1 << 62)
#define JWT_MAX_LEEWAY 86400

static const char jwt_header_b64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"; /* the fixed header */

/* Decodes one base64url segment and parses it as a JSON object; NULL when it is not one. */
static json_t *segment_json(const char *s, size_t n)
{
    uint8_t dec[JWT_MAX_DECODED];
    size_t dlen = 0;
    if (n == 0 || base64url_decode(s, n, dec, sizeof dec, &dlen) != 0)
        return NULL;
    json_t *j = json_loadb((const char *)dec, dlen, JSON_REJECT_DUPLICATES, NULL);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int str_is(const json_t *j, const char *want)
{
    size_t n = strlen(want);
    return json_is_string(j) && json_string_length(j) == n &&
           memcmp(json_string_value(j), want, n) == 0;
}

/* A NumericDate (RFC 7519 section 2): integer or real seconds, clamped; -1 when not a number. */
static int numeric_date(const json_t *j, int64_t *out)
{
    if (json_is_integer(j)) {
        json_int_t v = json_integer_value(j);
        if (v > JWT_TIME_CLAMP)
            v = JWT_TIME_CLAMP;
        if (v < -JWT_TIME_CLAMP)
            v = -JWT_TIME_CLAMP;
        *out = (int64_t)v;
        return 0;
    }
    if (json_is_real(j)) {
        double v = floor(json_real_value(j));
        if (!(v == v))
            return -1;
        if (v > (double)JWT_TIME_CLAMP)
            v = (double)JWT_TIME_CLAMP;
        if (v < -(double)JWT_TIME_CLAMP)
            v = -(double)JWT_TIME_CLAMP;
        *out = (int64_t)v;
        return 0;
    }
    return -1;
}

/* RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
static int scope_char(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

/* Adds one scope unless it is already there. -1 when invalid or over the limits. */
static int add_scope(struct jwt_claims *c, const char *s, size_t n)
{
    if (n == 0 || n > JWT_MAX_SCOPE_LEN)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!scope_char((unsigned char)s[i]))
            return -1;
    for (size_t i = 0; i < c->nscopes; i++)
        if (strlen(c->scopes[i]) == n && memcmp(c->scopes[i], s, n) == 0)
            return 0;
    if (c->nscopes >= JWT_MAX_SCOPES)
        return -1;
    memcpy(c->scopes[c->nscopes], s, n);
    c->scopes[c->nscopes][n] = '\0';
    c->nscopes++;
    return 0;
}

static int copy_str_claim(const json_t *j, char *dst, int *has)
{
    if (j == NULL)
        return 0;
    if (!json_is_string(j) || json_string_length(j) > JWT_MAX_STR)
        return -1;
    memcpy(dst, json_string_value(j), json_string_length(j) + 1);
    *has = 1;
    return 0;
}

/* Reads the claims we use; -1 when one of them has the wrong shape. */
static int read_claims(const json_t *p, struct jwt_claims *c)
{
    const json_t *v;
    if ((v = json_object_get(p, "exp")) != NULL) {
        if (numeric_date(v, &c->exp) != 0)
            return -1;
        c->has_exp = 1;
    }
    if ((v = json_object_get(p, "nbf")) != NULL) {
        if (numeric_date(v, &c->nbf) != 0)
            return -1;
        c->has_nbf = 1;
    }
    if ((v = json_object_get(p, "iat")) != NULL) {
        if (numeric_date(v, &c->iat) != 0)
            return -1;
        c->has_iat = 1;
    }
    if (copy_str_claim(json_object_get(p, "sub"), c->sub, &c->has_sub) != 0 ||
        copy_str_claim(json_object_get(p, "project"), c->project, &c->has_project) != 0)
        return -1;
    if ((v = json_object_get(p, "scope")) != NULL) {
        if (!json_is_string(v))
            return -1;
        /* space-separated; runs of spaces are tolerated, other whitespace is not a separator */
        const char *s = json_string_value(v);
        size_t n = json_string_length(v), i = 0;
        while (i < n) {
            while (i < n && s[i] == ' ')
                i++;
            size_t start = i;
            while (i < n && s[i] != ' ')
                i++;
            if (i > start && add_scope(c, s + start, i - start) != 0)
                return -1;
        }
    }
    if ((v = json_object_get(p, "scopes")) != NULL) {
        size_t idx;
        const json_t *e;
        if (!json_is_array(v))
            return -1;
        json_array_foreach(v, idx, e)
        {
            if (!json_is_string(e) ||
                add_scope(c, json_string_value(e), json_string_length(e)) != 0)
                return -1;
        }
    }
    return 0;
}

/* Records why a token was refused: reason (static, one of jwt.h's) as the code, and what it
 * means as the message. Returns rv. */
static int refuse(struct aiops_error *err, int rv, const char *reason)
{
    static const struct {
        const char *reason, *message;
    } words[] = {
        {"malformed", "the token is not a well-formed JWT"},
        {"bad_key", "the verification key is empty"},
        {"bad_alg", "the token's alg is not HS256"},
        {"bad_signature", "the signature does not match"},
        {"expired", "the token has expired"},
        {"not_yet_valid", "the token is not valid yet (nbf)"},
        {"missing_exp", "the token has no exp claim"},
        {"bad_claims", "a claim has the wrong type or is too long"},
    };
    if (err == NULL)
        return rv;
    err->code = reason;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(words[i].reason, reason) == 0)
            return aiops_error_set(err, rv, NULL, "%s", words[i].message);
    return aiops_error_set(err, rv, NULL, "%s", reason);
}

int jwt_verify_hs256(const char *token, size_t len, const void *secret, size_t secretlen,
                     int64_t now_unix, int64_t leeway_seconds, int require_exp,
                     struct jwt_claims *out, struct aiops_error *err)
{
    json_t *hdr = NULL, *pl = NULL;
    int rv = AIOPS_EAUTH;
    const char *reason = "malformed";
    memset(out, 0, sizeof *out);
    aiops_error_clear(err);
    if (secret == NULL || secretlen == 0)
        return refuse(err, AIOPS_EINVAL, "bad_key");
    if (token == NULL || len == 0 || len > JWT_MAX_TOKEN)
        return refuse(err, AIOPS_EAUTH, reason);

    const char *d1 = memchr(token, '.', len);
    if (d1 == NULL)
        return refuse(err, AIOPS_EAUTH, reason);
    const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
        return refuse(err, AIOPS_EAUTH, reason);
    size_t hlen = (size_t)(d1 - token), plen = (size_t)(d2 - d1 - 1);
    size_t slen = len - (size_t)(d2 + 1 - token);

    if ((hdr = segment_json(token, hlen)) == NULL)
        goto out;
    /* the verifier decides the algorithm; the token only has to agree */
    if (!str_is(json_object_get(hdr, "alg"), "HS256")) {
        reason = "bad_alg";
        goto out;
    }
    const json_t *typ = json_object_get(hdr, "typ");
    if (typ != NULL && !(json_is_string(typ) && strcasecmp(json_string_value(typ), "JWT") == 0))
        goto out;
    if (json_object_get(hdr, "crit") != NULL) /* we implement no extension */
        goto out;

    /* signature before anything in the payload is trusted */
    uint8_t sig[32], mac[32];
    size_t siglen = 0;
    if (slen != 43 || base64url_decode(d2 + 1, slen, sig, sizeof sig, &siglen) != 0 || siglen != 32)
        goto out;
    hmac_sha256(secret, secretlen, token, (size_t)(d2 - token), mac);
    if (ct_memcmp(sig, mac, sizeof mac) != 0) {
        reason = "bad_signature";
        goto out;
    }

    if ((pl = segment_json(d1 + 1, plen)) == NULL)
        goto out;
    if (read_claims(pl, out) != 0) {
        reason = "bad_claims";
        goto out;
    }
    int64_t leeway = leeway_seconds < 0 ? 0 : leeway_seconds;
    if (leeway > JWT_MAX_LEEWAY)
        leeway = JWT_MAX_LEEWAY;
    int64_t now = now_unix;
    if (now > JWT_TIME_CLAMP)
        now = JWT_TIME_CLAMP;
    if (now < -JWT_TIME_CLAMP)
        now = -JWT_TIME_CLAMP;
    if (!out->has_exp && require_exp) {
        reason = "missing_exp";
        goto out;
    }
    if (out->has_exp && now >= out->exp + leeway) {
        reason = "expired";
        goto out;
    }
    if (out->has_nbf && now + leeway < out->nbf) {
        reason = "not_yet_valid";
        goto out;
    }
    rv = AIOPS_OK;
out:
    json_decref(hdr);
    json_decref(pl);
    if (rv != AIOPS_OK) {
        memset(out, 0, sizeof *out);
        refuse(err, rv, reason);
    }
    return rv;
}

int jwt_sign_hs256(const char *claims_json, const void *secret, size_t secretlen, char **out_token)
{
    *out_token = NULL;
    if (claims_json == NULL || secret == NULL || secretlen == 0)
        return AIOPS_EINVAL;
    size_t clen = strlen(claims_json);
    json_t *j = json_loadb(claims_json, clen, JSON_REJECT_DUPLICATES, NULL);
    int isobj = json_is_object(j);
    json_decref(j);
    if (!isobj)
        return AIOPS_EINVAL;
    size_t hlen = sizeof jwt_header_b64 - 1;
    if (clen > JWT_MAX_TOKEN)
        return AIOPS_ETOOBIG;
    size_t plen = (clen * 4 + 2) / 3; /* unpadded base64url */
    size_t signed_len = hlen + 1 + plen;
    if (signed_len + 1 + 43 > JWT_MAX_TOKEN)
        return AIOPS_ETOOBIG;
    /* +4: the encoder writes whole quads before trimming, plus the terminator */
    char *t = malloc(signed_len + 1 + 43 + 4);
    if (t == NULL)
        return AIOPS_ENOMEM;
    memcpy(t, jwt_header_b64, hlen);
    t[hlen] = '.';
    base64url_encode(t + hlen + 1, claims_json, clen);
    uint8_t mac[32];
    hmac_sha256(secret, secretlen, t, signed_len, mac);
    t[signed_len] = '.';
    base64url_encode(t + signed_len + 1, mac, sizeof mac);
    *out_token = t;
    return AIOPS_OK;
}
