#include "math/sort.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

/* Maps a double's bits to an unsigned key with the same order: negative numbers have all
 * bits flipped, positive ones only the sign bit. NaNs are made the largest keys. */
static inline uint64_t f64_key(double d)
{
    uint64_t u;
    if (isnan(d))
        return UINT64_MAX;
    memcpy(&u, &d, 8);
    /* with a mask rather than a branch: the sign is a coin toss in many columns */
    return u ^ ((uint64_t)((int64_t)u >> 63) | 0x8000000000000000ull);
}

static inline double key_f64(uint64_t k, double nan_value)
{
    if (k == UINT64_MAX)
        return nan_value;
    uint64_t u = k ^ (((k >> 63) - 1) | 0x8000000000000000ull);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* The insertion sort of n values of an integer type: the sorts' base case for short runs. */
#define DEFINE_INSERTION_SORT(name, type)                                                          \
    static void name(type *v, size_t n)                                                            \
    {                                                                                              \
        for (size_t i = 1; i < n; i++) {                                                           \
            type x = v[i];                                                                         \
            size_t j = i;                                                                          \
            while (j > 0 && v[j - 1] > x) {                                                        \
                v[j] = v[j - 1];                                                                   \
                j--;                                                                               \
            }                                                                                      \
            v[j] = x;                                                                              \
        }                                                                                          \
    }
DEFINE_INSERTION_SORT(insertion_sort_u64, uint64_t)
DEFINE_INSERTION_SORT(insertion_sort_u32, uint32_t)

/* LSD radix sort of n keys, 16 bits a pass, carrying an optional payload (idx) along:
 * stable, so equal keys keep their order. A pass whose digit is the same for every key is
 * skipped. keys and idx are sorted in place; scratch is allocated here. */
static int radix_u64(uint64_t *keys, uint32_t *idx, size_t n)
{
    enum { BITS = 16, BUCKETS = 1 << BITS, PASSES = 64 / BITS };
    uint64_t *tk = malloc(n * sizeof *tk);
    uint32_t *ti = idx ? malloc(n * sizeof *ti) : NULL;
    uint32_t *count = calloc((size_t)PASSES * BUCKETS, sizeof *count);
    if (tk == NULL || (idx && ti == NULL) || count == NULL) {
        free(tk);
        free(ti);
        free(count);
        return AIOPS_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        for (int p = 0; p < PASSES; p++)
            count[(size_t)p * BUCKETS + ((keys[i] >> (p * BITS)) & (BUCKETS - 1))]++;
    uint64_t *ka = keys, *kb = tk;
    uint32_t *ia = idx, *ib = ti;
    for (int p = 0; p < PASSES; p++) {
        uint32_t *c = count + (size_t)p * BUCKETS;
        if (c[(ka[0] >> (p * BITS)) & (BUCKETS - 1)] == n)
            continue;
        size_t sum = 0;
        for (size_t b = 0; b < BUCKETS; b++) {
            size_t t = c[b];
            c[b] = (uint32_t)sum;
            sum += t;
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t pos = c[(ka[i] >> (p * BITS)) & (BUCKETS - 1)]++;
            kb[pos] = ka[i];
            if (idx)
                ib[pos] = ia[i];
        }
        uint64_t *t = ka;
        ka = kb;
        kb = t;
        uint32_t *u = ia;
        ia = ib;
        ib = u;
    }
    if (ka != keys) {
        memcpy(keys, ka, n * sizeof *keys);
        if (idx)
            memcpy(idx, ia, n * sizeof *idx);
    }
    free(count);
    free(tk);
    free(ti);
    return AIOPS_OK;
}

/* The bits of the double whose key is k (key_f64 with NaN for the NaN key). */
static inline uint64_t key_bits(uint64_t k)
{
    double d = key_f64(k, NAN);
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

/* Counts the digits of the low 48 bits of n keys, `bits` wide: digit p's counters at
 * count + p * 2^bits. */
static inline __attribute__((always_inline)) void count_low48(const uint64_t *src, size_t n,
                                                              uint32_t *count, int bits)
{
    const size_t buckets = (size_t)1 << bits, mask = buckets - 1;
    for (size_t i = 0; i < n; i++)
        for (int p = 0; p < 48 / bits; p++)
            count[(size_t)p * buckets + ((src[i] >> (p * bits)) & mask)]++;
}

/* LSD radix sort of the low 48 bits of the n keys at src (their top 16 bits are all equal),
 * into dst as the bits of their doubles (key_bits), with dst and src as the two buffers:
 * 8-, 12- or 16-bit digits by n, so the counters stay small beside the keys; a digit that is
 * the same for every key is skipped. The last write converts, so no pass is spent on it.
 * count has room for 3 x 65,536 counters. */
static void radix_low48(uint64_t *src, uint64_t *dst, size_t n, uint32_t *count)
{
    const int bits = n < 4096 ? 8 : n < 65536 ? 12 : 16, passes = 48 / bits;
    const size_t buckets = (size_t)1 << bits, mask = buckets - 1;
    memset(count, 0, (size_t)passes * buckets * sizeof *count);
    /* the digit width as a constant, so the loop over the digits unrolls */
    if (bits == 8)
        count_low48(src, n, count, 8);
    else if (bits == 12)
        count_low48(src, n, count, 12);
    else
        count_low48(src, n, count, 16);
    int live[6], nlive = 0;
    for (int p = 0; p < passes; p++)
        if (count[(size_t)p * buckets + ((src[0] >> (p * bits)) & mask)] != n)
            live[nlive++] = p;
    uint64_t *a = src, *b = dst;
    for (int q = 0; q < nlive; q++) {
        const int shift = live[q] * bits;
        uint32_t *c = count + (size_t)live[q] * buckets;
        uint32_t sum = 0;
        for (size_t k = 0; k < buckets; k++) {
            uint32_t t = c[k];
            c[k] = sum;
            sum += t;
        }
        if (q == nlive - 1 && b == dst)
            for (size_t i = 0; i < n; i++)
                b[c[(a[i] >> shift) & mask]++] = key_bits(a[i]);
        else
            for (size_t i = 0; i < n; i++)
                b[c[(a[i] >> shift) & mask]++] = a[i];
        uint64_t *t = a;
        a = b;
        b = t;
    }
    if (a != dst)
        for (size_t i = 0; i < n; i++)
            dst[i] = key_bits(a[i]);
}

/* Sorts one bucket of sort_f64's: the m keys at src (their top 16 bits equal) into dst as
 * the bits of their doubles, src being scratch. By the next `bits` bits (about log2 m of
 * them, so the sub-buckets hold a key or two each) into dst, then one insertion sort over
 * the whole bucket, which only has to order each sub-bucket; should a sub-bucket be large
 * (keys alike in all those bits), the sub-buckets are sorted one by one instead, the large
 * ones by radix_low48. count has room for 4 x 65,536 + 1 counters. */
static void sort_bucket(uint64_t *src, uint64_t *dst, size_t m, uint32_t *count)
{
    int bits = 1;
    while (bits < 16 && ((size_t)1 << bits) < m)
        bits++;
    const int shift = 48 - bits;
    const size_t buckets = (size_t)1 << bits, mask = buckets - 1;
    uint32_t *pos = count, *rest = count + 65537;
    memset(pos, 0, (buckets + 1) * sizeof *pos);
    for (size_t i = 0; i < m; i++)
        pos[((src[i] >> shift) & mask) + 1]++;
    uint32_t largest = 0;
    for (size_t k = 1; k <= buckets; k++) {
        largest = pos[k] > largest ? pos[k] : largest;
        pos[k] += pos[k - 1];
    }
    for (size_t i = 0; i < m; i++)
        dst[pos[(src[i] >> shift) & mask]++] = src[i];
    if (largest <= 32) {
        insertion_sort_u64(dst, m);
    } else {
        /* pos[k] is now where sub-bucket k ends */
        for (size_t k = 0, lo = 0; k < buckets; lo = pos[k++]) {
            size_t len = pos[k] - lo;
            if (len <= 32) {
                insertion_sort_u64(dst + lo, len);
            } else {
                memcpy(src + lo, dst + lo, len * sizeof *src);
                radix_low48(src + lo, dst + lo, len, rest);
                continue; /* radix_low48 wrote doubles */
            }
            for (size_t i = lo; i < lo + len; i++)
                dst[i] = key_bits(dst[i]);
        }
        return;
    }
    for (size_t i = 0; i < m; i++)
        dst[i] = key_bits(dst[i]);
}

/* Sorts the n doubles at v (n >= 2) most significant 16 bits of their keys first: one pass
 * makes the keys and counts their top bits (sign, exponent and 4 mantissa bits: a column's
 * values fill few of the 65,536 buckets, and a scatter into few buckets runs at memory
 * speed), one scatters them by those bits, then each bucket is sorted on its own while it
 * is in cache (sort_bucket, or an insertion sort when short) and written back as doubles.
 * Against radix_u64's four 16-bit passes (whose scatters into 65,536 buckets miss the cache
 * on every write), in aiops drift on 2 x 1M x 100: the sort's profile samples 19.4k ->
 * 10.9k with the buckets radix-sorted on their low 48 bits, 11.2k -> 8.8k more with
 * sort_bucket. AIOPS_ENOMEM leaves v unchanged. */
static int radix_msd_f64(double *v, size_t n)
{
    enum { TOP = 1 << 16 };
    uint64_t *tmp = malloc(n * sizeof *tmp);
    uint32_t *start = calloc(TOP + 1, sizeof *start);
    uint32_t *count = malloc(((size_t)4 * TOP + 1) * sizeof *count);
    if (tmp == NULL || start == NULL || count == NULL) {
        free(tmp);
        free(start);
        free(count);
        return AIOPS_ENOMEM;
    }
    /* keys are made into v's own storage (same size), and the sorted doubles' bits end there */
    uint64_t *keys = (uint64_t *)(void *)v;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = f64_key(v[i]);
        keys[i] = k;
        start[k >> 48]++;
    }
    uint32_t sum = 0;
    for (size_t k = 0; k < TOP; k++) {
        uint32_t t = start[k];
        start[k] = sum;
        count[k] = sum; /* the scatter's write positions */
        sum += t;
    }
    start[TOP] = sum;
    for (size_t i = 0; i < n; i++)
        tmp[count[keys[i] >> 48]++] = keys[i];
    for (size_t k = 0; k < TOP; k++) {
        size_t lo = start[k], m = start[k + 1] - lo;
        if (m == 0)
            continue;
        if (m <= 64) {
            insertion_sort_u64(tmp + lo, m);
            for (size_t i = lo; i < lo + m; i++)
                keys[i] = key_bits(tmp[i]);
        } else {
            sort_bucket(tmp + lo, keys + lo, m, count);
        }
    }
    free(count);
    free(start);
    free(tmp);
    return AIOPS_OK;
}

/* Below this many keys a comparison sort wins: a radix pass costs its 65,536 buckets (a
 * megabyte of counters to clear and sum) whatever n is, and reports sort many small groups
 * (a model card's slices: 60 AUCs of a few hundred rows each). */
#define RADIX_MIN_KEYS 2048

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* A key with its position: ordering by both is the stable order of the keys. */
struct key_pos {
    uint64_t key;
    uint32_t pos;
};

static int cmp_key_pos(const void *a, const void *b)
{
    const struct key_pos *x = a, *y = b;
    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return (x->pos > y->pos) - (x->pos < y->pos);
}

int sort_f64(double *v, size_t n)
{
    if (n < 2)
        return AIOPS_OK;
    if (n >= RADIX_MIN_KEYS)
        return radix_msd_f64(v, n);
    /* keys are computed into v's own storage (same size) */
    uint64_t *keys = (uint64_t *)(void *)v;
    for (size_t i = 0; i < n; i++)
        keys[i] = f64_key(v[i]);
    if (n <= 64)
        insertion_sort_u64(keys, n);
    else
        qsort(keys, n, sizeof *keys, cmp_u64);
    for (size_t i = 0; i < n; i++)
        v[i] = key_f64(keys[i], NAN);
    return AIOPS_OK;
}

int sort_f64_present(const double *x, size_t n, double *out, size_t *nout)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]))
            out[k++] = x[i];
    *nout = k;
    return sort_f64(out, k);
}

