#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/encode.h"
#include "core/jsonx.h"
#include "core/time.h"

static const char *log_service = "aiops";
static enum log_level log_min = LOG_LEVEL_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *service)
{
    log_service = service;
    const char *lv = getenv("LOG_LEVEL");
    if (lv == NULL)
        return;
    for (int i = 0; i < 4; i++)
        if (strcmp(lv, level_names[i]) == 0)
            log_min = (enum log_level)i;
}

int log_enabled(enum log_level level)
{
    return level >= log_min;
}

/* Pending lines in buffered mode (any thread may log). */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct buf log_pending;
static int log_buffered;
#define LOG_FLUSH_BYTES (32u << 10)

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w <= 0)
            return; /* nowhere to report a failing log: drop the rest */
        p += w;
        n -= (size_t)w;
    }
}

void log_set_buffered(int on)
{
    log_buffered = on;
    if (!on)
        log_flush();
}

void log_flush(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_pending.len > 0) {
        write_all(log_pending.data, log_pending.len);
        buf_reset(&log_pending);
    }
    pthread_mutex_unlock(&log_lock);
}

/* Emits one complete line (the newline included). */
static void emit(enum log_level level, const char *line, size_t n)
{
    pthread_mutex_lock(&log_lock);
    if (log_buffered && level <= LOG_LEVEL_INFO && buf_append(&log_pending, line, n) == 0) {
        if (log_pending.len >= LOG_FLUSH_BYTES) {
            write_all(log_pending.data, log_pending.len);
            buf_reset(&log_pending);
        }
    } else {
        if (log_pending.len > 0) { /* keep the order of lines */
            write_all(log_pending.data, log_pending.len);
            buf_reset(&log_pending);
        }
        write_all(line, n);
    }
    pthread_mutex_unlock(&log_lock);
}

void log_fields(enum log_level level, const char *msg, const char *fields, size_t len)
{
    if (level < log_min)
        return;
    char ts[40];
    time_iso8601(ts, sizeof ts, time_now());
    struct buf b = BUF_INIT;
    buf_puts(&b, "{\"ts\":\"");
    buf_puts(&b, ts);
    buf_puts(&b, "\",\"level\":\"");
    buf_puts(&b, level_names[level]);
    buf_puts(&b, "\",\"service\":");
    buf_json_str(&b, log_service, strlen(log_service));
    buf_puts(&b, ",\"msg\":");
    buf_json_str(&b, msg, strlen(msg));
    if (len > 0) {
        buf_putc(&b, ',');
        buf_append(&b, fields, len);
    }
    if (buf_puts(&b, "}\n") == 0)
        emit(level, b.data, b.len);
    buf_free(&b);
}

void log_json(enum log_level level, const char *msg, json_t *fields)
{
    if (level < log_min) {
        json_decref(fields);
        return;
    }
    /* the members of fields, without the braces of the object */
    struct buf f = BUF_INIT;
    if (fields != NULL && jsonx_write(fields, &f) == 0 && f.len >= 2)
        log_fields(level, msg, f.data + 1, f.len - 2);
    else
        log_fields(level, msg, "", 0);
    buf_free(&f);
    json_decref(fields);
}

/* --- rate limiting of warnings and errors --------------------------------------------- */

#define LIMIT_SLOTS 128

struct limit_slot {
    uint64_t window_ms; /* start of the current window */
    unsigned lines;     /* lines written in it */
    unsigned long suppressed;
};

static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct limit_slot limit_slots[LIMIT_SLOTS];

/* Whether a line from source key may go out now; *suppressed receives how many lines of
 * its slot were dropped since the last one that went out. Two sources that hash to one
 * slot share its budget. */
static int limit_allows(uint64_t key, unsigned long *suppressed)
{
    uint64_t now = time_mono_ns() / 1000000u;
    pthread_mutex_lock(&limit_lock);
    struct limit_slot *s = &limit_slots[(key * 0x9E3779B97F4A7C15ull) >> 57]; /* 7 bits */
    if (s->lines == 0 || now - s->window_ms >= LOG_WINDOW_MS) {
        s->window_ms = now;
        s->lines = 0;
    }
    int ok = s->lines < LOG_BURST;
    if (ok) {
        s->lines++;
        *suppressed = s->suppressed;
        s->suppressed = 0;
    } else {
        s->suppressed++;
    }
    pthread_mutex_unlock(&limit_lock);
    return ok;
}

/* FNV-1a of the text: the source of a message that has no format string. */
static uint64_t text_key(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void emit_message(enum log_level level, const char *msg, unsigned long suppressed)
{
    json_t *fields = suppressed ? json_pack("{s:I}", "suppressed", (json_int_t)suppressed) : NULL;
    /* invalid UTF-8 in a message must not lose the line: jansson rejects it */
    if (!utf8_valid(msg, strlen(msg), NULL)) {
        struct buf b = BUF_INIT;
        if (utf8_sanitize(msg, strlen(msg), &b) == 0)
            log_json(level, b.data, fields);
        else
            json_decref(fields);
        buf_free(&b);
        return;
    }
    log_json(level, msg, fields);
}

void log_text(enum log_level level, const char *msg)
{
    unsigned long suppressed = 0;
    if (level < log_min || (level >= LOG_LEVEL_WARN && !limit_allows(text_key(msg), &suppressed)))
        return;
    emit_message(level, msg, suppressed);
}

void log_printf(enum log_level level, const char *fmt, ...)
{
    unsigned long suppressed = 0;
    if (level < log_min ||
        (level >= LOG_LEVEL_WARN && !limit_allows((uint64_t)(uintptr_t)fmt, &suppressed)))
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit_message(level, msg, suppressed);
}
