/* Unit tests for lib/core/log.c: one JSON line per message, and the rate limit on
 * repeated warnings. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

/* Runs fn with stderr going to a temporary file; returns what it wrote (caller frees). */
static char *capture_stderr(void (*fn)(void))
{
    fflush(stderr);
    FILE *tmp = tmpfile();
    int saved = dup(2);
    if (tmp == NULL || saved < 0)
        return NULL;
    dup2(fileno(tmp), 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t n = lseek(fileno(tmp), 0, SEEK_END);
    char *out = n < 0 ? NULL : calloc(1, (size_t)n + 1);
    if (out != NULL && n > 0) {
        lseek(fileno(tmp), 0, SEEK_SET);
        if (read(fileno(tmp), out, (size_t)n) != (ssize_t)n)
            out[0] = '\0';
    }
    fclose(tmp);
    return out;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

static void repeat_warning(void)
{
    for (int i = 0; i < 100; i++)
        log_warn("accept() failed: attempt %d", i);
    log_warn("another source, written");
    for (int i = 0; i < 5; i++)
        log_info("request %d", i); /* info lines are never limited */
}

static void after_the_window(void)
{
    usleep((LOG_WINDOW_MS + 50) * 1000);
    log_warn("accept() failed: attempt %d", 100);
}

static void test_repeated_warnings_are_rate_limited(void)
{
    setenv("LOG_LEVEL", "info", 1); /* what the test counts does not depend on the caller's */
    log_init("test");
    char *out = capture_stderr(repeat_warning);
    CHECK(out != NULL);
    CHECK_INT(count(out, "accept() failed"), LOG_BURST);
    CHECK_INT(count(out, "another source, written"), 1);
    CHECK_INT(count(out, "\"msg\":\"request "), 5);
    CHECK_INT(count(out, "\n"), LOG_BURST + 1 + 5);
    free(out);
    /* the next window's first line says how many were dropped */
    out = capture_stderr(after_the_window);
    CHECK(out != NULL);
    CHECK(strstr(out, "attempt 100") != NULL);
    CHECK(strstr(out, "\"suppressed\":90") != NULL);
    free(out);
}

static void library_messages(void)
{
    for (int i = 0; i < 50; i++)
        log_text(LOG_LEVEL_WARN, "Error from accept() call: Too many open files");
}

static void test_library_text_is_limited_by_its_text(void)
{
    char *out = capture_stderr(library_messages);
    CHECK(out != NULL);
    CHECK_INT(count(out, "Too many open files"), LOG_BURST);
    free(out);
}

UNIT_MAIN(UNIT(test_repeated_warnings_are_rate_limited),
          UNIT(test_library_text_is_limited_by_its_text))