int sort_f64_argsort(const double *x, size_t n, uint32_t *idx)
{
    if (n >= UINT32_MAX)
        return AIOPS_ETOOBIG;
    if (n == 0)
        return AIOPS_OK;
    if (n < RADIX_MIN_KEYS) {
        struct key_pos *kp = malloc(n * sizeof *kp);
        if (kp == NULL)
            return AIOPS_ENOMEM;
        for (size_t i = 0; i < n; i++)
            kp[i] = (struct key_pos){f64_key(x[i]), (uint32_t)i};
        qsort(kp, n, sizeof *kp, cmp_key_pos);
        for (size_t i = 0; i < n; i++)
            idx[i] = kp[i].pos;
        free(kp);
        return AIOPS_OK;
    }
    uint64_t *keys = malloc(n * sizeof *keys);
    if (keys == NULL)
        return AIOPS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        keys[i] = f64_key(x[i]);
        idx[i] = (uint32_t)i;
    }
    int rv = radix_u64(keys, idx, n);
    free(keys);
    return rv;
}

void sort_u32_radix(uint32_t *v, uint32_t *scratch, size_t n, unsigned key_bits)
{
    enum { DIGIT = 8, BUCKETS = 1 << DIGIT, MAX_PASSES = 32 / DIGIT };
    if (n < 32) {
        insertion_sort_u32(v, n);
        return;
    }
    unsigned passes = (key_bits + DIGIT - 1) / DIGIT;
    passes = passes < 1 ? 1 : passes > MAX_PASSES ? MAX_PASSES : passes;
    uint32_t count[MAX_PASSES][BUCKETS];
    memset(count, 0, passes * sizeof count[0]);
    for (size_t i = 0; i < n; i++)
        for (unsigned p = 0; p < passes; p++)
            count[p][(v[i] >> (p * DIGIT)) & (BUCKETS - 1)]++;
    uint32_t *a = v, *b = scratch;
    for (unsigned p = 0; p < passes; p++) {
        uint32_t sum = 0;
        for (size_t k = 0; k < BUCKETS; k++) {
            uint32_t c = count[p][k];
            count[p][k] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            b[count[p][(a[i] >> (p * DIGIT)) & (BUCKETS - 1)]++] = a[i];
        uint32_t *t = a;
        a = b;
        b = t;
    }
    if (a != v)
        memcpy(v, a, n * sizeof *v);
}
