#include "sort.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* Maps a double's bits to an unsigned key with the same order: negative numbers have all
 * bits flipped, positive ones only the sign bit. NaNs are made the largest keys. */
static inline uint64_t f64_key(double d)
{
    uint64_t u;
    if (isnan(d))
        return UINT64_MAX;
    memcpy(&u, &d, 8);
    return (u & 0x8000000000000000ull) ? ~u : (u | 0x8000000000000000ull);
}

static inline double key_f64(uint64_t k, double nan_value)
{
    if (k == UINT64_MAX)
        return nan_value;
    uint64_t u = (k & 0x8000000000000000ull) ? (k & ~0x8000000000000000ull) : ~k;
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static void insertion_sort(uint64_t *k, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint64_t x = k[i];
        size_t j = i;
        while (j > 0 && k[j - 1] > x) {
            k[j] = k[j - 1];
            j--;
        }
        k[j] = x;
    }
}

int sort_f64(double *v, size_t n)
{
    if (n < 2)
        return AIOPS_OK;
    /* keys are computed into v's own storage (same size), scratch holds the other half */
    uint64_t *keys = (uint64_t *)(void *)v;
    for (size_t i = 0; i < n; i++)
        keys[i] = f64_key(v[i]);
    if (n <= 64) {
        insertion_sort(keys, n);
    } else {
        uint64_t *tmp = malloc(n * sizeof *tmp);
        if (tmp == NULL) {
            for (size_t i = 0; i < n; i++)
                v[i] = key_f64(keys[i], NAN);
            return AIOPS_ENOMEM;
        }
        enum { BITS = 16, BUCKETS = 1 << BITS, PASSES = 64 / BITS };
        uint32_t *count = calloc((size_t)PASSES * BUCKETS, sizeof *count);
        if (count == NULL) {
            free(tmp);
            for (size_t i = 0; i < n; i++)
                v[i] = key_f64(keys[i], NAN);
            return AIOPS_ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
            for (int p = 0; p < PASSES; p++)
                count[(size_t)p * BUCKETS + ((keys[i] >> (p * BITS)) & (BUCKETS - 1))]++;
        uint64_t *src = keys, *dst = tmp;
        for (int p = 0; p < PASSES; p++) {
            uint32_t *c = count + (size_t)p * BUCKETS;
            /* a digit shared by every key orders nothing: skip the pass */
            if (c[(src[0] >> (p * BITS)) & (BUCKETS - 1)] == n)
                continue;
            size_t sum = 0;
            for (size_t b = 0; b < BUCKETS; b++) {
                size_t t = c[b];
                c[b] = (uint32_t)sum;
                sum += t;
            }
            for (size_t i = 0; i < n; i++) {
                uint64_t k = src[i];
                dst[c[(k >> (p * BITS)) & (BUCKETS - 1)]++] = k;
            }
            uint64_t *t = src;
            src = dst;
            dst = t;
        }
        if (src != keys)
            memcpy(keys, src, n * sizeof *keys);
        free(count);
        free(tmp);
    }
    for (size_t i = 0; i < n; i++)
        v[i] = key_f64(keys[i], NAN);
    return AIOPS_OK;
}
