/* Unit tests for lib/core/cron.c: fields, ranges, steps, lists, crontab's day rule, due
 * minutes in an interval, and refusals naming the field. */
#include "unit.h"

#include <string.h>

#include "core/cron.h"

/* 2026-12-04 (a Friday) hh:mm UTC */
static time_t at(int day, int hh, int mm)
{
    return (time_t)1796342400 + (time_t)(day - 4) * 86400 + hh * 3600 + mm * 60;
}

static void test_fields_ranges_steps_and_lists(void)
{
    struct cron c;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(cron_parse("*/15 2-4 * * *", &c, &err), 0);
    CHECK(cron_matches(&c, at(4, 2, 0)) && cron_matches(&c, at(4, 3, 45)));
    CHECK(!cron_matches(&c, at(4, 3, 46)) && !cron_matches(&c, at(4, 5, 0)));
    CHECK_INT(cron_parse("0 6,18 * * 1-5", &c, &err), 0); /* weekdays at 06:00 and 18:00 */
    CHECK(cron_matches(&c, at(4, 18, 0)));                 /* Friday */
    CHECK(!cron_matches(&c, at(5, 6, 0)));                 /* Saturday */
    CHECK(cron_matches(&c, at(7, 6, 0)));                  /* Monday */
    CHECK_INT(cron_parse("30 1 * * 7", &c, &err), 0);      /* 7 is Sunday */
    CHECK(cron_matches(&c, at(6, 1, 30)) && !cron_matches(&c, at(7, 1, 30)));
    CHECK_INT(cron_parse("0 0 1 * 5", &c, &err), 0); /* both days restricted: either */
    CHECK(cron_matches(&c, at(4, 0, 0)));            /* a Friday, not the 1st */
    CHECK(!cron_matches(&c, at(5, 0, 0)));
    CHECK_INT(cron_parse("10/20 * * * *", &c, &err), 0); /* 10, 30, 50 */
    CHECK(cron_matches(&c, at(4, 9, 50)) && !cron_matches(&c, at(4, 9, 20)));
}

static void test_due_minutes_in_an_interval(void)
{
    struct cron c;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(cron_parse("0 3 * * *", &c, &err), 0);
    CHECK(cron_due(&c, at(4, 2, 59) + 30, at(4, 3, 0) + 5));
    CHECK(!cron_due(&c, at(4, 3, 0), at(4, 3, 59))); /* the 03:00 minute was before */
    CHECK(cron_due(&c, at(1, 0, 0), at(4, 12, 0)));  /* long gaps look one day back */
    CHECK(!cron_due(&c, at(4, 4, 0), at(4, 12, 0)));
}

static void test_refusals_name_the_field(void)
{
    struct cron c;
    static const char *const bad[] = {"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *",
                                      "* * 0 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *",
                                      "5-1 * * * *", "a * * * *", "1,,2 * * * *", "* * * jan *"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct aiops_error err = AIOPS_ERROR_INIT;
        CHECK_INT(cron_parse(bad[i], &c, &err), AIOPS_EINVAL);
        CHECK(strcmp(err.field, "retrain_cron") == 0 && err.message[0] != '\0');
    }
}

UNIT_MAIN(UNIT(test_fields_ranges_steps_and_lists), UNIT(test_due_minutes_in_an_interval),
          UNIT(test_refusals_name_the_field))
