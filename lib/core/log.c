#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
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
    buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":", ts, level_names[level]);
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

void log_printf(enum log_level level, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* invalid UTF-8 in a message must not lose the line: jansson rejects it */
    if (!utf8_valid(msg, strlen(msg), NULL)) {
        struct buf b = BUF_INIT;
        if (utf8_sanitize(msg, strlen(msg), &b) == 0)
            log_json(level, b.data, NULL);
        buf_free(&b);
        return;
    }
    log_json(level, msg, NULL);
}
