/* jwt.h -- JSON Web Tokens signed with HMAC-SHA256 (RFC 7519, RFC 7515 compact form).
 *
 * Only HS256 is accepted: the algorithm is fixed by the verifier, never chosen by the
 * token, so "none", HS512, RS256 (alg confusion) and unknown "crit" extensions are all
 * refused. The signature is checked in constant time before any claim is looked at. */
#ifndef AIOPS_JWT_H
#define AIOPS_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define JWT_MAX_TOKEN 8192   /* bytes of compact serialisation */
#define JWT_MAX_SCOPES 32    /* distinct scopes per token */
#define JWT_MAX_SCOPE_LEN 64 /* bytes per scope */
#define JWT_MAX_STR 64       /* bytes of sub / project: longer ones are refused, never cut */

/* The claims a verified token carries. Everything is held inline (no allocation, nothing
 * to free); strings are NUL-terminated UTF-8. */
struct jwt_claims {
    char sub[JWT_MAX_STR + 1];     /* "" when absent */
    char project[JWT_MAX_STR + 1]; /* custom claim "project"; "" when absent */
    int has_sub, has_project;
    int64_t exp, nbf, iat; /* Unix seconds; valid only when the has_ flag is set */
    int has_exp, has_nbf, has_iat;
    size_t nscopes; /* scopes[0..nscopes), de-duplicated, in token order */
    char scopes[JWT_MAX_SCOPES][JWT_MAX_SCOPE_LEN + 1];
};

/* Reason codes (static) jwt_verify_hs256 sets as err->code when it refuses a token:
 *   "malformed"      not three base64url segments, over JWT_MAX_TOKEN, header or payload
 *                    not a JSON object, typ not "JWT", or a "crit" header
 *   "bad_alg"        header alg missing or anything but exactly "HS256"
 *   "bad_signature"  the HMAC does not match
 *   "expired"        now >= exp + leeway
 *   "not_yet_valid"  now + leeway < nbf
 *   "missing_exp"    require_exp and no exp claim
 *   "bad_claims"     a registered claim of the wrong type, sub/project too long,
 *                    bad scope/scopes */

/* Verifies a compact HS256 token of len bytes against secret and checks its time claims
 * at now_unix with leeway_seconds of tolerated clock skew (clamped to 0..1 day).
 * Returns 0 and fills *out on success (err is left empty); AIOPS_EAUTH when the token is
 * refused, AIOPS_EINVAL for an empty secret (a programming error, code "bad_key"): err (may
 * be NULL) gets the reason code above as its code and what it means as its message. out may
 * not be NULL; *out is zeroed on failure. */
int jwt_verify_hs256(const char *token, size_t len, const void *secret, size_t secretlen,
                     int64_t now_unix, int64_t leeway_seconds, int require_exp,
                     struct jwt_claims *out, struct aiops_error *err);

/* Signs claims_json (a JSON object, used byte for byte as the payload) with header
 * {"alg":"HS256","typ":"JWT"}. On success *out_token is a NUL-terminated token the caller
 * frees with free(). AIOPS_EINVAL when claims_json is not a JSON object or the secret is
 * empty, AIOPS_ETOOBIG when the token would exceed JWT_MAX_TOKEN, AIOPS_ENOMEM. */
int jwt_sign_hs256(const char *claims_json, const void *secret, size_t secretlen, char **out_token);

#endif
