/* libFuzzer target for lib/http/jwt.c: verifies arbitrary tokens, and signs arbitrary claims to
 * check that what we sign ourselves is never refused for its form or signature. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http/jwt.h"

static const char key[] = "fuzz-secret";

static void check_claims(const struct jwt_claims *c)
{
    if (strlen(c->sub) > JWT_MAX_STR || strlen(c->project) > JWT_MAX_STR ||
        c->nscopes > JWT_MAX_SCOPES)
        abort();
    for (size_t i = 0; i < c->nscopes; i++)
        if (strlen(c->scopes[i]) == 0 || strlen(c->scopes[i]) > JWT_MAX_SCOPE_LEN)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jwt_claims c;
    struct aiops_error why;
    if (size > 16384)
        return 0;
    /* 1. the input as a token */
    int rv = jwt_verify_hs256((const char *)data, size, key, sizeof key - 1, 1700000000, 30, 0, &c,
                              &why);
    if (rv == 0)
        check_claims(&c);
    else if (rv != AIOPS_EAUTH || why.code == NULL || why.message[0] == '\0')
        abort();

    /* 2. the input as claims: sign, then verify */
    char *claims = malloc(size + 1);
    if (claims == NULL)
        return 0;
    memcpy(claims, data, size);
    claims[size] = '\0';
    char *tok = NULL;
    rv = jwt_sign_hs256(claims, key, sizeof key - 1, &tok);
    if (rv == 0) {
        rv = jwt_verify_hs256(tok, strlen(tok), key, sizeof key - 1, 1700000000, 30, 1, &c, &why);
        if (rv == 0)
            check_claims(&c);
        else if (strcmp(why.code, "bad_claims") != 0 && strcmp(why.code, "expired") != 0 &&
                 strcmp(why.code, "not_yet_valid") != 0 && strcmp(why.code, "missing_exp") != 0)
            abort(); /* malformed / bad_alg / bad_signature on our own token */
        /* one flipped character of the signature must never verify */
        size_t n = strlen(tok);
        tok[n - 2] = tok[n - 2] == 'A' ? 'B' : 'A';
        if (jwt_verify_hs256(tok, n, key, sizeof key - 1, 1700000000, 30, 0, &c, &why) == 0)
            abort();
        free(tok);
    } else if (tok != NULL) {
        abort();
    }
    free(claims);
    return 0;
}
