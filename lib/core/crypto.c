#include "core/crypto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "core/encode.h"
#include "core/err.h"
#include "core/rand.h"
#include "core/time.h"

int random_bytes(void *p, size_t n)
{
    uint8_t *o = p;
    while (n > 0) {
        ssize_t k = getrandom(o, n, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return AIOPS_EIO;
        }
        o += k;
        n -= (size_t)k;
    }
    return AIOPS_OK;
}

static void uuid_format(char out[37], uint8_t b[16]);

void uuid_v4(char out[37])
{
    uint8_t b[16];
    if (random_bytes(b, sizeof b) != 0) {
        /* getrandom cannot fail once the pool is initialised; abort rather than hand out
         * predictable identifiers. */
        abort();
    }
    uuid_format(out, b);
}

static void uuid_format(char out[37], uint8_t b[16])
{
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    /* 8-4-4-4-12 hex digits, written directly: every gateway request makes one */
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
}

void uuid_v4_fast(char out[37])
{
    static _Thread_local uint64_t state;
    static _Thread_local int seeded;
    if (!seeded) {
        if (random_bytes(&state, sizeof state) != 0)
            state = time_mono_ns() ^ (uint64_t)(uintptr_t)&state;
        seeded = 1;
    }
    uint64_t a = rand_splitmix64(&state), c = rand_splitmix64(&state);
    uint8_t b[16];
    memcpy(b, &a, 8);
    memcpy(b + 8, &c, 8);
    uuid_format(out, b);
}

int uuid_valid(const char *s)
{
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return s[36] == '\0';
}

void sha256(const void *p, size_t n, uint8_t out[32])
{
    SHA256(p, n, out);
}

void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)keylen, msg, n, out, &len);
}

int ct_memcmp(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n);
}
