#include "core/time.h"

#include <math.h>
#include <stdio.h>
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
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outsz, "%s.%03dZ", base, ms);
}
