/* Unit tests for lib/math/sort.c. */
#include "unit.h"

#include "math/sort.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x))
        return isnan(y) ? 0 : 1;
    if (isnan(y))
        return -1;
    return (x > y) - (x < y);
}

static void check_against_qsort(size_t n, unsigned seed)
{
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    srand(seed);
    for (size_t i = 0; i < n; i++) {
        int r = rand();
        double v = (r % 7 == 0) ? NAN : ((double)rand() / RAND_MAX - 0.5) * pow(10, r % 9 - 4);
        if (r % 11 == 0)
            v = (double)(r % 5); /* duplicates */
        a[i] = b[i] = v;
    }
    CHECK_INT(sort_f64(a, n), 0);
    qsort(b, n, sizeof *b, cmp);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i]))))
            bad++;
    CHECK_INT(bad, 0);
    free(a);
    free(b);
}

static void test_small_and_large_match_qsort(void)
{
    check_against_qsort(0, 1);
    check_against_qsort(1, 1);
    check_against_qsort(50, 2);
    check_against_qsort(1000, 3);
    check_against_qsort(200000, 4);
}

/* The order sort_f64 promises, bit for bit: -0.0 before +0.0, NaNs last. */
static int cmp_total(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    if (x == y)
        return signbit(y) - signbit(x);
    return (x > y) - (x < y);
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* sort_f64 above the radix threshold sorts by the top 16 bits first, then each bucket by
 * itself (insertion sort to 64 keys, else by its next bits into sub-buckets, which are
 * insertion-sorted, or radix-sorted on their low 48 bits when large): inputs that fill
 * buckets of every size, one bucket only, a few buckets of identical low bits, sub-buckets
 * that are large, and every special value. */
static void test_bucket_shapes_match_qsort(void)
{
    enum { SHAPES = 7 };
    const size_t sizes[SHAPES] = {300000, 100000, 200000, 5000, 70000, 70000, 150000};
    uint64_t seed = 0x853c49e6748fea9bull;
    for (int shape = 0; shape < SHAPES; shape++) {
        size_t n = sizes[shape];
        double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
        for (size_t i = 0; i < n; i++) {
            uint64_t r = next_rand(&seed);
            double u = (double)(r >> 11) / 9007199254740992.0, v;
            char text[32];
            switch (shape) {
            case 0: /* CSV-like: 6 significant digits, both signs, magnitudes 1e-3..1e3 */
                snprintf(text, sizeof text, "%.6g",
                         (r & 1 ? -u : u) * pow(10.0, (double)(r >> 1 & 7) - 3));
                v = strtod(text, NULL);
                break;
            case 1: /* one top bucket: [1, 1.0625) */
                v = 1.0 + u / 16.0;
                break;
            case 2: /* small counts: a few buckets, low bits all zero */
                v = (double)(r % 5);
                break;
            case 3: { /* the special values among ordinary ones */
                const double special[] = {0.0, -0.0, INFINITY, -INFINITY, NAN,
                                          4.9e-324, -4.9e-324, 1.7976931348623157e308};
                v = r % 3 == 0 ? special[(r >> 2) % 8] : (u - 0.5) * 1e-310;
                break;
            }
            case 4: /* many short buckets: values spread over 40 binades */
                v = ldexp(1.0 + u, (int)(r % 40) - 20);
                break;
            case 5: /* alike in all but the last 20 bits: one large sub-bucket */
                v = 1.0 + ldexp((double)(r % 1000003), -52);
                break;
            default: /* half like shape 5, half spread: large and small sub-buckets */
                v = r & 1 ? 1.0 + ldexp((double)(r % 1000003), -52) : 1.0 + u / 16.0;
                break;
            }
            a[i] = b[i] = v;
        }
        CHECK_INT(sort_f64(a, n), 0);
        qsort(b, n, sizeof *b, cmp_total);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += memcmp(&a[i], &b[i], sizeof a[i]) != 0 && !(isnan(a[i]) && isnan(b[i]));
        if (bad != 0)
            UNIT_FAIL("shape %d: %zu of %zu values out of place", shape, bad, n);
        free(a);
        free(b);
    }
}

static void test_signed_zero_and_infinities(void)
{
    double v[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, -1e-300, 1e-300};
    CHECK_INT(sort_f64(v, 7), 0);
    CHECK(v[0] == -INFINITY);
    CHECK(v[1] == -1e-300);
    CHECK(v[2] == 0.0 && signbit(v[2]));
    CHECK(v[3] == 0.0 && !signbit(v[3]));
    CHECK(v[4] == 1e-300);
    CHECK(v[5] == INFINITY);
    CHECK(isnan(v[6]));
}

static void test_argsort_is_stable_with_nan_last(void)
{
    double x[] = {3.0, 1.0, NAN, 3.0, 2.0, 3.0};
    uint32_t idx[6];
    CHECK_INT(sort_f64_argsort(x, 6, idx), 0);
    static const uint32_t want[] = {1, 4, 0, 3, 5, 2};
    CHECK_MEM(idx, sizeof idx, want, sizeof want);
    /* both ways of sorting: a comparison sort below 2,048 keys, radix above */
    static const size_t sizes[] = {1500, 100000};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        size_t n = sizes[t];
        double *v = malloc(n * sizeof *v);
        uint32_t *ix = malloc(n * sizeof *ix);
        srand(9);
        for (size_t i = 0; i < n; i++)
            v[i] = i % 10 == 0 ? NAN : (double)(rand() % 500) - 250;
        CHECK_INT(sort_f64_argsort(v, n, ix), 0);
        size_t bad = 0;
        for (size_t i = 1; i < n; i++) {
            double p = v[ix[i - 1]], q = v[ix[i]];
            if (isnan(p) ? !isnan(q) || ix[i - 1] > ix[i]
                         : (p > q || (p == q && ix[i - 1] > ix[i])))
                bad++;
        }
        CHECK_INT(bad, 0);
        free(v);
        free(ix);
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* sort_u32_radix against qsort: below and above the insertion threshold, keys of every width
 * (a pass whose digit is the same for every key included), duplicates, n = 0. */
static void test_u32_radix_matches_qsort(void)
{
    const size_t sizes[] = {0, 1, 2, 31, 32, 33, 150, 1000, 70000};
    const unsigned bits[] = {1, 7, 8, 12, 20, 24, 31, 32};
    uint64_t st = 99;
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
        for (size_t b = 0; b < sizeof bits / sizeof *bits; b++) {
            size_t n = sizes[a];
            uint32_t *v = malloc((n ? n : 1) * sizeof *v), *w = malloc((n ? n : 1) * sizeof *w);
            uint32_t *scratch = malloc((n ? n : 1) * sizeof *scratch);
            uint32_t mask = bits[b] == 32 ? 0xFFFFFFFFu : (1u << bits[b]) - 1;
            for (size_t i = 0; i < n; i++)
                v[i] = w[i] = (i % 5 == 0 && i > 0) ? v[i - 1] : (uint32_t)next_rand(&st) & mask;
            sort_u32_radix(v, scratch, n, bits[b]);
            qsort(w, n, sizeof *w, cmp_u32);
            CHECK(n == 0 || memcmp(v, w, n * sizeof *v) == 0);
            free(v);
            free(w);
            free(scratch);
        }
}

UNIT_MAIN(UNIT(test_small_and_large_match_qsort), UNIT(test_bucket_shapes_match_qsort), UNIT(test_signed_zero_and_infinities),
          UNIT(test_argsort_is_stable_with_nan_last), UNIT(test_u32_radix_matches_qsort))
