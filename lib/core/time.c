#include "core/time.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

double time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void time_iso8601(char *out, size_t outsz, double t)
{
    /* round to the millisecond: t rarely holds .123 exactly */
    long long total_ms = llround(t * 1000.0);
    long long rem = total_ms % 1000;
    if (rem < 0) /* before 1970: floor, so that the milliseconds stay 0..999 */
        rem += 1000;
    time_t secs = (time_t)((total_ms - rem) / 1000);
    int ms = (int)rem;
    /* every log line has one: the date and time of the last second are kept (per thread),
     * and only the milliseconds are written anew */
    static _Thread_local time_t last_secs = -1;
    static _Thread_local char last[24];
    if (secs != last_secs || last_secs == -1) {
        struct tm tm;
        gmtime_r(&secs, &tm);
        if (strftime(last, sizeof last, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
            last[0] = '\0'; /* a year past 9999 */
        last_secs = secs;
    }
    size_t n = strlen(last);
    if (outsz < n + 6) { /* ".mmmZ" and the NUL */
        if (outsz > 0)
            out[0] = '\0';
        return;
    }
    memcpy(out, last, n);
    out[n] = '.';
    out[n + 1] = (char)('0' + ms / 100);
    out[n + 2] = (char)('0' + ms / 10 % 10);
    out[n + 3] = (char)('0' + ms % 10);
    out[n + 4] = 'Z';
    out[n + 5] = '\0';
}
