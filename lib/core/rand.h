/* rand.h -- seeded pseudo-random generators, for sampling and shuffling reproducibly (never
 * for secrets or identifiers that must not be guessed: lib/core/crypto.h).
 *
 * splitmix64 (one 64-bit state) is the learners' sampler and the seeder of xoshiro256**,
 * which the splits use for shuffles and unbiased bounded draws. Both give the same sequence
 * for the same seed on every machine. */
#ifndef AIOPS_RAND_H
#define AIOPS_RAND_H

#include <stddef.h>
#include <stdint.h>

/* The next value of splitmix64; *state advances. */
static inline uint64_t rand_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) from splitmix64 (53 random bits). */
static inline double rand_unit(uint64_t *state)
{
    return (double)(rand_splitmix64(state) >> 11) * 0x1.0p-53;
}

struct rand_xoshiro {
    uint64_t s[4];
};

/* Seeds the four words from splitmix64(seed). */
void rand_xoshiro_seed(struct rand_xoshiro *r, uint64_t seed);
uint64_t rand_xoshiro_next(struct rand_xoshiro *r);
/* Uniform in [0, bound), bound > 0, without modulo bias (Lemire's multiply-and-reject). */
uint64_t rand_xoshiro_below(struct rand_xoshiro *r, uint64_t bound);
/* Puts v[0..n) in an order drawn from r (Fisher-Yates, from the end: v[k - 1] swaps with
 * v[below(k)] for k = n .. 2). */
void rand_xoshiro_shuffle_sz(struct rand_xoshiro *r, size_t *v, size_t n);

#endif
