/* log.h -- structured logs: one JSON object per line on stderr.
 *
 *   {"ts":"2026-11-22T10:00:00.123Z","level":"info","service":"gateway","msg":"...",...}
 *
 * Safe to call from any thread; each line is written with a single write(2). */
#ifndef AIOPS_LOG_H
#define AIOPS_LOG_H

#include <jansson.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* Names the component in every line and reads LOG_LEVEL (debug|info|warn|error). */
void log_init(const char *service);
int log_enabled(enum log_level level);
/* Writes msg with the members of fields merged in. Takes ownership of fields (may be NULL). */
void log_json(enum log_level level, const char *msg, json_t *fields);
/* Writes msg with `fields`: len bytes of JSON members ("\"k\":1,\"s\":\"x\"", no braces,
 * may be empty) appended as they are -- for lines written per request, without building a
 * jansson object. */
void log_fields(enum log_level level, const char *msg, const char *fields, size_t len);

/* Buffered mode, for a process that logs a line per request: debug and info lines collect
 * in memory and go out when 32 KiB are pending or log_flush() is called (the caller runs it
 * on a timer, e.g. every 100 ms, and before exit); a warning or an error flushes everything
 * at once, in order. Without it every line is one write(2). */
void log_set_buffered(int on);
void log_flush(void);
void log_printf(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Warnings and errors are rate-limited per message source (log_printf: its format string;
 * log_text: the text): at most LOG_BURST lines in each LOG_WINDOW_MS, the rest counted and
 * reported as "suppressed" on the next line that goes out. A failure that repeats in a
 * tight loop (accept() at the descriptor limit) then costs a few lines a second, never
 * the disk. Debug and info lines (the access log) are never dropped. */
#define LOG_BURST 10
#define LOG_WINDOW_MS 1000
/* msg as it is (no format), rate-limited by its text: for messages a library formats
 * (libevent's log callback). */
void log_text(enum log_level level, const char *msg);

#define log_debug(...) log_printf(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_printf(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_printf(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_printf(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
