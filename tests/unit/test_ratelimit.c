/* Unit tests for gateway/ratelimit.c: reading RATE_LIMITS. */
#include "unit.h"

#include "core/err.h"
#include "ratelimit.h"

static void test_defaults_and_overrides(void)
{
    struct rate_limit l[RATE_CLASS_COUNT];
    CHECK_INT(ratelimit_parse(NULL, l), 0);
    CHECK(l[RATE_READ].rate == 200 && l[RATE_READ].burst == 400);
    CHECK(l[RATE_AUTH_FAILURES].rate == 2 && l[RATE_AUTH_FAILURES].burst == 20);
    CHECK_INT(ratelimit_parse("read=5:10,predict=off,write=3", l), 0);
    CHECK(l[RATE_READ].rate == 5 && l[RATE_READ].burst == 10);
    CHECK(l[RATE_PREDICT].rate == 0);
    CHECK(l[RATE_WRITE].rate == 3 && l[RATE_WRITE].burst == 6); /* burst: twice the rate */
    CHECK(l[RATE_AUTH_FAILURES].rate == 2);                     /* untouched: the default */
    CHECK_INT(ratelimit_parse("off", l), 0);
    for (int c = 0; c < RATE_CLASS_COUNT; c++)
        CHECK(l[c].rate == 0);
    CHECK_INT(ratelimit_parse("read=0.5:5", l), 0);
    CHECK(l[RATE_READ].rate == 0.5 && l[RATE_READ].burst == 5);
}

static void test_malformed_specs_are_refused(void)
{
    struct rate_limit l[RATE_CLASS_COUNT];
    const char *bad[] = {
        "read",    "read=",          "read=x",    "read=5:",      "read=5:0", "read=-1",
        "reads=5", "read=5;write=1", "read=1e12", "read=5:10:20", "=5",       "read=5,,write=oops"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_INT(ratelimit_parse(bad[i], l), AIOPS_EINVAL);
}

UNIT_MAIN(UNIT(test_defaults_and_overrides), UNIT(test_malformed_specs_are_refused))
