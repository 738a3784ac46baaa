/* cron.h -- five-field cron schedules ("minute hour day-of-month month day-of-week", UTC), as
 * crontab(5) reads them: each field `*`, a number, a range `a-b`, a step `*\/n` or `a-b/n`, or
 * a comma list of those; day of week 0-7 (0 and 7 are Sunday); when both day fields are
 * restricted, a day matching either one matches (crontab's rule). No names (`mon`, `jan`)
 * and no `@daily` shorthands. */
#ifndef AIOPS_CRON_H
#define AIOPS_CRON_H

#include <stdint.h>
#include <time.h>

#include "core/err.h"

struct cron {
    uint64_t minute;              /* bit m: minute m (0-59) */
    uint32_t hour, mday, month;   /* bits 0-23, 1-31, 1-12 */
    uint8_t wday;                 /* bits 0-6, Sunday 0 */
    int mday_any, wday_any;       /* the field was `*` */
};

/* Parses text into c. AIOPS_EINVAL with err (field "retrain_cron", the field at fault and
 * why) for anything else. */
int cron_parse(const char *text, struct cron *c, struct aiops_error *err);
/* Whether the minute holding Unix time t matches. */
int cron_matches(const struct cron *c, time_t t);
/* Whether a minute in (after, upto] matches (minutes are whole: seconds are ignored); at
 * most a day back from upto is looked at. */
int cron_due(const struct cron *c, time_t after, time_t upto);

#endif
