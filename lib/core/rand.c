#include "core/rand.h"

void rand_xoshiro_seed(struct rand_xoshiro *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = rand_splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rand_xoshiro_next(struct rand_xoshiro *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t rand_xoshiro_below(struct rand_xoshiro *r, uint64_t bound)
{
    __uint128_t m = (__uint128_t)rand_xoshiro_next(r) * bound;
    uint64_t lo = (uint64_t)m;
    if (lo < bound) {
        uint64_t thresh = (0 - bound) % bound;
        while (lo < thresh) {
            m = (__uint128_t)rand_xoshiro_next(r) * bound;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

void rand_xoshiro_shuffle_sz(struct rand_xoshiro *r, size_t *v, size_t n)
{
    for (size_t k = n; k > 1; k--) {
        size_t j = (size_t)rand_xoshiro_below(r, k);
        size_t t = v[k - 1];
        v[k - 1] = v[j];
        v[j] = t;
    }
}
