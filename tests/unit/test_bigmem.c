/* Unit tests for lib/core/bigmem.c: zeroed, aligned, writable memory of every size class,
 * released without leaks (the sanitizer build checks the small class, valgrind the maps). */
#include "unit.h"

#include <stdint.h>
#include <string.h>

#include "core/bigmem.h"

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

static void test_sizes_alignment_and_zeroes(void)
{
    CHECK(bigmem_alloc(0) == NULL);
    CHECK(bigmem_alloc(SIZE_MAX) == NULL);
    const size_t sizes[] = {1, 100, 4096, BIGMEM_MIN - 1, BIGMEM_MIN, (size_t)3 << 20,
                            ((size_t)2 << 20) + 1};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        unsigned char *p = bigmem_alloc(sizes[k]);
        CHECK(p != NULL);
        if (p == NULL)
            continue;
        CHECK((uintptr_t)p % 64 == 0);
        if (sizes[k] >= BIGMEM_MIN)
            CHECK((uintptr_t)p % ((size_t)2 << 20) == 0);
        CHECK(all_zero(p, sizes[k]));
        memset(p, 0xa5, sizes[k]); /* every byte is the caller's */
        CHECK(p[0] == 0xa5 && p[sizes[k] - 1] == 0xa5);
        bigmem_free(p);
    }
    bigmem_free(NULL);
}

/* Memory given back and asked for again comes zeroed again. */
static void test_reuse_is_zeroed(void)
{
    for (int round = 0; round < 3; round++) {
        unsigned char *a = bigmem_alloc((size_t)4 << 20), *b = bigmem_alloc(1000);
        CHECK(a != NULL && b != NULL);
        if (a && b) {
            CHECK(all_zero(a, (size_t)4 << 20) && all_zero(b, 1000));
            memset(a, 1, (size_t)4 << 20);
            memset(b, 1, 1000);
        }
        bigmem_free(a);
        bigmem_free(b);
    }
}

UNIT_MAIN(UNIT(test_sizes_alignment_and_zeroes), UNIT(test_reuse_is_zeroed))
