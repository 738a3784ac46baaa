/* time.h -- clocks: wall-clock time for timestamps, monotonic time for durations. */
#ifndef AIOPS_TIME_H
#define AIOPS_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Wall-clock time as Unix seconds / milliseconds. */
double time_now(void);
int64_t time_now_ms(void);
/* Monotonic nanoseconds, for durations. */
uint64_t time_mono_ns(void);
/* Writes t (Unix seconds) as "2025-10-05T23:45:00.123Z" into out (at least 32 bytes). */
void time_iso8601(char *out, size_t outsz, double t);

#endif
