#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

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

void log_json(enum log_level level, const char *msg, json_t *fields)
{
    if (level < log_min) {
        json_decref(fields);
        return;
    }
    char ts[40];
    time_iso8601(ts, sizeof ts, time_now());
    json_t *line = json_object();
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "service", json_string(log_service));
    json_object_set_new(line, "msg", json_stringn(msg, strlen(msg)));
    if (fields != NULL) {
        json_object_update(line, fields);
        json_decref(fields);
    }
    char *s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(line);
    if (s == NULL)
        return;
    size_t n = strlen(s);
    s[n] = '\n'; /* overwrite the terminator: the line is written by length */
    ssize_t w = write(STDERR_FILENO, s, n + 1);
    (void)w;
    free(s);
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
