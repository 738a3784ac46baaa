#include "core/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const field_names[5] = {"minute", "hour", "day of month", "month",
                                           "day of week"};
static const int field_min[5] = {0, 0, 1, 1, 0}, field_max[5] = {59, 23, 31, 12, 7};

/* A whole number at *p (advanced past it) from lo to hi: 0, or -1. */
static int number(const char **p, int lo, int hi, int *out)
{
    if (**p < '0' || **p > '9')
        return -1;
    long v = 0;
    while (**p >= '0' && **p <= '9' && v <= 1000)
        v = v * 10 + (*(*p)++ - '0');
    if (v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* One field (text[0..len)) into bits: 0, or -1. */
static int parse_field(const char *text, size_t len, int f, uint64_t *bits, int *any)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    *bits = 0;
    *any = strcmp(buf, "*") == 0;
    if (buf[0] == ',' || buf[len - 1] == ',' || strstr(buf, ",,") != NULL)
        return -1; /* an empty list item */
    int lo = field_min[f], hi = field_max[f];
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        const char *p = item;
        int a = lo, b = hi, step = 1;
        if (*p == '*') {
            p++;
        } else {
            if (number(&p, lo, hi, &a) != 0)
                return -1;
            b = a;
            if (*p == '-' && (p++, number(&p, lo, hi, &b) != 0 || b < a))
                return -1;
        }
        if (*p == '/') {
            p++;
            if (number(&p, 1, hi + 1, &step) != 0)
                return -1;
            if (item[0] != '*' && b == a)
                b = hi; /* "a/n": from a to the end, as cron does */
        }
        if (*p != '\0')
            return -1;
        for (int v = a; v <= b; v += step)
            *bits |= 1ull << v;
    }
    return 0;
}

int cron_parse(const char *text, struct cron *c, struct aiops_error *err)
{
    memset(c, 0, sizeof *c);
    const char *p = text;
    uint64_t bits[5];
    int any[5];
    for (int f = 0; f < 5; f++) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *start = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        if (p == start)
            return aiops_error_set(err, AIOPS_EINVAL, "retrain_cron",
                                   "retrain_cron needs five fields (minute hour day-of-month "
                                   "month day-of-week); the %s is missing",
                                   field_names[f]);
        if (parse_field(start, (size_t)(p - start), f, &bits[f], &any[f]) != 0)
            return aiops_error_set(err, AIOPS_EINVAL, "retrain_cron",
                                   "retrain_cron's %s field \"%.*s\" is not *, a number from "
                                   "%d to %d, a range, a step or a list of those",
                                   field_names[f], (int)(p - start), start, field_min[f],
                                   field_max[f]);
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0')
        return aiops_error_set(err, AIOPS_EINVAL, "retrain_cron",
                               "retrain_cron has more than five fields");
    c->minute = bits[0];
    c->hour = (uint32_t)bits[1];
    c->mday = (uint32_t)bits[2];
    c->month = (uint32_t)bits[3];
    c->wday = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7F); /* 7 is Sunday too */
    c->mday_any = any[2];
    c->wday_any = any[4];
    return AIOPS_OK;
}

int cron_matches(const struct cron *c, time_t t)
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return 0;
    if (!(c->minute >> tm.tm_min & 1) || !(c->hour >> tm.tm_hour & 1) ||
        !(c->month >> (tm.tm_mon + 1) & 1))
        return 0;
    int mday = (int)(c->mday >> tm.tm_mday & 1), wday = c->wday >> tm.tm_wday & 1;
    if (c->mday_any || c->wday_any) /* one of them unrestricted: the other decides */
        return c->mday_any ? wday : mday;
    return mday || wday;
}

int cron_due(const struct cron *c, time_t after, time_t upto)
{
    time_t first = after - after % 60 + 60, last = upto - upto % 60;
    if (last - first > 86400)
        first = last - 86400;
    for (time_t t = first; t <= last; t += 60)
        if (cron_matches(c, t))
            return 1;
    return 0;
}
